package caddymodule_test

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/c0f4626f/caddy-session/internal/wait"
)

// Text a client controls, at its worst: HTML, spreadsheet formulas, and
// (in hostileURI) NUL, CR/LF, a tab, invalid UTF-8 and 8 KB.
const (
	hostileHTML    = `"><svg onload=x>`
	hostileFormula = `=HYPERLINK("https://evil.example","x")`
	// hostileUser is a user ID the upstream binds: valid, so kept as it is.
	hostileUser = hostileFormula + hostileHTML
	// hostileHost has only bytes an HTTP/1 Host may carry; a forwarded
	// host is a header value, which may carry HTML, a tab and any byte.
	hostileHost          = "=HYPERLINK(1)+EVIL.Example"
	hostileForwardedHost = "Evil" + hostileHTML + "\xff\t.example"
)

var hostileTail = strings.Repeat("x", 8<<10)

// hostileURI is a landing URI with hostile text in its path and in each
// utm value.
func hostileURI() string {
	return "/%FF%FE%00%0D%0A" + url.PathEscape(hostileHTML) + ";=HYPERLINK(1)/" + hostileTail +
		"?utm_source=" + url.QueryEscape(hostileFormula+hostileHTML) + "&utm_medium=%2B1%00%0D%0A%FF%FE" +
		"&utm_campaign=-2%3B%3D3" + hostileTail + "&utm_term=%40SUM(1)&utm_content=%09tab%0Dcr"
}

// keptFirstTouch is hostileURI's texts as every output shows them: each
// invalid or control byte as %XX, cut to its bound (256 bytes for the
// path, 128 for a utm value).
func keptFirstTouch() map[string]string {
	landing := "/%FF%FE%00%0D%0A" + hostileHTML + ";=HYPERLINK(1)/"
	return map[string]string{
		"landing_path": landing + hostileTail[:256-len(landing)],
		"utm_source":   hostileFormula + hostileHTML,
		"utm_medium":   "+1%00%0D%0A%FF%FE",
		"utm_campaign": "-2;=3" + hostileTail[:128-5],
		"utm_term":     "@SUM(1)",
		"utm_content":  "%09tab%0Dcr",
	}
}

// inCSV is what the CSV export holds of keptFirstTouch and hostileUser: a
// quote before each formula, at a cell's start and after a ';'.
func inCSV() map[string]string {
	kept := keptFirstTouch()
	return map[string]string{
		"landing_path": strings.Replace(kept["landing_path"], ";=", ";'=", 1),
		"utm_source":   "'" + kept["utm_source"],
		"utm_medium":   "'" + kept["utm_medium"],
		"utm_campaign": "'" + strings.Replace(kept["utm_campaign"], ";=", ";'=", 1),
		"utm_term":     "'" + kept["utm_term"],
		"utm_content":  kept["utm_content"],
		"user_id":      "'" + hostileUser,
	}
}

// firstTouchHeaders name the upstream headers of keptFirstTouch's utm keys.
var firstTouchHeaders = map[string]string{
	"utm_source": "X-Session-Utm-Source", "utm_medium": "X-Session-Utm-Medium", "utm_campaign": "X-Session-Utm-Campaign",
	"utm_term": "X-Session-Utm-Term", "utm_content": "X-Session-Utm-Content",
}

// Hostile text through every place a client's text enters (path, utm
// values, Referer, Host, a forwarded host, the upstream's user ID) comes
// out of every output (upstream headers, placeholders, the access log,
// session_info, the service answer, the admin view, the dashboard's HTML
// and JSON, both exports read by DuckDB) as valid UTF-8 without control
// characters, cut to its bound, the Referers without a valid host dropped,
// HTML escaped in the page and formulas neutralised in the CSV.
func TestHostileTextIsSafeInEveryOutput(t *testing.T) {
	duck := newDuckDB(t)
	s := startSite(t, "")
	s.tester.InitServer(strings.Replace(s.caddyfile("persist_new_clients immediately"), siteURL+" {", "http://:9080 {", 1), "caddyfile")
	kept, uri := keptFirstTouch(), hostileURI()
	svc := &service{trusted: true, store: sqliteBlock(s.dbPath()), extra: "persist_new_clients immediately"}
	var cid, svcCID string
	// Each part a subtest of its own: each reports whatever the others found.
	t.Run("inline", func(t *testing.T) {
		b := newBrowser(t)
		_, up := b.get(uri, "Host", hostileHost+":9080", "Referer", `https://evil.example"><svg/onload=x>/p`)
		cid = up.Header.Get("X-Session-Client-Id")
		expectFirstTouch(t, "upstream header", up.Header, kept, "")
		if got := up.Header.Get("X-Ph-Utm-Source"); got != kept["utm_source"] {
			t.Errorf("placeholder utm_source = %q, want %q", got, kept["utm_source"])
		}
		b.get(loginPath(hostileUser), "Host", hostileHost)
		// Refused IDs (Go's transport already refuses a NUL or CR/LF in a
		// response header: 502).
		for _, refused := range []string{"u\xff", "u\tb", "u\u202e", strings.Repeat("u", 8<<10)} {
			b.get(loginPath(refused), "Host", hostileHost)
		}
		expectSessionInfo(t, b, kept)
		expectLogSessions(t, s.logPath(), uri, kept)
	})
	t.Run("service", func(t *testing.T) {
		svc.start(t, "")
		answer := ask(t, "X-Original-URI", uri, "X-Forwarded-Host", hostileForwardedHost,
			"Referer", "https://News.Example:8443/"+hostileHTML)
		expectFirstTouch(t, "service answer", answer.Header, kept, "https://news.example:8443")
		svcCID = answer.Header.Get("X-Session-Client-Id")
	})
	t.Run("admin view", func(t *testing.T) {
		expectAdminView(t, cid, kept, "", hostileUser)
		expectAdminView(t, svcCID, kept, "https://news.example:8443", "")
	})
	t.Run("dashboard", func(t *testing.T) {
		expectDashboard(t, "=hyperlink(1)+evil.example", kept["landing_path"], "")
		expectDashboard(t, `evil"><svg onload=x>%FF%09.example`, kept["landing_path"], "https://news.example:8443")
	})
	t.Run("exports", func(t *testing.T) {
		svc.extra += "\n\t\tsession_timeout 31m" // a reload flushes the queue
		svc.start(t, "")
		expectExports(t, duck, s.dbPath(), cid)
	})
}

