package caddymodule_test

import (
	"net/http"
	"sort"
	"strconv"
	"testing"
	"time"

	"github.com/c0f4626f/caddy-session/internal/concurrent"
)

func TestSessionRotatesAfterTimeout(t *testing.T) {
	startSite(t, "session_timeout 1s")
	b := newBrowser(t)
	_, first := b.get("/")
	b.get("/")
	time.Sleep(1200 * time.Millisecond)
	_, up := b.get("/")
	cid := first.Header.Get("X-Session-Client-Id")
	expect(t, up.Header, map[string]string{
		"X-Session-Client-Id": cid, "X-Session-New-Client": "false", "X-Session-New-Session": "true",
		"X-Session-Number": "2", "X-Session-Event-Number": "1", "X-Session-Id": up.Header.Get("X-Session-Event-Id"),
	})
}

func TestHundredConcurrentRequestsAfterTimeoutStartOneSession(t *testing.T) {
	startSite(t, "session_timeout 1s\n\t\tstore_timeout 5s")
	b := newBrowser(t)
	b.get("/")
	_, second := b.get("/") // the client returned: it is now in the store
	time.Sleep(1200 * time.Millisecond)
	cookie := b.cookieHeader()

	results := parallelGets(t, b.ua, 100, "Cookie", cookie)
	newSessions, sessions, numbers := 0, map[string]bool{}, []int{}
	for _, h := range results {
		if h.Get("X-Session-Client-Id") != second.Header.Get("X-Session-Client-Id") || h.Get("X-Session-Fallback") != "false" {
			t.Fatalf("request lost its client or fell back: %v", h)
		}
		if h.Get("X-Session-New-Session") == "true" {
			newSessions++
		}
		sessions[h.Get("X-Session-Id")] = true
		n, _ := strconv.Atoi(h.Get("X-Session-Event-Number"))
		numbers = append(numbers, n)
	}
	sort.Ints(numbers)
	for i, n := range numbers {
		if n != i+1 {
			t.Fatalf("event numbers %v, want 1..100", numbers)
		}
	}
	if newSessions != 1 || len(sessions) != 1 {
		t.Fatalf("%d new sessions across %d session IDs; want exactly 1", newSessions, len(sessions))
	}
}

func TestParallelCookielessRequestsOfOneBrowserShareAClient(t *testing.T) {
	startSite(t, "store_timeout 5s")
	results := parallelGets(t, newBrowser(t).ua, 20, "Accept-Language", "en-GB")
	clients, newClients := map[string]bool{}, 0
	for _, h := range results {
		clients[h.Get("X-Session-Client-Id")] = true
		if h.Get("X-Session-New-Client") == "true" {
			newClients++
		}
	}
	if len(clients) != 1 || newClients != 1 {
		t.Fatalf("%d clients, %d new; want 1 and 1", len(clients), newClients)
	}
}

func TestReloadKeepsStoreAndCounters(t *testing.T) {
	s := startSite(t, "")
	b := newBrowser(t)
	b.get("/")
	b.get("/")
	s.load("session_timeout 45m") // a changed config: a real reload
	_, up := b.get("/")
	expect(t, up.Header, map[string]string{"X-Session-Event-Number": "3", "X-Session-Fallback": "false", "X-Session-New-Session": "false"})
	s.load("session_timeout 50m") // the reload flushes what the old config queued
	if got := storedEvents(t, "localhost:2999", up.Header.Get("X-Session-Client-Id")); got != 3 {
		t.Fatalf("stored total events %d after reload, want 3", got)
	}
}

func TestUnopenableStoreServesFromCookies(t *testing.T) {
	s := startSite(t, "")
	s.loadUnopenable("")
	b := newBrowser(t)
	res, first := b.get("/")
	_, second := b.get("/")
	if first.Header.Get("X-Session-Fallback") != "true" || len(res.Header.Values("Set-Cookie")) != 6 {
		t.Fatalf("unopenable store: headers %v cookies %q", first.Header, res.Header.Values("Set-Cookie"))
	}
	if second.Header.Get("X-Session-Client-Id") != first.Header.Get("X-Session-Client-Id") ||
		second.Header.Get("X-Session-Id") != first.Header.Get("X-Session-Id") {
		t.Fatalf("identity did not continue from cookies: %v then %v", first.Header, second.Header)
	}
}

// parallelGets sends n concurrent requests with the same User-Agent and
// headers, each from a fresh cookie jar, and returns what the upstream saw.
func parallelGets(t *testing.T, ua string, n int, headers ...string) []http.Header {
	return concurrent.Map(n, func(int) http.Header {
		b := newBrowser(t)
		b.ua = ua
		_, up := b.get("/", headers...)
		return up.Header
	})
}
