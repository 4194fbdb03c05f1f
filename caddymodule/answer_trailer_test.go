package caddymodule_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/caddyserver/caddy/v2/caddytest"
)

// An upstream that names the user in a trailer (set once the body is
// written, as a streaming handler would): reverse_proxy copies trailers
// after the header was written, too late to bind the client, so the answer
// is dropped and never reaches the browser.
func TestAnswerSentAsATrailerNeverReachesTheBrowser(t *testing.T) {
	noteSkip(t)
	up := &upstream{}
	up.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(received{Header: r.Header})
		http.NewResponseController(w).Flush()
		w.Header().Set(http.TrailerPrefix+"X-Session-User-ID", "alice")
	}))
	t.Cleanup(up.Close)
	s := &site{t: t, tester: caddytest.NewTester(t), upstream: up, dir: t.TempDir()}
	s.db = s.dbPath()
	s.load("")
	b := newBrowser(t)
	b.get("/")
	res, _ := b.get("/login")
	if v := res.Trailer.Get("X-Session-User-ID"); v != "" {
		t.Errorf("the browser got the upstream's X-Session-User-ID as a trailer: %q", v)
	}
}
