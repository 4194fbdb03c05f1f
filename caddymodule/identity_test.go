package caddymodule_test

import (
	"bufio"
	"encoding/json"
	"maps"
	"net/http"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/c0f4626f/caddy-session/internal/wait"
)

// header names the upstream must see.
var sessionHeaders = []string{
	"X-Session-Client-Id", "X-Session-Id", "X-Session-Event-Id", "X-Session-Previous-Event-Id",
	"X-Session-New-Client", "X-Session-New-Session", "X-Session-Number", "X-Session-Event-Number",
	"X-Session-Fallback",
}

func TestFirstVisitThenReturn(t *testing.T) {
	s := startSite(t, "")
	b := newBrowser(t)
	b.cookies["theme"] = "dark"

	res, up := b.get("/landing?utm=x", "Referer", "https://search.example/q?secret=1")
	h := up.Header
	cid := h.Get("X-Session-Client-Id")
	if _, err := uuid.Parse(cid); err != nil || h.Get("X-Session-Id") != cid || h.Get("X-Session-Event-Id") != cid {
		t.Fatalf("first visit: cID %q sID %q eID %q, want all equal", cid, h.Get("X-Session-Id"), h.Get("X-Session-Event-Id"))
	}
	expect(t, h, map[string]string{
		"X-Session-New-Client": "true", "X-Session-New-Session": "true", "X-Session-Number": "1",
		"X-Session-Event-Number": "1", "X-Session-Fallback": "false", "X-Session-Previous-Event-Id": "",
	})
	expectPlaceholders(t, h)
	assertCookies(t, res, cid, cid, cid)
	if cc := res.Header.Get("Cache-Control"); cc != "private" {
		t.Errorf("Cache-Control %q, want private", cc)
	}

	res, up = b.get("/next")
	h = up.Header
	eid := h.Get("X-Session-Event-Id")
	expect(t, h, map[string]string{
		"X-Session-Client-Id": cid, "X-Session-Id": cid, "X-Session-Previous-Event-Id": cid,
		"X-Session-New-Client": "false", "X-Session-New-Session": "false", "X-Session-Number": "1",
		"X-Session-Event-Number": "2", "X-Session-Fallback": "false",
	})
	if eid == cid || eid == "" {
		t.Fatalf("return visit kept eID %q", eid)
	}
	expectPlaceholders(t, h)
	assertCookies(t, res, "", "", eid) // the client and session pairs are not due yet (cookie_refresh)

	// Server cookies never reach the upstream; the others pass untouched.
	cookie := h.Get("Cookie")
	if strings.Contains(cookie, "_ss_") || !strings.Contains(cookie, "theme=dark") || !strings.Contains(cookie, "_cs_cID="+cid) {
		t.Fatalf("upstream Cookie header %q", cookie)
	}
	assertLogSession(t, s.logPath(), "/next", map[string]any{
		"client_id": cid, "id": cid, "event_id": eid,
		"new_client": false, "new_session": false, "fallback": false, "referrer_origin": "https://search.example",
	})
}

func expect(t *testing.T, h http.Header, want map[string]string) {
	t.Helper()
	for k, v := range want {
		if got := h.Get(k); got != v {
			t.Errorf("upstream header %s = %q, want %q", k, got, v)
		}
	}
}

// expectPlaceholders checks that each {http.session.*} placeholder, sent
// upstream through header_up, equals the matching header.
func expectPlaceholders(t *testing.T, h http.Header) {
	t.Helper()
	for _, name := range sessionHeaders {
		ph := "X-Ph-" + strings.TrimPrefix(name, "X-Session-")
		if got, want := h.Get(ph), h.Get(name); got != want {
			t.Errorf("placeholder for %s = %q, header %q", name, got, want)
		}
	}
}

// assertCookies checks the six Set-Cookie headers: values and attributes.
func assertCookies(t *testing.T, res *http.Response, cid, sid, eid string) {
	t.Helper()
	want := map[string]string{"cID": cid, "sID": sid, "eID": eid}
	set := res.Header.Values("Set-Cookie")
	pairs := 0
	for _, id := range want {
		if id != "" {
			pairs++
		}
	}
	if len(set) != 2*pairs {
		t.Fatalf("%d Set-Cookie headers, want %d: %q", len(set), 2*pairs, set)
	}
	for _, c := range res.Cookies() {
		name := c.Name[len("_ss_"):]
		id := want[name]
		if id == "" {
			t.Fatalf("unexpected cookie %s", c.Name)
		}
		if c.Path != "/" || !c.Secure || c.SameSite != http.SameSiteLaxMode || c.MaxAge != 34560000 || c.Domain != "" {
			t.Errorf("cookie %s attributes: %s", c.Name, c.String())
		}
		switch {
		case strings.HasPrefix(c.Name, "_ss_"):
			if !c.HttpOnly || !signedValue(name, id).MatchString(c.Value) {
				t.Errorf("server cookie %s = %q (HttpOnly %v), want %s.<sig> (the event's with .<renewed> before it)", c.Name, c.Value, c.HttpOnly, id)
			}
		case strings.HasPrefix(c.Name, "_cs_"):
			if c.HttpOnly || c.Value != id {
				t.Errorf("client cookie %s = %q (HttpOnly %v), want %s readable", c.Name, c.Value, c.HttpOnly, id)
			}
		default:
			t.Errorf("cookie %s has neither prefix", c.Name)
		}
	}
}

// firstOnly is id on a visitor's first response and "" after: a returning
// visitor's response in the same session carries the event pair alone.
func firstOnly(first bool, id string) string {
	if first {
		return id
	}
	return ""
}

// signedValue matches the server cookie value of id under name: the event
// cookie carries when the client and session cookies were last sent.
func signedValue(name, id string) *regexp.Regexp {
	renewed := ""
	if name == "eID" {
		renewed = `\.[1-9][0-9]*`
	}
	return regexp.MustCompile(`^` + regexp.QuoteMeta(id) + renewed + `\.[A-Za-z0-9_-]{43}$`)
}

// assertLogSession finds the access-log entry of uri and checks its one
// session object, with typed values (jq .session.new_client is a boolean).
func assertLogSession(t *testing.T, path, uri string, want map[string]any) {
	t.Helper()
	var entry map[string]any
	if !wait.Until(5*time.Second, 50*time.Millisecond, func() bool { entry = findLogEntry(t, path, uri); return entry != nil }) {
		t.Fatalf("no access-log entry for %s in %s", uri, path)
	}
	got, _ := entry["session"].(map[string]any)
	if !maps.Equal(got, want) {
		t.Errorf("access log session = %#v, want %#v", entry["session"], want)
	}
	for k := range entry {
		if strings.HasPrefix(k, "session.") {
			t.Errorf("access log has a flat key %q", k)
		}
	}
}

func findLogEntry(t *testing.T, path, uri string) map[string]any {
	f, err := os.Open(path)
	if err != nil {
		return nil
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var entry map[string]any
		if json.Unmarshal(sc.Bytes(), &entry) != nil {
			continue
		}
		if req, ok := entry["request"].(map[string]any); ok && req["uri"] == uri {
			return entry
		}
	}
	return nil
}
