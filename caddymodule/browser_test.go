package caddymodule_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2/caddytest"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	"github.com/google/uuid"
)

const (
	chromiumPath   = "/usr/bin/chromium"
	browserTimeout = 60 * time.Second
	// otherSiteURL is the same server under another host: another site to
	// the browser, with cookies of its own.
	otherSiteURL = "http://127.0.0.1:9080"
)

// pageSiteCaddyfile serves, on both hosts, an HTML page showing the IDs the
// session handler computed, and at /from a link to siteURL. Bootstrap is off
// so that a request without cookies always gets a new client: a kept cID
// then proves the browser sent its cookies. The icon link stops Chromium
// from fetching /favicon.ico, a request that would move the eID on.
const pageSiteCaddyfile = `
%s, %s {
	session {
		secret %s
		store sqlite {
			path %s
		}
		bootstrap_window off
		%s
	}
	header Content-Type "text/html; charset=utf-8"
	handle /from {
		respond ` + "`" + `<a id="go" href="%s/landing">go</a>` + "`" + `
	}
	handle {
		respond ` + "`" + `<link rel="icon" href="data:,">
<p id="cID">{http.session.client_id}</p>
<p id="sID">{http.session.id}</p>
<p id="eID">{http.session.event_id}</p>
<p id="fetchSite">{http.request.header.Sec-Fetch-Site}</p>` + "`" + `
	}
}
`

// identity is a visitor's three IDs.
type identity struct{ cID, sID, eID string }

func TestBrowserScriptReadsOnlyClientCookies(t *testing.T) {
	ctx := openPageSite(t, "")

	shown := shownIdentity(ctx, t)
	requireUUIDs(t, shown)
	cookies := scriptCookies(ctx, t)
	for name := range cookies {
		if strings.HasPrefix(name, "_ss_") {
			t.Errorf("page script reads the HttpOnly cookie %s", name)
		}
	}
	if got := clientCookieIdentity(cookies); got != shown {
		t.Errorf("document.cookie has %+v, the server computed %+v", got, shown)
	}
	// The server cookies are in the jar, so their absence above is HttpOnly.
	jar := jarCookies(ctx, t, siteURL)
	for _, name := range []string{"_ss_cID", "_ss_sID", "_ss_eID"} {
		if c := jar[name]; c == nil || !c.HTTPOnly {
			t.Errorf("jar cookie %s = %+v, want it present and HttpOnly", name, c)
		}
	}
}

func TestBrowserReloadKeepsClientAndSessionButNotEvent(t *testing.T) {
	ctx, before, after := identityAcrossReload(t, "", 0)
	if after.cID != before.cID || after.sID != before.sID {
		t.Errorf("reload changed the client or session: before %+v, after %+v", before, after)
	}
	if after.eID == before.eID {
		t.Errorf("reload kept the eID %s", after.eID)
	}
	if shown := shownIdentity(ctx, t); after != shown {
		t.Errorf("document.cookie has %+v, the server computed %+v", after, shown)
	}
}

func TestBrowserSessionTimeoutStartsNewSession(t *testing.T) {
	_, before, after := identityAcrossReload(t, "session_timeout 1s", 1300*time.Millisecond)
	if after.cID != before.cID {
		t.Errorf("session timeout changed the client: %s, then %s", before.cID, after.cID)
	}
	if after.sID == before.sID || after.sID != after.eID {
		t.Errorf("after the timeout %+v (before %+v), want a new sID that starts at this event", after, before)
	}
}

func TestBrowserLinkFromAnotherSiteKeepsClient(t *testing.T) {
	ctx := openPageSite(t, "")
	home := shownIdentity(ctx, t)
	requireUUIDs(t, home)

	run(ctx, t, chromedp.Navigate(otherSiteURL+"/from"))
	if other := clientCookieIdentity(scriptCookies(ctx, t)); other.cID == "" || other.cID == home.cID {
		t.Fatalf("the other host has cID %q, want one of its own (home %s)", other.cID, home.cID)
	}

	run(ctx, t, chromedp.Steps(chromedp.Click(chromedp.ID("go")), chromedp.WaitVisible(chromedp.ID("cID"))))
	if loc := run(ctx, t, chromedp.Location()); loc != siteURL+"/landing" {
		t.Fatalf("the link led to %s", loc)
	}
	// Without a cross-site request this test would not exercise SameSite.
	if fetchSite := pageText(ctx, t, "fetchSite"); fetchSite != "cross-site" {
		t.Fatalf("Sec-Fetch-Site %q, want cross-site", fetchSite)
	}
	if landing := shownIdentity(ctx, t); landing.cID != home.cID || landing.sID != home.sID {
		t.Errorf("link from another site: landing %+v, home %+v, want the same client and session", landing, home)
	}
}

