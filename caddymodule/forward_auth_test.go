package caddymodule_test

import (
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2/caddytest"
)

// ask sends the service a forward-auth subrequest with the given headers
// (name, value pairs) and returns its answer.
func ask(t *testing.T, headers ...string) *http.Response {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, siteURL+"/_session", nil)
	req.Header.Set("User-Agent", "Mozilla/5.0 forward-auth-test/"+t.Name())
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusOK || len(body) != 0 {
		t.Fatalf("answer %d %q, want 200 without a body", res.StatusCode, body)
	}
	return res
}

// numberedCookies checks that the answer's X-Session-Set-Cookie-N are its
// Set-Cookie lines in order, and returns them.
func numberedCookies(t *testing.T, res *http.Response) []string {
	t.Helper()
	set := res.Header.Values("Set-Cookie")
	for i := range len(set) + 1 {
		name := "X-Session-Set-Cookie-" + strconv.Itoa(i+1)
		want := ""
		if i < len(set) {
			want = set[i]
		}
		if got := res.Header.Get(name); got != want {
			t.Fatalf("%s = %q, want %q", name, got, want)
		}
	}
	return set
}

// cookieHeaderFrom is the Cookie header a browser sends back after res,
// with extra cookies.
func cookieHeaderFrom(res *http.Response, extra ...string) string {
	parts := extra
	for _, c := range res.Cookies() {
		parts = append(parts, c.Name+"="+c.Value)
	}
	return strings.Join(parts, "; ")
}

// The answer carries the event fields, every Set-Cookie line (also
// numbered), the Cookie header without the signed cookies and the cache
// decision; the visit is the original request's.
func TestForwardAuthAnswer(t *testing.T) {
	(&service{trusted: true}).start(t, "")

	first := ask(t, "X-Original-URI", "/landing/page?utm_source=x", "X-Forwarded-Method", "GET",
		"X-Session-Client-ID", "forged", "X-Session-Cookie", "forged=1", "Cookie", "theme=dark")
	cid := first.Header.Get("X-Session-Client-Id")
	expect(t, first.Header, map[string]string{
		"X-Session-Id": cid, "X-Session-Event-Id": cid, "X-Session-New-Client": "true", "X-Session-Number": "1",
		"X-Session-Event-Number": "1", "X-Session-Fallback": "false", "X-Session-Cookie": "theme=dark",
		"X-Session-Cache-Control": "private", "Cache-Control": "no-store",
	})
	assertCookies(t, first, cid, cid, cid)
	numberedCookies(t, first)

	second := ask(t, "X-Original-URI", "/next", "Cookie", cookieHeaderFrom(first, "theme=dark"))
	expect(t, second.Header, map[string]string{
		"X-Session-Client-Id": cid, "X-Session-Event-Number": "2", "X-Session-New-Client": "false",
		"X-Session-Previous-Event-Id": cid, "X-Session-Cache-Control": "private",
	})
	if forwarded := second.Header.Get("X-Session-Cookie"); strings.Contains(forwarded, "_ss_") ||
		!strings.Contains(forwarded, "theme=dark") || !strings.Contains(forwarded, "_cs_cID="+cid) {
		t.Errorf("cookie header to forward %q: want the others without _ss_*", forwarded)
	}
	numberedCookies(t, second)
	if landing := landingPath(t, cid); landing != "/landing/page" {
		t.Errorf("landing path %q, want the original request's /landing/page", landing)
	}

	// Consent withdrawn (Sec-GPC): the expiry lines are relayed too.
	gone := ask(t, "Sec-GPC", "1", "Cookie", cookieHeaderFrom(first))
	expired := numberedCookies(t, gone)
	for _, c := range expired {
		if !strings.Contains(c, "Max-Age=0") {
			t.Errorf("withdrawal sets %q, want an expiry", c)
		}
	}
	if len(expired) != 6 || gone.Header.Get("X-Session-Consent") != "false" || gone.Header.Get("X-Session-Client-Id") != "" {
		t.Errorf("withdrawal: %d expiries, consent %q, cID %q", len(expired), gone.Header.Get("X-Session-Consent"), gone.Header.Get("X-Session-Client-Id"))
	}

	// A crawler: an event ID, no cookie, and a page kept private all the
	// same (a stored copy would reach browsers without cookies).
	bot := ask(t, "User-Agent", "Googlebot/2.1")
	if n := len(numberedCookies(t, bot)); n != 0 || bot.Header.Get("X-Session-Cache-Control") != "private" ||
		bot.Header.Get("X-Session-Event-Id") == "" || bot.Header.Get("X-Session-Client-Id") != "" {
		t.Errorf("crawler: %d cookies, answer %v", n, bot.Header)
	}
}

