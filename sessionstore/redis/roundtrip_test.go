package redis

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/c0f4626f/caddy-session/internal/storetest"
	"github.com/c0f4626f/caddy-session/internal/testredis"
	"github.com/c0f4626f/caddy-session/sessionstore"
)

// A returning visit on the instance that wrote the client last is one
// round trip (the update script); on another instance, or after another
// instance wrote, it costs a second, and the count goes on exactly.
func TestRedisReturningVisitIsOneRoundTrip(t *testing.T) {
	r := storetest.StartRedis(t)
	a, tripsA := countedStore(t, r)
	b, tripsB := countedStore(t, r)
	o := storetest.Opts
	o.PersistImmediately = true
	ev := storetest.Visit(a, time.Now(), sessionstore.Claim{}, o)

	for _, c := range []struct {
		name     string
		instance *sessionstore.Store
		trips    *roundTrips
		want     int64
	}{
		{"the same instance", a, tripsA, 1},
		{"the same instance again", a, tripsA, 1},
		{"another instance, first time", b, tripsB, 2},
		{"the first instance, after the other wrote", a, tripsA, 2},
		{"the first instance again", a, tripsA, 1},
	} {
		before := c.trips.n.Load()
		next := storetest.Visit(c.instance, time.Now(), storetest.Returning(ev), o)
		if next.Fallback || next.ClientID != ev.ClientID || next.EventNumber != ev.EventNumber+1 {
			t.Fatalf("%s: %+v after event %d", c.name, next, ev.EventNumber)
		}
		if got := c.trips.n.Load() - before; got != c.want {
			t.Errorf("%s: %d round trips, want %d", c.name, got, c.want)
		}
		ev = next
	}
}

// countedStore is an instance whose round trips to Redis are counted, but
// for the clock readings of the write deadline (now and then, not per
// visit) and a script's first load.
func countedStore(t *testing.T, r *testredis.Server) (*sessionstore.Store, *roundTrips) {
	b, err := Open(Options{Addresses: []string{r.Addr()}, KeyPrefix: "test:", Remember: 10})
	if err != nil {
		t.Fatal(err)
	}
	trips := &roundTrips{}
	b.client.AddHook(trips)
	s := sessionstore.NewShared(sessionstore.Config{}, func() (sessionstore.Shared, error) { return b, nil })
	t.Cleanup(func() { s.Close() })
	return s, trips
}

type roundTrips struct{ n atomic.Int64 }

func (c *roundTrips) DialHook(next goredis.DialHook) goredis.DialHook { return next }

func (c *roundTrips) ProcessHook(next goredis.ProcessHook) goredis.ProcessHook {
	return func(ctx context.Context, cmd goredis.Cmder) error {
		err := next(ctx, cmd)
		noScript := err != nil && strings.HasPrefix(err.Error(), "NOSCRIPT")
		if name := cmd.Name(); name != "time" && !noScript {
			c.n.Add(1)
		}
		return err
	}
}

func (c *roundTrips) ProcessPipelineHook(next goredis.ProcessPipelineHook) goredis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []goredis.Cmder) error {
		c.n.Add(1)
		return next(ctx, cmds)
	}
}
