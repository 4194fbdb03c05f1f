package sessionstore_test

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/c0f4626f/caddy-session/internal/storetest"

	"github.com/google/uuid"

	"github.com/c0f4626f/caddy-session/internal/concurrent"

	. "github.com/c0f4626f/caddy-session/sessionstore"
	"github.com/c0f4626f/caddy-session/sessionstore/sqlite"
)

// openSQLite opens the database file at path.
func openSQLite(path string) func() (WriteBehind, error) {
	return func() (WriteBehind, error) { return sqlite.Open(path, sqlite.Options{}) }
}

// newSQLiteStore opens a store on a fresh database file in a temp dir.
func newSQLiteStore(t testing.TB, cfg Config) (*Store, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "sessions.db")
	s := NewWriteBehind(cfg, openSQLite(path))
	t.Cleanup(func() { s.Close() })
	return s, path
}

// rows counts the rows of a table through a connection of its own.
func rows(t testing.TB, path, table string) int {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n int
	if err := db.QueryRow("SELECT count(*) FROM " + table).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestNewClientIsWrittenOnlyWhenItReturns(t *testing.T) {
	s, path := newSQLiteStore(t, Config{})
	now := time.Now()
	first := storetest.Visit(s, now, Claim{}, storetest.Opts)
	storetest.Flush(t, s)
	if n := rows(t, path, "clients"); n != 0 {
		t.Fatalf("a client that never returned left %d rows", n)
	}
	second := storetest.Visit(s, now.Add(time.Second), storetest.Returning(first), storetest.Opts)
	storetest.Flush(t, s)
	if second.ClientID != first.ClientID || second.EventNumber != 2 || second.NewClient || second.Fallback {
		t.Fatalf("return visit: %+v", second)
	}
	if c := rows(t, path, "clients"); c != 1 {
		t.Fatalf("after return: %d clients, want 1", c)
	}
	if _, sessions, _ := s.Inspect(context.Background(), first.ClientID); len(sessions) != 1 || sessions[0].Events != 2 {
		t.Fatalf("after return: sessions %+v, want one with 2 events", sessions)
	}
}

func TestPersistImmediately(t *testing.T) {
	s, path := newSQLiteStore(t, Config{})
	o := storetest.Opts
	o.PersistImmediately = true
	storetest.Visit(s, time.Now(), Claim{}, o)
	storetest.Flush(t, s)
	if n := rows(t, path, "clients"); n != 1 {
		t.Fatalf("%d rows, want 1", n)
	}
}

// storeOnOneFile returns a function that opens a new store on the same
// database file at every call: a restart.
func storeOnOneFile(t testing.TB) func() *Store {
	path := filepath.Join(t.TempDir(), "sessions.db")
	return func() *Store { return NewWriteBehind(Config{}, openSQLite(path)) }
}

func TestStoredObjectSurvivesRestartAndWinsOverCookies(t *testing.T) {
	open := storeOnOneFile(t)
	s := open()
	now := time.Now()
	ev := storetest.Visit(s, now, Claim{}, storetest.Opts)
	for i := 1; i < 5; i++ {
		ev = storetest.Visit(s, now.Add(time.Duration(i)*time.Second), storetest.Returning(ev), storetest.Opts)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = open()
	defer s.Close()
	// The cookies claim a stale session; the stored object knows better.
	stale := storetest.Returning(ev)
	stale.SessionID, stale.EventID = stale.ClientID, stale.ClientID
	next := storetest.Visit(s, now.Add(10*time.Second), stale, storetest.Opts)
	if next.EventNumber != 6 || next.SessionID != ev.SessionID || next.PreviousEventID != ev.EventID || next.Fallback {
		t.Fatalf("after restart: %+v, want event 6 continuing %s after %s", next, ev.SessionID, ev.EventID)
	}
}

// A client that closes its connection mid-request does not cut the store
// work short: the visit still reads the stored object and is counted.
func TestVisitOfAClientThatWentAwayIsCountedWhole(t *testing.T) {
	open := storeOnOneFile(t)
	s := open()
	now := time.Now()
	ev := storetest.Visit(s, now, Claim{}, storetest.Opts)
	ev = storetest.Visit(s, now.Add(time.Second), storetest.Returning(ev), storetest.Opts)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = open() // an empty cache: the next visit has to read the file
	defer s.Close()
	gone, cancel := context.WithCancel(context.Background())
	cancel()
	later := now.Add(2 * time.Second)
	next := s.Visit(gone, Visit{Claim: storetest.Returning(ev), EventID: NewID(later), Now: later, Path: "/"}, storetest.Opts)
	if next.Fallback || next.EventNumber != 3 {
		t.Fatalf("visit of a client that went away: %+v, want event 3 and no fallback", next)
	}
}

func TestRehydratesFromCookiesWhenStoreLacksObject(t *testing.T) {
	s, _ := newSQLiteStore(t, Config{})
	now := time.Now()
	cid, sid, eid := NewID(now.Add(-time.Hour)), NewID(now.Add(-10*time.Minute)), NewID(now.Add(-time.Minute))
	ev := storetest.Visit(s, now, Claim{ClientID: cid, SessionID: sid, EventID: eid, FromCookie: true}, storetest.Opts)
	if ev.ClientID != cid || ev.SessionID != sid || ev.NewSession || ev.PreviousEventID != eid || ev.Fallback {
		t.Fatalf("rehydrated visit: %+v", ev)
	}
}

func TestConcurrentVisitsOfOneClientAreSerialised(t *testing.T) {
	s, path := newSQLiteStore(t, Config{})
	start := time.Now().Add(-time.Hour)
	o := storetest.Opts
	o.PersistImmediately = true
	first := storetest.Visit(s, start, Claim{}, o)
	claim := storetest.Returning(first)
	now := time.Now() // an hour later: past the session timeout
	events := concurrent.Map(100, func(int) Event { return storetest.Visit(s, now, claim, o) })
	storetest.ExpectConsecutive(t, events, 1)
	newSessions := 0
	for _, ev := range events {
		if ev.ClientID != first.ClientID {
			t.Fatalf("event of another client: %+v", ev)
		}
		if ev.NewSession {
			newSessions++
		}
	}
	if newSessions != 1 {
		t.Fatalf("%d new sessions, want exactly 1", newSessions)
	}
	storetest.Flush(t, s)
	if n := rows(t, path, "sessions"); n != 1 {
		t.Fatalf("%d ended-session rows, want 1", n)
	}
	_, sessions, err := s.Inspect(context.Background(), first.ClientID)
	if err != nil || len(sessions) != 2 || sessions[0].Events != 100 || sessions[1].Events != 1 {
		t.Fatalf("sessions %+v (%v), want the new one with 100 events, then the old one with 1", sessions, err)
	}
}

func TestBootstrapWindowSharesOneClient(t *testing.T) {
	s, _ := newSQLiteStore(t, Config{})
	now := time.Now()
	events := storetest.Burst(20, now, BootstrapKey{1}, s)
	clients := map[uuid.UUID]bool{}
	newClients := 0
	numbers := map[int64]bool{}
	for _, ev := range events {
		clients[ev.ClientID] = true
		numbers[ev.EventNumber] = true
		if ev.NewClient {
			newClients++
			if ev.ClientID != ev.EventID || ev.SessionID != ev.EventID {
				t.Fatalf("first of burst: %+v", ev)
			}
		}
	}
	if len(clients) != 1 || newClients != 1 || len(numbers) != 20 {
		t.Fatalf("%d clients, %d new, %d distinct event numbers; want 1, 1, 20", len(clients), newClients, len(numbers))
	}
	other := s.Visit(context.Background(), Visit{EventID: NewID(now), Now: now, BootstrapKey: BootstrapKey{2}}, storetest.Opts)
	if clients[other.ClientID] {
		t.Fatal("another browser joined the first one's client")
	}
	later := now.Add(3 * time.Second)
	after := s.Visit(context.Background(), Visit{EventID: NewID(later), Now: later, BootstrapKey: BootstrapKey{1}}, storetest.Opts)
	if clients[after.ClientID] {
		t.Fatal("the window did not expire")
	}
}

func TestPageLoadsInOneWindowStayApart(t *testing.T) {
	s, _ := newSQLiteStore(t, Config{})
	storetest.ExpectPageLoadsApart(t, BootstrapKey{5}, s)
}

func TestPendingClientsAreBounded(t *testing.T) {
	s, _ := newSQLiteStore(t, Config{PendingLimit: 10})
	now := time.Now()
	var first Event
	for i := range 50 {
		ev := storetest.Visit(s, now, Claim{}, storetest.Opts)
		if i == 0 {
			first = ev
		}
	}
	st := s.Stats()
	if st.PendingClients != 10 || st.PendingDropped != 40 {
		t.Fatalf("pending %d dropped %d, want 10 and 40", st.PendingClients, st.PendingDropped)
	}
	// The dropped first client comes back: rehydrated from its cookies.
	ev := storetest.Visit(s, now.Add(time.Second), storetest.Returning(first), storetest.Opts)
	if ev.ClientID != first.ClientID || ev.SessionID != first.SessionID || ev.Fallback {
		t.Fatalf("dropped client returned as %+v", ev)
	}
}

func TestGarbageCollectionDeletesIdleObjects(t *testing.T) {
	s, path := newSQLiteStore(t, Config{Retention: 24 * time.Hour})
	o := storetest.Opts
	o.PersistImmediately = true
	old := time.Now().Add(-48 * time.Hour)
	for range 1200 {
		storetest.Visit(s, old, Claim{}, o)
	}
	active := storetest.Visit(s, old, Claim{}, o)
	storetest.Visit(s, time.Now(), storetest.Returning(active), o) // its old session ended 48h ago
	storetest.Flush(t, s)
	n, err := s.Sweep(time.Now())
	if err != nil || n != 1200 {
		t.Fatalf("swept %d (%v), want 1200", n, err)
	}
	if c, ss := rows(t, path, "clients"), rows(t, path, "sessions"); c != 1 || ss != 0 {
		t.Fatalf("left %d clients and %d ended sessions; want 1 and 0", c, ss)
	}
}

func TestSyncDurabilityWaitsForCommit(t *testing.T) {
	s, path := newSQLiteStore(t, Config{Sync: true, FlushInterval: 20 * time.Millisecond})
	o := storetest.Opts
	o.PersistImmediately = true
	ev := storetest.Visit(s, time.Now(), Claim{}, o)
	if ev.Fallback {
		t.Fatalf("sync visit fell back: %+v", ev)
	}
	if n := rows(t, path, "clients"); n != 1 {
		t.Fatalf("%d rows right after a sync visit, want 1", n)
	}
}

func TestSecondOpenOfTheSameFileIsRefused(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sessions.db")
	db, err := sqlite.Open(path, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := sqlite.Open(path, sqlite.Options{}); err == nil || !strings.Contains(err.Error(), "in use by another process") {
		t.Fatalf("second open: %v", err)
	}
}

func TestCorruptFileIsReportedAndKept(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sessions.db")
	garbage := []byte("this is not a database, and it must still be here afterwards........")
	if err := os.WriteFile(path, garbage, 0o600); err != nil {
		t.Fatal(err)
	}
	s := NewWriteBehind(Config{}, openSQLite(path))
	ev := storetest.Visit(s, time.Now(), Claim{}, storetest.Opts)
	st := s.Stats()
	s.Close()
	if !ev.Fallback || ev.FallbackReason != ReasonUnavailable || st.Healthy || st.LastError == "" {
		t.Fatalf("event %+v stats %+v", ev, st)
	}
	if got, _ := os.ReadFile(path); string(got) != string(garbage) {
		t.Fatal("corrupt file was changed")
	}
}
