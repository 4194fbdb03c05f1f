package caddymodule_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/c0f4626f/caddy-session/internal/testredis"
)

// loginPath is a request whose upstream answers that the client is user's.
func loginPath(user string) string {
	return "/login?answer=" + url.QueryEscape("X-Session-User-ID:"+user)
}

// resetPath is a request whose upstream answers with a reset.
const resetPath = "/logout?answer=X-Session-Reset:true"

// expectAnswerRemoved fails when the upstream's session answer reached the
// browser.
func expectAnswerRemoved(t *testing.T, res *http.Response) {
	t.Helper()
	for name := range res.Header {
		if strings.HasPrefix(name, "X-Session-") {
			t.Errorf("the browser got the upstream's %s header", name)
		}
	}
}

// expectNowhere fails when any header the upstream received carries s.
func expectNowhere(t *testing.T, h http.Header, s string) {
	t.Helper()
	for name, values := range h {
		for _, v := range values {
			if strings.Contains(v, s) {
				t.Errorf("the upstream got %q in %s: %s", s, name, v)
			}
		}
	}
}

// sessionInfo is the session_info answer to b.
func sessionInfo(t *testing.T, b *browser) map[string]any {
	t.Helper()
	info, _ := sessionInfoAt(t, b, "/session_info")
	return info
}

// sessionInfoAt is what session_info at path answers the browser, and the
// answer's header.
func sessionInfoAt(t *testing.T, b *browser, path string) (map[string]any, http.Header) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, b.base+path, nil)
	req.Header.Set("User-Agent", b.ua)
	req.Header.Set("Cookie", b.cookieHeader())
	res, err := b.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var info map[string]any
	if err := json.NewDecoder(res.Body).Decode(&info); err != nil {
		t.Fatal(err)
	}
	return info, res.Header
}

// adminClient is the admin API's view of a client, as far as users go.
type adminClient struct {
	UserID      string `json:"user_id"`
	TotalEvents int    `json:"total_events"`
	Sessions    []struct {
		UserID string `json:"user_id"`
	} `json:"sessions"`
}

func inspectOverAdmin(t *testing.T, cid string) (adminClient, int) {
	t.Helper()
	var c adminClient
	status := adminDo(t, http.MethodGet, "/session/clients/"+cid, &c)
	return c, status
}

// eraseUserOverAdmin erases a user's clients and returns how many.
func eraseUserOverAdmin(t *testing.T, user string) int {
	t.Helper()
	var answer struct {
		Erased  int      `json:"erased"`
		Clients []string `json:"clients"`
	}
	if status := adminDo(t, http.MethodDelete, "/session/users/"+url.PathEscape(user), &answer); status != http.StatusOK {
		t.Fatalf("DELETE /session/users/%s: status %d", user, status)
	}
	if len(answer.Clients) != answer.Erased {
		t.Errorf("erasure answer lists %v for %d erased", answer.Clients, answer.Erased)
	}
	return answer.Erased
}

