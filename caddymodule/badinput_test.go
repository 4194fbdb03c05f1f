package caddymodule_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/c0f4626f/caddy-session/sessionstore"
)

func TestClientCannotSpoofSessionHeaders(t *testing.T) {
	startSite(t, "")
	b := newBrowser(t)
	_, up := b.get("/", "X-Session-Client-ID", "evil", "x-session-fallback", "true", "X-SESSION-EXTRA", "1",
		"Connection", "X-Session-ID, x-session-client-id, keep-alive")
	h := up.Header
	if h.Get("X-Session-Client-Id") == "evil" || h.Get("X-Session-Fallback") != "false" || h.Get("X-Session-Extra") != "" {
		t.Fatalf("spoofed headers reached the upstream: %v", h)
	}
	if h.Get("X-Session-Id") == "" || h.Get("X-Session-Client-Id") == "" {
		t.Fatalf("a Connection header made the proxy drop the real headers: %v", h)
	}
}

func TestCacheControlBecomesPrivate(t *testing.T) {
	startSite(t, "")
	tests := map[string]func(string) bool{
		"public, max-age=60, s-maxage=300": func(cc string) bool { return cc == "private, max-age=60" },
		"no-store":                         func(cc string) bool { return strings.Contains(cc, "no-store") && !strings.Contains(cc, "public") },
		"private, max-age=5":               func(cc string) bool { return strings.Contains(cc, "private") && strings.Contains(cc, "max-age=5") },
	}
	for upstreamCC, ok := range tests {
		b := newBrowser(t)
		res, _ := b.get("/?cc=" + strings.ReplaceAll(upstreamCC, " ", "%20"))
		if cc := strings.Join(res.Header.Values("Cache-Control"), ", "); !ok(cc) {
			t.Errorf("upstream %q: response Cache-Control %q", upstreamCC, cc)
		}
	}
}

func TestCacheControlOff(t *testing.T) {
	startSite(t, "cache_control off")
	res, _ := newBrowser(t).get("/?cc=public,%20max-age=60")
	if cc := res.Header.Get("Cache-Control"); cc != "public, max-age=60" {
		t.Fatalf("cache_control off changed Cache-Control to %q", cc)
	}
}

// TestBadCookieInput sends the SPEC's list of hostile Cookie headers: each
// gets a normal response with a usable identity.
func TestBadCookieInput(t *testing.T) {
	startSite(t, "")
	valid := newBrowser(t)
	valid.get("/")
	cid := valid.cookies["_ss_cID"]
	future := sessionstore.NewID(time.Now().Add(time.Hour)).String()
	var many []string
	for i := range 300 {
		many = append(many, fmt.Sprintf("c%d=%d", i, i))
	}
	cases := map[string]string{
		"garbage":            "!!;;;===;; ;@@=\"\"",
		"8 KB":               "big=" + strings.Repeat("x", 8000),
		"300 cookies":        strings.Join(many, "; "),
		"duplicate names":    "_ss_cID=a; _ss_cID=b; _ss_cID=" + cid,
		"forged signature":   "_ss_cID=" + cid[:37] + strings.Repeat("A", 43),
		"200 forged copies":  strings.Repeat("_ss_cID="+cid[:37]+strings.Repeat("A", 43)+"; ", 200) + "_ss_cID=" + cid,
		"truncated":          "_ss_cID=" + cid[:50],
		"not a uuid":         "_ss_cID=not-a-uuid." + strings.Repeat("A", 43),
		"future timestamp":   "_cs_cID=" + future + "; _ss_cID=" + future + "." + strings.Repeat("A", 43),
		"invalid UTF-8":      "_ss_cID=\xff\xfe\xfd; name=\xc3\x28",
		"quoted":             `_ss_cID="` + cid + `"`,
		"semicolon in value": "_ss_cID=" + cid + ";Path=/evil",
	}
	for name, cookie := range cases {
		b := newBrowser(t)
		req, _ := http.NewRequest(http.MethodGet, siteURL+"/", nil)
		req.Header.Set("User-Agent", b.ua)
		req.Header.Set("Cookie", cookie)
		res, up := b.do(req) // fails the test on any status but 200
		if up.Header.Get("X-Session-Client-Id") == "" || len(res.Header.Values("Set-Cookie")) != 6 {
			t.Errorf("%s: no identity: %v", name, up.Header)
		}
		for _, sc := range res.Header.Values("Set-Cookie") {
			if strings.Count(sc, "Path=") != 1 || strings.ContainsAny(sc, "\r\n") {
				t.Errorf("%s: injected attribute in %q", name, sc)
			}
		}
	}
}

func TestBotsGetAnEventIDOnly(t *testing.T) {
	startSite(t, "")
	b := newBrowser(t)
	b.ua = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"
	res, up := b.get("/")
	if len(res.Header.Values("Set-Cookie")) != 0 || up.Header.Get("X-Session-Client-Id") != "" {
		t.Fatalf("crawler got identity: cookies %q headers %v", res.Header.Values("Set-Cookie"), up.Header)
	}
	if up.Header.Get("X-Session-Event-Id") == "" || up.Header.Get("X-Session-Fallback") != "false" {
		t.Fatalf("crawler headers %v", up.Header)
	}
}

// A CUBOT phone (a brand whose name ends in "bot") is a person: its
// browser gets the six cookies and a client, and keeps it on its next page.
func TestPhoneNamedLikeABotIsAPerson(t *testing.T) {
	startSite(t, "")
	b := newBrowser(t)
	b.ua = "Mozilla/5.0 (Linux; Android 11; CUBOT NOTE 20 PRO) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/96.0.4664.45 Mobile Safari/537.36"
	res, up := b.get("/")
	cid := up.Header.Get("X-Session-Client-Id")
	if cid == "" {
		t.Fatalf("the CUBOT browser got no client: cookies %q, headers %v", res.Header.Values("Set-Cookie"), up.Header)
	}
	assertCookies(t, res, cid, cid, up.Header.Get("X-Session-Event-Id"))
	_, up = b.get("/next")
	expect(t, up.Header, map[string]string{"X-Session-Client-Id": cid, "X-Session-Event-Number": "2", "X-Session-New-Client": "false"})
}
