package sqlite

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/c0f4626f/caddy-session/internal/storetest"
	"github.com/c0f4626f/caddy-session/sessionstore"
)

// The hour column follows last_seen on insert and on every update that
// moves it into another hour, and the sweep deletes by the exact last_seen.
func TestLastSeenHourFollowsEveryWrite(t *testing.T) {
	db := openTemp(t)
	start := time.Date(2026, 11, 28, 10, 59, 0, 0, time.UTC)
	o := storetest.SampleObject()
	for _, at := range []time.Time{start, start.Add(30 * time.Second), start.Add(2 * time.Minute), start.Add(3 * time.Hour)} {
		o.LastSeen = at
		saveObjects(t, db, o)
		if got, want := lastSeenHour(t, db, o.ClientID), at.UnixMilli()/3_600_000; got != want {
			t.Fatalf("last seen %s: hour column %d, want %d", at, got, want)
		}
	}
}

// A row whose hour is behind its last_seen (an earlier version wrote it)
// is not swept while its last_seen is recent; idle rows are, in the hour
// of the cutoff too.
func TestSweepComparesTheExactLastSeen(t *testing.T) {
	db := openTemp(t)
	cutoff := time.Date(2026, 11, 28, 10, 30, 0, 0, time.UTC)
	at := map[string]time.Time{
		"idle a day":            cutoff.Add(-24 * time.Hour),
		"idle a minute before":  cutoff.Add(-time.Minute),
		"seen a minute after":   cutoff.Add(time.Minute),
		"hour behind, seen now": cutoff.Add(2 * time.Hour),
	}
	ids := map[string]uuid.UUID{}
	for name, t0 := range at {
		o := storetest.SampleObject()
		o.ClientID, o.LastSeen = uuid.New(), t0
		ids[name] = o.ClientID
		saveObjects(t, db, o)
	}
	behind := ids["hour behind, seen now"]
	if _, err := db.db.Exec(`UPDATE clients SET last_seen_hour = 0 WHERE cid = ?`, behind[:]); err != nil {
		t.Fatal(err)
	}
	if n, err := db.Sweep(t.Context(), cutoff, cutoff, 100); err != nil || n != 2 {
		t.Fatalf("swept %d (%v), want the 2 idle clients", n, err)
	}
	for name, id := range ids {
		o, err := db.Load(t.Context(), id)
		idle := at[name].Before(cutoff)
		if err != nil || (o == nil) != idle {
			t.Errorf("%s: after the sweep found %v (%v), want found %v", name, o != nil, err, !idle)
		}
	}
}

// A file from before the hour column gets it, filled from last_seen, with
// its index in place of the one on last_seen.
func TestSQLiteFileWithoutHourColumnIsUpgraded(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sessions.db")
	writeEarlierSchemaFile(t, path)
	db, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var indexes string
	if err := db.db.QueryRow(`SELECT group_concat(name, ',') FROM (SELECT name FROM sqlite_master WHERE tbl_name = 'clients' AND type IN ('index', 'trigger') AND sql IS NOT NULL ORDER BY name)`).Scan(&indexes); err != nil {
		t.Fatal(err)
	}
	if indexes != "clients_last_seen_hour,clients_last_seen_hour,clients_user_id" {
		t.Fatalf("indexes and triggers of clients after the upgrade: %s", indexes)
	}
	var stale int
	if err := db.db.QueryRow(`SELECT count(*) FROM clients WHERE last_seen_hour <> last_seen / 3600000`).Scan(&stale); err != nil || stale != 0 {
		t.Fatalf("%d rows (%v) with an hour other than their last_seen's", stale, err)
	}
}

// openTemp opens a new database file, closed when the test ends.
func openTemp(tb testing.TB) *Backend {
	tb.Helper()
	db, err := Open(filepath.Join(tb.TempDir(), "sessions.db"), Options{})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	return db
}

func saveObjects(t *testing.T, db *Backend, objects ...sessionstore.Object) {
	t.Helper()
	if err := db.Save(context.Background(), sessionstore.Batch{Objects: objects}); err != nil {
		t.Fatal(err)
	}
}

func lastSeenHour(t *testing.T, db *Backend, id uuid.UUID) int64 {
	t.Helper()
	var h int64
	if err := db.db.QueryRow(`SELECT last_seen_hour FROM clients WHERE cid = ?`, id[:]).Scan(&h); err != nil {
		t.Fatal(err)
	}
	return h
}
