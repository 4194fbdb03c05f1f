package redis

import (
	"github.com/c0f4626f/caddy-session/sessionstore"

	"context"
	"testing"
	"time"

	"github.com/c0f4626f/caddy-session/internal/storetest"

	"github.com/google/uuid"

	"github.com/c0f4626f/caddy-session/internal/citest"
	"github.com/c0f4626f/caddy-session/internal/testredis"
)

// TestRedisSentinelFailoverRecoversPromptly kills the master under load from
// two instances, with many requests in flight; once the Sentinel names the
// replica, every instance is back on the store within storetest.RecoveryBound, and no
// client's counter goes backwards or skips.
func TestRedisSentinelFailoverRecoversPromptly(t *testing.T) {
	citest.NoteSkip(t)
	g := testredis.StartSentinelGroup(t)
	o := Options{Addresses: []string{g.Addr}, MasterName: "caddy", KeyPrefix: "test:"}
	instances := []*sessionstore.Store{newRedisStoreWith(t, o), newRedisStoreWith(t, o)}
	expectRecoveryAfter(t, instances, storetest.LoadOpts, func(inFlight func()) time.Time {
		g.Master.CrashInSync(g.Replica)
		inFlight()
		return g.WaitForFailover()
	})
}

// TestRedisClusterFailoverSparesOtherMasters kills one master of a cluster
// under load from two instances: clients on that master are back on the
// store within storetest.RecoveryBound of their slots' new master being named;
// clients on the other masters do not fall back, not even right after many
// requests for the dead master failed at once; no counter goes backwards or
// skips.
func TestRedisClusterFailoverSparesOtherMasters(t *testing.T) {
	citest.NoteSkip(t)
	c := testredis.StartReplicatedCluster(t, 3)
	o := Options{Addresses: c.Addrs(), KeyPrefix: "test:"}
	instances := []*sessionstore.Store{newRedisStoreWith(t, o), newRedisStoreWith(t, o)}
	objectKey := func(id uuid.UUID) string { return o.KeyPrefix + "{" + id.String() + "}:o" }
	var victim *testredis.Server
	onVictim := func(id uuid.UUID) bool {
		if victim == nil {
			victim = c.MasterOf(objectKey(id))
		}
		return c.MasterOf(objectKey(id)) == victim
	}
	onOthers := func(id uuid.UUID) bool { return !onVictim(id) }
	affected, others := storetest.NewLoadClients(t, instances[0], 4, onVictim), storetest.NewLoadClients(t, instances[0], 4, onOthers)
	burst, bystanders := storetest.NewLoadClients(t, instances[0], 16, onVictim), storetest.NewLoadClients(t, instances[0], 4, onOthers)
	clients := append(append([]*storetest.LoadClient{}, affected...), others...)

	stopLoad := storetest.StartLoad(clients, instances, storetest.LoadOpts)
	time.Sleep(time.Second)
	killed := time.Now()
	victim.CrashInSync(c.ReplicasOf(victim)...)
	storetest.FailTogether(instances[:1], burst, storetest.LoadOpts)
	for i, b := range bystanders {
		if ev := storetest.Visit(instances[0], time.Now(), b.Claim(), storetest.LoadOpts); ev.Fallback {
			t.Errorf("bystander %d on a healthy master, right after 16 requests for the dead one failed: %+v", i, ev)
		}
	}
	promoted := c.WaitForNewMaster(objectKey(affected[0].ID()), victim)
	storetest.WaitRecovered(clients, len(instances), promoted)
	stopLoad()

	storetest.ExpectRecovered(t, affected, len(instances), promoted)
	fallbacks, answers := storetest.CountFallbacks(others, killed)
	t.Logf("clients on the other masters: %d fallbacks in %d answers since the kill", fallbacks, answers)
	if fallbacks*100 > answers { // more than a loaded machine's odd timeout
		t.Errorf("clients on healthy masters fell back %d times in %d answers", fallbacks, answers)
	}
	storetest.ExpectCountersConsecutive(t, clients)
}

