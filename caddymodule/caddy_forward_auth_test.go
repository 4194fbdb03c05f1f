package caddymodule_test

import (
	"fmt"
	"testing"
)

// caddyFrontURL is where the tests serve the Caddy forward_auth recipe.
const caddyFrontURL = "http://localhost:9081"

// caddyFront renders the Caddy recipe at caddyFrontURL in front of origin,
// with an access log at logPath unless it is empty, as a site to load
// after the service.
func caddyFront(t *testing.T, origin *upstream, logPath string) string {
	t.Helper()
	front := mustReplace(t, recipe(t, caddyRecipe), recipeFront+" {\n", caddyFrontURL+" {\n")
	front = mustReplace(t, front, "reverse_proxy "+recipeOrigin, "reverse_proxy "+origin.addr())
	if logPath != "" {
		front = mustReplace(t, front, caddyFrontURL+" {\n", caddyFrontURL+" {\n\tlog {\n\t\toutput file "+logPath+"\n\t\tformat json\n\t}\n")
	}
	return "\n" + front
}

// throughCaddyFront starts the session service with the Caddy recipe in
// front of a new origin, and returns a browser pointed at the front.
func throughCaddyFront(t *testing.T) (*browser, *upstream) {
	t.Helper()
	origin := newUpstream(t)
	(&service{trusted: true}).start(t, caddyFront(t, origin, ""))
	b := newBrowser(t)
	b.base = caddyFrontURL
	return b, origin
}

// The Caddy forward_auth recipe: a Caddy without the plugin in front of an
// origin, asking the session service, gives the same as the nginx recipe.
func TestCaddyForwardAuthRecipe(t *testing.T) {
	b, _ := throughCaddyFront(t)
	b.cookies["theme"] = "dark"

	var cid string
	for i, path := range []string{
		"/landing",
		"/next?cc=public,+max-age=600",
		"/third?cc=no-store",
	} {
		res, up := b.get(path, append(spoofed, "X-Session-Whatever", "forged")...)
		if i == 0 {
			cid = up.Header.Get("X-Session-Client-Id")
		}
		expect(t, up.Header, map[string]string{
			"X-Session-Client-Id": cid, "X-Session-Id": cid, "X-Session-Event-Number": fmt.Sprint(i + 1),
			"X-Session-Fallback": "false", "X-Session-Set-Cookie-1": "", "X-Session-Cache-Control": "",
		})
		assertCookies(t, res, firstOnly(i == 0, cid), firstOnly(i == 0, cid), up.Header.Get("X-Session-Event-Id"))
		assertOriginSawNoSecret(t, up)
	}
	if landing := landingPath(t, cid); landing != "/landing" {
		t.Errorf("landing path %q, want /landing", landing)
	}

	crawler := newBrowser(t)
	crawler.base, crawler.ua = b.base, "Googlebot/2.1"
	if res, _ := crawler.get("/"); len(res.Header.Values("Set-Cookie")) != 0 {
		t.Errorf("crawler got cookies %q", res.Header.Values("Set-Cookie"))
	}
}
