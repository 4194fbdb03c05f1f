package sessionstore

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/c0f4626f/caddy-session/internal/citest"
	"github.com/c0f4626f/caddy-session/internal/testredis"
)

// startRedis runs a real redis-server for the test.
func startRedis(t testing.TB) *testredis.Server {
	citest.NoteSkip(t)
	return testredis.Start(t)
}

// newRedisStore is one "instance" on the server.
func newRedisStore(t testing.TB, r *testredis.Server) *Store { return newRedisStoreAt(t, r.Addr()) }

func newRedisStoreAt(t testing.TB, addrs ...string) *Store {
	return newRedisStoreWith(t, RedisOptions{Addresses: addrs, KeyPrefix: "test:"})
}

func newRedisStoreWith(t testing.TB, o RedisOptions) *Store {
	s := New(Config{Open: func() (Backend, error) { return OpenRedis(o) }})
	t.Cleanup(func() { s.Close() })
	return s
}

func TestRedisInstancesShareClients(t *testing.T) {
	r := startRedis(t)
	expectSharedClients(t, newRedisStore(t, r), newRedisStore(t, r))
}

// TestRedisCluster runs the same on a three-master Redis Cluster: a
// client's keys share a hash tag, so its updates stay atomic.
func TestRedisCluster(t *testing.T) {
	citest.NoteSkip(t)
	addrs := testredis.StartCluster(t, 3)
	a, b := newRedisStoreAt(t, addrs...), newRedisStoreAt(t, addrs...)
	expectSharedClients(t, a, b)
	events := burst(20, time.Now(), BootstrapKey{3}, a, b)
	if events[0].Fallback || len(clientsOf(events)) != 1 {
		t.Fatalf("bootstrap on a cluster: %d clients: %+v", len(clientsOf(events)), events[0])
	}
	if n, err := a.Count(context.Background()); err != nil || n != 2 {
		t.Fatalf("count over the cluster's masters: %d (%v), want 2", n, err)
	}
}

// TestRedisSentinel finds the master through a Sentinel.
func TestRedisSentinel(t *testing.T) {
	r := startRedis(t)
	sentinel := testredis.StartSentinel(t, r)
	o := RedisOptions{Addresses: []string{sentinel}, MasterName: "caddy", KeyPrefix: "test:"}
	expectSharedClients(t, newRedisStoreWith(t, o), newRedisStoreWith(t, o))
}

func clientsOf(events []Event) map[uuid.UUID]bool {
	clients := map[uuid.UUID]bool{}
	for _, e := range events {
		clients[e.ClientID] = true
	}
	return clients
}

// expectSharedClients alternates one client's visits between two instances
// and then sends 40 at once: one identity, every event counted once.
func expectSharedClients(t *testing.T, a, b *Store) {
	t.Helper()
	now := time.Now()
	ev := visit(a, now, Claim{}, opts)
	for i := 2; i <= 10; i++ {
		s := [2]*Store{a, b}[i%2]
		next := visit(s, now.Add(time.Duration(i)*time.Second), returning(ev), opts)
		if next.Fallback || next.ClientID != ev.ClientID || next.SessionID != ev.SessionID || next.EventNumber != int64(i) ||
			next.PreviousEventID != ev.EventID {
			t.Fatalf("visit %d alternating instances: %+v", i, next)
		}
		ev = next
	}

	// 40 concurrent requests spread over both instances are each counted once.
	claim := returning(ev)
	events := concurrently(40, func(i int) Event {
		return visit([2]*Store{a, b}[i%2], now.Add(20*time.Second), claim, opts)
	})
	expectConsecutive(t, events, 11)
	obj, sessions, err := b.Inspect(context.Background(), ev.ClientID)
	if err != nil || obj.TotalEvents != 50 || len(sessions) != 1 || sessions[0].Events != 50 {
		t.Fatalf("stored object %+v sessions %+v err %v", obj, sessions, err)
	}
}

func TestRedisBootstrapAcrossInstances(t *testing.T) {
	r := startRedis(t)
	a, b := newRedisStore(t, r), newRedisStore(t, r)
	now := time.Now()
	events := burst(20, now, BootstrapKey{4}, a, b)
	clients := map[uuid.UUID]bool{}
	numbers := map[int64]bool{}
	for _, e := range events {
		clients[e.ClientID] = true
		numbers[e.EventNumber] = true
	}
	if len(clients) != 1 || len(numbers) != 20 {
		t.Fatalf("%d clients, %d distinct event numbers; want 1 and 20: %+v", len(clients), len(numbers), events)
	}
	if n, err := a.Count(context.Background()); err != nil || n != 1 {
		t.Fatalf("count %d (%v): the losers' objects were not discarded", n, err)
	}
}

func TestRedisEraseIsSeenByOtherInstances(t *testing.T) {
	r := startRedis(t)
	a, b := newRedisStore(t, r), newRedisStore(t, r)
	now := time.Now()
	ev := visit(a, now, Claim{}, opts)
	if found, err := a.Erase(context.Background(), ev.ClientID, now.Add(time.Hour)); !found || err != nil {
		t.Fatalf("erase: %v %v", found, err)
	}
	next := visit(b, now.Add(time.Second), returning(ev), opts)
	if next.ClientID == ev.ClientID || !next.NewClient || next.Fallback {
		t.Fatalf("another instance let the erased cID back: %+v", next)
	}
}

func TestRedisDownSlowAndBack(t *testing.T) {
	r := startRedis(t)
	s := newRedisStore(t, r)
	o := opts
	o.Timeout = 200 * time.Millisecond
	margin := 500 * time.Millisecond // for a loaded machine; the stall outlasts deadline and margin
	ev := visit(s, time.Now(), Claim{}, o)

	r.Stall(2 * time.Second)
	start := time.Now()
	slow := visit(s, time.Now(), returning(ev), o)
	if !slow.Fallback || slow.FallbackReason != ReasonTimeout || time.Since(start) > o.Timeout+margin {
		t.Fatalf("slow redis: %+v after %v", slow, time.Since(start))
	}
	if slow.ClientID != ev.ClientID || slow.SessionID != ev.SessionID {
		t.Fatalf("identity lost: %+v", slow)
	}
	time.Sleep(2 * time.Second)

	r.Kill()
	for range 3 {
		start = time.Now()
		down := visit(s, time.Now(), returning(ev), o)
		if !down.Fallback || down.ClientID != ev.ClientID || time.Since(start) > o.Timeout+margin {
			t.Fatalf("redis down: %+v after %v", down, time.Since(start))
		}
	}

	r.Restart()
	deadline := time.Now().Add(35 * time.Second)
	for {
		back := visit(s, time.Now(), returning(ev), o)
		if !back.Fallback {
			if back.ClientID != ev.ClientID {
				t.Fatalf("after recovery: %+v", back)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("never recovered: %+v %+v", back, s.Stats())
		}
		time.Sleep(200 * time.Millisecond)
	}
}