// TestRedisSlowdownRecoveryFollowsRedis keeps Redis busy (a DEBUG SLEEP
// loop) for three seconds under load from two instances with the default
// 50 ms deadline and many requests in flight: every instance is back on the
// store within storetest.RecoveryBound of the slowdown's end.
func TestRedisSlowdownRecoveryFollowsRedis(t *testing.T) {
	r := storetest.StartRedis(t)
	instances := []*sessionstore.Store{newRedisStore(t, r), newRedisStore(t, r)}
	o := storetest.LoadOpts
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
	r := storetest.StartRedis(t)
	s := newRedisStore(t, r)
	o := storetest.Opts
	o.Timeout = 50 * time.Millisecond
	ev := storetest.Visit(s, time.Now(), sessionstore.Claim{}, o)
	ev = storetest.Visit(s, time.Now(), storetest.Returning(ev), o)

	const pause = 400 * time.Millisecond
	r.PauseWrites(pause)
	paused := time.Now()
	late := storetest.Visit(s, time.Now(), storetest.Returning(ev), o)
	if !late.Fallback || late.ClientID != ev.ClientID {
		t.Fatalf("a visit whose write waited past the deadline: %+v", late)
	}
	time.Sleep(time.Until(paused.Add(pause + 300*time.Millisecond))) // the held write has reached Redis
	obj, _, err := s.Inspect(context.Background(), ev.ClientID)
	if err != nil || obj == nil || obj.TotalEvents != 2 {
		t.Fatalf("after a fallback answer: stored object %+v (%v), want the 2 events answered from the store", obj, err)
	}
	next := storetest.Visit(s, time.Now(), storetest.Returning(late), o)
	if next.Fallback || next.EventNumber != 3 {
		t.Fatalf("the next visit: %+v, want event number 3", next)
	}
}

// expectRecoveryAfter runs the load of 8 clients over the instances and then
// outage, which brings a failure about, calls inFlight as it strikes (16
// more clients then send a request to every instance at once) and returns
// when Redis answers again. Every instance must be back on the store within
// storetest.RecoveryBound of that, and no counter may go backwards or skip.
func expectRecoveryAfter(t *testing.T, instances []*sessionstore.Store, o sessionstore.Options, outage func(inFlight func()) time.Time) {
	t.Helper()
	clients := storetest.NewLoadClients(t, instances[0], 8, nil)
	burst := storetest.NewLoadClients(t, instances[0], 16, nil)
	stopLoad := storetest.StartLoad(clients, instances, o)
	time.Sleep(time.Second)
	back := outage(func() { storetest.FailTogether(instances, burst, o) })
	storetest.WaitRecovered(clients, len(instances), back)
	stopLoad()
	storetest.ExpectRecovered(t, clients, len(instances), back)
	storetest.ExpectCountersConsecutive(t, clients)
}

// TestRedisWriteDeadlineIsInTheServersClock makes the instance believe that
// Redis's clock is an hour behind its own: the request's deadline, in
// Redis's clock, has then long passed when the write arrives, so the write
// is refused and the visit falls back (were the offset applied the wrong
// way round, the write would land).
func TestRedisWriteDeadlineIsInTheServersClock(t *testing.T) {
	r := storetest.StartRedis(t)
	b, err := Open(Options{Addresses: []string{r.Addr()}, KeyPrefix: "test:"})
	if err != nil {
		t.Fatal(err)
	}
	s := sessionstore.NewShared(sessionstore.Config{}, func() (sessionstore.Shared, error) { return b, nil })
	t.Cleanup(func() { s.Close() })
	ev := storetest.Visit(s, time.Now(), sessionstore.Claim{}, storetest.Opts)
	clocks := &b.failover.clocks
	clocks.mu.Lock()
	clocks.offsets[""] = clockOffset{ahead: -time.Hour, measured: time.Now()}
	clocks.mu.Unlock()

	got := storetest.Visit(s, time.Now(), storetest.Returning(ev), storetest.Opts)
	if !got.Fallback || got.FallbackReason != sessionstore.ReasonTimeout {
		t.Fatalf("a write that reached Redis an hour after its deadline, in Redis's clock: %+v", got)
	}
	if obj, _, err := s.Inspect(context.Background(), ev.ClientID); err != nil || obj == nil || obj.TotalEvents != 1 {
		t.Fatalf("stored object %+v (%v), want the first event only", obj, err)
	}
}