// landingPath is the landing path of the client's first session, from the
// admin API.
func landingPath(t *testing.T, cid string) string {
	t.Helper()
	var client struct {
		Sessions []struct {
			LandingPath string `json:"landing_path"`
		}
	}
	if code := adminDo(t, http.MethodGet, "/session/clients/"+cid, &client); code != http.StatusOK || len(client.Sessions) == 0 {
		t.Fatalf("client %s: %d %+v", cid, code, client)
	}
	return client.Sessions[0].LandingPath
}

// Only a trusted proxy names the original request and the visitor's
// address: from anyone else those headers are ignored.
func TestForwardAuthBelievesOnlyTrustedCallers(t *testing.T) {
	for _, trusted := range []bool{true, false} {
		t.Run("trusted="+strconv.FormatBool(trusted), func(t *testing.T) {
			(&service{trusted: trusted}).start(t, "")
			// Two cookieless visitors with the same browser: their addresses
			// keep them apart within the bootstrap window, if believed.
			a := ask(t, "X-Original-URI", "/landing", "X-Forwarded-For", "203.0.113.1")
			b := ask(t, "X-Original-URI", "/landing", "X-Forwarded-For", "203.0.113.2")
			cid := a.Header.Get("X-Session-Client-Id")
			if shared := b.Header.Get("X-Session-Client-Id") == cid; shared == trusted {
				t.Errorf("visitors at two addresses share a client: %v", shared)
			}
			ask(t, "Cookie", cookieHeaderFrom(a)) // the return writes the client
			want := "/_session"
			if trusted {
				want = "/landing"
			}
			if landing := landingPath(t, cid); landing != want {
				t.Errorf("landing path %q, want %q", landing, want)
			}
		})
	}
}

// The answer's copies of the visitor's cookies reach the proxy whole and
// the access log redacted, also when a handler around the service holds
// the header back: encode sends it with the body, and the answer has none.
func TestForwardAuthAnswerIsRedactedInTheLogOnly(t *testing.T) {
	noteSkip(t)
	svc := &service{trusted: true}
	cfg := mustReplace(t, svc.caddyfile(t), "\tservers :9080 {\n", "\torder encode before session\n\tservers :9080 {\n")
	cfg = mustReplace(t, cfg, "\tsession {\n", "\tencode gzip\n\tsession {\n")
	caddytest.NewTester(t).InitServer(cfg, "caddyfile")
	if t.Failed() {
		t.FailNow()
	}
	const login = "app_login=LOGIN-SECRET-4b1d"
	res := ask(t, "Cookie", login, "Accept-Encoding", "gzip")
	if got := res.Header.Get("X-Session-Cookie"); got != login {
		t.Errorf("answer's X-Session-Cookie %q, want %q", got, login)
	}
	if set := numberedCookies(t, res); len(set) != 6 {
		t.Errorf("answer has %d cookie lines, want 6", len(set))
	}
	logged := waitForLines(t, svc.logPath(), 1)
	if strings.Contains(logged, "LOGIN-SECRET-4b1d") || !strings.Contains(logged, `"X-Session-Cookie":["REDACTED"]`) {
		t.Errorf("access log:\n%s", logged)
	}
}
