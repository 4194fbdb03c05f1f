package caddymodule_test

import (
	"fmt"
	"path/filepath"
	"testing"

	"github.com/c0f4626f/caddy-session/internal/testgeo"
)

// A site owner's questions, answered from the exports by an analytics
// engine: sessions per source, per country and per user, and per source
// and user together, against visits whose answers are known. Four visitors:
// ann from France through a news mail, who logs in as alice; ben from
// Japan through an ad, alice's second device; cat at home (Brazil) from a
// search engine, who never logs in; dan from France through the news mail,
// who logs in as bob.
func TestExportsAnswerPerSourceCountryAndUser(t *testing.T) {
	duck := newDuckDB(t)
	db := filepath.Join(t.TempDir(), "geo.mmdb")
	testgeo.Write(t, db, testgeo.City, map[string]testgeo.Place{
		"127.0.0.0/8": saoPaulo, "::1/128": saoPaulo,
		"192.0.2.0/24":  {Country: "FR", Continent: "EU"},
		"2001:db8::/32": {Country: "JP", Continent: "AS"},
	})
	s := startSite(t, "")
	options := "geoip " + db + "\n\t\tpersist_new_clients immediately"
	s.tester.InitServer(s.trustingProxies(options), "caddyfile")

	for _, v := range []struct{ name, from, landing, referer, user string }{
		{"ann", "192.0.2.7", "/?utm_source=news&utm_campaign=spring", "", "alice"},
		{"ben", "2001:db8::5", "/shop?utm_source=ads&gclid=SECRET", "", "alice"},
		{"cat", "", "/", "https://search.example/?q=shoes", ""},
		{"dan", "192.0.2.9", "/?utm_source=news&utm_campaign=spring", "", "bob"},
	} {
		b := newBrowser(t)
		b.ua += " (" + v.name + ")"
		var from []string
		if v.from != "" {
			from = []string{"X-Forwarded-For", v.from}
		}
		b.get(v.landing, append(from, "Referer", v.referer)...)
		if v.user != "" {
			b.get(loginPath(v.user), from...)
		}
	}
	s.tester.InitServer(s.trustingProxies(options+"\n\t\tsession_timeout 31m"), "caddyfile") // a reload flushes the queue

	bin := caddyBinary(t)
	for _, format := range exportFormats {
		path, out := exportFile(t, bin, s.dbPath(), "sessions", format.flag)
		t.Logf("the sessions export, %s:\n%s", format.flag, out)
		per := func(expr string) string {
			return fmt.Sprintf(`(SELECT string_agg(k || '=' || n, ',' ORDER BY k) FROM
				(SELECT %s AS k, count(*) AS n FROM %s('%s') GROUP BY ALL))`, expr, format.reader, path)
		}
		checkRow(t, format.flag, duck.row(t, `SELECT `+
			per(`coalesce(utm_source, '(none)')`)+` AS per_source, `+
			per(`country`)+` AS per_country, `+
			per(`coalesce(user_id, '(none)')`)+` AS per_user, `+
			per(`coalesce(utm_source, '(none)') || '/' || coalesce(user_id, '(none)')`)+` AS per_source_and_user, `+
			per(`coalesce(referrer_origin, '(none)')`)+` AS per_referrer`), map[string]string{
			"per_source":          "(none)=1,ads=1,news=2",
			"per_country":         "BR=1,FR=2,JP=1",
			"per_user":            "(none)=1,alice=2,bob=1",
			"per_source_and_user": "(none)/(none)=1,ads/alice=1,news/alice=1,news/bob=1",
			"per_referrer":        "(none)=3,https://search.example=1",
		})
	}
}
