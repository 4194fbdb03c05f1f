package geoip

import (
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/c0f4626f/caddy-session/internal/testgeo"
	"github.com/c0f4626f/caddy-session/internal/wait"
)

var places = map[string]testgeo.Place{
	"127.0.0.0/8":     {Country: "US", Continent: "NA", Subdivision: "CA", City: "San Francisco"},
	"::1/128":         {Country: "DE", Continent: "EU", Subdivision: "BY", City: "München"},
	"192.0.2.0/24":    {Country: "FR", Continent: "EU"},
	"2001:db8::/32":   {Country: "JP", Continent: "AS", Subdivision: "13", City: "Tokyo"},
	"198.51.100.0/24": {Country: "BR", Continent: "SA", Subdivision: "SP"},
}

func openTestDB(t *testing.T, layout testgeo.Layout, o Options) (*DB, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "geo.mmdb")
	testgeo.Write(t, path, layout, places)
	db, err := Open(path, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db, path
}

func TestLookupReadsEachLayout(t *testing.T) {
	tests := []struct {
		layout testgeo.Layout
		ip     string
		want   Location
	}{
		{testgeo.City, "127.0.0.1", Location{"US", "NA", "US-CA", "San Francisco"}},
		{testgeo.City, "::1", Location{"DE", "EU", "DE-BY", "München"}},
		{testgeo.City, "::ffff:127.0.0.1", Location{"US", "NA", "US-CA", "San Francisco"}},
		{testgeo.City, "fe80::1%eth0", Location{}},
		{testgeo.City, "2001:db8::7", Location{"JP", "AS", "JP-13", "Tokyo"}},
		{testgeo.City, "192.0.2.9", Location{Country: "FR", Continent: "EU"}},
		{testgeo.City, "198.51.100.1", Location{Country: "BR", Continent: "SA", Region: "BR-SP"}},
		{testgeo.City, "203.0.113.1", Location{}},
		{testgeo.Country, "127.0.0.1", Location{Country: "US", Continent: "NA"}},
		{testgeo.Country, "2001:db8::7", Location{Country: "JP", Continent: "AS"}},
		{testgeo.Country, "203.0.113.1", Location{}},
	}
	dbs := map[testgeo.Layout]*DB{}
	for _, layout := range []testgeo.Layout{testgeo.City, testgeo.Country} {
		dbs[layout], _ = openTestDB(t, layout, Options{})
	}
	for _, tt := range tests {
		if got := dbs[tt.layout].Lookup(netip.MustParseAddr(tt.ip)); got != tt.want {
			t.Errorf("%s %s: %+v, want %+v", tt.layout, tt.ip, got, tt.want)
		}
	}
	if got := dbs[testgeo.City].Lookup(netip.Addr{}); got != (Location{}) {
		t.Errorf("the zero address: %+v", got)
	}
}

func TestOpenRefusesWhatIsNotACountryOrCityDatabase(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.mmdb")
	testgeo.Write(t, good, testgeo.City, places)
	data, err := os.ReadFile(good)
	if err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{
		"garbage.mmdb":   []byte("not a database at all"),
		"truncated.mmdb": data[:len(data)/2],
		"empty.mmdb":     nil,
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), content, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	asn := filepath.Join(dir, "asn.mmdb")
	testgeo.Write(t, asn, "GeoLite2-ASN", places)
	for _, tt := range []struct{ file, want string }{
		{"missing.mmdb", "no such file"},
		{"garbage.mmdb", "not a valid MaxMind DB file"},
		{"truncated.mmdb", "not a valid MaxMind DB file"},
		{"empty.mmdb", "not a valid MaxMind DB file"},
		{"asn.mmdb", "is a GeoLite2-ASN database; want a country or city one"},
	} {
		path := filepath.Join(dir, tt.file)
		if err := Check(path); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Check %s: %v, want %q", tt.file, err, tt.want)
		}
		if db, err := Open(path, Options{}); err == nil {
			db.Close()
			t.Errorf("Open %s succeeded", tt.file)
		}
	}
	if err := Check(good); err != nil {
		t.Errorf("Check of a good file: %v", err)
	}
}