func TestBrowserKeepsSecureCookiesOnLocalhost(t *testing.T) {
	ctx := newChromium(t)
	startSite(t, "bootstrap_window off")
	run(ctx, t, chromedp.Navigate(siteURL+"/first"))
	first := upstreamSaw(ctx, t)
	cid := first.Get("X-Session-Client-Id")
	if _, err := uuid.Parse(cid); err != nil || first.Get("X-Session-New-Client") != "true" {
		t.Fatalf("first visit: cID %q, new client %q", cid, first.Get("X-Session-New-Client"))
	}

	run(ctx, t, chromedp.Navigate(siteURL+"/second"))
	second := upstreamSaw(ctx, t)
	if second.Get("X-Session-Client-Id") != cid || second.Get("X-Session-New-Client") != "false" {
		t.Errorf("second visit: cID %q (want %s), new client %q: the browser dropped the Secure cookies",
			second.Get("X-Session-Client-Id"), cid, second.Get("X-Session-New-Client"))
	}
	c := jarCookies(ctx, t, siteURL)["_ss_cID"]
	if c == nil || !c.Secure || !c.HTTPOnly || c.SameSite != network.CookieSameSiteLax {
		t.Errorf("jar cookie _ss_cID = %+v, want Secure, HttpOnly, SameSite=Lax", c)
	}
}

// openPageSite starts the page site with options and opens its home page
// in a fresh Chromium.
func openPageSite(t *testing.T, options string) context.Context {
	t.Helper()
	ctx := newChromium(t)
	startPageSite(t, options)
	run(ctx, t, chromedp.Navigate(siteURL+"/"))
	return ctx
}

// identityAcrossReload opens the page site with options in a fresh
// Chromium, reads the identity from document.cookie, waits pause, reloads
// and reads it again.
func identityAcrossReload(t *testing.T, options string, pause time.Duration) (ctx context.Context, before, after identity) {
	t.Helper()
	ctx = openPageSite(t, options)
	before = clientCookieIdentity(scriptCookies(ctx, t))
	requireUUIDs(t, before)

	time.Sleep(pause)
	run(ctx, t, chromedp.Reload())
	return ctx, before, clientCookieIdentity(scriptCookies(ctx, t))
}

// newChromium starts a headless Chromium with a fresh profile. The browser
// ends with the test, or after browserTimeout so that a hang cannot stall the
// run.
func newChromium(t *testing.T) context.Context {
	t.Helper()
	noteSkip(t)
	if _, err := os.Stat(chromiumPath); err != nil {
		t.Skipf("browser tests need Chromium at %s: %v", chromiumPath, err)
	}
	ctx, cancelTimeout := context.WithTimeout(context.Background(), browserTimeout)
	ctx, cancelAllocator := chromedp.NewExecAllocator(ctx,
		chromedp.ExecPath(chromiumPath),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("no-first-run", true),
		chromedp.UserDataDir(t.TempDir()),
	)
	ctx, cancelBrowser := chromedp.NewContext(ctx)
	t.Cleanup(func() {
		cancelBrowser()
		cancelAllocator()
		cancelTimeout()
	})
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start Chromium: %v", err)
	}
	return ctx
}

// startPageSite loads pageSiteCaddyfile with the given session options.
func startPageSite(t *testing.T, options string) {
	t.Helper()
	db := filepath.Join(t.TempDir(), "sessions.db")
	caddyfile := globalOpt + fmt.Sprintf(pageSiteCaddyfile, siteURL, otherSiteURL, testKey, db, withStoreTimeout(options), siteURL)
	caddytest.NewTester(t).InitServer(caddyfile, "caddyfile")
	if t.Failed() {
		t.FailNow()
	}
}

