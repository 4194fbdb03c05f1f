package caddymodule_test

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
)

// nginxStatus is nginx's status for a GET of / with these Cookie lines.
func nginxStatus(t *testing.T, base string, cookies []string) int {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, base+"/", nil)
	req.Host = recipeSite
	req.Header["Cookie"] = cookies
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	return res.StatusCode
}

// The largest Cookie nginx takes from a client (large_client_header_buffers
// 4 8k: one line of up to 8k, four such lines at most) reaches the origin
// with a new visitor's six Set-Cookie lines back: the answer, which
// repeats both, fits the subrequest's buffers.
func TestNginxRecipeTakesTheLargestCookie(t *testing.T) {
	b, _ := throughNginx(t, &service{trusted: true})
	size := 8192
	for ; size > 7000 && nginxStatus(t, b.base, []string{"a=" + strings.Repeat("A", size)}) == http.StatusBadRequest; size-- {
	}
	line := "a=" + strings.Repeat("A", size)
	lines := []string{line, line, line, line}
	for len(lines) > 1 && nginxStatus(t, b.base, lines) == http.StatusBadRequest {
		lines = lines[1:]
	}
	t.Logf("nginx takes %d Cookie lines of %d bytes", len(lines), len(line))
	if len(lines) < 2 {
		t.Fatalf("nginx took one Cookie line of %d bytes only", len(line))
	}
	for _, cookies := range [][]string{{line}, lines} {
		req, _ := http.NewRequest(http.MethodGet, b.base+"/big", nil)
		req.Host = recipeSite
		req.Header["Cookie"] = cookies
		res, up := newBrowser(t).do(req)
		if n := len(res.Header.Values("Set-Cookie")); n != 6 {
			t.Errorf("%d Cookie lines: %d Set-Cookie lines, want 6", len(cookies), n)
		}
		if got, want := up.Header.Get("Cookie"), strings.Join(cookies, "; "); got != want {
			t.Errorf("%d Cookie lines: origin's Cookie has %d bytes, want %d", len(cookies), len(got), len(want))
		}
	}
}

// A visitor's request trailers are not headers: through the Caddy front
// the origin's headers hold the service's client ID, and a forged one
// arrives only as a trailer (Go's net/http keeps those in
// Request.Trailer), as README says.
func TestCaddyRecipeForgedTrailersStayTrailers(t *testing.T) {
	b, _ := throughCaddyFront(t)
	req, _ := http.NewRequest(http.MethodPost, b.base+"/trailer", io.NopCloser(strings.NewReader("hello")))
	req.ContentLength = -1
	req.Trailer = http.Header{"X-Session-Client-Id": {"forged"}}
	_, up := b.do(req)
	if id := up.Header.Get("X-Session-Client-Id"); id == "" || id == "forged" {
		t.Errorf("origin's X-Session-Client-ID header %q, want the service's", id)
	}
	if got := up.Trailer.Get("X-Session-Client-Id"); got != "forged" {
		t.Errorf("origin's trailers %q: README says a forged one arrives as a trailer", up.Trailer)
	}
}

// A visitor's Connection cannot make the Caddy front drop the fields and
// the Cookie that forward_auth sets (a GPC visitor's consent, here), and
// an upgrade still reaches the origin as one.
func TestCaddyRecipeIgnoresAVisitorsConnectionTokens(t *testing.T) {
	b, _ := throughCaddyFront(t)
	b.cookies["theme"] = "dark"
	b.get("/")

	_, up := b.get("/conn", "Connection", "X-Session-Client-ID, X-Session-ID, Cookie")
	if up.Header.Get("X-Session-Client-Id") == "" || up.Header.Get("X-Session-Id") == "" || !strings.Contains(up.Header.Get("Cookie"), "theme=dark") {
		t.Errorf("with Connection naming them the origin got client %q, session %q, Cookie %q",
			up.Header.Get("X-Session-Client-Id"), up.Header.Get("X-Session-Id"), up.Header.Get("Cookie"))
	}
	gpc := newBrowser(t)
	gpc.base = caddyFrontURL
	_, up = gpc.get("/gpc", "Sec-GPC", "1", "Connection", "X-Session-Consent", "Connection", "keep-alive, x-session-consent")
	if c := up.Header.Get("X-Session-Consent"); c != "false" {
		t.Errorf("GPC visitor naming X-Session-Consent in Connection: origin's consent %q, want false", c)
	}
	_, up = b.get("/ws", "Connection", "X-Session-ID, Upgrade", "Upgrade", "websocket")
	if up.Header.Get("Upgrade") != "websocket" || !strings.EqualFold(up.Header.Get("Connection"), "Upgrade") || up.Header.Get("X-Session-Id") == "" {
		t.Errorf("upgrade: origin got Connection %q, Upgrade %q, session %q",
			up.Header.Get("Connection"), up.Header.Get("Upgrade"), up.Header.Get("X-Session-Id"))
	}
}

