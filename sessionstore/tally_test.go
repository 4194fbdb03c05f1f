package sessionstore

import (
	"strconv"
	"strings"
	"testing"
	"time"
)

// BenchmarkTallyAdd is what the dashboard adds to a visit's path: naming
// the site and counting the event, for an event that continues a session
// and for one that starts a session with a referrer and UTM values.
func BenchmarkTallyAdd(b *testing.B) {
	now := time.Now()
	started := NewID(now.Add(-time.Minute))
	continues := Event{ClientID: started, SessionID: started, EventID: NewID(now),
		PreviousEventID: NewID(now.Add(-10 * time.Second)), EventNumber: 3}
	starts := Event{ClientID: started, SessionID: NewID(now), EventID: NewID(now), PreviousEventID: started,
		NewSession: true, EventNumber: 1, Attribution: Attribution{ReferrerOrigin: "https://ref.example",
			UTMSource: "news", UTMCampaign: "spring"}}
	for _, c := range []struct {
		name string
		ev   Event
	}{{"continuing", continues}, {"new-session", starts}} {
		b.Run(c.name, func(b *testing.B) {
			t := newTally(false)
			b.ReportAllocs()
			for b.Loop() {
				t.add(hit{site: siteOf("www.example.com:443"), ev: c.ev, now: now, path: "/landing"})
			}
		})
	}
}

// A fallback is not counted, and a continuing event moves its session out
// of the bounces on the day the session started.
func TestTallyCountsStoredEventsOnTheirSessionsDay(t *testing.T) {
	tl := newTally(false)
	yesterday := DayStart(time.Now()).Add(-time.Hour)
	first := Event{ClientID: NewID(yesterday), SessionID: NewID(yesterday), NewClient: true, NewSession: true, EventNumber: 1}
	first.EventID = first.SessionID
	tl.add(hit{site: "example.com", ev: first, now: yesterday, path: "/"})
	now := yesterday.Add(2 * time.Hour)
	second := Event{ClientID: first.ClientID, SessionID: first.SessionID, EventID: NewID(now),
		PreviousEventID: first.EventID, EventNumber: 2}
	tl.add(hit{site: "example.com", ev: second, now: now})
	fallback := second
	fallback.Fallback = true
	tl.add(hit{site: "example.com", ev: fallback, now: now})

	days := map[time.Time]Day{}
	for _, c := range tl.take() {
		days[c.Date] = c.Day
	}
	before, after := days[DayStart(yesterday)], days[DayStart(now)]
	if before.Sessions != 1 || before.Bounces != 0 || before.Durations[0] != 0 || before.Durations[DurationBuckets-1] != 1 {
		t.Errorf("the session's day: %+v; want one session, no bounce, in the last duration bucket", before.DayCounts)
	}
	if after.Events != 1 || after.Visitors != 1 || after.Sessions != 0 || after.Bounces != 0 {
		t.Errorf("the next day: %+v; want one event of one visitor", after.DayCounts)
	}
}

func TestSiteOfNamesTheHostInLowerCaseWithoutPort(t *testing.T) {
	for host, want := range map[string]string{
		"example.com": "example.com", "Example.COM:8443": "example.com", "[::1]:2015": "::1",
		"[2001:DB8::1]": "2001:db8::1", "bad\x00host": "bad%00host", "": "",
		"BAD\xffHost:80": "bad%FFhost", strings.Repeat("h", 300): strings.Repeat("h", maxSite),
	} {
		if got := siteOf(host); got != want {
			t.Errorf("siteOf(%q) = %q, want %q", host, got, want)
		}
	}
}

// TestTallyStaysBoundedUnderAFlood floods one hand-over window with
// distinct hosts, paths, referrers and UTM values: the tally keeps at most
// MaxSites sites and OtherSite, and per site MaxTopKeys values and OtherKey
// per table, whatever arrives.
func TestTallyStaysBoundedUnderAFlood(t *testing.T) {
	tl := newTally(false)
	now := time.Now()
	const visits = 50_000
	for i := range visits {
		id := NewID(now)
		n := strconv.Itoa(i)
		ev := Event{ClientID: id, SessionID: id, EventID: id, NewClient: true, NewSession: true, EventNumber: 1,
			Attribution: Attribution{ReferrerOrigin: "https://r" + n + ".example", UTMSource: "s" + n, UTMCampaign: "c" + n}}
		tl.add(hit{site: siteOf("h" + strconv.Itoa(i%(3*MaxSites)) + ".example"), ev: ev, now: now, path: "/p" + n})
	}
	var sessions int64
	values := 0
	for _, d := range tl.days {
		sessions += d.Sessions
		for i, table := range d.Top[:TopCountry] {
			values += len(table)
			if len(table) > MaxTopKeys+1 {
				t.Errorf("%s table %s holds %d values", d.Site, TopNames[i], len(table))
			}
		}
	}
	t.Logf("%d visits over %d hosts: %d sites and %d table values held", visits, 3*MaxSites, len(tl.days), values)
	if len(tl.days) != MaxSites+1 || sessions != visits {
		t.Errorf("%d sites held and %d sessions counted; want %d sites and %d sessions", len(tl.days), sessions, MaxSites+1, visits)
	}
}

// TestTallyBoundsHoldWithAdmittedNames has a back end report more names
// than the bounds allow, then floods a window with new hosts and values
// besides the admitted ones: the admitted names stay within MaxSites and
// MaxTopKeys, and the window, the day being full, takes no new name.
func TestTallyBoundsHoldWithAdmittedNames(t *testing.T) {
	tl := newTally(false)
	now := time.Now()
	today := DayStart(now).Unix()
	tl.known.moveTo(today)
	reported := map[string][TopTables][]string{}
	for i := range 3 * MaxSites {
		var values [TopTables][]string
		for j := range 3 * MaxTopKeys {
			values[TopLanding] = append(values[TopLanding], "/a"+strconv.Itoa(j))
		}
		reported["a"+strconv.Itoa(i)+".example"] = values
	}
	tl.known.learn(today, reported)
	for site, tables := range tl.known.sites {
		if n := len(tables[TopLanding]); n > MaxTopKeys {
			t.Errorf("%s: %d landing paths known, beyond %d", site, n, MaxTopKeys)
		}
	}
	for i := range 20_000 {
		id := NewID(now)
		n := strconv.Itoa(i)
		ev := Event{ClientID: id, SessionID: id, EventID: id, NewClient: true, NewSession: true, EventNumber: 1}
		tl.add(hit{site: "a" + strconv.Itoa(i%(3*MaxSites)) + ".example", ev: ev, now: now, path: "/a" + strconv.Itoa(i%(3*MaxTopKeys))})
		tl.add(hit{site: "n" + n + ".example", ev: ev, now: now, path: "/n" + n})
	}
	t.Logf("%d sites known; the window holds %d sites", len(tl.known.sites), len(tl.days))
	if len(tl.known.sites) != MaxSites || len(tl.days) != MaxSites+1 {
		t.Errorf("%d sites known and %d in the window; want %d and %d", len(tl.known.sites), len(tl.days), MaxSites, MaxSites+1)
	}
	for _, d := range tl.days {
		if n := len(d.Top[TopLanding]); n > MaxTopKeys+1 {
			t.Errorf("%s: %d landing paths in the window, beyond %d", d.Site, n, MaxTopKeys+1)
		}
	}
}