// expectSafe fails for a text that is not valid UTF-8, carries a control
// character or U+FFFD (an invalid byte replaced on the way), or carries
// hostileHTML unescaped where it is markup (html).
func expectSafe(t *testing.T, where, s string) {
	t.Helper()
	if !utf8.ValidString(s) || strings.ContainsRune(s, utf8.RuneError) ||
		strings.ContainsFunc(s, func(r rune) bool { return unicode.IsControl(r) && r != '\n' && r != '\t' }) {
		t.Errorf("%s: %q is not valid UTF-8 free of control characters", where, s)
	}
}

// eachText calls f with every string in a decoded JSON value.
func eachText(v any, f func(string)) {
	switch v := v.(type) {
	case string:
		f(v)
	case []any:
		for _, e := range v {
			eachText(e, f)
		}
	case map[string]any:
		for k, e := range v {
			f(k)
			eachText(e, f)
		}
	}
}

// expectFirstTouch checks the first-touch headers of an upstream request
// or a service answer, and that all its X-Session-* values are safe.
func expectFirstTouch(t *testing.T, where string, h http.Header, kept map[string]string, origin string) {
	t.Helper()
	for key, name := range firstTouchHeaders {
		if got := h.Get(name); got != kept[key] {
			t.Errorf("%s %s = %q, want %q", where, name, got, kept[key])
		}
	}
	if got := h.Get("X-Session-Referrer-Origin"); got != origin {
		t.Errorf("%s X-Session-Referrer-Origin = %q, want %q", where, got, origin)
	}
	for name, values := range h {
		for _, v := range values {
			expectSafe(t, where+" "+name, v)
		}
	}
}

func expectSessionInfo(t *testing.T, b *browser, kept map[string]string) {
	t.Helper()
	info := sessionInfo(t, b)
	for key := range firstTouchHeaders {
		if info[key] != kept[key] {
			t.Errorf("session_info %s = %v, want %q", key, info[key], kept[key])
		}
	}
	if user, ok := info["user_id"]; ok && user != hostileUser {
		t.Errorf("session_info user_id = %v, want %q", user, hostileUser)
	}
	if info["referrer_origin"] != nil {
		t.Errorf("session_info referrer_origin = %v, want null", info["referrer_origin"])
	}
	eachText(info, func(s string) { expectSafe(t, "session_info", s) })
}

// expectLogSessions checks the access log's session objects: the landing
// entry's first touch, the bound user on the later entries, all safe.
func expectLogSessions(t *testing.T, path, uri string, kept map[string]string) {
	t.Helper()
	want := map[string]any{"referrer_origin": nil}
	for key := range firstTouchHeaders {
		want[key] = kept[key]
	}
	assertLogSessionHas(t, path, uri, want)
	assertLogSessionHas(t, path, loginPath("u\xff"), map[string]any{"user_id": hostileUser})
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for line := range bytes.Lines(data) {
		var entry map[string]any
		if err := json.Unmarshal(line, &entry); err != nil {
			t.Fatalf("access log line %q: %v", line, err)
		}
		eachText(entry["session"], func(s string) { expectSafe(t, "access log session", s) })
	}
}

