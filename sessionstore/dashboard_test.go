package sessionstore_test

import (
	"testing"
	"time"

	"github.com/c0f4626f/caddy-session/internal/storetest"
	. "github.com/c0f4626f/caddy-session/sessionstore"
)

func TestDashboardDayFromVisits(t *testing.T) {
	s, _ := newSQLiteStore(t, Config{})
	start := storetest.DashboardStart()
	storetest.PlayDashboardScenario([]*Store{s}, start)
	storetest.ExpectDashboardScenario(t, s, start)
}

// TestDashboardFloodStaysBounded measures the rows a day takes on disk
// under a flood of hosts and distinct values: at most MaxSites+1 day rows
// and, per site, MaxTopKeys+1 rows per top table.
func TestDashboardFloodStaysBounded(t *testing.T) {
	s, path := newSQLiteStore(t, Config{})
	now := time.Now()
	storetest.PlayFlood([]*Store{s}, now)
	storetest.ExpectFloodBounded(t, s, now)
	days, top := rows(t, path, "dashboard_days"), rows(t, path, "dashboard_top")
	t.Logf("one flooded day: %d day rows, %d top rows", days, top)
	if days > MaxSites+1 || top > (MaxSites+1)*TopTables*(MaxTopKeys+1) {
		t.Errorf("%d day rows and %d top rows, beyond the bound", days, top)
	}
}

func TestDashboardDaysPastRetentionAreSwept(t *testing.T) {
	s, path := newSQLiteStore(t, Config{Retention: 48 * time.Hour})
	start := storetest.DashboardStart()
	storetest.PlayDashboardScenario([]*Store{s}, start)
	storetest.Flush(t, s)
	if _, err := s.Sweep(start.Add(48 * time.Hour)); err != nil {
		t.Fatal(err)
	}
	if n := rows(t, path, "dashboard_days"); n != 1 {
		t.Fatalf("%d day rows within the retention, want 1", n)
	}
	if _, err := s.Sweep(start.Add(72 * time.Hour)); err != nil {
		t.Fatal(err)
	}
	if days, top := rows(t, path, "dashboard_days"), rows(t, path, "dashboard_top"); days+top != 0 {
		t.Fatalf("%d day rows and %d top rows past the retention, want none", days, top)
	}
}

// TestDashboardKeepsAdmittedNamesUnderAFlood floods each hand-over window
// with more new hosts, paths and UTM sources than the bounds admit, before
// a site, path and source the day admitted earlier come back, and restarts
// the store halfway, the flood arriving before its first hand-over: they
// keep counting under their own names.
func TestDashboardKeepsAdmittedNamesUnderAFlood(t *testing.T) {
	s, path := newSQLiteStore(t, Config{})
	now := time.Now()
	storetest.VisitAdmitted(s, now)
	const rounds = 6
	for round := range rounds {
		if round == rounds/2 {
			s.Close()
			s = NewWriteBehind(Config{}, openSQLite(path))
			t.Cleanup(func() { s.Close() })
		} else {
			storetest.Flush(t, s)
		}
		storetest.PlayFloodRound(s, now, round)
	}
	storetest.ExpectAdmittedKept(t, s, now, rounds)
}