// A database renamed over the file takes over without a reopen; a corrupt
// one, or the file gone, keeps the loaded one with one warning each.
func TestReplacedFileIsReloaded(t *testing.T) {
	core, logs := observer.New(zapcore.InfoLevel)
	db, path := openTestDB(t, testgeo.City, Options{Logger: zap.New(core), CheckInterval: 10 * time.Millisecond})
	home := netip.MustParseAddr("127.0.0.1")
	countryBecomes := func(want string) bool {
		return wait.Until(10*time.Second, 10*time.Millisecond, func() bool { return db.Lookup(home).Country == want })
	}

	testgeo.Write(t, path, testgeo.City, map[string]testgeo.Place{"127.0.0.0/8": {Country: "CA", Continent: "NA"}})
	if !countryBecomes("CA") {
		t.Fatalf("the replaced file was not loaded: %+v", db.Lookup(home))
	}

	testgeo.Replace(t, path, []byte("corrupt"))
	waitForLog(t, logs, "cannot be used")
	testgeo.Replace(t, path, []byte("still corrupt"))
	waitForLog(t, logs, "cannot be used", "cannot be used")
	if got := db.Lookup(home); got.Country != "CA" {
		t.Fatalf("after a corrupt replacement: %+v, want the previous database's CA", got)
	}

	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	waitForLog(t, logs, "cannot be used", "cannot be used", "unavailable")
	time.Sleep(50 * time.Millisecond) // several more ticks: still one warning
	testgeo.Write(t, path, testgeo.Country, map[string]testgeo.Place{"127.0.0.0/8": {Country: "MX", Continent: "NA"}})
	if !countryBecomes("MX") {
		t.Fatalf("the file written after the removal was not loaded: %+v", db.Lookup(home))
	}
	var warnings []string
	for _, e := range logs.FilterLevelExact(zapcore.WarnLevel).All() {
		warnings = append(warnings, e.Message)
	}
	if len(warnings) != 3 {
		t.Errorf("warnings %q, want one per bad state", warnings)
	}
}

// waitForLog waits until the warnings, in order, contain each of want.
func waitForLog(t *testing.T, logs *observer.ObservedLogs, want ...string) {
	t.Helper()
	ok := wait.Until(10*time.Second, 10*time.Millisecond, func() bool {
		got := logs.FilterLevelExact(zapcore.WarnLevel).All()
		if len(got) < len(want) {
			return false
		}
		for i, w := range want {
			if !strings.Contains(got[i].Message, w) {
				return false
			}
		}
		return true
	})
	if !ok {
		t.Fatalf("warnings %v, want %q", logs.All(), want)
	}
}

// Lookups while the file is replaced again and again see one database or
// the other, never a failure (run under -race).
func TestLookupsDuringReloads(t *testing.T) {
	db, path := openTestDB(t, testgeo.City, Options{CheckInterval: time.Millisecond})
	var versions [2][]byte
	for i, country := range [...]string{"US", "CA"} {
		versions[i] = databaseBytes(t, map[string]testgeo.Place{"127.0.0.0/8": {Country: country, Continent: "NA"}})
	}
	replaced := make(chan error)
	go func() {
		var err error
		for i := 0; i < 20 && err == nil; i++ {
			tmp := fmt.Sprintf("%s.%d", path, i)
			if err = os.WriteFile(tmp, versions[i%2], 0o644); err == nil {
				err = os.Rename(tmp, path)
			}
			time.Sleep(2 * time.Millisecond)
		}
		replaced <- err
	}()
	home := netip.MustParseAddr("127.0.0.1")
	for {
		select {
		case err := <-replaced:
			if err != nil {
				t.Fatal(err)
			}
			return
		default:
		}
		if c := db.Lookup(home).Country; c != "US" && c != "CA" {
			t.Fatalf("lookup during reload: %q", c)
		}
	}
}

// databaseBytes is a City database of places.
func databaseBytes(t *testing.T, places map[string]testgeo.Place) []byte {
	path := filepath.Join(t.TempDir(), "geo.mmdb")
	testgeo.Write(t, path, testgeo.City, places)
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// Close ends the watcher; lookups still answer from the last database.
func TestCloseStopsWatchingAndKeepsAnswering(t *testing.T) {
	db, path := openTestDB(t, testgeo.City, Options{CheckInterval: time.Millisecond})
	db.Close()
	db.Close() // twice is fine: a Caddy pool may destruct after a failed provision
	testgeo.Write(t, path, testgeo.City, map[string]testgeo.Place{"127.0.0.0/8": {Country: "CA"}})
	time.Sleep(20 * time.Millisecond)
	if got := db.Lookup(netip.MustParseAddr("127.0.0.1")).Country; got != "US" {
		t.Fatalf("after Close: %q, want the last loaded database's US", got)
	}
}

func TestCleanMakesHeaderSafeText(t *testing.T) {
	long := strings.Repeat("é", MaxText) // 2 bytes each: the cut must not split one
	for in, want := range map[string]string{
		"San Francisco":      "San Francisco",
		"Evil\r\nSet-Cookie": "Evil%0D%0ASet-Cookie",
		"bad\xffutf8":        "bad%FFutf8",
		"ab\u202ecd\u2028":   "ab%E2%80%AEcd%E2%80%A8",
		long:                 long[:MaxText],
	} {
		if got := clean(in); got != want {
			t.Errorf("clean(%q) = %q, want %q", in, got, want)
		}
	}
}

func BenchmarkLookup(b *testing.B) {
	path := filepath.Join(b.TempDir(), "geo.mmdb")
	testgeo.Write(b, path, testgeo.City, places)
	db, err := Open(path, Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	ip := netip.MustParseAddr("127.0.0.1")
	b.ReportAllocs()
	for b.Loop() {
		db.Lookup(ip)
	}
}
