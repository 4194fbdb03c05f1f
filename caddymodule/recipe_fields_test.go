package caddymodule

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// Every header field of the event table is relayed by every recipe for
// another proxy: nginx sets it on the request to the origin from the
// answer (an empty value removes a visitor's own), Caddy's forward_auth
// copies it, README's Traefik list names it. A field added to eventFields
// and not to a recipe fails here.
func TestRecipesRelayEveryEventField(t *testing.T) {
	nginx := readFile(t, filepath.Join("testdata", "recipes", "nginx.conf"))
	caddy := listAfter(t, readFile(t, filepath.Join("testdata", "recipes", "caddy-forward-auth.Caddyfile")),
		"copy_headers {\n", `\t+([^\s}]+)\n`)
	traefik := listAfter(t, readFile(t, filepath.Join("..", "README.md")), "authResponseHeaders:\n", ` +- (\S+)\n`)
	for _, f := range eventFields {
		if f.header == "" {
			continue
		}
		name := defaultHeaderPrefix + f.header
		v := strings.ToLower(strings.ReplaceAll(f.header, "-", "_"))
		for _, line := range []string{
			"auth_request_set $session_" + v + " $upstream_http_x_session_" + v + ";",
			"proxy_set_header " + name + " $session_" + v + ";",
		} {
			if !strings.Contains(nginx, "\t"+line+"\n") {
				t.Errorf("nginx recipe lacks %q", line)
			}
		}
		if !slices.Contains(caddy, name) {
			t.Errorf("Caddy recipe's copy_headers lacks %s", name)
		}
		if !slices.Contains(traefik, name) {
			t.Errorf("README's Traefik authResponseHeaders lacks %s", name)
		}
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// listAfter is the list that follows start in text: the first group of
// item on each line, up to the first line item does not match.
func listAfter(t *testing.T, text, start, item string) []string {
	t.Helper()
	_, rest, ok := strings.Cut(text, start)
	if !ok {
		t.Fatalf("no %q", start)
	}
	line := regexp.MustCompile(`^` + item)
	var items []string
	for m := line.FindStringSubmatch(rest); m != nil; m = line.FindStringSubmatch(rest) {
		items = append(items, m[1])
		rest = rest[len(m[0]):]
	}
	return items
}
