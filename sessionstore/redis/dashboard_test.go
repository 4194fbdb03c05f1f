package redis

import (
	"context"
	"testing"
	"time"

	"github.com/c0f4626f/caddy-session/internal/citest"
	"github.com/c0f4626f/caddy-session/internal/storetest"
	"github.com/c0f4626f/caddy-session/internal/testredis"
	"github.com/c0f4626f/caddy-session/sessionstore"
)

// Two instances take turns with the visits; either reads the same day,
// its visitors counted by the HyperLogLog both add to.
func TestDashboardDayFromVisitsOverTwoInstances(t *testing.T) {
	r, a, raw := redisStoreAndClient(t)
	b := newRedisStore(t, r)
	start := storetest.DashboardStart()
	storetest.PlayDashboardScenario([]*sessionstore.Store{a, b}, start)
	storetest.Flush(t, a)
	storetest.ExpectDashboardScenario(t, b, start)
	dayEnd := sessionstore.DayStart(start).Add(24 * time.Hour)
	for _, k := range raw.Keys(context.Background(), "test:{dash}:*").Val() {
		ttl := raw.TTL(context.Background(), k).Val()
		if left := time.Until(dayEnd.Add(sessionstore.DefaultRetention)); ttl <= 0 || ttl > left+time.Second {
			t.Errorf("%s expires in %v, want a retention after its day, in %v", k, ttl, left)
		}
	}
	n, err := b.UniqueClients(context.Background(), "example.com", start.Add(-24*time.Hour), start)
	if err != nil || n != 2 {
		t.Fatalf("unique clients over two days = %d, %v; want 2", n, err)
	}
}

// TestDashboardFloodStaysBoundedInRedis measures the keys and hash fields
// a flooded day takes: a sites set, and per site (MaxSites and OtherSite)
// a counts hash, a HyperLogLog and the top tables of at most MaxTopKeys+1
// fields each.
func TestDashboardFloodStaysBoundedInRedis(t *testing.T) {
	r, s, raw := redisStoreAndClient(t)
	other := newRedisStore(t, r)
	now := time.Now()
	storetest.PlayFlood([]*sessionstore.Store{s, other}, now)
	storetest.Flush(t, other)
	storetest.ExpectFloodBounded(t, s, now)
	ctx := context.Background()
	keys, err := raw.Keys(ctx, "test:{dash}:*").Result()
	if err != nil {
		t.Fatal(err)
	}
	var fields int64
	for _, k := range keys {
		if raw.Type(ctx, k).Val() == "hash" {
			fields += raw.HLen(ctx, k).Val()
		}
	}
	t.Logf("one flooded day: %d keys, %d hash fields, redis used memory %d bytes", len(keys), fields, r.UsedMemory())
	sites := int64(sessionstore.MaxSites + 1)
	if maxKeys := 1 + sites*(2+sessionstore.TopTables); int64(len(keys)) > maxKeys {
		t.Errorf("%d keys, beyond the bound %d", len(keys), maxKeys)
	}
	if maxFields := sites * (int64(len(countFields(&sessionstore.DayCounts{}))) + sessionstore.TopTables*(sessionstore.MaxTopKeys+1)); fields > maxFields {
		t.Errorf("%d hash fields, beyond the bound %d", fields, maxFields)
	}
}

// TestDashboardKeepsAdmittedNamesUnderAFloodInRedis floods two instances
// in turn, the second one never having seen the site, then a third that
// starts late, as after a restart, flooded before its first hand-over: the
// site, path and source the day admitted first keep their own names, on
// one server and on a cluster.
func TestDashboardKeepsAdmittedNamesUnderAFloodInRedis(t *testing.T) {
	t.Run("server", func(t *testing.T) { keepsAdmittedNames(t, storetest.StartRedis(t).Addr()) })
	t.Run("cluster", func(t *testing.T) {
		citest.NoteSkip(t)
		keepsAdmittedNames(t, testredis.StartCluster(t, 3)...)
	})
}

func keepsAdmittedNames(t *testing.T, addrs ...string) {
	stores := []*sessionstore.Store{newRedisStoreAt(t, addrs...), newRedisStoreAt(t, addrs...)}
	now := time.Now()
	storetest.VisitAdmitted(stores[0], now)
	const rounds = 6
	for round := range rounds {
		for _, s := range stores {
			storetest.Flush(t, s)
		}
		s := stores[round%2]
		if round == rounds-1 {
			s = newRedisStoreAt(t, addrs...)
			stores = append(stores, s)
		}
		storetest.PlayFloodRound(s, now, round)
	}
	for _, s := range stores {
		storetest.Flush(t, s)
	}
	storetest.ExpectAdmittedKept(t, stores[0], now, rounds)
}
