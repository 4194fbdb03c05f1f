package sessionstore_test

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/c0f4626f/caddy-session/internal/storetest"

	"github.com/c0f4626f/caddy-session/internal/wait"

	. "github.com/c0f4626f/caddy-session/sessionstore"
)

func TestEraseRemovesClientAndTombstonesItsID(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sessions.db")
	open := func() *Store { return NewWriteBehind(Config{}, openSQLite(path)) }
	s := open()
	ctx := context.Background()
	now := time.Now()
	first := storetest.Visit(s, now, Claim{}, storetest.Opts)
	ev := storetest.Visit(s, now.Add(time.Second), storetest.Returning(first), storetest.Opts)
	obj, sessions, err := s.Inspect(ctx, ev.ClientID)
	if err != nil || obj == nil || obj.TotalEvents != 2 || len(sessions) != 1 || sessions[0].Events != 2 {
		t.Fatalf("inspect before erase: %+v %+v %v", obj, sessions, err)
	}
	found, err := s.Erase(ctx, ev.ClientID, now.Add(time.Hour))
	if err != nil || !found {
		t.Fatalf("erase: found %v err %v", found, err)
	}
	if obj, _, _ := s.Inspect(ctx, ev.ClientID); obj != nil {
		t.Fatalf("erased client still there: %+v", obj)
	}
	if rows(t, path, "clients") != 0 || rows(t, path, "sessions") != 0 {
		t.Fatal("erased rows left in the database")
	}
	after := storetest.Visit(s, now.Add(2*time.Second), storetest.Returning(ev), storetest.Opts)
	if after.ClientID == ev.ClientID || !after.NewClient {
		t.Fatalf("the erased cID came back: %+v", after)
	}
	s.Close()

	s = open() // tombstones survive a restart
	defer s.Close()
	again := storetest.Visit(s, now.Add(3*time.Second), storetest.Returning(ev), storetest.Opts)
	if again.ClientID == ev.ClientID || !again.NewClient {
		t.Fatalf("after restart the erased cID came back: %+v", again)
	}
	if found, _ := s.Erase(ctx, NewID(now), now.Add(time.Hour)); found {
		t.Fatal("erasing an unknown client reported found")
	}
}

func TestErasePendingClient(t *testing.T) {
	s, _ := newSQLiteStore(t, Config{})
	ev := storetest.Visit(s, time.Now(), Claim{}, storetest.Opts)
	if found, err := s.Erase(context.Background(), ev.ClientID, time.Now().Add(time.Hour)); !found || err != nil {
		t.Fatalf("erase of an in-memory client: %v %v", found, err)
	}
	if st := s.Stats(); st.PendingClients != 0 {
		t.Fatalf("pending after erase: %d", st.PendingClients)
	}
}

// An erasure that meets a commit under way still removes everything.
func TestEraseDuringCommit(t *testing.T) {
	// each write first stalls for a second
	s, fb, path := newFaultyStore(t, "hang", Config{FlushInterval: 10 * time.Millisecond})
	o := storetest.Opts
	o.PersistImmediately = true
	ev := storetest.Visit(s, time.Now(), Claim{}, o)
	time.Sleep(200 * time.Millisecond) // the commit carrying ev is now stalled
	found, err := s.Erase(context.Background(), ev.ClientID, time.Now().Add(time.Hour))
	if err != nil || !found {
		t.Fatalf("erase during a commit: found %v, %v", found, err)
	}
	fb.mode.Store("")
	storetest.Flush(t, s)
	if obj, _, _ := s.Inspect(context.Background(), ev.ClientID); obj != nil || rows(t, path, "clients") != 0 {
		t.Fatalf("the commit under way wrote the erased client back: %+v", obj)
	}
}

