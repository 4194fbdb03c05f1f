package caddymodule_test

import (
	"fmt"
	"net/http"
	"path/filepath"
	"testing"

	"github.com/caddyserver/caddy/v2/caddytest"
)

// Two sites on one Caddy share one store and one key. A browser's first,
// cookieless requests to both within the bootstrap window must still get two
// clients: the window must not link what the browser keeps apart.
func TestBootstrapWindowDoesNotLinkSites(t *testing.T) {
	noteSkip(t)
	up := newUpstream(t)
	db := filepath.Join(t.TempDir(), "sessions.db")
	site := func(host string) string {
		return fmt.Sprintf(`
http://%s:9080 {
	session {
		secret %s
		%s
		store_timeout 5s
	}
	reverse_proxy %s
}
`, host, testKey, sqliteBlock(db), up.addr())
	}
	tester := caddytest.NewTester(t)
	tester.InitServer(globalOpt+site("shop-a.example")+site("unrelated-b.example"), "caddyfile")
	if t.Failed() {
		t.FailNow()
	}
	b := newBrowser(t)
	first := func(host string) http.Header {
		req, _ := http.NewRequest(http.MethodGet, "http://127.0.0.1:9080/", nil)
		req.Host = host
		req.Header.Set("User-Agent", b.ua)
		req.Header.Set("Accept-Language", "de-CH")
		_, got := b.do(req) // the browser keeps no cookie between the two: each is a first visit
		return got.Header
	}
	a, other := first("shop-a.example"), first("unrelated-b.example")
	if a.Get("X-Session-Client-Id") == other.Get("X-Session-Client-Id") || other.Get("X-Session-New-Client") != "true" {
		t.Fatalf("two sites share a client: %s on shop-a, %s (new %s) on unrelated-b",
			a.Get("X-Session-Client-Id"), other.Get("X-Session-Client-Id"), other.Get("X-Session-New-Client"))
	}
}
