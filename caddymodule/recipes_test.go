package caddymodule_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2/caddytest"
)

// The recipes of README's "Use it from another proxy" are these files; the
// tests run them with test addresses put in.
const (
	serviceRecipe = "session-service.Caddyfile"
	nginxRecipe   = "nginx.conf"
	caddyRecipe   = "caddy-forward-auth.Caddyfile"
	// recipeOrigin and recipeFront are the recipes' addresses of the origin
	// and of the proxy in front; the session service is at :9080, where
	// caddytest serves.
	recipeOrigin = "127.0.0.1:3000"
	recipeFront  = "example.com"
	// recipeSite is the site of the nginx recipe (its server_name).
	recipeSite = "example.com"
)

func recipe(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "recipes", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// service is the session service of the recipes, run by caddytest.
type service struct {
	trusted bool // keep trusted_proxies: the caller may name the original request
	// logCredentials turns log_credentials on: Cookie, Set-Cookie and the
	// answer's copies of them logged in clear.
	logCredentials bool
	store          string // store block; empty: sqlite in a temp dir
	extra          string // more session options
	dir            string
}

// caddyfile renders the service recipe with the test's admin and ports, a
// store of its own and an access log.
func (s *service) caddyfile(t *testing.T) string {
	t.Helper()
	t.Setenv("SESSION_SECRET", testKey)
	if s.dir == "" {
		s.dir = t.TempDir()
	}
	if s.store == "" {
		s.store = sqliteBlock(filepath.Join(s.dir, "sessions.db"))
	}
	cfg := recipe(t, serviceRecipe)
	servers := "\tservers :9080 {\n"
	cfg = mustReplace(t, cfg, "{\n"+servers, strings.TrimSuffix(globalOpt, "}\n")+servers)
	if s.logCredentials {
		cfg = mustReplace(t, cfg, servers, servers+"\t\tlog_credentials\n")
	}
	if !s.trusted {
		cfg = mustReplace(t, cfg, "trusted_proxies static", "# trusted_proxies static")
	}
	return mustReplace(t, cfg, "\t\tforward_auth\n", "\t\tforward_auth\n\t\tstore_timeout 5s\n\t\tbootstrap_window 1m\n\t\t"+
		s.store+"\n\t\t"+s.extra+"\n\t}\n\tlog {\n\t\toutput file "+s.logPath()+"\n\t\tformat json\n")
}

func (s *service) logPath() string { return filepath.Join(s.dir, "access.log") }

// start loads the service, with more sites after it.
func (s *service) start(t *testing.T, sites string) {
	t.Helper()
	noteSkip(t)
	caddytest.NewTester(t).InitServer(s.caddyfile(t)+sites, "caddyfile")
	if t.Failed() {
		t.FailNow()
	}
}

func mustReplace(t *testing.T, s, old, new string) string {
	t.Helper()
	if !strings.Contains(s, old) {
		t.Fatalf("recipe lacks %q", old)
	}
	return strings.Replace(s, old, new, 1)
}

// README shows the files the tests run, as they are.
func TestReadmeHasTheRecipes(t *testing.T) {
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{serviceRecipe, nginxRecipe, caddyRecipe} {
		if !strings.Contains(string(readme), recipe(t, name)) {
			t.Errorf("README lacks testdata/recipes/%s as it is", name)
		}
	}
}