func TestLoginBindsTheClientFromThatEventOn(t *testing.T) {
	s := startSite(t, "session_timeout 2s")
	b := newBrowser(t)
	b.get("/")
	res, up := b.get(loginPath("alice"))
	expectAnswerRemoved(t, res)
	cid := up.Header.Get("X-Session-Client-Id")
	assertLogSessionHas(t, s.logPath(), "/", map[string]any{"user_id": nil})
	assertLogSessionHas(t, s.logPath(), loginPath("alice"), map[string]any{"user_id": "alice", "client_id": cid})

	_, up = b.get("/after")
	expectNowhere(t, up.Header, "alice") // never upstream: a cookie is no proof of who is at the browser
	assertLogSessionHas(t, s.logPath(), "/after", map[string]any{"user_id": "alice", "client_id": cid})
	if info := sessionInfo(t, b); info["client_id"] != cid {
		t.Errorf("session_info after the login: %v", info)
	} else if _, told := info["user_id"]; told {
		t.Errorf("session_info tells the page the user: %v", info)
	}
	time.Sleep(2200 * time.Millisecond) // past session_timeout: the next request starts a session
	_, up = b.get("/later")
	expect(t, up.Header, map[string]string{"X-Session-New-Session": "true", "X-Session-Client-Id": cid})
	expectNowhere(t, up.Header, "alice")
	assertLogSessionHas(t, s.logPath(), "/later", map[string]any{"user_id": "alice", "new_session": true})
	client, _ := inspectOverAdmin(t, cid)
	if client.UserID != "alice" || len(client.Sessions) != 2 || client.Sessions[0].UserID != "alice" || client.Sessions[1].UserID != "alice" {
		t.Errorf("admin view of the bound client: %+v", client)
	}

	phone := newBrowser(t) // alice's second browser logs in on its first request
	phone.ua += " (phone)"
	phone.get(loginPath("alice"))
	other := newBrowser(t)
	other.ua += " (someone else)"
	other.get("/")
	_, up = other.get("/")
	otherID := up.Header.Get("X-Session-Client-Id")

	s.load("session_timeout 2s\n\t\tstore_timeout 6s") // a reload flushes the queue
	expectUsersInExports(t, s.dbPath(), map[string]string{"sessions": "(none)=1,alice=3", "clients": "(none)=1,alice=2"})

	if n := eraseUserOverAdmin(t, "alice"); n != 2 {
		t.Fatalf("erasing alice erased %d clients, want her 2 browsers", n)
	}
	if _, status := inspectOverAdmin(t, cid); status != http.StatusNotFound {
		t.Errorf("an erased client is still stored: status %d", status)
	}
	for _, br := range []*browser{b, phone} {
		if _, up := br.get("/"); up.Header.Get("X-Session-New-Client") != "true" || up.Header.Get("X-Session-Client-Id") == cid {
			t.Errorf("a browser of the erased user kept its client: %v", up.Header)
		}
	}
	if _, up := other.get("/"); up.Header.Get("X-Session-Client-Id") != otherID {
		t.Errorf("erasing alice changed another client: %v", up.Header)
	}
}

// expectUsersInExports loads both exports of the database into DuckDB and
// checks the rows per user_id of each kind against want.
func expectUsersInExports(t *testing.T, db string, want map[string]string) {
	t.Helper()
	duck := newDuckDB(t)
	bin := caddyBinary(t)
	for what, perUser := range want {
		for _, format := range exportFormats {
			path, _ := exportFile(t, bin, db, what, format.flag)
			checkRow(t, what+" "+format.flag, duck.row(t, fmt.Sprintf(`SELECT string_agg(u || '=' || n, ',' ORDER BY u) AS per_user
				FROM (SELECT coalesce(user_id, '(none)') AS u, count(*) AS n FROM %s('%s') GROUP BY ALL)`, format.reader, path)),
				map[string]string{"per_user": perUser})
		}
	}
}

func TestInvalidUserIDsAreIgnored(t *testing.T) {
	s := startSite(t, "")
	b := newBrowser(t)
	_, up := b.get("/")
	for _, bad := range []string{strings.Repeat("x", 129), "%FF"} { // too long; not UTF-8
		path := "/login?answer=X-Session-User-ID:" + bad
		res, _ := b.get(path)
		expectAnswerRemoved(t, res)
		assertLogSessionHas(t, s.logPath(), path, map[string]any{"user_id": nil})
	}
	if client, _ := inspectOverAdmin(t, up.Header.Get("X-Session-Client-Id")); client.UserID != "" || client.TotalEvents != 3 {
		t.Errorf("a client after invalid user IDs: %+v", client)
	}
}

// The answer's names follow header_prefix, in any case.
func TestLoginHonoursTheHeaderPrefix(t *testing.T) {
	s := startSite(t, "header_prefix X-App-")
	b := newBrowser(t)
	b.get("/")
	path := "/login?answer=x-app-user-id:dora&answer=X-Session-User-ID:not-ours"
	res, _ := b.get(path)
	if res.Header.Get("X-App-User-Id") != "" || res.Header.Get("X-Session-User-Id") != "not-ours" {
		t.Errorf("response headers with header_prefix X-App-: %v", res.Header)
	}
	assertLogSessionHas(t, s.logPath(), path, map[string]any{"user_id": "dora"})
}

