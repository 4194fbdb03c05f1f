package caddymodule_test

import (
	"net/http"
	"testing"

	"github.com/google/uuid"
)

// Fetch Metadata of a page load and of an image, as browsers send them.
var (
	pageLoad = []string{"Sec-Fetch-Mode", "navigate", "Sec-Fetch-Dest", "document", "Accept", "text/html"}
	imageGet = []string{"Sec-Fetch-Mode", "no-cors", "Sec-Fetch-Dest", "image", "Accept", "image/avif,image/*"}
)

// With events navigations a page load is an event and an image of the same
// client is not: it carries the client and session upstream, sets no cookie
// and keeps the origin's Cache-Control, so a CDN may cache it.
func TestNavigationsOnlyCountPageLoads(t *testing.T) {
	startSite(t, "events navigations")
	b := newBrowser(t)
	_, first := b.get("/", pageLoad...)
	expect(t, first.Header, map[string]string{"X-Session-Event-Number": "1", "X-Session-New-Client": "true"})
	cid, sid := first.Header.Get("X-Session-Client-Id"), first.Header.Get("X-Session-Id")

	res, asset := b.get("/logo.png?cc=public,+max-age=60", imageGet...)
	if got := res.Header.Values("Set-Cookie"); len(got) != 0 {
		t.Fatalf("an image got cookies: %q", got)
	}
	if cc := res.Header.Get("Cache-Control"); cc != "public, max-age=60" {
		t.Fatalf("an image's Cache-Control became %q", cc)
	}
	expect(t, asset.Header, map[string]string{
		"X-Session-Client-Id": cid, "X-Session-Id": sid, "X-Session-Event-Number": "", "X-Session-Number": "",
	})
	if eid := asset.Header.Get("X-Session-Event-Id"); eid == "" || eid == first.Header.Get("X-Session-Event-Id") {
		t.Fatalf("an image's event ID %q: want a fresh one", eid)
	}

	_, second := b.get("/next", pageLoad...)
	expect(t, second.Header, map[string]string{
		"X-Session-Client-Id": cid, "X-Session-Event-Number": "2", "X-Session-Previous-Event-Id": first.Header.Get("X-Session-Event-Id"),
	})
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
	if got := up.Header.Get("X-Session-Client-Id"); got != "" {
		t.Errorf("the erased client's asset request handed %s upstream", got)
	}
	if uuid.Validate(up.Header.Get("X-Session-Event-Id")) != nil {
		t.Errorf("the erased client's asset got event ID %q", up.Header.Get("X-Session-Event-Id"))
	}
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
