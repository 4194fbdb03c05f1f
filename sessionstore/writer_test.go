package sessionstore_test

import (
	"context"
	"testing"
	"time"

	"github.com/c0f4626f/caddy-session/internal/storetest"

	. "github.com/c0f4626f/caddy-session/sessionstore"
)

// Updates waiting in the write queue are found by the next visit even when
// the cache has let them go: 40 clients over an 8-object cache, nothing
// written for 2 s, each client visiting 10 times.
func TestUnwrittenObjectsAreFoundAfterLeavingTheCache(t *testing.T) {
	s, _ := newSQLiteStore(t, Config{CacheSize: 8, FlushInterval: 2 * time.Second})
	const clients, visits = 40, 10
	now := time.Now()
	events := make([]Event, clients)
	for i := range events {
		events[i] = storetest.Visit(s, now, Claim{}, storetest.Opts)
	}
	for n := 2; n <= visits; n++ {
		now = now.Add(time.Second)
		for i, prev := range events {
			ev := storetest.Visit(s, now, storetest.Returning(prev), storetest.Opts)
			if ev.Fallback || ev.EventNumber != int64(n) || ev.SessionID != prev.SessionID {
				t.Fatalf("client %d, visit %d: %+v, want event %d of session %s", i, n, ev, n, prev.SessionID)
			}
			events[i] = ev
		}
	}
	for i, ev := range events {
		obj, _, err := s.Inspect(context.Background(), ev.ClientID)
		if err != nil || obj == nil || obj.TotalEvents != visits {
			t.Fatalf("client %d stored %+v (%v), want %d events", i, obj, err, visits)
		}
	}
}

// With durability sync, a visit whose update the full queue dropped is a
// fallback: it must not be told its update was kept.
func TestSyncVisitWhoseWriteWasDroppedIsAFallback(t *testing.T) {
	s, _ := newSQLiteStore(t, Config{Sync: true, QueueLimit: 1, FlushInterval: time.Hour})
	o := storetest.Opts
	o.PersistImmediately = true
	o.Timeout = 200 * time.Millisecond         // the first visit waits for a commit an hour away
	storetest.Visit(s, time.Now(), Claim{}, o) // fills the queue; its commit is an hour away
	ev := storetest.Visit(s, time.Now(), Claim{}, o)
	if !ev.Fallback || ev.FallbackReason != ReasonDropped {
		t.Fatalf("a dropped sync write was acknowledged: %+v", ev)
	}
	if st := s.Stats(); st.DroppedWrites != 1 || st.CachedObjects != 1 {
		t.Fatalf("stats %+v: want 1 dropped write, and only the queued object cached", st)
	}
}

// While writes fail, the failed batches wait in the queue; visits of
// clients the small cache let go still continue them.
func TestFailedWritesAreFoundByTheNextVisit(t *testing.T) {
	// Commits happen only when the test flushes: two fail, too few to open
	// the breaker however slow the machine is.
	s, _, _ := newFaultyStore(t, "save error", Config{CacheSize: 2, FlushInterval: time.Hour})
	o := storetest.Opts
	o.PersistImmediately = true
	now := time.Now()
	events := make([]Event, 4)
	for n := 1; n <= 6; n++ {
		now = now.Add(time.Second)
		for i, prev := range events {
			claim := Claim{}
			if n > 1 {
				claim = storetest.Returning(prev)
			}
			events[i] = storetest.Visit(s, now, claim, o)
			if events[i].EventNumber != int64(n) {
				t.Fatalf("client %d, visit %d during failing writes: %+v", i, n, events[i])
			}
		}
		if n%3 == 0 {
			if err := s.Flush(context.Background()); err == nil {
				t.Fatal("a commit succeeded on a failing back end")
			}
		}
	}
}

// A batch being committed is not in the back end yet: a visit of one of
// its clients, which the cache let go, finds it in the batch.
func TestObjectsOfTheCommitUnderWayAreFound(t *testing.T) {
	s, fb, _ := newFaultyStore(t, "save hang", Config{CacheSize: 2, FlushInterval: 10 * time.Millisecond})
	o := storetest.Opts
	o.PersistImmediately = true
	o.Timeout = 5 * time.Second
	now := time.Now()
	first := storetest.Visit(s, now, Claim{}, o)
	time.Sleep(200 * time.Millisecond) // its commit is under way, stalled for 3 s
	for range 3 {
		storetest.Visit(s, now, Claim{}, o) // push it out of the cache
	}
	fb.mode.Store("hang") // a read of the back end would now stall too
	o.Timeout = 300 * time.Millisecond
	ev := storetest.Visit(s, now.Add(time.Second), storetest.Returning(first), o)
	if ev.Fallback || ev.EventNumber != 2 {
		t.Fatalf("visit during its commit: %+v, want event 2 without a fallback", ev)
	}
}
