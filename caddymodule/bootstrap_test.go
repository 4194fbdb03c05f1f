package caddymodule_test

import (
	"testing"

	"github.com/c0f4626f/caddy-session/internal/testredis"
)

// The headers a browser sends with a page load (a navigation) and with an
// image of the page, in one language.
var (
	pageLoadHeaders = []string{"Sec-Fetch-Mode", "navigate", "Sec-Fetch-Dest", "document",
		"Accept", "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", "Accept-Language", "de-CH"}
	imageHeaders = []string{"Sec-Fetch-Mode", "no-cors", "Sec-Fetch-Dest", "image",
		"Accept", "image/avif,image/webp,*/*;q=0.8", "Accept-Language", "de-CH"}
)

// The window is a minute, so that a slow machine stays inside it.
const longBootstrapWindow = "bootstrap_window 1m"

func TestLookAlikeBrowsersStayTwoClients(t *testing.T) {
	expectLookAlikesApart(t, startSite(t, longBootstrapWindow))
}

func TestRedisLookAlikeBrowsersStayTwoClients(t *testing.T) {
	noteSkip(t)
	r := testredis.Start(t)
	s := redisSite(t, r.Addr(), longBootstrapWindow)
	s.load(longBootstrapWindow)
	expectLookAlikesApart(t, s)
}

// expectLookAlikesApart loads a page in two browsers behind one address
// with the same User-Agent and Accept-Language, one after the other within
// the bootstrap window: they are two clients, and a login on one binds
// that one only. The parallel cookieless requests of one page load still
// share its client.
func expectLookAlikesApart(t *testing.T, s *site) {
	t.Helper()
	alice, bob := newBrowser(t), newBrowser(t)
	_, up := alice.get("/", pageLoadHeaders...)
	aliceID := up.Header.Get("X-Session-Client-Id")
	_, up = bob.get("/", pageLoadHeaders...)
	bobID := up.Header.Get("X-Session-Client-Id")
	if bobID == aliceID || up.Header.Get("X-Session-New-Client") != "true" {
		t.Errorf("the second look-alike page load joined the first one's client %s: %s, new client %s",
			aliceID, bobID, up.Header.Get("X-Session-New-Client"))
	}

	alice.get(loginPath("alice"))
	info := sessionInfo(t, bob)
	for key, value := range info {
		if value == "alice" {
			t.Errorf("session_info tells the other browser %s %q", key, value)
		}
	}
	if info["client_id"] != bobID {
		t.Errorf("session_info of the other browser: client %v, want %s", info["client_id"], bobID)
	}
	if c, _ := inspectOverAdmin(t, bobID); c.UserID != "" {
		t.Errorf("the other browser's client is bound to %q", c.UserID)
	}
	if c, _ := inspectOverAdmin(t, aliceID); c.UserID != "alice" {
		t.Errorf("the browser that logged in is bound to %q, want alice", c.UserID)
	}

	carol := newBrowser(t)
	carol.ua += " (carol)"
	_, up = carol.get("/", pageLoadHeaders...)
	carolID := up.Header.Get("X-Session-Client-Id")
	for _, h := range parallelGets(t, carol.ua, 10, imageHeaders...) {
		if h.Get("X-Session-Client-Id") != carolID || h.Get("X-Session-New-Client") != "false" {
			t.Fatalf("an image of the page load of %s got client %s, new client %s",
				carolID, h.Get("X-Session-Client-Id"), h.Get("X-Session-New-Client"))
		}
	}
}
