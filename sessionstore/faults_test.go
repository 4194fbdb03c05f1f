package sessionstore_test

import (
	"context"
	"database/sql"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/c0f4626f/caddy-session/internal/storetest"

	"github.com/google/uuid"

	"github.com/c0f4626f/caddy-session/internal/wait"

	. "github.com/c0f4626f/caddy-session/sessionstore"
	"github.com/c0f4626f/caddy-session/sessionstore/sqlite"
)

// faultyBackend wraps a real back end and fails on demand.
type faultyBackend struct {
	*sqlite.Backend
	mode atomic.Value // "", "error", "hang", "panic"; "save error", "save hang": only writes
	// erasures counts the erasures the back end made.
	erasures atomic.Int32
}

func (f *faultyBackend) Erase(ctx context.Context, id uuid.UUID, until time.Time) (bool, error) {
	if f.mode.Load() == "save error" {
		return false, errors.New("disk I/O error")
	}
	if err := f.fault(); err != nil {
		return false, err
	}
	found, err := f.Backend.Erase(ctx, id, until)
	if err == nil {
		f.erasures.Add(1)
	}
	return found, err
}

func (f *faultyBackend) fault() error {
	switch f.mode.Load() {
	case "error":
		return errors.New("disk I/O error")
	case "hang":
		time.Sleep(time.Second) // ignores its context, like a stuck disk
	case "panic":
		panic("back end exploded")
	}
	return nil
}

func (f *faultyBackend) Load(ctx context.Context, id uuid.UUID) (*Object, error) {
	if err := f.fault(); err != nil {
		return nil, err
	}
	return f.Backend.Load(ctx, id)
}

func (f *faultyBackend) Save(ctx context.Context, b Batch) error {
	switch f.mode.Load() {
	case "save error":
		return errors.New("disk I/O error")
	case "save hang":
		time.Sleep(3 * time.Second)
	}
	if err := f.fault(); err != nil {
		return err
	}
	return f.Backend.Save(ctx, b)
}

// newFaultyStore opens a store whose SQLite back end fails on demand; it
// starts in mode.
func newFaultyStore(t *testing.T, mode string, cfg Config) (*Store, *faultyBackend, string) {
	path := filepath.Join(t.TempDir(), "sessions.db")
	fb := &faultyBackend{}
	fb.mode.Store(mode)
	s := NewWriteBehind(cfg, func() (WriteBehind, error) {
		b, err := sqlite.Open(path, sqlite.Options{})
		fb.Backend = b
		return fb, err
	})
	t.Cleanup(func() { s.Close() })
	return s, fb, path
}

func TestStoreFaultsFallBackAndBreakerRecovers(t *testing.T) {
	s, fb, _ := newFaultyStore(t, "", Config{CacheSize: -1})
	o := storetest.Opts
	// Long enough for the error and panic calls to be reported as such on
	// a loaded machine, well short of the 1s hang.
	o.Timeout = 200 * time.Millisecond
	o.PersistImmediately = true
	now := time.Now()
	ev := storetest.Visit(s, now, Claim{}, o)
	storetest.Flush(t, s)

	for i, mode := range []string{"error", "hang", "panic", "error", "error"} {
		fb.mode.Store(mode)
		start := time.Now()
		got := storetest.Visit(s, time.Now(), storetest.Returning(ev), o)
		elapsed := time.Since(start)
		want := map[string]string{"error": ReasonError, "hang": ReasonTimeout, "panic": ReasonPanic}[mode]
		if !got.Fallback || got.FallbackReason != want {
			t.Fatalf("visit %d (%s): fallback %v reason %q, want %q", i, mode, got.Fallback, got.FallbackReason, want)
		}
		if elapsed > o.Timeout+500*time.Millisecond { // still short of the hang: the visit did not wait for it
			t.Fatalf("visit %d (%s) took %v, deadline %v", i, mode, elapsed, o.Timeout)
		}
		if got.ClientID != ev.ClientID || got.SessionID != ev.SessionID || got.PreviousEventID != ev.EventID {
			t.Fatalf("identity lost in fallback: %+v", got)
		}
		ev = got
	}
	if got := storetest.Visit(s, time.Now(), storetest.Returning(ev), o); got.FallbackReason != ReasonBreaker || !s.Stats().BreakerOpen {
		t.Fatalf("after 5 failures: %+v, breaker open %v", got, s.Stats().BreakerOpen)
	}

	fb.mode.Store("")
	got, ok := storetest.UntilStored(s, ev, o, 5*time.Second, 100*time.Millisecond)
	if !ok {
		t.Fatalf("breaker did not recover: %+v", got)
	}
	if got.ClientID != ev.ClientID {
		t.Fatalf("recovered with another client: %+v", got)
	}
	if !s.Stats().Healthy {
		t.Fatalf("stats after recovery: %+v", s.Stats())
	}
}

func TestUnopenableStoreServesFallbackThenRecovers(t *testing.T) {
	dir := t.TempDir()
	blocker := filepath.Join(dir, "not-a-dir")
	if err := writeFile(blocker); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(blocker, "sessions.db") // a path under a regular file
	var target atomic.Value
	target.Store(path)
	s := NewWriteBehind(Config{}, func() (WriteBehind, error) { return sqlite.Open(target.Load().(string), sqlite.Options{}) })
	defer s.Close()
	ev := storetest.Visit(s, time.Now(), Claim{}, storetest.Opts)
	if !ev.Fallback || ev.FallbackReason != ReasonUnavailable || s.Stats().Healthy {
		t.Fatalf("unopenable store: %+v %+v", ev, s.Stats())
	}
	target.Store(filepath.Join(dir, "sessions.db")) // the operator fixes the path
	if _, ok := storetest.UntilStored(s, ev, storetest.Opts, 10*time.Second, 100*time.Millisecond); !ok {
		t.Fatalf("store never recovered: %+v", s.Stats())
	}
}

