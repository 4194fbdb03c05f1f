package sessionstore

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/c0f4626f/caddy-session/internal/citest"
	"github.com/c0f4626f/caddy-session/internal/concurrent"
	"github.com/c0f4626f/caddy-session/internal/testredis"
	"github.com/c0f4626f/caddy-session/internal/wait"
)

// recoveryBound is how soon after Redis answers again (the new master is
// named, a slowdown ends) every instance must be back on the store. The
// breaker probes at least once a second; the bound leaves room for a loaded
// machine.
const recoveryBound = 5 * time.Second

// loadOpts are the settings of the load in these tests: a deadline that a
// healthy Redis meets on a loaded machine, so that fallbacks come from the
// failure under test.
var loadOpts = Options{Policy: opts.Policy, Timeout: 200 * time.Millisecond}

// TestRedisSentinelFailoverRecoversPromptly kills the master under load from
// two instances, with many requests in flight; once the Sentinel names the
// replica, every instance is back on the store within recoveryBound, and no
// client's counter goes backwards or skips.
func TestRedisSentinelFailoverRecoversPromptly(t *testing.T) {
	citest.NoteSkip(t)
	g := testredis.StartSentinelGroup(t)
	o := RedisOptions{Addresses: []string{g.Addr}, MasterName: "caddy", KeyPrefix: "test:"}
	instances := []*Store{newRedisStoreWith(t, o), newRedisStoreWith(t, o)}
	expectRecoveryAfter(t, instances, loadOpts, func(inFlight func()) time.Time {
		g.Master.CrashInSync(g.Replica)
		inFlight()
		return g.WaitForFailover()
	})
}

// TestRedisClusterFailoverSparesOtherMasters kills one master of a cluster
// under load from two instances: clients on that master are back on the
// store within recoveryBound of their slots' new master being named;
// clients on the other masters do not fall back, not even right after many
// requests for the dead master failed at once; no counter goes backwards or
// skips.
func TestRedisClusterFailoverSparesOtherMasters(t *testing.T) {
	citest.NoteSkip(t)
	c := testredis.StartReplicatedCluster(t, 3)
	o := RedisOptions{Addresses: c.Addrs(), KeyPrefix: "test:"}
	instances := []*Store{newRedisStoreWith(t, o), newRedisStoreWith(t, o)}
	objectKey := func(id uuid.UUID) string { return o.KeyPrefix + "{" + id.String() + "}:o" }
	var victim *testredis.Server
	onVictim := func(id uuid.UUID) bool {
		if victim == nil {
			victim = c.MasterOf(objectKey(id))
		}
		return c.MasterOf(objectKey(id)) == victim
	}
	onOthers := func(id uuid.UUID) bool { return !onVictim(id) }
	affected, others := newLoadClients(t, instances[0], 4, onVictim), newLoadClients(t, instances[0], 4, onOthers)
	burst, bystanders := newLoadClients(t, instances[0], 16, onVictim), newLoadClients(t, instances[0], 4, onOthers)
	clients := append(append([]*loadClient{}, affected...), others...)

	stopLoad := startLoad(clients, instances, loadOpts)
	time.Sleep(time.Second)
	killed := time.Now()
	victim.CrashInSync(c.ReplicasOf(victim)...)
	failTogether(instances[:1], burst, loadOpts)
	for i, b := range bystanders {
		if ev := visit(instances[0], time.Now(), b.claim, loadOpts); ev.Fallback {
			t.Errorf("bystander %d on a healthy master, right after 16 requests for the dead one failed: %+v", i, ev)
		}
	}
	promoted := c.WaitForNewMaster(objectKey(affected[0].id), victim)
	waitRecovered(clients, len(instances), promoted)
	stopLoad()

	expectRecovered(t, affected, len(instances), promoted)
	fallbacks, answers := countFallbacks(others, killed)
	t.Logf("clients on the other masters: %d fallbacks in %d answers since the kill", fallbacks, answers)
	if fallbacks*100 > answers { // more than a loaded machine's odd timeout
		t.Errorf("clients on healthy masters fell back %d times in %d answers", fallbacks, answers)
	}
	expectCountersConsecutive(t, clients)
}

