package caddymodule_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/c0f4626f/caddy-session/internal/caddyproc"
)

// These tests run Caddy as its own process: the binary that ./xcaddy.sh
// builds (CADDY_BIN), or one built here from ./cmd/caddy.

const (
	procURL   = "http://localhost:9180"
	procAdmin = "localhost:3999"
)

func caddyBinary(t *testing.T) string {
	t.Helper()
	if bin := os.Getenv("CADDY_BIN"); bin != "" {
		return bin
	}
	bin := filepath.Join(t.TempDir(), "caddy")
	cmd := exec.Command("go", "build", "-o", bin, "../cmd/caddy")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building caddy: %v\n%s", err, out)
	}
	return bin
}

// procConfig is a site whose response body reports the session as JSON, so
// the browser helper reads it like the upstream's report.
func procConfig(dir, dbPath string) string { return procConfigWith(dir, sqliteBlock(dbPath)) }

func procConfigWith(dir, store string) string { return procConfigOn(procURL, procAdmin, dir, store) }

// procConfigOn is procConfigWith for a site at url ("http://localhost:<port>")
// with its admin endpoint at admin, for a second binary beside the first.
func procConfigOn(url, admin, dir, store string) string {
	return fmt.Sprintf(`{
	admin %s
	http_port %s
	persist_config off
	storage file_system %s
}
%s {
	session {
		%s
	}
	respond `+"`"+`{"header":{"X-Session-Client-Id":["{http.session.client_id}"],"X-Session-Id":["{http.session.id}"],"X-Session-Event-Number":["{http.session.event_number}"],"X-Session-New-Client":["{http.session.new_client}"],"X-Session-Fallback":["{http.session.fallback}"],"X-Session-Country":["{http.session.country}"],"X-Session-Fingerprint":["{http.session.fingerprint}"]}}`+"`"+`
}
`, admin, url[strings.LastIndex(url, ":")+1:], filepath.Join(dir, "storage"), url, withStoreTimeout(store))
}

// caddyProcess is the binary running for one test, stopped when it ends.
type caddyProcess struct{ *caddyproc.Process }

// startCaddy runs the binary on config and waits until it serves.
func startCaddy(t *testing.T, bin, dir, config string) *caddyProcess {
	t.Helper()
	return startCaddyAt(t, bin, dir, config, procAdmin)
}

// startCaddyAt is startCaddy for a config whose admin endpoint is admin.
func startCaddyAt(t *testing.T, bin, dir, config, admin string) *caddyProcess {
	t.Helper()
	p, err := caddyproc.Start(bin, dir, config, "http://"+admin+"/config/")
	if err != nil {
		t.Fatal(err)
	}
	c := &caddyProcess{p}
	t.Cleanup(func() { c.stop(t) })
	return c
}

// reloadCaddy gives the running binary a new config with `caddy reload`.
func reloadCaddy(t *testing.T, bin, dir, config string) {
	t.Helper()
	reloadCaddyAt(t, bin, dir, config, procAdmin)
}

// reloadCaddyAt is reloadCaddy for the binary whose admin endpoint is admin.
func reloadCaddyAt(t *testing.T, bin, dir, config, admin string) {
	t.Helper()
	if err := caddyproc.Reload(bin, dir, config, admin); err != nil {
		t.Fatal(err)
	}
}

// stop ends Caddy gracefully (SIGTERM) and waits for it.
func (p *caddyProcess) stop(t *testing.T) {
	if err := p.Stop(15 * time.Second); err != nil {
		t.Error(err)
	}
}

func TestRestartKeepsIdentityAndCounters(t *testing.T) {
	bin := caddyBinary(t)
	dir := t.TempDir()
	config := procConfig(dir, filepath.Join(dir, "sessions.db"))
	p := startCaddy(t, bin, dir, config)
	b := newBrowser(t)
	b.base = procURL
	_, first := b.get("/")
	b.get("/")
	p.stop(t)
	if _, err := os.Stat(filepath.Join(dir, "storage", "session", "secret.key")); err != nil {
		t.Fatalf("generated signing key not in Caddy's storage: %v", err)
	}

	startCaddy(t, bin, dir, config)
	_, up := b.get("/")
	expect(t, up.Header, map[string]string{
		"X-Session-Client-Id": first.Header.Get("X-Session-Client-Id"), "X-Session-Id": first.Header.Get("X-Session-Id"),
		"X-Session-Event-Number": "3", "X-Session-New-Client": "false", "X-Session-Fallback": "false",
	})
}

func TestSecondProcessOnTheSameDatabaseIsRefused(t *testing.T) {
	s := startSite(t, "persist_new_clients immediately")
	newBrowser(t).get("/") // the in-process Caddy now holds the database
	dir := t.TempDir()
	p := startCaddy(t, caddyBinary(t), dir, procConfig(dir, s.dbPath()))
	b := newBrowser(t)
	b.base = procURL
	_, up := b.get("/")
	if up.Header.Get("X-Session-Fallback") != "true" || up.Header.Get("X-Session-Client-Id") == "" {
		t.Fatalf("second process: %v", up.Header)
	}
	if log := p.Log(); !strings.Contains(log, "in use by another process") {
		t.Fatalf("second process did not say why it cannot open the database:\n%s", log)
	}
}