// Without consent there is no client: the answer is removed and nothing
// is bound, set or logged.
func TestLoginAndResetWithoutConsentDoNothing(t *testing.T) {
	s := startSite(t, "consent cookie analytics yes\n\t\tpersist_new_clients immediately")
	b := newBrowser(t)
	for _, path := range []string{loginPath("alice"), resetPath} {
		res, _ := b.get(path)
		expectAnswerRemoved(t, res)
		if set := res.Header.Values("Set-Cookie"); len(set) != 0 {
			t.Errorf("%s without consent set cookies: %v", path, set)
		}
		assertLogSessionHas(t, s.logPath(), path, map[string]any{"user_id": nil, "reset": nil, "client_id": nil})
	}
	var stats struct {
		Stores []struct{ Objects *int64 }
	}
	adminDo(t, http.MethodGet, "/session/stats", &stats)
	for _, st := range stats.Stores {
		if st.Objects == nil || *st.Objects != 0 {
			t.Errorf("stored objects after requests without consent: %v", st.Objects)
		}
	}
}

func TestResetGivesTheBrowserANewClient(t *testing.T) {
	s := startSite(t, "")
	b := newBrowser(t)
	b.get("/")
	_, up := b.get("/")
	old := up.Header.Get("X-Session-Client-Id")
	res, _ := b.get(resetPath + "&answer=Set-Cookie:app=kept")
	expectAnswerRemoved(t, res)
	names := map[string]int{}
	for _, c := range res.Cookies() {
		names[c.Name]++
	}
	for _, name := range []string{"_ss_cID", "_ss_sID", "_ss_eID", "_cs_cID", "_cs_sID", "_cs_eID", "app"} {
		if names[name] != 1 {
			t.Errorf("the reset response sets %s %d times (cookies %v)", name, names[name], res.Header.Values("Set-Cookie"))
		}
	}
	fresh := b.cookies["_cs_cID"]
	if fresh == old || b.cookies["_cs_sID"] != fresh || b.cookies["_cs_eID"] != fresh || !strings.Contains(res.Header.Get("Cache-Control"), "private") {
		t.Fatalf("after the reset: cookies %v, Cache-Control %q; old client %s", b.cookies, res.Header.Get("Cache-Control"), old)
	}
	assertLogSessionHas(t, s.logPath(), resetPath+"&answer=Set-Cookie:app=kept", map[string]any{"client_id": old, "reset": true})

	_, up = b.get("/") // the reset response was the new client's first event
	expect(t, up.Header, map[string]string{
		"X-Session-Client-Id": fresh, "X-Session-Id": fresh, "X-Session-Previous-Event-Id": fresh,
		"X-Session-New-Client": "false", "X-Session-New-Session": "false", "X-Session-Number": "1", "X-Session-Event-Number": "2",
		"X-Session-Fallback": "false",
	})
	if c, _ := inspectOverAdmin(t, old); c.TotalEvents != 3 {
		t.Errorf("the old client after the reset: %+v, want its 3 events kept", c)
	}
	if c, _ := inspectOverAdmin(t, fresh); c.TotalEvents != 2 {
		t.Errorf("the new client: %+v, want 2 events", c)
	}

	// A reset and a login at once: the new client is the one bound.
	switchPath := resetPath + "&answer=X-Session-User-ID:carol"
	b.get(switchPath)
	carol := b.cookies["_cs_cID"]
	_, up = b.get("/")
	if up.Header.Get("X-Session-Client-Id") != carol || carol == fresh {
		t.Fatalf("after a reset with a login: %v", up.Header)
	}
	assertLogSessionHas(t, s.logPath(), switchPath, map[string]any{"client_id": fresh, "user_id": nil, "reset": true})
	if c, _ := inspectOverAdmin(t, carol); c.UserID != "carol" {
		t.Errorf("the client made by a reset with a login: %+v, want carol's", c)
	}
	if c, _ := inspectOverAdmin(t, fresh); c.UserID != "" {
		t.Errorf("the client reset away was bound: %+v", c)
	}
}