// TestRedisSlowdownRecoveryFollowsRedis keeps Redis busy (a DEBUG SLEEP
// loop) for three seconds under load from two instances with the default
// 50 ms deadline and many requests in flight: every instance is back on the
// store within recoveryBound of the slowdown's end.
func TestRedisSlowdownRecoveryFollowsRedis(t *testing.T) {
	r := startRedis(t)
	instances := []*Store{newRedisStore(t, r), newRedisStore(t, r)}
	o := loadOpts
	o.Timeout = 50 * time.Millisecond
	expectRecoveryAfter(t, instances, o, func(inFlight func()) time.Time {
		slow := make(chan struct{})
		go func() {
			defer close(slow)
			r.Slow(3 * time.Second)
		}()
		time.Sleep(100 * time.Millisecond) // the first DEBUG SLEEP has begun
		inFlight()
		<-slow
		return time.Now()
	})
}

// TestRedisLateWriteIsRefused holds Redis's writes longer than the deadline
// between the read of a visit and its write: the visit is answered as a
// fallback, and its write, which reaches Redis later, must not land.
func TestRedisLateWriteIsRefused(t *testing.T) {
	r := startRedis(t)
	s := newRedisStore(t, r)
	o := opts
	o.Timeout = 50 * time.Millisecond
	ev := visit(s, time.Now(), Claim{}, o)
	ev = visit(s, time.Now(), returning(ev), o)

	const pause = 400 * time.Millisecond
	r.PauseWrites(pause)
	paused := time.Now()
	late := visit(s, time.Now(), returning(ev), o)
	if !late.Fallback || late.ClientID != ev.ClientID {
		t.Fatalf("a visit whose write waited past the deadline: %+v", late)
	}
	time.Sleep(time.Until(paused.Add(pause + 300*time.Millisecond))) // the held write has reached Redis
	obj, _, err := s.Inspect(context.Background(), ev.ClientID)
	if err != nil || obj == nil || obj.TotalEvents != 2 {
		t.Fatalf("after a fallback answer: stored object %+v (%v), want the 2 events answered from the store", obj, err)
	}
	next := visit(s, time.Now(), returning(late), o)
	if next.Fallback || next.EventNumber != 3 {
		t.Fatalf("the next visit: %+v, want event number 3", next)
	}
}

// expectRecoveryAfter runs the load of 8 clients over the instances and then
// outage, which brings a failure about, calls inFlight as it strikes (16
// more clients then send a request to every instance at once) and returns
// when Redis answers again. Every instance must be back on the store within
// recoveryBound of that, and no counter may go backwards or skip.
func expectRecoveryAfter(t *testing.T, instances []*Store, o Options, outage func(inFlight func()) time.Time) {
	t.Helper()
	clients := newLoadClients(t, instances[0], 8, nil)
	burst := newLoadClients(t, instances[0], 16, nil)
	stopLoad := startLoad(clients, instances, o)
	time.Sleep(time.Second)
	back := outage(func() { failTogether(instances, burst, o) })
	waitRecovered(clients, len(instances), back)
	stopLoad()
	expectRecovered(t, clients, len(instances), back)
	expectCountersConsecutive(t, clients)
}

// TestRedisWriteDeadlineIsInTheServersClock makes the instance believe that
// Redis's clock is an hour behind its own: the request's deadline, in
// Redis's clock, has then long passed when the write arrives, so the write
// is refused and the visit falls back (were the offset applied the wrong
// way round, the write would land).
func TestRedisWriteDeadlineIsInTheServersClock(t *testing.T) {
	r := startRedis(t)
	s := newRedisStore(t, r)
	ev := visit(s, time.Now(), Claim{}, opts)
	b, err := s.way.(*shared).conn.get()
	if err != nil {
		t.Fatal(err)
	}
	clocks := &b.(*Redis).failover.clocks
	clocks.mu.Lock()
	clocks.offsets[""] = clockOffset{ahead: -time.Hour, measured: time.Now()}
	clocks.mu.Unlock()

	got := visit(s, time.Now(), returning(ev), opts)
	if !got.Fallback || got.FallbackReason != ReasonTimeout {
		t.Fatalf("a write that reached Redis an hour after its deadline, in Redis's clock: %+v", got)
	}
	if obj, _, err := s.Inspect(context.Background(), ev.ClientID); err != nil || obj == nil || obj.TotalEvents != 1 {
		t.Fatalf("stored object %+v (%v), want the first event only", obj, err)
	}
}

