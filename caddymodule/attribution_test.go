package caddymodule_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/c0f4626f/caddy-session/internal/wait"
)

// clickValue is an ad click ID's value: it must be kept nowhere.
const clickValue = "GCLIDVALUE7f3a"

// attributionHeaders are the upstream headers of a session's first touch.
var attributionHeaders = []string{
	"X-Session-Referrer-Origin", "X-Session-Utm-Source", "X-Session-Utm-Medium", "X-Session-Utm-Campaign",
	"X-Session-Utm-Term", "X-Session-Utm-Content", "X-Session-Click-Id-Param",
}

func TestFirstTouchAttributionHoldsForEveryEventOfItsSession(t *testing.T) {
	s := startSite(t, "session_timeout 2s\n\t\tpersist_new_clients immediately")
	b := newBrowser(t)
	landing := "/landing?utm_source=news&utm_medium=email&gclid=" + clickValue
	first := map[string]string{
		"X-Session-Referrer-Origin": "https://mail.example", "X-Session-Utm-Source": "news", "X-Session-Utm-Medium": "email",
		"X-Session-Utm-Campaign": "", "X-Session-Click-Id-Param": "gclid", "X-Ph-Utm-Source": "news",
	}
	_, up := b.get(landing, "Referer", "https://mail.example/inbox/42")
	expect(t, up.Header, first)
	_, up = b.get("/next?utm_source=ads&utm_medium=cpc&fbclid=other", "Referer", "https://ads.example/")
	expect(t, up.Header, map[string]string{"X-Session-New-Session": "false", "X-Session-Event-Number": "2"})
	expect(t, up.Header, first)
	_, up = b.get("/third", "Referer", siteURL+"/next")
	expect(t, up.Header, first)
	assertLogSessionHas(t, s.logPath(), "/third", map[string]any{"utm_source": "news", "click_id_param": "gclid",
		"referrer_origin": "https://mail.example"})

	time.Sleep(2200 * time.Millisecond) // past session_timeout: the next request starts a session
	_, up = b.get("/again?utm_source=ads&utm_campaign=spring", "Referer", "https://search.example/?q=shoes")
	expect(t, up.Header, map[string]string{
		"X-Session-New-Session": "true", "X-Session-Number": "2", "X-Session-Referrer-Origin": "https://search.example",
		"X-Session-Utm-Source": "ads", "X-Session-Utm-Medium": "", "X-Session-Utm-Campaign": "spring", "X-Session-Click-Id-Param": "",
	})

	self := newBrowser(t)
	self.ua += " (another browser)"
	_, up = self.get("/?utm_source=news", "Referer", siteURL+"/elsewhere")
	expect(t, up.Header, map[string]string{"X-Session-New-Client": "true", "X-Session-Referrer-Origin": "", "X-Session-Utm-Source": "news"})

	s.load("session_timeout 2s\n\t\tpersist_new_clients immediately\n\t\tstore_timeout 6s") // a reload flushes the queue
	for _, path := range []string{s.dbPath(), s.dbPath() + "-wal", s.logPath()} {
		data, err := os.ReadFile(path)
		if err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
		if path == s.logPath() {
			data = logSessionObjects(t, data) // Caddy's own entry logs the request URI, query and all
		}
		if bytes.Contains(data, []byte(clickValue)) {
			t.Errorf("the click ID's value is in %s", path)
		}
	}
	var client struct {
		Sessions []map[string]any `json:"sessions"`
	}
	adminDo(t, http.MethodGet, "/session/clients/"+up.Header.Get("X-Session-Client-Id"), &client)
	if len(client.Sessions) != 1 || client.Sessions[0]["utm_source"] != "news" || client.Sessions[0]["referrer_origin"] != "" {
		t.Errorf("admin view of the self-referred client: %v", client.Sessions)
	}
}

// assertLogSessionHas checks some fields of the access-log entry of uri.
func assertLogSessionHas(t *testing.T, path, uri string, want map[string]any) {
	t.Helper()
	var entry map[string]any
	if !wait.Until(5*time.Second, 50*time.Millisecond, func() bool { entry = findLogEntry(t, path, uri); return entry != nil }) {
		t.Fatalf("no access-log entry for %s", uri)
	}
	got, _ := entry["session"].(map[string]any)
	for k, v := range want {
		if got[k] != v {
			t.Errorf("access log session %s = %v, want %v (%v)", k, got[k], v, got)
		}
	}
}

// logSessionObjects is the session objects of an access log, one a line.
func logSessionObjects(t *testing.T, log []byte) []byte {
	var out []byte
	for line := range bytes.Lines(log) {
		var entry map[string]any
		if err := json.Unmarshal(line, &entry); err == nil {
			out = fmt.Appendf(out, "%v\n", entry["session"])
		}
	}
	return out
}

// The sessions export, in both formats, read by DuckDB: sessions per
// utm_source and click ID match what the script did.
func TestExportOfAttributionLoadsIntoDuckDB(t *testing.T) {
	duck := newDuckDB(t)
	s := startSite(t, "persist_new_clients immediately")
	sources := []string{"news", "news", "ads", "", "news", "ads", ""}
	want := map[string]int{}
	for i, source := range sources {
		b := newBrowser(t)
		b.ua += fmt.Sprintf(" (browser %d)", i)
		path := "/"
		if source != "" {
			path += "?utm_source=" + source + "&utm_medium=m&gclid=" + clickValue
		}
		b.get(path, "Referer", "https://ref.example/")
		b.get("/next?utm_source=later") // never changes the session's source
		want[sourceName(source)]++
	}
	s.load("persist_new_clients immediately\n\t\tsession_timeout 31m") // a reload flushes the queue
	var truth []string
	for _, source := range slices.Sorted(maps.Keys(want)) {
		truth = append(truth, fmt.Sprintf("%s=%d", source, want[source]))
	}
	bin := caddyBinary(t)
	for _, format := range exportFormats {
		path, out := exportFile(t, bin, s.dbPath(), "sessions", format.flag)
		if bytes.Contains(out, []byte(clickValue)) {
			t.Errorf("the %s export carries the click ID's value", format.flag)
		}
		checkRow(t, format.flag, duck.row(t, fmt.Sprintf(`SELECT
			(SELECT string_agg(source || '=' || n, ',' ORDER BY source) FROM
				(SELECT coalesce(utm_source, '(none)') AS source, count(*) AS n FROM %[1]s('%[2]s') GROUP BY ALL)) AS per_source,
			(SELECT count(*) FROM %[1]s('%[2]s') WHERE click_id_param = 'gclid' AND utm_medium = 'm') AS clicked,
			(SELECT count(*) FROM %[1]s('%[2]s') WHERE referrer_origin = 'https://ref.example') AS referred`,
			format.reader, path)), map[string]string{
			"per_source": strings.Join(truth, ","), "clicked": fmt.Sprint(len(sources) - want["(none)"]), "referred": fmt.Sprint(len(sources)),
		})
	}
}

// sourceName is how the check names a utm_source; (none) for no source.
func sourceName(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}