func TestRedisLoginAndEraseByUser(t *testing.T) {
	noteSkip(t)
	r := testredis.Start(t)
	s := redisSite(t, r.Addr(), "")
	s.load("")
	laptop, phone, other := newBrowser(t), newBrowser(t), newBrowser(t)
	phone.ua += " (phone)"
	other.ua += " (someone else)"
	laptop.get("/")
	_, up := laptop.get(loginPath("alice"))
	cid := up.Header.Get("X-Session-Client-Id")
	phone.get(loginPath("alice"))
	other.get("/")
	_, up = other.get("/")
	otherID := up.Header.Get("X-Session-Client-Id")
	_, up = laptop.get("/after")
	expectNowhere(t, up.Header, "alice")
	assertLogSessionHas(t, s.logPath(), "/after", map[string]any{"user_id": "alice"})
	if c, _ := inspectOverAdmin(t, cid); c.UserID != "alice" {
		t.Errorf("admin view of the bound client in Redis: %+v", c)
	}
	raw := r.Client()
	defer raw.Close()
	ctx := context.Background()
	const index = "caddy-session:u:alice"
	if n, ttl := raw.SCard(ctx, index).Val(), raw.PTTL(ctx, index).Val(); n != 2 || ttl <= 0 {
		t.Errorf("alice's index: %d clients, TTL %v; want 2 and a TTL", n, ttl)
	}

	if n := eraseUserOverAdmin(t, "alice"); n != 2 {
		t.Fatalf("erasing alice erased %d clients, want 2", n)
	}
	if raw.Exists(ctx, index).Val() != 0 {
		t.Error("alice's index outlived her erasure")
	}
	for _, br := range []*browser{laptop, phone} {
		if _, up := br.get("/"); up.Header.Get("X-Session-New-Client") != "true" {
			t.Errorf("a browser of the erased user kept its client: %v", up.Header)
		}
	}
	if _, up := other.get("/"); up.Header.Get("X-Session-Client-Id") != otherID {
		t.Errorf("erasing alice changed another client: %v", up.Header)
	}
}

// A browser that logged in as one user, then as another in the same
// session, holds the data of both: erasing either erases and tombstones it.
func TestEitherUserOfABrowserErasesIt(t *testing.T) {
	onEachBackEnd(t, "", func(t *testing.T, s *site) {
		for i, c := range []struct{ first, second, erased string }{{"anna", "ben", "anna"}, {"carla", "dan", "dan"}} {
			b := newBrowser(t)
			b.ua += fmt.Sprintf(" (browser %d)", i)
			b.get("/")
			b.get(loginPath(c.first))
			b.get(loginPath(c.second))
			_, up := b.get("/after")
			cid := up.Header.Get("X-Session-Client-Id")
			if up.Header.Get("X-Session-New-Session") != "false" || up.Header.Get("X-Session-Event-Number") != "4" {
				t.Fatalf("both logins were to be in one session: %v", up.Header)
			}
			expectExported(t, s, cid, true)
			if n := eraseUserOverAdmin(t, c.erased); n != 1 {
				t.Fatalf("erasing %s (logged in as %s, then %s) erased %d clients, want the browser", c.erased, c.first, c.second, n)
			}
			if _, status := inspectOverAdmin(t, cid); status != http.StatusNotFound {
				t.Errorf("the browser erased with %s is still stored: status %d", c.erased, status)
			}
			expectExported(t, s, cid, false)
			if _, up := b.get("/"); up.Header.Get("X-Session-New-Client") != "true" || up.Header.Get("X-Session-Client-Id") == cid {
				t.Errorf("the browser erased with %s kept its client: %v", c.erased, up.Header)
			}
		}
	})
}

