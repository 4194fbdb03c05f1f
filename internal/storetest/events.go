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
		return cookieless(stores[i%len(stores)], now, key, false)
	})
}

// cookieless is a visit without cookies of the browser with key at now, a
// page load or not.
func cookieless(s *sessionstore.Store, now time.Time, key sessionstore.BootstrapKey, pageLoad bool) sessionstore.Event {
	v := sessionstore.Visit{EventID: sessionstore.NewID(now), Now: now, BootstrapKey: key, PageLoad: pageLoad}
	return s.Visit(context.Background(), v, Opts)
}

// ExpectPageLoadsApart checks the bootstrap rule with visits of one key in
// one window, spread over the stores: the parallel requests of a page load
// join its client; a second page load (another browser that sends the same
// things) gets a client of its own; after it, a request joins neither.
func ExpectPageLoadsApart(t *testing.T, key sessionstore.BootstrapKey, stores ...*sessionstore.Store) {
	t.Helper()
	now := time.Now()
	at := func(i int) *sessionstore.Store { return stores[i%len(stores)] }
	first := cookieless(at(0), now, key, true)
	parallel := concurrent.Map(10, func(i int) sessionstore.Event { return cookieless(at(i+1), now, key, false) })
	for _, ev := range parallel {
		if ev.ClientID != first.ClientID || ev.NewClient {
			t.Fatalf("a request of the page load of %s is %s (new %v)", first.ClientID, ev.ClientID, ev.NewClient)
		}
	}
	second := cookieless(at(1), now, key, true)
	if second.ClientID == first.ClientID || !second.NewClient {
		t.Fatalf("a second page load joined the first one's client %s", first.ClientID)
	}
	after := cookieless(at(0), now, key, false)
	if after.ClientID == first.ClientID || after.ClientID == second.ClientID {
		t.Fatalf("after two page loads a request joined %s (page loads %s, %s)", after.ClientID, first.ClientID, second.ClientID)
	}
}
