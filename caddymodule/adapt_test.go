package caddymodule_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2/caddyconfig"
	_ "github.com/caddyserver/caddy/v2/caddyconfig/httpcaddyfile"
)

// The directive orders itself before header, so it runs ahead of handle
// blocks, respond and reverse_proxy without a global order option.
func TestDirectiveOrder(t *testing.T) {
	out, _, err := caddyconfig.GetAdapter("caddyfile").Adapt([]byte(`
example.com {
	reverse_proxy localhost:3000
	handle /api/* {
		respond "api"
	}
	header X-Frame-Options DENY
	session
}`), nil)
	if err != nil {
		t.Fatal(err)
	}
	js := string(out)
	session := strings.Index(js, `"handler":"session"`)
	header := strings.Index(js, `"handler":"headers"`)
	handle := strings.Index(js, `"body":"api"`)
	proxy := strings.Index(js, `"handler":"reverse_proxy"`)
	if session < 0 || session > header || session > handle || session > proxy {
		t.Fatalf("session is not first in the route: %s", js)
	}
}

func TestJSONConfig(t *testing.T) {
	s := startSite(t, "")
	cfg := map[string]any{
		"admin": map[string]any{"listen": "localhost:2999"},
		"apps": map[string]any{"http": map[string]any{"http_port": 9080, "servers": map[string]any{"srv0": map[string]any{
			"listen": []string{":9080"},
			"routes": []any{map[string]any{"handle": []any{
				map[string]any{
					"handler": "session", "secrets": []string{testKey}, "header_prefix": "X-Visitor-",
					"store":  map[string]any{"backend": "sqlite", "path": s.dbPath()},
					"cookie": map[string]any{"names": []string{"c", "s", "e"}},
				},
				map[string]any{"handler": "reverse_proxy", "upstreams": []any{map[string]any{"dial": s.upstream.addr()}}},
			}}},
		}}}},
	}
	raw, _ := json.Marshal(cfg)
	s.tester.InitServer(string(raw), "json")
	b := newBrowser(t)
	res, up := b.get("/")
	if up.Header.Get("X-Visitor-Client-Id") == "" || up.Header.Get("X-Visitor-New-Client") != "true" {
		t.Fatalf("JSON config: upstream saw %v", up.Header)
	}
	if _, ok := b.cookies["_ss_c"]; !ok || len(res.Header.Values("Set-Cookie")) != 6 {
		t.Fatalf("JSON config: cookies %v", b.cookies)
	}
}