// An erased cID gets a brand-new client on every path, the fallbacks
// included: a store that is skipped or gone must not hand it upstream again.
func TestErasedClientIsNewOnFallbackPaths(t *testing.T) {
	for _, path := range []string{ReasonBreaker, ReasonClosed} {
		t.Run(path, func(t *testing.T) {
			s, fb, _ := newFaultyStore(t, "", Config{})
			ctx := context.Background()
			now := time.Now()
			ev := storetest.Visit(s, now, Claim{}, storetest.Opts)
			if _, err := s.Erase(ctx, ev.ClientID, now.Add(time.Hour)); err != nil {
				t.Fatal(err)
			}
			switch path {
			case ReasonBreaker:
				fb.mode.Store("error")
				for range BreakerThreshold {
					storetest.Visit(s, now, Claim{ClientID: NewID(now), FromCookie: true}, storetest.Opts) // unknown clients: reads fail
				}
			case ReasonClosed:
				s.Close()
			}
			got := storetest.Visit(s, now.Add(time.Second), storetest.Returning(ev), storetest.Opts)
			if !got.Fallback || got.FallbackReason != path {
				t.Fatalf("want a %s fallback, got %+v", path, got)
			}
			if got.ClientID == ev.ClientID || !got.NewClient {
				t.Fatalf("the erased cID came back in a %s fallback: %+v", path, got)
			}
		})
	}
}

// A database file replaced under a running store (a backup restored from
// before the erasure) gets the erasures it lacks made again: the erased
// client does not come back, now or after a restart.
func TestTombstonesSurviveTheDatabaseFileBeingReplaced(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sessions.db")
	open := func() *Store { return NewWriteBehind(Config{FlushInterval: 10 * time.Millisecond}, openSQLite(path)) }
	s := open()
	defer func() { s.Close() }()
	ctx := context.Background()
	o := storetest.Opts
	o.PersistImmediately = true
	now := time.Now()
	erased := storetest.Visit(s, now, Claim{}, o)
	storetest.Flush(t, s)
	backup := path + ".backup"
	if err := vacuumInto(path, backup); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Erase(ctx, erased.ClientID, now.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(backup, path); err != nil { // the operator restores the backup
		t.Fatal(err)
	}
	other := storetest.Visit(s, now, Claim{}, o)
	reopened := func() bool {
		return s.Flush(ctx) == nil && !storetest.Visit(s, now, storetest.Returning(other), o).Fallback
	}
	if !wait.Until(10*time.Second, 50*time.Millisecond, reopened) { // the store notices and reopens
		t.Fatalf("the store never reopened the restored file: %+v", s.Stats())
	}
	if got := storetest.Visit(s, now.Add(time.Second), storetest.Returning(erased), o); got.ClientID == erased.ClientID {
		t.Fatalf("the erased client came back from the restored backup: %+v", got)
	}
	s.Close()
	s = open()
	if got := storetest.Visit(s, now.Add(2*time.Second), storetest.Returning(erased), o); got.ClientID == erased.ClientID {
		t.Fatalf("after a restart on the restored file, the erased client came back: %+v", got)
	}
	storetest.Flush(t, s)
	if obj, _, _ := s.Inspect(ctx, erased.ClientID); obj != nil {
		t.Fatalf("the restored file still holds the erased client: %+v", obj)
	}
}

// vacuumInto writes a consistent copy of a live database: a backup.
func vacuumInto(path, backup string) error {
	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		return err
	}
	defer db.Close()
	_, err = db.Exec(`VACUUM INTO ?`, backup)
	return err
}

// An erasure made while the database file has just been swapped (a backup
// restored under the running store) lands in the file now at the path, not
// in the one that was moved away, without waiting for a later write. The
// file is read on its own once the store closed: a journal the old file
// left at the path's journal name would otherwise be replayed into it.
func TestEraseLandsInTheFileNowAtThePath(t *testing.T) {
	s, path, _, ev := storeWithOneClient(t)
	backup := path + ".backup"
	if err := vacuumInto(path, backup); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(backup, path); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	found, err := s.Erase(ctx, ev.ClientID, time.Now().Add(time.Hour))
	if err != nil || !found {
		t.Fatalf("erase after the swap: found %v, %v", found, err)
	}
	s.Close()
	assertErasedIn(t, copyAlone(t, path), ev.ClientID)
}
