package caddymodule_test

import (
	"maps"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/google/uuid"
)

// What Chromium sends for a page load, an image and a fetch call.
var (
	pageLoad  = []string{"Sec-Fetch-Mode", "navigate", "Sec-Fetch-Dest", "document", "Accept", "text/html,*/*;q=0.8"}
	imageGet  = []string{"Sec-Fetch-Mode", "no-cors", "Sec-Fetch-Dest", "image", "Accept", "image/avif,image/webp,*/*;q=0.8"}
	fetchCall = []string{"Sec-Fetch-Mode", "cors", "Sec-Fetch-Dest", "empty", "Accept", "*/*"}
)

// With events navigations a page load is an event and an image, a fetch
// call or a */* request of the same client is not: it hands on the
// client, the session and the page's event as previous one, sets no cookie,
// keeps the origin's Cache-Control and is not counted at the store.
func TestNavigationsCountPagesNotAssets(t *testing.T) {
	s := startSite(t, "events navigations\n\t\tfingerprint")
	b := newBrowser(t)
	res, up := b.get("/page", pageLoad...)
	first := up.Header
	cid, eid := first.Get("X-Session-Client-Id"), first.Get("X-Session-Event-Id")
	expect(t, first, map[string]string{"X-Session-New-Client": "true", "X-Session-Event-Number": "1"})
	assertCookies(t, res, cid, cid, eid)

	for i, asset := range [][]string{imageGet, fetchCall, {"Accept", "*/*"}} {
		uri := cacheableAsset + "&asset=" + strconv.Itoa(i)
		res, up = b.get(uri, asset...)
		h := up.Header
		expect(t, h, map[string]string{
			"X-Session-Client-Id": cid, "X-Session-Id": cid, "X-Session-Previous-Event-Id": eid,
			"X-Session-New-Client": "", "X-Session-New-Session": "", "X-Session-Number": "",
			"X-Session-Event-Number": "", "X-Session-Fallback": "false",
			"X-Session-Fingerprint": first.Get("X-Session-Fingerprint"),
		})
		if got := h.Get("X-Session-Event-Id"); got == eid || uuid.Validate(got) != nil {
			t.Errorf("asset %v: event ID %q, want a new one", asset, got)
		}
		expectPlaceholders(t, h)
		assertUntouched(t, res)
		if cookie := h.Get("Cookie"); cookie == "" || strings.Contains(cookie, "_ss_") {
			t.Errorf("asset %v: upstream Cookie header %q, want the client cookies only", asset, cookie)
		}
		assertLogSession(t, s.logPath(), uri, map[string]any{
			"client_id": cid, "id": cid, "event_id": h.Get("X-Session-Event-Id"), "fallback": false,
		})
	}

	res, up = b.get("/next", pageLoad...)
	expect(t, up.Header, map[string]string{
		"X-Session-Client-Id": cid, "X-Session-Previous-Event-Id": eid, "X-Session-Event-Number": "2",
	})
	assertCookies(t, res, "", "", up.Header.Get("X-Session-Event-Id"))
	_, up = b.get("/third", "Accept", "text/html,application/xhtml+xml,*/*;q=0.8")
	expect(t, up.Header, map[string]string{"X-Session-Client-Id": cid, "X-Session-Event-Number": "3"})
	if events := storedEvents(t, "localhost:2999", cid); events != 3 {
		t.Errorf("the store holds %d events of the client, want 3", events)
	}
}

// Without Fetch Metadata an Accept that prefers HTML marks a page load; a
// request without valid cookies that is no page load gets an event ID only.
func TestNavigationsWithoutFetchMetadata(t *testing.T) {
	startSite(t, "events navigations")
	b := newBrowser(t)
	res, asset := b.get("/app.js", "Accept", "*/*")
	if got := res.Header.Values("Set-Cookie"); len(got) != 0 {
		t.Fatalf("a cookieless script got cookies: %q", got)
	}
	expect(t, asset.Header, map[string]string{"X-Session-Client-Id": "", "X-Session-Id": ""})
	if asset.Header.Get("X-Session-Event-Id") == "" {
		t.Fatal("a cookieless script got no event ID")
	}
	_, page := b.get("/", "Accept", "text/html,application/xhtml+xml")
	expect(t, page.Header, map[string]string{"X-Session-Event-Number": "1", "X-Session-New-Client": "true"})
}