// expectAdminView checks GET /session/clients/<cID>: its session's texts.
func expectAdminView(t *testing.T, cid string, kept map[string]string, origin, user string) {
	t.Helper()
	var client map[string]any
	if status := adminDo(t, http.MethodGet, "/session/clients/"+cid, &client); status != http.StatusOK {
		t.Fatalf("admin view of %s: status %d", cid, status)
	}
	eachText(client, func(s string) { expectSafe(t, "admin view", s) })
	sessions, _ := client["sessions"].([]any)
	if len(sessions) != 1 {
		t.Fatalf("admin view of %s: sessions %v", cid, client["sessions"])
	}
	session := sessions[0].(map[string]any)
	want := map[string]any{"landing_path": kept["landing_path"], "referrer_origin": origin, "user_id": user}
	for key := range firstTouchHeaders {
		want[key] = kept[key]
	}
	for key, v := range want {
		if session[key] != v {
			t.Errorf("admin view of %s: %s = %q, want %q", cid, key, session[key], v)
		}
	}
}

// expectDashboard waits for the site's landing path and referrer in
// dashboard.json, then checks that the page shows the site's texts with
// their HTML escaped.
func expectDashboard(t *testing.T, site, landing, origin string) {
	t.Helper()
	query := "?site=" + url.QueryEscape(site)
	var report struct {
		Sites []string
		Top   map[string][]struct{ Value string }
	}
	var raw []byte
	shown := func(table, value string) bool {
		return slices.ContainsFunc(report.Top[table], func(v struct{ Value string }) bool { return v.Value == value })
	}
	if !wait.Until(10*time.Second, 100*time.Millisecond, func() bool {
		raw = adminGet(t, "/session/dashboard.json"+query)
		return json.Unmarshal(raw, &report) == nil && shown("landing_paths", landing) && (origin == "" || shown("referrers", origin))
	}) {
		t.Fatalf("dashboard.json for %q never showed the landing path %q and referrer %q: %s", site, landing, origin, raw)
	}
	if !slices.Contains(report.Sites, site) || (origin == "" && len(report.Top["referrers"]) > 0) {
		t.Errorf("dashboard.json for %q: sites %q, referrers %v", site, report.Sites, report.Top["referrers"])
	}
	var decoded any
	json.Unmarshal(raw, &decoded)
	eachText(decoded, func(s string) { expectSafe(t, "dashboard.json", s) })

	page := string(adminGet(t, "/session/dashboard"+query))
	expectSafe(t, "dashboard page", page)
	if strings.Contains(page, "<svg onload") || !strings.Contains(page, "&lt;svg onload=x&gt;") {
		t.Errorf("dashboard page for %q does not escape %s", site, hostileHTML)
	}
}

func adminGet(t *testing.T, path string) []byte {
	t.Helper()
	res, err := http.Get(adminURL + path)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: status %d: %s", path, res.StatusCode, body)
	}
	return body
}

// expectExports reads both exports in both formats: the files are safe
// text, DuckDB reads the client's session and user as kept (CSV: with its
// formulas neutralised), and no CSV cell starts a formula.
func expectExports(t *testing.T, duck duckDB, db, cid string) {
	t.Helper()
	bin := caddyBinary(t)
	for _, format := range exportFormats {
		want := keptFirstTouch()
		want["user_id"] = hostileUser
		if format.flag == "csv" {
			want = inCSV()
		}
		for _, what := range []string{"sessions", "clients"} {
			path, out := exportFile(t, bin, db, what, format.flag)
			expectSafe(t, what+" "+format.flag+" export", string(out))
			if format.flag == "csv" {
				expectNoFormulaCells(t, what, out)
			}
			columns := "user_id"
			if what == "sessions" {
				columns = "landing_path, utm_source, utm_medium, utm_campaign, utm_term, utm_content, " +
					"coalesce(referrer_origin, '(none)') AS referrer_origin, user_id"
				want["referrer_origin"] = "(none)"
			}
			got := duck.row(t, fmt.Sprintf(`SELECT %s FROM %s('%s') WHERE client_id::VARCHAR = '%s'`, columns, format.reader, path, cid))
			for key := range got {
				if got[key] != want[key] {
					t.Errorf("%s %s export in DuckDB: %s = %q, want %q", what, format.flag, key, got[key], want[key])
				}
			}
		}
	}
}

// expectNoFormulaCells fails for a CSV cell, or a part of one after a ';',
// that starts with a character a spreadsheet runs as a formula.
func expectNoFormulaCells(t *testing.T, what string, out []byte) {
	t.Helper()
	rows, err := csv.NewReader(bytes.NewReader(out)).ReadAll()
	if err != nil {
		t.Fatalf("%s CSV export: %v", what, err)
	}
	for _, row := range rows {
		for _, cell := range row {
			for part := range strings.SplitSeq(cell, ";") {
				if part != "" && strings.ContainsAny(part[:1], "=+-@\t\r") {
					t.Errorf("%s CSV export: cell %q starts a formula", what, cell)
				}
			}
		}
	}
}
