package sessionstore_test

import (
	"context"
	"testing"
	"time"

	"github.com/c0f4626f/caddy-session/internal/storetest"

	. "github.com/c0f4626f/caddy-session/sessionstore"
	"github.com/c0f4626f/caddy-session/sessionstore/redis"
)

// An erasure made through one instance reaches the others' memory (when
// they open, and every minute after), so that their fallbacks refuse the
// erased cID too while Redis is down.
func TestRedisErasureHoldsInOtherInstancesFallbacks(t *testing.T) {
	r := storetest.StartRedis(t)
	open := func() *Store {
		s := NewShared(Config{}, func() (Shared, error) { return redis.Open(redis.Options{Addresses: []string{r.Addr()}}) })
		t.Cleanup(func() { s.Close() })
		return s
	}
	a, b := open(), open()
	now := time.Now()
	ev := storetest.Visit(a, now, Claim{}, storetest.Opts)
	if _, err := a.Erase(context.Background(), ev.ClientID, now.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := b.ReloadTombstones(); err != nil { // b's periodic reload
		t.Fatal(err)
	}
	opened := open() // an instance that starts after the erasure
	r.Kill()
	for name, s := range map[string]*Store{"running": b, "started later": opened} {
		got := storetest.Visit(s, now.Add(time.Second), storetest.Returning(ev), storetest.Opts)
		if !got.Fallback || got.ClientID == ev.ClientID || !got.NewClient {
			t.Fatalf("%s instance, Redis down: %+v, want a fallback with a new client", name, got)
		}
	}
}
