package caddymodule_test

import (
	"maps"
	"net/http"
	"testing"
	"time"

	"github.com/c0f4626f/caddy-session/internal/testredis"
	"github.com/c0f4626f/caddy-session/internal/wait"
)

// Withdrawing consent (the consent cookie gone, or Sec-GPC: 1) with the
// signed cookies of a stored client expires the cookies and erases and
// tombstones that client: the admin view and the exports no longer have
// it, and the old cookies, sent again with consent, get a brand-new cID.
func TestWithdrawnConsentErasesTheClient(t *testing.T) {
	onEachBackEnd(t, "consent cookie analytics yes\n\t\thonor_gpc", func(t *testing.T, s *site) {
		for _, c := range []struct {
			name     string
			withdraw func(b *browser) (*http.Response, received)
		}{
			{"no consent cookie", func(b *browser) (*http.Response, received) { delete(b.cookies, "analytics"); return b.get("/") }},
			{"Sec-GPC", func(b *browser) (*http.Response, received) { return b.get("/", "Sec-GPC", "1") }},
		} {
			b := newBrowser(t)
			b.ua += " (" + c.name + ")"
			b.cookies["analytics"] = "yes"
			b.get("/?utm_source=news")
			_, up := b.get("/") // back with its cookie: stored
			cid := up.Header.Get("X-Session-Client-Id")
			expectExported(t, s, cid, true)
			signed := maps.Clone(b.cookies)

			// Only the verified signed cookie proves the client.
			forger := newBrowser(t)
			forger.ua = b.ua
			forger.cookies = map[string]string{"_cs_cID": cid, "_ss_cID": cid + ".Zm9yZ2Vk"}
			c.withdraw(forger)
			adminDo(t, http.MethodGet, "/session/stats", nil)
			if _, status := inspectOverAdmin(t, cid); status != http.StatusOK {
				t.Fatalf("%s: a request with the readable cookie and a forged signature erased the client: status %d", c.name, status)
			}

			res, up := c.withdraw(b)
			if up.Header.Get("X-Session-Consent") != "false" || len(res.Cookies()) != 6 {
				t.Fatalf("%s: upstream %v, cookies %q; want no consent and six expiries", c.name, up.Header, res.Header.Values("Set-Cookie"))
			}
			for _, cookie := range res.Cookies() {
				if cookie.MaxAge >= 0 {
					t.Errorf("%s: cookie %s not expired", c.name, cookie)
				}
			}
			adminDo(t, http.MethodGet, "/session/stats", nil) // makes the erasures still waiting
			if _, status := inspectOverAdmin(t, cid); status != http.StatusNotFound {
				t.Errorf("%s: the admin view still has the client: status %d", c.name, status)
			}
			expectExported(t, s, cid, false)
			expectTombstoneStored(t, s, cid)

			b.cookies = signed // consent again, with the old cookies
			if _, up := b.get("/"); up.Header.Get("X-Session-New-Client") != "true" || up.Header.Get("X-Session-Client-Id") == cid {
				t.Errorf("%s: the old cookies kept the client after the withdrawal: cID %s, New-Client %s", c.name,
					up.Header.Get("X-Session-Client-Id"), up.Header.Get("X-Session-New-Client"))
			}
		}
	})
}

// A withdrawal while Redis is down still answers, expires the cookies and
// refuses the old ones at once; the erasure waits, and reaches Redis once
// it is back.
func TestWithdrawnConsentWhileRedisIsDown(t *testing.T) {
	noteSkip(t)
	r := testredis.Start(t)
	options := "consent cookie analytics yes\n\t\tstore_timeout 200ms"
	s := redisSite(t, r.Addr(), options)
	s.redis = r
	s.load(options)
	b := newBrowser(t)
	b.cookies["analytics"] = "yes"
	b.get("/")
	_, up := b.get("/")
	cid := up.Header.Get("X-Session-Client-Id")
	signed := maps.Clone(b.cookies)

	r.Kill()
	delete(b.cookies, "analytics")
	if res, up := b.get("/"); up.Header.Get("X-Session-Consent") != "false" || len(res.Cookies()) != 6 {
		t.Fatalf("withdrawal with Redis down: upstream %v, cookies %q", up.Header, res.Header.Values("Set-Cookie"))
	}
	b.cookies = signed
	if _, up := b.get("/"); up.Header.Get("X-Session-Client-Id") == cid {
		t.Fatalf("with Redis down the old cookies kept the withdrawn client %s", cid)
	}

	r.Restart() // empty: only the erasure made again can put the tombstone there
	erased := wait.Until(30*time.Second, 200*time.Millisecond, func() bool {
		var stats struct {
			Stores []struct {
				WithdrawalsWaiting int `json:"withdrawals_waiting"`
			}
		}
		adminDo(t, http.MethodGet, "/session/stats", &stats)
		return len(stats.Stores) == 1 && stats.Stores[0].WithdrawalsWaiting == 0
	})
	if !erased {
		t.Fatal("the erasure still waits after Redis came back")
	}
	expectTombstoneStored(t, s, cid)
}
