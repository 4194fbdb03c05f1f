package caddymodule_test

import (
	"bytes"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"runtime/pprof"
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2/caddytest"

	"github.com/c0f4626f/caddy-session/internal/testgeo"
	"github.com/c0f4626f/caddy-session/internal/wait"
)

// home is where the test client is: both loopback addresses, as the client
// may reach localhost over either.
func home(p testgeo.Place) map[string]testgeo.Place {
	return map[string]testgeo.Place{"127.0.0.0/8": p, "::1/128": p}
}

var saoPaulo = testgeo.Place{Country: "BR", Continent: "SA", Subdivision: "SP", City: "São Paulo"}

// geoHeaders are the upstream headers of the geo fields.
var geoHeaders = []string{"X-Session-Country", "X-Session-Continent", "X-Session-Region", "X-Session-City"}

// writeGeoDB writes a database of layout that places the test client, and
// returns its path.
func writeGeoDB(t *testing.T, layout testgeo.Layout, p testgeo.Place) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "geo.mmdb")
	testgeo.Write(t, path, layout, home(p))
	return path
}

func TestGeoFieldsOfEveryEvent(t *testing.T) {
	city := writeGeoDB(t, testgeo.City, saoPaulo)
	s := startSite(t, "geoip "+city)
	b := newBrowser(t)
	want := map[string]string{
		"X-Session-Country": "BR", "X-Session-Continent": "SA", "X-Session-Region": "BR-SP", "X-Session-City": "São Paulo",
		"X-Ph-Country": "BR", "X-Ph-City": "São Paulo",
	}
	for _, path := range []string{"/first", "/second"} {
		_, up := b.get(path)
		expect(t, up.Header, want)
	}
	assertLogSessionHas(t, s.logPath(), "/second", map[string]any{
		"country": "BR", "continent": "SA", "region": "BR-SP", "city": "São Paulo",
	})

	bot := newBrowser(t)
	bot.ua = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"
	_, up := bot.get("/crawled")
	expectNoGeo(t, up.Header)

	s.load("geoip " + writeGeoDB(t, testgeo.Country, saoPaulo))
	_, up = b.get("/country-only")
	expect(t, up.Header, map[string]string{"X-Session-Country": "BR", "X-Session-Continent": "SA", "X-Ph-City": ""})
	expectNone(t, up.Header, "X-Session-Region", "X-Session-City")

	s.load("session_timeout 31m") // geoip off
	_, up = b.get("/off")
	expectNoGeo(t, up.Header)
}

// Without consent nothing is looked up, handed on or logged.
func TestGeoNeedsConsent(t *testing.T) {
	s := startSite(t, "geoip "+writeGeoDB(t, testgeo.City, saoPaulo)+"\n\t\tconsent cookie ok")
	b := newBrowser(t)
	_, up := b.get("/without")
	expect(t, up.Header, map[string]string{"X-Session-Consent": "false"})
	expectNoGeo(t, up.Header)
	var logged map[string]any
	if !wait.Until(5*time.Second, 50*time.Millisecond, func() bool { logged = findLogEntry(t, s.logPath(), "/without"); return logged != nil }) {
		t.Fatal("no access-log entry for /without")
	}
	for _, key := range []string{"country", "continent", "region", "city"} {
		if v, ok := logged["session"].(map[string]any)[key]; ok {
			t.Errorf("access log of a request without consent has %s %v", key, v)
		}
	}

	b.cookies["ok"] = "1"
	_, up = b.get("/with")
	expect(t, up.Header, map[string]string{"X-Session-Country": "BR", "X-Session-City": "São Paulo"})
}

// expectNoGeo checks that the upstream got no geo header and empty geo
// placeholders.
func expectNoGeo(t *testing.T, h http.Header) {
	t.Helper()
	expectNone(t, h, geoHeaders...)
	expect(t, h, map[string]string{"X-Ph-Country": "", "X-Ph-City": ""})
}

func expectNone(t *testing.T, h map[string][]string, names ...string) {
	t.Helper()
	for _, name := range names {
		if v, ok := h[name]; ok {
			t.Errorf("upstream got %s: %q", name, v)
		}
	}
}

// A database that cannot be used is a config error at its Caddyfile line;
// the running configuration stays.
func TestGeoDatabaseErrorsNameTheLine(t *testing.T) {
	dir := t.TempDir()
	corrupt := filepath.Join(dir, "corrupt.mmdb")
	if err := os.WriteFile(corrupt, []byte("not a database"), 0o644); err != nil {
		t.Fatal(err)
	}
	s := startSite(t, "session_timeout 30m")
	missing := filepath.Join(dir, "missing.mmdb")
	for path, want := range map[string]string{
		missing: "geoip: open " + missing + ": no such file or directory",
		corrupt: "geoip: " + corrupt + " is not a valid MaxMind DB file",
	} {
		config := s.caddyfile("geoip " + path)
		line := 1 + strings.Count(config[:strings.Index(config, "geoip")], "\n")
		caddytest.AssertLoadError(t, config, "caddyfile", want)
		caddytest.AssertLoadError(t, config, "caddyfile", fmt.Sprintf(", at Caddyfile:%d", line))
	}
	t.Setenv("GEO_DB_TEST_PATH", corrupt) // resolved, and so checked, at provision
	caddytest.AssertLoadError(t, s.caddyfile("geoip {env.GEO_DB_TEST_PATH}"), "caddyfile", "geoip: "+corrupt+" is not a valid MaxMind DB file")
	_, up := newBrowser(t).get("/still-served")
	expect(t, up.Header, map[string]string{"X-Session-New-Client": "true"})
}

