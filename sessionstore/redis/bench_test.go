package redis

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/c0f4626f/caddy-session/internal/storetest"
	"github.com/c0f4626f/caddy-session/sessionstore"
)

// BenchmarkRedisUpdates: 2,000 returning clients updated from parallel
// goroutines through one instance, against a redis-server on this machine;
// "remembered" is the default, "not remembered" (Remember 0) pays the
// second round trip on every update.
func BenchmarkRedisUpdates(b *testing.B) {
	r := storetest.StartRedis(b)
	for _, c := range []struct {
		name     string
		remember int
	}{{"remembered", sessionstore.DefaultLimit}, {"not remembered", 0}} {
		b.Run(c.name, func(b *testing.B) {
			s := sessionstore.NewShared(sessionstore.Config{}, func() (sessionstore.Shared, error) {
				return Open(Options{Addresses: []string{r.Addr()}, KeyPrefix: c.name + ":", Remember: c.remember})
			})
			b.Cleanup(func() { s.Close() })
			o := storetest.Opts
			o.Timeout = time.Second
			claims := make([]sessionstore.Claim, 2000)
			for i := range claims {
				claims[i] = storetest.Returning(storetest.Visit(s, time.Now(), sessionstore.Claim{}, o))
			}
			var next atomic.Int64
			b.ResetTimer()
			start := time.Now()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					c := claims[next.Add(1)%int64(len(claims))]
					v := sessionstore.Visit{Claim: c, EventID: sessionstore.NewID(time.Now()), Now: time.Now()}
					if ev := s.Visit(context.Background(), v, o); ev.Fallback {
						b.Fatalf("fallback: %+v", ev)
					}
				}
			})
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "updates/s")
		})
	}
}