// cachingFront runs nginx as a shared cache (proxy_cache, which here
// stores responses with Set-Cookie too, as RFC 9111 allows) in front of
// the proxy at addr, sending host, and returns its base URL.
func cachingFront(t *testing.T, addr, host string) string {
	t.Helper()
	base, _ := runNginx(t, func(listen, dir string) string {
		return fmt.Sprintf(`proxy_cache_path %[1]s/cache keys_zone=shared:1m;
server {
	listen %[2]s;
	location / {
		proxy_cache shared;
		proxy_ignore_headers Set-Cookie;
		proxy_set_header Host %[3]s;
		add_header X-Cache $upstream_cache_status always;
		proxy_pass http://%[4]s;
	}
}
`, dir, listen, host, addr)
	})
	return base
}

// Both recipes keep every Cache-Control line of the origin and add a
// private line to a response that sets cookies, whatever the origin's
// lines say, and to a crawler's page load, which sets none; a shared cache
// in front stores none of them.
func TestRecipesKeepTheOriginsCacheControlAndMakeItPrivate(t *testing.T) {
	origin := newUpstream(t)
	(&service{trusted: true}).start(t, caddyFront(t, origin, ""))
	browsers, _ := recipeFronts(t, origin)
	caches := map[string]string{
		"nginx": cachingFront(t, strings.TrimPrefix(browsers["nginx"].base, "http://"), recipeSite),
		"caddy": cachingFront(t, "127.0.0.1:9081", "localhost:9081"),
	}
	for i, origins := range [][]string{
		{"max-age=600", "no-store"},
		{"public, max-age=600, x-private-ext"},
		{`public, max-age=600, no-cache="private-x"`},
		{"public, max-age=600"},
		{"no-store"},
		{"private, max-age=60"},
		{},
	} {
		query := url.Values{"answer": nil}
		for _, line := range origins {
			query.Add("answer", "Cache-Control:"+line)
		}
		for name, b := range browsers {
			path := fmt.Sprintf("/cc-%d?%s", i, query.Encode())
			res, _ := b.get(path)
			got, want := res.Header.Values("Cache-Control"), append(slices.Clone(origins), "private")
			slices.Sort(got)
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Errorf("%s, origin %q: browser got Cache-Control %q, want %q", name, origins, got, want)
			}
			cached := &browser{t: t, base: caches[name], ua: b.ua, cookies: b.cookies, client: b.client}
			for range 2 {
				res, _ = cached.get(path)
			}
			if status := res.Header.Get("X-Cache"); status == "HIT" {
				t.Errorf("%s, origin %q: the shared cache stored a response that sets cookies (%s)", name, origins, status)
			}
		}
	}
	// A crawler's page load sets no cookie but is private all the same: a
	// stored copy would reach every browser without cookies. The same cache
	// in front of the origin alone stores that page: the control that it
	// caches at all.
	caches["origin alone"] = cachingFront(t, origin.addr(), origin.addr())
	for name, base := range caches {
		crawler := newBrowser(t)
		crawler.base, crawler.ua = base, "Googlebot/2.1"
		var res *http.Response
		for range 2 {
			res, _ = crawler.get("/crawled?cc=public,+max-age=600")
		}
		if stored := res.Header.Get("X-Cache") == "HIT"; stored != (name == "origin alone") {
			t.Errorf("%s: a crawler's public page stored: %v (%q)", name, stored, res.Header.Values("Cache-Control"))
		}
	}
}

// Under events navigations both recipes put the service's Vary on the
// page's response, for a page load and for an asset alike.
func TestRecipesRelayTheNavigationsVary(t *testing.T) {
	origin := newUpstream(t)
	(&service{trusted: true, extra: "events navigations"}).start(t, caddyFront(t, origin, ""))
	browsers, _ := recipeFronts(t, origin)
	for name, b := range browsers {
		for _, request := range [][]string{
			{"Sec-Fetch-Mode", "navigate", "Sec-Fetch-Dest", "document", "Accept", "text/html"},
			{"Sec-Fetch-Mode", "no-cors", "Sec-Fetch-Dest", "image", "Accept", "image/*"},
		} {
			res, up := b.get("/page?answer=Vary:Origin", request...)
			vary := strings.Join(res.Header.Values("Vary"), ", ")
			for _, want := range []string{"Sec-Fetch-Mode", "Sec-Fetch-Dest", "Accept", "Origin"} {
				if !slices.Contains(strings.Split(vary, ", "), want) {
					t.Errorf("%s, %s: Vary %q lacks %s", name, request[3], vary, want)
				}
			}
			if v := up.Header.Get("X-Session-Vary"); v != "" {
				t.Errorf("%s: origin got X-Session-Vary %q", name, v)
			}
		}
	}
}
