package sessionstore_test

import (
	"context"
	"math/rand/v2"
	"path/filepath"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/c0f4626f/caddy-session/internal/storetest"

	"github.com/google/uuid"

	. "github.com/c0f4626f/caddy-session/sessionstore"
	"github.com/c0f4626f/caddy-session/sessionstore/sqlite"
)

// BenchmarkStoreUpdates: returning clients updated from parallel goroutines,
// group-committed to SQLite. Reports object updates per second including the
// final flush.
func BenchmarkStoreUpdates(b *testing.B) {
	s, _ := newSQLiteStore(b, Config{})
	o := storetest.Opts
	o.PersistImmediately = true
	o.Timeout = time.Second
	claims := seedClients(b, s, 10_000, o)
	var next atomic.Int64
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			c := claims[next.Add(1)%int64(len(claims))]
			if ev := s.Visit(context.Background(), Visit{Claim: c, EventID: NewID(time.Now()), Now: time.Now()}, o); ev.Fallback {
				b.Fatalf("fallback: %+v", ev)
			}
		}
	})
	storetest.Flush(b, s)
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "updates/s")
	if st := s.Stats(); st.DroppedWrites > 0 {
		b.Fatalf("%d writes dropped", st.DroppedWrites)
	}
}

// seedClients creates n persisted clients and returns their claims.
func seedClients(b testing.TB, s *Store, n int, o Options) []Claim {
	claims := make([]Claim, n)
	now := time.Now().Add(-time.Minute)
	for i := range claims {
		claims[i] = storetest.Returning(storetest.Visit(s, now, Claim{}, o))
	}
	storetest.Flush(b, s)
	return claims
}

// millionClients writes n objects straight through the back end, in
// batches, and returns their IDs.
func millionClients(b testing.TB, db *sqlite.Backend, n int, lastSeen time.Time) []uuid.UUID {
	ids := make([]uuid.UUID, 0, n)
	const batch = 20_000
	for len(ids) < n {
		var bt Batch
		for range min(batch, n-len(ids)) {
			id := NewID(lastSeen)
			obj, _ := ApplyVisit(nil, Visit{EventID: id, Now: lastSeen, Path: "/"}, storetest.Opts.Policy)
			bt.Objects = append(bt.Objects, obj)
			ids = append(ids, id)
		}
		if err := db.Save(context.Background(), bt); err != nil {
			b.Fatal(err)
		}
	}
	return ids
}

// BenchmarkPointReads1M: 20,000 random point reads per iteration in a
// database of one million clients. Reports p50 and p99 in microseconds. Run
// it with -benchtime 1x: the million rows are written for every run.
func BenchmarkPointReads1M(b *testing.B) {
	db, err := sqlite.Open(filepath.Join(b.TempDir(), "sessions.db"), sqlite.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	ids := millionClients(b, db, 1_000_000, time.Now())
	const reads = 20_000
	lat := make([]time.Duration, 0, reads*b.N)
	b.ResetTimer()
	for range b.N * reads {
		id := ids[rand.IntN(len(ids))]
		start := time.Now()
		obj, err := db.Load(context.Background(), id)
		lat = append(lat, time.Since(start))
		if err != nil || obj == nil {
			b.Fatalf("load %s: %v %v", id, obj, err)
		}
	}
	b.StopTimer()
	reportLatency(b, lat, "")
}

// BenchmarkGCUnderLoad (run with -benchtime 1x): request latency (store visits that read from SQLite)
// without and with garbage collection of one million expired objects
// running beside them.
func BenchmarkGCUnderLoad(b *testing.B) {
	path := filepath.Join(b.TempDir(), "sessions.db")
	db, err := sqlite.Open(path, sqlite.Options{})
	if err != nil {
		b.Fatal(err)
	}
	millionClients(b, db, 1_000_000, time.Now().Add(-100*24*time.Hour))
	live := millionClients(b, db, 20_000, time.Now().Add(-time.Hour))
	db.Close()
	s := NewWriteBehind(Config{CacheSize: -1}, openSQLite(path))
	defer s.Close()
	o := storetest.Opts
	o.Timeout = time.Second
	measure := func(n int) []time.Duration {
		lat := make([]time.Duration, 0, n)
		for i := range n {
			id := live[i%len(live)]
			start := time.Now()
			ev := storetest.Visit(s, time.Now(), Claim{ClientID: id, SessionID: id, EventID: id, FromCookie: true}, o)
			lat = append(lat, time.Since(start))
			if ev.Fallback {
				b.Fatalf("fallback during GC: %+v", ev)
			}
		}
		return lat
	}
	b.ResetTimer()
	for range b.N {
		quiet := measure(5000)
		var wg sync.WaitGroup
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err = s.Sweep(time.Now()) // the store's own collector may take a share
		}()
		busy := measure(5000)
		wg.Wait()
		if left, cerr := s.Count(context.Background()); err != nil || cerr != nil || left != int64(len(live)) {
			b.Fatalf("%d objects left after the sweep, want %d (%v, %v)", left, len(live), err, cerr)
		}
		reportLatency(b, quiet, "quiet-")
		reportLatency(b, busy, "gc-")
		b.ReportMetric(float64(percentile(busy, 99))/float64(percentile(quiet, 99)), "p99-ratio")
	}
}

func percentile(lat []time.Duration, p int) time.Duration {
	s := slices.Clone(lat)
	slices.Sort(s)
	return s[min(len(s)-1, len(s)*p/100)]
}

func reportLatency(b *testing.B, lat []time.Duration, prefix string) {
	b.ReportMetric(float64(percentile(lat, 50).Nanoseconds())/1e3, prefix+"p50-µs")
	b.ReportMetric(float64(percentile(lat, 99).Nanoseconds())/1e3, prefix+"p99-µs")
}

// BenchmarkMemory1MClients (run with -benchtime 1x): one million distinct
// clients, each visiting and then returning with its cookie, through a store
// with the default bounds. Reports the Go heap in use afterwards: the cache
// and the pending set are bounded, so it stays flat however many clients
// there are.
func BenchmarkMemory1MClients(b *testing.B) {
	s, _ := newSQLiteStore(b, Config{})
	o := storetest.Opts
	o.BootstrapWindow = 0
	for range b.N {
		now := time.Now()
		for i := range 1_000_000 {
			first := storetest.Visit(s, now, Claim{}, o)
			storetest.Visit(s, now, storetest.Returning(first), o)
			if i%10_000 == 0 {
				storetest.Flush(b, s) // a producer no faster than the disk, as under HTTP load
			}
		}
		storetest.Flush(b, s)
	}
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	st := s.Stats()
	b.ReportMetric(float64(m.HeapInuse)/(1<<20), "heap-MB")
	b.ReportMetric(float64(st.CachedObjects), "cached")
	if st.DroppedWrites > 0 {
		b.Fatalf("%d writes dropped", st.DroppedWrites)
	}
}
