package caddymodule_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2/caddytest"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/c0f4626f/caddy-session/internal/wait"
)

// A page with two images, a script and the script's fetch call: with events
// navigations, each load of it is one event, and none of its assets sets a
// cookie.
func TestBrowserNavigationsOneEventPerPageLoad(t *testing.T) {
	ctx := newChromium(t)
	origin := newPageOrigin(t)
	db := filepath.Join(t.TempDir(), "sessions.db")
	caddytest.NewTester(t).InitServer(globalOpt+fmt.Sprintf(`
%s {
	session {
		secret %s
		store sqlite {
			path %s
		}
		store_timeout 5s
		events navigations
	}
	reverse_proxy %s
}
`, siteURL, testKey, db, strings.TrimPrefix(origin.URL, "http://")), "caddyfile")
	if t.Failed() {
		t.FailNow()
	}
	setCookie := watchSetCookie(ctx, t)

	const loads = 3
	for n := 1; n <= loads; n++ {
		run(ctx, t, chromedp.Navigate(siteURL+"/page?n="+strconv.Itoa(n)))
		if !wait.Until(10*time.Second, 50*time.Millisecond, func() bool { return pageText(ctx, t, "fetched") == "yes" }) {
			t.Fatalf("load %d: the script's fetch call did not finish", n)
		}
	}

	seen := origin.requests()
	cid := seen["/page?n=1"].Get("X-Session-Client-Id")
	for n := 1; n <= loads; n++ {
		page := seen["/page?n="+strconv.Itoa(n)]
		if page.Get("X-Session-Client-Id") != cid || page.Get("X-Session-Event-Number") != strconv.Itoa(n) {
			t.Errorf("load %d: page got client %q event number %q, want %s and %d",
				n, page.Get("X-Session-Client-Id"), page.Get("X-Session-Event-Number"), cid, n)
		}
		for _, asset := range pageAssets {
			uri := asset + "?n=" + strconv.Itoa(n)
			h, ok := seen[uri]
			switch {
			case !ok:
				t.Errorf("the origin never got %s", uri)
			case h.Get("X-Session-Client-Id") != cid || h.Get("X-Session-Id") != page.Get("X-Session-Id") ||
				h.Get("X-Session-Previous-Event-Id") != page.Get("X-Session-Event-Id") || h.Get("X-Session-Event-Number") != "":
				t.Errorf("%s: upstream got client %q session %q previous event %q event number %q, want the page's IDs and no event",
					uri, h.Get("X-Session-Client-Id"), h.Get("X-Session-Id"), h.Get("X-Session-Previous-Event-Id"), h.Get("X-Session-Event-Number"))
			}
		}
	}
	if events := storedEvents(t, "localhost:2999", cid); events != loads {
		t.Errorf("the store counts %d events for %d page loads", events, loads)
	}
	cookies := setCookie()
	if cookies["/page?n=1"] == "" {
		t.Errorf("the first page load set no cookie, or the browser's responses went unseen: %q", cookies)
	}
	for uri, set := range cookies {
		if !strings.HasPrefix(uri, "/page") {
			t.Errorf("the browser got Set-Cookie on %s: %q", uri, set)
		}
	}
}

// pageAssets are what the origin's page loads: two images, a script and
// the script's fetch call.
var pageAssets = []string{"/a.gif", "/b.gif", "/app.js", "/api"}

// pageOrigin serves the page and its assets and records, by request URI,
// the headers of each request it got.
type pageOrigin struct {
	*httptest.Server
	mu   sync.Mutex
	seen map[string]http.Header
}

func newPageOrigin(t *testing.T) *pageOrigin {
	o := &pageOrigin{seen: map[string]http.Header{}}
	o.Server = httptest.NewServer(http.HandlerFunc(o.serve))
	t.Cleanup(o.Close)
	return o
}

// gif is a transparent 1x1 GIF.
const gif = "GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\x00\x00\x00!\xf9\x04\x01\x00\x00\x00\x00,\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;"

func (o *pageOrigin) serve(w http.ResponseWriter, r *http.Request) {
	o.mu.Lock()
	o.seen[r.URL.RequestURI()] = r.Header.Clone()
	o.mu.Unlock()
	n := r.URL.Query().Get("n")
	w.Header().Set("Cache-Control", "public, max-age=600")
	switch r.URL.Path {
	case "/page":
		w.Header().Set("Cache-Control", "no-cache")
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, `<link rel="icon" href="data:,">
<img src="/a.gif?n=%[1]s"><img src="/b.gif?n=%[1]s">
<p id="fetched">no</p>
<script src="/app.js?n=%[1]s"></script>`, n)
	case "/app.js":
		w.Header().Set("Content-Type", "text/javascript")
		fmt.Fprintf(w, `fetch("/api?n=%s").then(r => r.text()).then(() => { document.getElementById("fetched").textContent = "yes" })`, n)
	case "/api":
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{}`)
	default:
		w.Header().Set("Content-Type", "image/gif")
		fmt.Fprint(w, gif)
	}
}

func (o *pageOrigin) requests() map[string]http.Header {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.seen
}

// watchSetCookie records, by request URI, the Set-Cookie headers of every
// response the browser receives from now on; the returned func reads them.
func watchSetCookie(ctx context.Context, t *testing.T) func() map[string]string {
	t.Helper()
	var mu sync.Mutex
	uris := map[network.RequestID]string{}
	set := map[network.RequestID]string{}
	err := chromedp.Listen(ctx, func(ev any) {
		mu.Lock()
		defer mu.Unlock()
		switch ev := ev.(type) {
		case *network.EventRequestWillBeSent:
			uris[ev.RequestID] = strings.TrimPrefix(ev.Request.URL, siteURL)
		case *network.EventResponseReceivedExtraInfo:
			for name, v := range ev.Headers {
				if strings.EqualFold(name, "Set-Cookie") {
					set[ev.RequestID] = fmt.Sprint(v)
				}
			}
		}
	})
	if err != nil {
		t.Fatalf("listen to the browser: %v", err)
	}
	return func() map[string]string {
		mu.Lock()
		defer mu.Unlock()
		byURI := map[string]string{}
		for id, v := range set {
			byURI[uris[id]] = v
		}
		return byURI
	}
}