func TestFullQueueDropsAndCounts(t *testing.T) {
	s, path := newSQLiteStore(t, Config{QueueLimit: 10, FlushInterval: time.Hour})
	o := storetest.Opts
	o.PersistImmediately = true
	start := time.Now()
	for i := range 25 {
		ev := storetest.Visit(s, time.Now(), Claim{}, o)
		if dropped := i >= 10; ev.Fallback != dropped || dropped && ev.FallbackReason != ReasonDropped {
			t.Fatalf("visit %d with a queue limit of 10: %+v; want a fallback (dropped) exactly when its write was dropped", i, ev)
		}
	}
	if time.Since(start) > time.Second {
		t.Fatal("requests waited on the full queue")
	}
	if st := s.Stats(); st.QueueDepth != 10 || st.DroppedWrites != 15 {
		t.Fatalf("queue %d dropped %d, want 10 and 15", st.QueueDepth, st.DroppedWrites)
	}
	storetest.Flush(t, s)
	if n := rows(t, path, "clients"); n != 10 {
		t.Fatalf("%d rows after flush, want 10", n)
	}
}

// An update the full queue dropped is a fallback and is not cached: the
// client's next visit continues from what was written, so no event number
// is handed out twice as if both had been kept.
func TestDroppedUpdateIsNeverAnsweredAsKept(t *testing.T) {
	s, _ := newSQLiteStore(t, Config{QueueLimit: 2, CacheSize: 2, FlushInterval: time.Hour})
	o := storetest.Opts
	o.PersistImmediately = true
	now := time.Now()
	events := make([]Event, 5)
	for i := range events {
		events[i] = storetest.Visit(s, now, Claim{}, o)
	}
	storetest.Flush(t, s)
	for round := range 3 {
		now = now.Add(time.Second)
		for i, prev := range events {
			ev := storetest.Visit(s, now, storetest.Returning(prev), o)
			if !ev.Fallback && !prev.Fallback && ev.EventNumber <= prev.EventNumber {
				t.Fatalf("round %d, client %d: event %d after event %d, neither a fallback", round, i, ev.EventNumber, prev.EventNumber)
			}
			events[i] = ev
		}
	}
}

func writeFile(path string) error { return os.WriteFile(path, []byte("x"), 0o600) }

// storeWithOneClient is a store that flushes every 10 ms, its database
// file, options that persist new clients at once, and a client on disk.
func storeWithOneClient(t *testing.T) (s *Store, path string, o Options, ev Event) {
	s, path = newSQLiteStore(t, Config{FlushInterval: 10 * time.Millisecond})
	o = storetest.Opts
	o.PersistImmediately = true
	ev = storetest.Visit(s, time.Now(), Claim{}, o)
	storetest.Flush(t, s)
	return s, path, o, ev
}

func TestDatabaseFileRemovedIsRecreated(t *testing.T) {
	s, path, o, ev := storeWithOneClient(t)
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	next := storetest.Visit(s, time.Now(), storetest.Returning(ev), o)
	written := func() bool {
		if s.Flush(context.Background()) == nil && rowsIfAny(path, "clients") == 1 {
			return true
		}
		storetest.Visit(s, time.Now(), storetest.Returning(next), o)
		return false
	}
	if !wait.Until(5*time.Second, 50*time.Millisecond, written) {
		t.Fatalf("the client was not written to a new file: %+v", s.Stats())
	}
}

func TestDatabaseFileReplacedFallsBackUntilFixed(t *testing.T) {
	s, path, o, ev := storeWithOneClient(t)
	replaced := path + ".new"
	if err := os.WriteFile(replaced, []byte("not a database, and left alone................................."), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(replaced, path); err != nil {
		t.Fatal(err)
	}
	var got Event
	noticed := func() bool { got = storetest.Visit(s, time.Now(), storetest.Returning(ev), o); return got.Fallback }
	if !wait.Until(5*time.Second, 20*time.Millisecond, noticed) {
		t.Fatalf("the replaced file was never noticed: %+v", s.Stats())
	}
	if got.FallbackReason != ReasonUnavailable || got.ClientID != ev.ClientID {
		t.Fatalf("with a garbage file in place: %+v", got)
	}
	if b, _ := os.ReadFile(path); !strings.HasPrefix(string(b), "not a database") {
		t.Fatal("the garbage file was overwritten")
	}
	os.Remove(path) // the operator moves it away
	if _, ok := storetest.UntilStored(s, ev, o, 35*time.Second, 100*time.Millisecond); !ok {
		t.Fatalf("never recovered: %+v", s.Stats())
	}
}

// rowsIfAny counts a table's rows, or -1 when the file cannot be read.
func rowsIfAny(path, table string) int {
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
	if err != nil {
		return -1
	}
	defer db.Close()
	n := -1
	db.QueryRow("SELECT count(*) FROM " + table).Scan(&n)
	return n
}

// A request still in flight when its store is destroyed is told that its
// update was not written, instead of losing it silently.
func TestVisitAfterWriterClosedIsAFallback(t *testing.T) {
	s, _ := newSQLiteStore(t, Config{})
	o := storetest.Opts
	o.PersistImmediately = true
	s.CloseWriter() // the store's final commit happened; Close itself has not finished
	ev := storetest.Visit(s, time.Now(), Claim{}, o)
	if !ev.Fallback || ev.FallbackReason != ReasonClosed || ev.ClientID == uuid.Nil {
		t.Fatalf("update after the final commit: %+v", ev)
	}
}