func TestEraseByUserFromTheCommandLine(t *testing.T) {
	s := startSite(t, "persist_new_clients immediately")
	for i := range 2 {
		br := newBrowser(t)
		br.ua += fmt.Sprintf(" (bob's browser %d)", i)
		br.get("/")
		br.get(loginPath("bob smith"))
	}
	lent := newBrowser(t) // bob logs in, then eve, in one session
	lent.ua += " (lent to eve)"
	lent.get("/")
	lent.get(loginPath("bob smith"))
	lent.get(loginPath("eve"))
	keep := newBrowser(t)
	keep.get("/")
	bin := caddyBinary(t)
	db := s.dbPath()
	for user, want := range map[string]string{
		"bob smith": "curl -X DELETE 'http://localhost:2999/session/users/bob%20smith'",
		"..":        "curl -X DELETE 'http://localhost:2999/session/users/%2E%2E'",
		"a&b":       "curl -X DELETE 'http://localhost:2999/session/users/a%26b'",
		"x$HOME":    "curl -X DELETE 'http://localhost:2999/session/users/x%24HOME'",
		"it's":      "curl -X DELETE 'http://localhost:2999/session/users/it%27s'",
	} {
		out, err := exec.Command(bin, "session", "erase", "--user", user, "--db", db, "--address", "localhost:2999").CombinedOutput()
		if err == nil || !strings.Contains(string(out), want) {
			t.Errorf("erase --user %q beside the Caddy holding the file: %v, want the hint %q:\n%s", user, err, want, out)
			continue
		}
		if got := userOfHint(t, string(out)); got != user {
			t.Errorf("the hint for user %q, pasted into sh, names user %q", user, got)
		}
	}
	s.db = filepath.Join(s.dir, "another.db")
	s.load("persist_new_clients immediately") // lets go of the first file

	out, err := exec.Command(bin, "session", "erase", "--user", "bob smith", "--db", db).CombinedOutput()
	if err != nil || !strings.Contains(string(out), `erased 3 clients of user "bob smith"`) {
		t.Fatalf("erase --user: %v\n%s", err, out)
	}
	out, err = exec.Command(bin, "session", "stats", "--db", db).Output()
	var stats struct{ Clients, Tombstones int }
	if err != nil || json.Unmarshal(out, &stats) != nil || stats.Clients != 1 || stats.Tombstones != 3 {
		t.Fatalf("after erase --user: %s (%v), want 1 client and 3 tombstones", out, err)
	}
}

// userOfHint runs the curl hint's URL through sh, as an operator pasting it
// would, and returns the user ID the admin API would read from it.
func userOfHint(t *testing.T, out string) string {
	t.Helper()
	_, line, _ := strings.Cut(out, "curl -X DELETE ")
	line, _, _ = strings.Cut(line, "\n")
	got, err := exec.Command("sh", "-c", "printf '%s' "+line).Output()
	if err != nil {
		t.Fatalf("sh: %v", err)
	}
	u, err := url.Parse(string(got))
	if err != nil {
		t.Fatalf("the hint's URL %q: %v", got, err)
	}
	return strings.TrimPrefix(u.Path, "/session/users/")
}

// User IDs that look like path steps are erased like any other: escaped,
// with the dots of "." and ".." as %2E, which URL escaping leaves as they
// are and the admin router would clean away.
func TestUsersNamedLikePathStepsAreErased(t *testing.T) {
	startSite(t, "")
	users := []string{".", "..", "a/../b", "a//b", "x/y", "%2F", "./.", "b"}
	for i, user := range users {
		br := newBrowser(t)
		br.ua += fmt.Sprintf(" (browser %d)", i) // not one client through the bootstrap window
		br.get(loginPath(user))
	}
	for _, user := range users {
		var answer struct {
			UserID string `json:"user_id"`
			Erased int    `json:"erased"`
		}
		escaped := url.PathEscape(user)
		if user == "." || user == ".." {
			escaped = strings.ReplaceAll(escaped, ".", "%2E")
		}
		status := adminDo(t, http.MethodDelete, "/session/users/"+escaped, &answer)
		if status != http.StatusOK || answer.UserID != user || answer.Erased != 1 {
			t.Errorf("user %q: status %d, erased %d clients of %q, want 1 of the user", user, status, answer.Erased, answer.UserID)
		}
	}
}
