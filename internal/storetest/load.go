package storetest

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/c0f4626f/caddy-session/internal/concurrent"
	"github.com/c0f4626f/caddy-session/internal/wait"
	"github.com/c0f4626f/caddy-session/sessionstore"
)

// RecoveryBound is how soon after a back end answers again (the new master
// is named, a slowdown ends) every instance must be back on the store. The
// breaker probes at least once a second; the bound leaves room for a loaded
// machine.
const RecoveryBound = 5 * time.Second

// LoadOpts are the settings of the load: a deadline that a healthy Redis
// meets on a loaded machine, so that fallbacks come from the failure under
// test.
var LoadOpts = sessionstore.Options{Policy: Opts.Policy, Timeout: 200 * time.Millisecond}

// LoadClient is one visitor whose requests go to several instances in turn.
type LoadClient struct {
	id      uuid.UUID
	mu      sync.Mutex
	claim   sessionstore.Claim
	answers []answer
}

type answer struct {
	at       time.Time
	instance int
	ev       sessionstore.Event
}

// NewLoadClients makes n clients, each with a first visit to s, keeping only
// clients whose ID pleases keep (nil keeps all).
func NewLoadClients(t *testing.T, s *sessionstore.Store, n int, keep func(uuid.UUID) bool) []*LoadClient {
	t.Helper()
	var clients []*LoadClient
	for tries := 0; len(clients) < n; tries++ {
		if tries > 100*n {
			t.Fatalf("only %d of %d clients found", len(clients), n)
		}
		ev := Visit(s, time.Now(), sessionstore.Claim{}, LoadOpts)
		if ev.Fallback {
			t.Fatalf("first visit: %+v", ev)
		}
		if keep == nil || keep(ev.ClientID) {
			clients = append(clients, &LoadClient{id: ev.ClientID, claim: Returning(ev)})
		}
	}
	return clients
}

// FailTogether sends one visit of every client to every instance at once:
// the requests in flight when a store fails.
func FailTogether(instances []*sessionstore.Store, clients []*LoadClient, o sessionstore.Options) {
	for _, s := range instances {
		concurrent.Map(len(clients), func(i int) sessionstore.Event { return Visit(s, time.Now(), clients[i].claim, o) })
	}
}

// StartLoad has every client visit the instances in turn, about 25 times a
// second (8 clients: 200 requests/s), until stop.
func StartLoad(clients []*LoadClient, instances []*sessionstore.Store, o sessionstore.Options) (stop func()) {
	return concurrent.Background(len(clients), func(k int, done <-chan struct{}) {
		for i := 0; ; i++ {
			select {
			case <-done:
				return
			case <-time.After(40 * time.Millisecond):
			}
			clients[k].visit(instances, i%len(instances), o)
		}
	})
}

func (c *LoadClient) visit(instances []*sessionstore.Store, n int, o sessionstore.Options) {
	c.mu.Lock()
	claim := c.claim
	c.mu.Unlock()
	ev := Visit(instances[n], time.Now(), claim, o)
	c.mu.Lock()
	defer c.mu.Unlock()
	c.answers = append(c.answers, answer{time.Now(), n, ev})
	c.claim = Returning(ev)
}

func (c *LoadClient) history() []answer {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]answer(nil), c.answers...)
}

// WaitRecovered waits until every client has had three answers from the
// store on every instance since since, or RecoveryBound has passed and a
// second more (then ExpectRecovered reports).
func WaitRecovered(clients []*LoadClient, instances int, since time.Time) {
	wait.Until(time.Until(since.Add(RecoveryBound+time.Second)), 50*time.Millisecond, func() bool {
		return allRecovered(clients, instances, since)
	})
}

func allRecovered(clients []*LoadClient, instances int, since time.Time) bool {
	for _, c := range clients {
		stored := make([]int, instances)
		for _, a := range c.history() {
			if a.at.After(since) && !a.ev.Fallback {
				stored[a.instance]++
			}
		}
		for _, n := range stored {
			if n < 3 {
				return false
			}
		}
	}
	return true
}

// ExpectRecovered checks that each instance answered its last fallback no
// later than RecoveryBound after since and that it answered from the store
// afterwards.
func ExpectRecovered(t *testing.T, clients []*LoadClient, instances int, since time.Time) {
	t.Helper()
	last := make([]time.Time, instances)
	for _, c := range clients {
		for _, a := range c.history() {
			if a.ev.Fallback && a.at.After(last[a.instance]) {
				last[a.instance] = a.at
			}
		}
	}
	for i, at := range last {
		t.Logf("instance %d: last fallback %v after Redis answered again", i, at.Sub(since).Round(time.Millisecond))
		if at.Sub(since) > RecoveryBound {
			t.Errorf("instance %d still fell back %v after Redis answered again", i, at.Sub(since).Round(time.Millisecond))
		}
	}
	if !allRecovered(clients, instances, since) {
		t.Errorf("not every client was answered from the store on every instance since Redis answered again")
	}
}

// CountFallbacks counts the fallbacks among the answers since from.
func CountFallbacks(clients []*LoadClient, from time.Time) (fallbacks, answers int) {
	for _, c := range clients {
		for _, a := range c.history() {
			if a.at.After(from) {
				answers++
				if a.ev.Fallback {
					fallbacks++
				}
			}
		}
	}
	return fallbacks, answers
}

// ExpectCountersConsecutive checks that every answer from the store carries
// the event number after the previous one from the store: the store never
// lost an update that it answered (backwards, or the same number again).
// One skip is allowed right after a run of fallback answers, and only
// there: a visit's write answered after its deadline is taken back, but a
// request of the client that reads the object before the undo reaches
// Redis counts on from it (README "A fallback is not written");
// TestRedisLateWriteIsRefused proves that a write reaching Redis after the
// deadline is refused. It returns the number of such skips.
func ExpectCountersConsecutive(t *testing.T, clients []*LoadClient) (skips int) {
	t.Helper()
	for i, c := range clients {
		var prev int64
		var trail []string
		afterFallback := false
		for _, a := range c.history() {
			trail = append(trail, fmt.Sprintf("%d%s", a.ev.EventNumber, map[bool]string{true: "F"}[a.ev.Fallback]))
			if a.ev.Fallback {
				afterFallback = true
				continue
			}
			lateWrite := prev != 0 && afterFallback && a.ev.EventNumber == prev+2
			if prev != 0 && a.ev.EventNumber != prev+1 && !lateWrite {
				t.Errorf("client %d: event number %d after %d; last answers (F = fallback): %v", i, a.ev.EventNumber, prev, trail[max(0, len(trail)-30):])
				break
			}
			if lateWrite {
				skips++
				t.Logf("client %d: event number %d after %d, past a fallback whose write landed late", i, a.ev.EventNumber, prev)
			}
			prev, afterFallback = a.ev.EventNumber, false
		}
	}
	return skips
}

// ID is the client's ID.
func (c *LoadClient) ID() uuid.UUID { return c.id }

// Claim is what the client's browser sends next.
func (c *LoadClient) Claim() sessionstore.Claim {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.claim
}