// run runs action in the browser and fails the test on error.
func run[T any](ctx context.Context, t *testing.T, action chromedp.Action[T]) T {
	t.Helper()
	v, err := chromedp.Run(ctx, action)
	if err != nil {
		t.Fatalf("browser: %v", err)
	}
	return v
}

func pageText(ctx context.Context, t *testing.T, id string) string {
	t.Helper()
	return run(ctx, t, chromedp.Evaluate[string](fmt.Sprintf(`document.getElementById(%q).textContent`, id)))
}

// shownIdentity reads the IDs the server rendered into the page.
func shownIdentity(ctx context.Context, t *testing.T) identity {
	t.Helper()
	return identity{cID: pageText(ctx, t, "cID"), sID: pageText(ctx, t, "sID"), eID: pageText(ctx, t, "eID")}
}

// scriptCookies returns, by name, the cookies page JavaScript can read.
func scriptCookies(ctx context.Context, t *testing.T) map[string]string {
	t.Helper()
	cookies := map[string]string{}
	for pair := range strings.SplitSeq(run(ctx, t, chromedp.Evaluate[string](`document.cookie`)), "; ") {
		if name, value, ok := strings.Cut(pair, "="); ok {
			cookies[name] = value
		}
	}
	return cookies
}

func clientCookieIdentity(cookies map[string]string) identity {
	return identity{cID: cookies["_cs_cID"], sID: cookies["_cs_sID"], eID: cookies["_cs_eID"]}
}

// jarCookies returns, by name, the cookies the browser holds for url,
// HttpOnly ones included.
func jarCookies(ctx context.Context, t *testing.T, url string) map[string]*network.Cookie {
	t.Helper()
	res, err := chromedp.Call(ctx, network.GetCookies, network.GetCookiesParams{URLs: []string{url}})
	if err != nil {
		t.Fatalf("get cookies of %s: %v", url, err)
	}
	jar := map[string]*network.Cookie{}
	for _, c := range res.Cookies {
		jar[c.Name] = c
	}
	return jar
}

// upstreamSaw returns the request headers the JSON upstream reported on the
// current page.
func upstreamSaw(ctx context.Context, t *testing.T) http.Header {
	t.Helper()
	body := run(ctx, t, chromedp.Evaluate[string](`document.querySelector("pre").textContent`))
	var got received
	if err := json.Unmarshal([]byte(body), &got); err != nil {
		t.Fatalf("upstream body %q: %v", body, err)
	}
	return got.Header
}

func requireUUIDs(t *testing.T, id identity) {
	t.Helper()
	for _, v := range []string{id.cID, id.sID, id.eID} {
		if _, err := uuid.Parse(v); err != nil {
			t.Fatalf("identity %+v: %q is not a uuid", id, v)
		}
	}
}

// A reload within cookie_refresh leaves the client and session cookies as
// they were set (not sent again: their expiry stays), one after it renews
// them (their expiry moves on), and the identity holds throughout.
func TestBrowserRenewsCookiesWhenDue(t *testing.T) {
	ctx := openPageSite(t, "cookie_refresh 2s")
	first := clientCookieIdentity(scriptCookies(ctx, t))
	requireUUIDs(t, first)
	set := jarCookies(ctx, t, siteURL)
	renewable := []string{"_ss_cID", "_cs_cID", "_ss_sID", "_cs_sID"}

	reload := func(pause time.Duration) map[string]*network.Cookie {
		time.Sleep(pause)
		run(ctx, t, chromedp.Reload())
		if id := clientCookieIdentity(scriptCookies(ctx, t)); id.cID != first.cID || id.sID != first.sID || id.eID == first.eID {
			t.Fatalf("after a reload %+v, want the client and session of %+v and a new event", id, first)
		}
		return jarCookies(ctx, t, siteURL)
	}
	again := reload(0)
	for _, name := range renewable {
		if again[name] == nil || again[name].Expires != set[name].Expires {
			t.Errorf("%s was sent again within cookie_refresh: %+v, first %+v", name, again[name], set[name])
		}
	}
	renewed := reload(2500 * time.Millisecond)
	for _, name := range renewable {
		if renewed[name] == nil || renewed[name].Expires <= set[name].Expires {
			t.Errorf("%s was not renewed after cookie_refresh: %+v, first %+v", name, renewed[name], set[name])
		}
	}
}