// loadClient is one visitor whose requests go to several instances in turn.
type loadClient struct {
	id      uuid.UUID
	mu      sync.Mutex
	claim   Claim
	answers []answer
}

type answer struct {
	at       time.Time
	instance int
	ev       Event
}

// newLoadClients makes n clients, each with a first visit to s, keeping only
// clients whose ID pleases keep (nil keeps all).
func newLoadClients(t *testing.T, s *Store, n int, keep func(uuid.UUID) bool) []*loadClient {
	t.Helper()
	var clients []*loadClient
	for tries := 0; len(clients) < n; tries++ {
		if tries > 100*n {
			t.Fatalf("only %d of %d clients found", len(clients), n)
		}
		ev := visit(s, time.Now(), Claim{}, loadOpts)
		if ev.Fallback {
			t.Fatalf("first visit: %+v", ev)
		}
		if keep == nil || keep(ev.ClientID) {
			clients = append(clients, &loadClient{id: ev.ClientID, claim: returning(ev)})
		}
	}
	return clients
}

// failTogether sends one visit of every client to every instance at once:
// the requests in flight when a store fails.
func failTogether(instances []*Store, clients []*loadClient, o Options) {
	for _, s := range instances {
		concurrent.Map(len(clients), func(i int) Event { return visit(s, time.Now(), clients[i].claim, o) })
	}
}

// startLoad has every client visit the instances in turn, about 25 times a
// second (8 clients: 200 requests/s), until stop.
func startLoad(clients []*loadClient, instances []*Store, o Options) (stop func()) {
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

func (c *loadClient) visit(instances []*Store, n int, o Options) {
	c.mu.Lock()
	claim := c.claim
	c.mu.Unlock()
	ev := visit(instances[n], time.Now(), claim, o)
	c.mu.Lock()
	defer c.mu.Unlock()
	c.answers = append(c.answers, answer{time.Now(), n, ev})
	c.claim = returning(ev)
}

func (c *loadClient) history() []answer {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]answer(nil), c.answers...)
}

// waitRecovered waits until every client has had three answers from the
// store on every instance since since, or recoveryBound has passed and a
// second more (then expectRecovered reports).
func waitRecovered(clients []*loadClient, instances int, since time.Time) {
	wait.Until(time.Until(since.Add(recoveryBound+time.Second)), 50*time.Millisecond, func() bool {
		return allRecovered(clients, instances, since)
	})
}

func allRecovered(clients []*loadClient, instances int, since time.Time) bool {
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

// expectRecovered checks that each instance answered its last fallback no
// later than recoveryBound after since and that it answered from the store
// afterwards.
func expectRecovered(t *testing.T, clients []*loadClient, instances int, since time.Time) {
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
		if at.Sub(since) > recoveryBound {
			t.Errorf("instance %d still fell back %v after Redis answered again", i, at.Sub(since).Round(time.Millisecond))
		}
	}
	if !allRecovered(clients, instances, since) {
		t.Errorf("not every client was answered from the store on every instance since Redis answered again")
	}
}

// countFallbacks counts the fallbacks among the answers since from.
func countFallbacks(clients []*loadClient, from time.Time) (fallbacks, answers int) {
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

// expectCountersConsecutive checks that every answer from the store carries
// the event number after the previous one from the store: the store never
// lost an update that it answered (backwards, or the same number again).
// One skip is allowed right after a run of fallback answers, and only
// there: a visit's write answered after its deadline is taken back, but a
// request of the client that reads the object before the undo reaches
// Redis counts on from it (README "A fallback is not written");
// TestRedisLateWriteIsRefused proves that a write reaching Redis after the
// deadline is refused. It returns the number of such skips.
func expectCountersConsecutive(t *testing.T, clients []*loadClient) (skips int) {
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