// geoipupdate renames a new file over the database: the running Caddy
// answers from it without a reload; a corrupt replacement keeps the loaded
// database and says so in the log.
func TestGeoDatabaseReplacedUnderRunningCaddy(t *testing.T) {
	bin := caddyBinary(t)
	dir := t.TempDir()
	db := writeGeoDB(t, testgeo.City, saoPaulo)
	p := startCaddy(t, bin, dir, procConfigWith(dir, sqliteBlock(filepath.Join(dir, "s.db"))+"\n\t\tgeoip "+db))
	b := newBrowser(t)
	b.base = procURL
	country := func() string { _, up := b.get("/"); return up.Header.Get("X-Session-Country") }
	if got := country(); got != "BR" {
		t.Fatalf("country %q, want BR", got)
	}

	testgeo.Write(t, db, testgeo.Country, home(testgeo.Place{Country: "CA", Continent: "NA"}))
	if !wait.Until(30*time.Second, 100*time.Millisecond, func() bool { return country() == "CA" }) {
		t.Fatalf("the replaced database was not used: country %q", country())
	}

	testgeo.Replace(t, db, []byte("corrupt"))
	if !wait.Until(30*time.Second, 100*time.Millisecond, func() bool { return strings.Contains(p.Log(), "cannot be used") }) {
		t.Fatalf("no warning of the corrupt replacement:\n%s", p.Log())
	}
	if got := country(); got != "CA" {
		t.Fatalf("after a corrupt replacement: country %q, want the loaded database's CA", got)
	}
}

// The database's watcher is shared by the configurations that name its
// file and ends with the last of them: reloads leak no goroutine.
func TestGeoWatcherEndsWithItsLastConfig(t *testing.T) {
	db := writeGeoDB(t, testgeo.City, saoPaulo)
	s := startSite(t, "geoip "+db)
	s.load("geoip " + db + "\n\t\tsession_timeout 31m")
	watchersAre(t, 1)
	s.load("session_timeout 32m")
	watchersAre(t, 0)
}

// watchersAre waits until n geo database watchers run.
func watchersAre(t *testing.T, n int) {
	t.Helper()
	count := func() int {
		var dump bytes.Buffer
		pprof.Lookup("goroutine").WriteTo(&dump, 2) // one stack per goroutine
		return strings.Count(dump.String(), "geoip.(*DB).watch")
	}
	if !wait.Until(10*time.Second, 20*time.Millisecond, func() bool { return count() == n }) {
		t.Fatalf("%d geo database watchers, want %d", count(), n)
	}
}

// Behind a trusted proxy the forwarded client IP is located; each event
// carries where it came from, each session keeps where it started, in the
// admin view and in both export formats, read by DuckDB.
func TestGeoOfEachSessionBehindATrustedProxy(t *testing.T) {
	duck := newDuckDB(t)
	db := filepath.Join(t.TempDir(), "geo.mmdb")
	testgeo.Write(t, db, testgeo.City, map[string]testgeo.Place{
		"127.0.0.0/8": saoPaulo, "::1/128": saoPaulo,
		"192.0.2.0/24":  {Country: "FR", Continent: "EU"},
		"2001:db8::/32": {Country: "JP", Continent: "AS", Subdivision: "13", City: "Tokyo"},
	})
	s := startSite(t, "session_timeout 30m")
	options := "geoip " + db + "\n\t\tpersist_new_clients immediately"
	s.tester.InitServer(s.trustingProxies(options), "caddyfile")

	france, japan, home := newBrowser(t), newBrowser(t), newBrowser(t)
	japan.ua += " (japan)"
	home.ua += " (home)"
	_, up := france.get("/", "X-Forwarded-For", "192.0.2.7")
	expect(t, up.Header, map[string]string{"X-Session-Country": "FR", "X-Session-Continent": "EU", "X-Session-Region": "", "X-Session-City": ""})
	_, up = france.get("/travel", "X-Forwarded-For", "2001:db8::1") // the event is in Japan, the session began in France
	expect(t, up.Header, map[string]string{"X-Session-Country": "JP", "X-Session-Region": "JP-13", "X-Session-City": "Tokyo"})
	_, up = japan.get("/", "X-Forwarded-For", "2001:db8::2")
	expect(t, up.Header, map[string]string{"X-Session-Country": "JP"})
	_, up = home.get("/")
	expect(t, up.Header, map[string]string{"X-Session-Country": "BR"})

	var client struct {
		Sessions []map[string]any `json:"sessions"`
	}
	adminDo(t, http.MethodGet, "/session/clients/"+france.cookies["_cs_cID"], &client)
	if len(client.Sessions) != 1 || client.Sessions[0]["country"] != "FR" || client.Sessions[0]["city"] != "" {
		t.Errorf("admin view of the client that began in France: %v", client.Sessions)
	}

	s.tester.InitServer(s.trustingProxies(options+"\n\t\tsession_timeout 31m"), "caddyfile") // a reload flushes the queue
	bin := caddyBinary(t)
	for _, format := range exportFormats {
		path, _ := exportFile(t, bin, s.dbPath(), "sessions", format.flag)
		checkRow(t, format.flag, duck.row(t, fmt.Sprintf(`SELECT
			(SELECT string_agg(country || '=' || n, ',' ORDER BY country) FROM
				(SELECT country, count(*) AS n FROM %[1]s('%[2]s') GROUP BY ALL)) AS per_country,
			(SELECT string_agg(place, ',' ORDER BY place) FROM
				(SELECT DISTINCT continent || '/' || coalesce(region, '') || '/' || coalesce(city, '') AS place FROM %[1]s('%[2]s'))) AS places`,
			format.reader, path)), map[string]string{
			"per_country": "BR=1,FR=1,JP=1", "places": "AS/JP-13/Tokyo,EU//,SA/BR-SP/São Paulo",
		})
	}
}