// An erased client's cookies still verify, but its tombstone means it is
// not known any more: its assets get an event ID only.
func TestNavigationsErasedClientAssetGetsEventIDOnly(t *testing.T) {
	startSite(t, "events navigations")
	b := newBrowser(t)
	_, up := b.get("/", pageLoad...)
	cid := up.Header.Get("X-Session-Client-Id")
	if code := adminDo(t, http.MethodDelete, "/session/clients/"+cid, nil); code != http.StatusOK {
		t.Fatalf("erase: %d", code)
	}
	res, up := b.get(cacheableAsset, imageGet...)
	expectAnonymous(t, up.Header)
	assertUntouched(t, res)
}

// cacheableAsset asks the test origin for a response a CDN may keep.
const cacheableAsset = "/logo.png?cc=public,%20max-age=600"

// assertUntouched checks that a response of a request that is not an event
// sets no cookie and keeps the origin's Cache-Control.
func assertUntouched(t *testing.T, res *http.Response) {
	t.Helper()
	if set := res.Header.Values("Set-Cookie"); len(set) != 0 {
		t.Errorf("Set-Cookie on a request that is not an event: %q", set)
	}
	if cc := res.Header.Values("Cache-Control"); len(cc) != 1 || cc[0] != "public, max-age=600" {
		t.Errorf("Cache-Control %q, want the origin's public, max-age=600", cc)
	}
}

// A signed cookie that does not verify is no client: its asset gets an
// event ID only.
func TestNavigationsForgedCookieAssetGetsEventIDOnly(t *testing.T) {
	startSite(t, "events navigations")
	b := newBrowser(t)
	b.cookies["_ss_cID"] = "01a21c0d-f737-72b1-a48b-6f0c6908e947.forged"
	res, up := b.get(cacheableAsset, imageGet...)
	expectAnonymous(t, up.Header)
	assertUntouched(t, res)
}

// Consent and GPC decide before events navigations does: an asset of a
// known client without consent gets no identity.
func TestNavigationsConsentAndGPCStillWin(t *testing.T) {
	startSite(t, "events navigations\n\t\tconsent cookie analytics yes\n\t\thonor_gpc")
	b := newBrowser(t)
	b.cookies["analytics"] = "yes"
	_, page := b.get("/", pageLoad...)
	if page.Header.Get("X-Session-Client-Id") == "" {
		t.Fatal("a consenting page load got no client")
	}
	known := maps.Clone(b.cookies)

	_, gpc := b.get(cacheableAsset, append([]string{"Sec-GPC", "1"}, imageGet...)...)
	b.cookies = maps.Clone(known)
	delete(b.cookies, "analytics")
	_, withdrawn := b.get(cacheableAsset, imageGet...)
	for name, up := range map[string]received{"Sec-GPC": gpc, "consent withdrawn": withdrawn} {
		if up.Header.Get("X-Session-Consent") != "false" || up.Header.Get("X-Session-Client-Id") != "" {
			t.Errorf("%s: an asset of a known client got identity: %v", name, up.Header)
		}
	}
}

// expectAnonymous checks that the upstream got an event ID and nothing
// that identifies a client.
func expectAnonymous(t *testing.T, h http.Header) {
	t.Helper()
	if uuid.Validate(h.Get("X-Session-Event-Id")) != nil {
		t.Errorf("event ID %q, want one", h.Get("X-Session-Event-Id"))
	}
	for _, name := range sessionHeaders {
		if v := h.Get(name); v != "" && name != "X-Session-Event-Id" && name != "X-Session-Fallback" {
			t.Errorf("upstream got %s: %s", name, v)
		}
	}
}
