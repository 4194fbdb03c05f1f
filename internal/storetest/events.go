package storetest

import (
	"context"
	"sort"
	"testing"
	"time"

	"github.com/c0f4626f/caddy-session/internal/concurrent"
	"github.com/c0f4626f/caddy-session/sessionstore"
)

// ExpectConsecutive checks that the events, none a fallback, carry the event
// numbers from..from+len-1 in some order.
func ExpectConsecutive(t *testing.T, events []sessionstore.Event, from int) {
	t.Helper()
	numbers := make([]int, 0, len(events))
	for _, ev := range events {
		if ev.Fallback {
			t.Fatalf("fallback: %+v", ev)
		}
		numbers = append(numbers, int(ev.EventNumber))
	}
	sort.Ints(numbers)
	for i, n := range numbers {
		if n != from+i {
			t.Fatalf("event numbers %v, want %d..%d", numbers, from, from+len(events)-1)
		}
	}
}

// Burst is n cookieless visits of one browser (bootstrap key) at now,
// spread over the stores.
func Burst(n int, now time.Time, key sessionstore.BootstrapKey, stores ...*sessionstore.Store) []sessionstore.Event {
	return concurrent.Map(n, func(i int) sessionstore.Event {
		v := sessionstore.Visit{EventID: sessionstore.NewID(now), Now: now, BootstrapKey: key}
		return stores[i%len(stores)].Visit(context.Background(), v, Opts)
	})
}
