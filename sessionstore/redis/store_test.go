package redis

import (
	"cmp"
	"context"
	"encoding/hex"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/redis/go-redis/v9"

	"github.com/c0f4626f/caddy-session/internal/citest"
	"github.com/c0f4626f/caddy-session/internal/concurrent"
	"github.com/c0f4626f/caddy-session/internal/storetest"
	"github.com/c0f4626f/caddy-session/internal/testredis"
	"github.com/c0f4626f/caddy-session/internal/wait"
	"github.com/c0f4626f/caddy-session/sessionstore"
)

// newRedisStore is one "instance" on the server, remembering clients as
// the Caddy module's does.
func newRedisStore(t testing.TB, r *testredis.Server) *sessionstore.Store {
	return newRedisStoreAt(t, r.Addr())
}

func newRedisStoreAt(t testing.TB, addrs ...string) *sessionstore.Store {
	return newRedisStoreWith(t, Options{Addresses: addrs, KeyPrefix: "test:"})
}

func newRedisStoreWith(t testing.TB, o Options) *sessionstore.Store {
	o.Remember = cmp.Or(o.Remember, sessionstore.DefaultLimit)
	s := sessionstore.NewShared(sessionstore.Config{}, func() (sessionstore.Shared, error) { return Open(o) })
	t.Cleanup(func() { s.Close() })
	return s
}

// redisStoreAndClient starts a server with one store on it, and a plain
// connection to look at what the store wrote.
func redisStoreAndClient(t *testing.T) (*testredis.Server, *sessionstore.Store, *redis.Client) {
	r := storetest.StartRedis(t)
	raw := r.Client()
	t.Cleanup(func() { raw.Close() })
	return r, newRedisStore(t, r), raw
}

func TestRedisInstancesShareClients(t *testing.T) {
	r := storetest.StartRedis(t)
	expectSharedClients(t, newRedisStore(t, r), newRedisStore(t, r))
}

// TestRedisCluster runs the same on a three-master Redis Cluster: a
// client's keys share a hash tag, so its updates stay atomic.
func TestRedisCluster(t *testing.T) {
	citest.NoteSkip(t)
	addrs := testredis.StartCluster(t, 3)
	a, b := newRedisStoreAt(t, addrs...), newRedisStoreAt(t, addrs...)
	expectSharedClients(t, a, b)
	events := storetest.Burst(20, time.Now(), sessionstore.BootstrapKey{3}, a, b)
	if events[0].Fallback || len(clientsOf(events)) != 1 {
		t.Fatalf("bootstrap on a cluster: %d clients: %+v", len(clientsOf(events)), events[0])
	}
	if n, err := a.Count(context.Background()); err != nil || n != 2 {
		t.Fatalf("count over the cluster's masters: %d (%v), want 2", n, err)
	}
}

// TestRedisSentinel finds the master through a Sentinel.
func TestRedisSentinel(t *testing.T) {
	r := storetest.StartRedis(t)
	sentinel := testredis.StartSentinel(t, r)
	o := Options{Addresses: []string{sentinel}, MasterName: "caddy", KeyPrefix: "test:"}
	expectSharedClients(t, newRedisStoreWith(t, o), newRedisStoreWith(t, o))
}

func clientsOf(events []sessionstore.Event) map[uuid.UUID]bool {
	clients := map[uuid.UUID]bool{}
	for _, e := range events {
		clients[e.ClientID] = true
	}
	return clients
}

// expectSharedClients alternates one client's visits between two instances
// and then sends 40 at once: one identity, every event counted once.
func expectSharedClients(t *testing.T, a, b *sessionstore.Store) {
	t.Helper()
	now := time.Now()
	ev := storetest.Visit(a, now, sessionstore.Claim{}, storetest.Opts)
	for i := 2; i <= 10; i++ {
		s := [2]*sessionstore.Store{a, b}[i%2]
		next := storetest.Visit(s, now.Add(time.Duration(i)*time.Second), storetest.Returning(ev), storetest.Opts)
		if next.Fallback || next.ClientID != ev.ClientID || next.SessionID != ev.SessionID || next.EventNumber != int64(i) ||
			next.PreviousEventID != ev.EventID {
			t.Fatalf("visit %d alternating instances: %+v", i, next)
		}
		ev = next
	}

	// 40 concurrent requests spread over both instances are each counted once.
	claim := storetest.Returning(ev)
	events := concurrent.Map(40, func(i int) sessionstore.Event {
		return storetest.Visit([2]*sessionstore.Store{a, b}[i%2], now.Add(20*time.Second), claim, storetest.Opts)
	})
	storetest.ExpectConsecutive(t, events, 11)
	obj, sessions, err := b.Inspect(context.Background(), ev.ClientID)
	if err != nil || obj.TotalEvents != 50 || len(sessions) != 1 || sessions[0].Events != 50 {
		t.Fatalf("stored object %+v sessions %+v err %v", obj, sessions, err)
	}
}

func TestRedisPageLoadsStayApartAcrossInstances(t *testing.T) {
	r, a, raw := redisStoreAndClient(t)
	key := sessionstore.BootstrapKey{5}
	storetest.ExpectPageLoadsApart(t, key, a, newRedisStore(t, r))
	ttl := raw.PTTL(context.Background(), "test:b:"+hex.EncodeToString(key[:])).Val()
	if ttl <= 0 || ttl > storetest.Opts.BootstrapWindow {
		t.Fatalf("the contested key's TTL is %v, want what is left of the window", ttl)
	}
}

func TestRedisBootstrapAcrossInstances(t *testing.T) {
	r := storetest.StartRedis(t)
	a, b := newRedisStore(t, r), newRedisStore(t, r)
	now := time.Now()
	events := storetest.Burst(20, now, sessionstore.BootstrapKey{4}, a, b)
	clients := map[uuid.UUID]bool{}
	numbers := map[int64]bool{}
	for _, e := range events {
		clients[e.ClientID] = true
		numbers[e.EventNumber] = true
	}
	if len(clients) != 1 || len(numbers) != 20 {
		t.Fatalf("%d clients, %d distinct event numbers; want 1 and 20: %+v", len(clients), len(numbers), events)
	}
	if n, err := a.Count(context.Background()); err != nil || n != 1 {
		t.Fatalf("count %d (%v): the losers' objects were not discarded", n, err)
	}
}

func TestRedisEraseIsSeenByOtherInstances(t *testing.T) {
	r := storetest.StartRedis(t)
	a, b := newRedisStore(t, r), newRedisStore(t, r)
	now := time.Now()
	ev := storetest.Visit(a, now, sessionstore.Claim{}, storetest.Opts)
	if found, err := a.Erase(context.Background(), ev.ClientID, now.Add(time.Hour)); !found || err != nil {
		t.Fatalf("erase: %v %v", found, err)
	}
	next := storetest.Visit(b, now.Add(time.Second), storetest.Returning(ev), storetest.Opts)
	if next.ClientID == ev.ClientID || !next.NewClient || next.Fallback {
		t.Fatalf("another instance let the erased cID back: %+v", next)
	}
}

func TestRedisDownSlowAndBack(t *testing.T) {
	r := storetest.StartRedis(t)
	s := newRedisStore(t, r)
	o := storetest.Opts
	o.Timeout = 200 * time.Millisecond
	margin := 500 * time.Millisecond // for a loaded machine; the stall outlasts deadline and margin
	ev := storetest.Visit(s, time.Now(), sessionstore.Claim{}, o)

	r.Stall(2 * time.Second)
	start := time.Now()
	slow := storetest.Visit(s, time.Now(), storetest.Returning(ev), o)
	if !slow.Fallback || slow.FallbackReason != sessionstore.ReasonTimeout || time.Since(start) > o.Timeout+margin {
		t.Fatalf("slow redis: %+v after %v", slow, time.Since(start))
	}
	if slow.ClientID != ev.ClientID || slow.SessionID != ev.SessionID {
		t.Fatalf("identity lost: %+v", slow)
	}
	time.Sleep(2 * time.Second)

	r.Kill()
	for range 3 {
		start = time.Now()
		down := storetest.Visit(s, time.Now(), storetest.Returning(ev), o)
		if !down.Fallback || down.ClientID != ev.ClientID || time.Since(start) > o.Timeout+margin {
			t.Fatalf("redis down: %+v after %v", down, time.Since(start))
		}
	}

	r.Restart()
	back, ok := storetest.UntilStored(s, ev, o, 35*time.Second, 200*time.Millisecond)
	if !ok {
		t.Fatalf("never recovered: %+v %+v", back, s.Stats())
	}
	if back.ClientID != ev.ClientID {
		t.Fatalf("after recovery: %+v", back)
	}
}

// TestRedisOneRequestVisitorIsSmallAndShortLived sends cookieless requests,
// as crawlers and scripts do, and checks what each leaves in Redis once its
// bootstrap window is over: one key of a few hundred bytes that expires a
// few minutes after the session timeout. A visitor that comes back keeps
// its object for the retention.
func TestRedisOneRequestVisitorIsSmallAndShortLived(t *testing.T) {
	r, s, raw := redisStoreAndClient(t)
	ctx := context.Background()
	now := time.Now()
	o := storetest.Opts
	o.BootstrapWindow = 500 * time.Millisecond
	oneRequest := func(i int) sessionstore.Event {
		v := sessionstore.Visit{EventID: sessionstore.NewID(now), Now: now, Path: "/articles/2024/how-to-measure", BootstrapKey: sessionstore.BootstrapKey{byte(i), byte(i >> 8), 1}}
		ev := s.Visit(ctx, v, o)
		if ev.Fallback || !ev.NewClient {
			t.Fatalf("cookieless request %d: %+v", i, ev)
		}
		return ev
	}
	oneRequest(0)         // loads the script and opens the connections
	storetest.Flush(t, s) // the dashboard's keys of the day: not the visitor's
	keysBefore := keysAfterBootstrap(t, raw)
	before := r.UsedMemory()

	const n = 5000
	for i := 1; i <= n; i++ {
		oneRequest(i)
	}
	storetest.Flush(t, s)
	keysPerRequest := float64(keysAfterBootstrap(t, raw)-keysBefore) / n
	perRequest := (r.UsedMemory() - before) / n
	t.Logf("per cookieless request: %d bytes of used_memory, %.2f keys", perRequest, keysPerRequest)
	if perRequest > 400 || keysPerRequest != 1 {
		t.Errorf("a one-request visitor leaves %.2f keys and %d bytes in Redis, want 1 key and ≤ 400 bytes", keysPerRequest, perRequest)
	}

	ev := oneRequest(n + 1)
	pending := o.SessionTimeout + 5*time.Minute
	for key, ttl := range clientTTLs(t, raw, ev.ClientID) {
		if ttl <= o.SessionTimeout || ttl > pending {
			t.Errorf("new client's key %s expires in %v, want within (%v, %v]", key, ttl, o.SessionTimeout, pending)
		}
	}
	next := storetest.Visit(s, now.Add(time.Second), storetest.Returning(ev), o)
	if next.Fallback || next.ClientID != ev.ClientID || next.EventNumber != 2 {
		t.Fatalf("return visit: %+v", next)
	}
	for key, ttl := range clientTTLs(t, raw, ev.ClientID) {
		if ttl < sessionstore.DefaultRetention-time.Minute {
			t.Errorf("returned client's key %s expires in %v, want the retention %v", key, ttl, sessionstore.DefaultRetention)
		}
	}
}

// keysAfterBootstrap waits until the bootstrap keys have expired and Redis
// has reclaimed them (SCAN deletes the expired keys it meets), and returns
// how many keys Redis holds.
func keysAfterBootstrap(t *testing.T, c *redis.Client) int64 {
	t.Helper()
	ctx := context.Background()
	var live, boot, held int64
	reclaimed := func() bool {
		live, boot = 0, 0
		for iter := c.Scan(ctx, 0, "*", 1000).Iterator(); iter.Next(ctx); live++ {
			if strings.HasPrefix(iter.Val(), "test:b:") {
				boot++
			}
		}
		held = c.DBSize(ctx).Val()
		return boot == 0 && live == held
	}
	if !wait.Until(30*time.Second, 100*time.Millisecond, reclaimed) {
		t.Fatalf("%d bootstrap keys left, %d keys held of which %d live", boot, held, live)
	}
	return held
}

// clientTTLs returns the remaining lifetime of each key of a client.
func clientTTLs(t *testing.T, c *redis.Client, id uuid.UUID) map[string]time.Duration {
	t.Helper()
	ctx := context.Background()
	keys, err := c.Keys(ctx, "test:{"+id.String()+"}*").Result()
	if err != nil || len(keys) == 0 {
		t.Fatalf("keys of client %s: %v %v", id, keys, err)
	}
	ttls := map[string]time.Duration{}
	for _, k := range keys {
		ttls[k] = c.PTTL(ctx, k).Val()
	}
	return ttls
}

// TestRedisNewClientContinuesOnAnotherInstance: a new client's second
// request lands on another instance and continues the session that the
// first one started; when a later session begins, the first one's row is
// kept.
func TestRedisNewClientContinuesOnAnotherInstance(t *testing.T) {
	r := storetest.StartRedis(t)
	a, b := newRedisStore(t, r), newRedisStore(t, r)
	ctx := context.Background()
	now := time.Now()
	landing := sessionstore.Landing{Referer: "https://search.example/?q=x", Query: "utm_source=news&utm_medium=email&gclid=CLICK", Host: "site.example"}
	first := a.Visit(ctx, sessionstore.Visit{EventID: sessionstore.NewID(now), Now: now, Path: "/landing", Landing: landing}, storetest.Opts)
	second := storetest.Visit(b, now.Add(time.Minute), storetest.Returning(first), storetest.Opts)
	if second.Fallback || second.ClientID != first.ClientID || second.SessionID != first.SessionID ||
		second.EventNumber != 2 || second.NewSession || second.PreviousEventID != first.EventID {
		t.Fatalf("second request on another instance: %+v after %+v", second, first)
	}
	later := now.Add(time.Minute + storetest.Opts.SessionTimeout + time.Second)
	third := storetest.Visit(a, later, storetest.Returning(second), storetest.Opts)
	if third.Fallback || !third.NewSession || third.SessionNumber != 2 {
		t.Fatalf("visit after the timeout: %+v", third)
	}
	obj, sessions, err := b.Inspect(ctx, first.ClientID)
	if err != nil || obj == nil || obj.TotalEvents != 3 || !obj.FirstSeen.Equal(now.Truncate(time.Millisecond)) {
		t.Fatalf("stored object %+v (%v)", obj, err)
	}
	want := []sessionstore.SessionRow{
		{SessionID: third.SessionID, ClientID: first.ClientID, Started: later, LastSeen: later, Events: 1, LandingPath: "/"},
		{SessionID: first.SessionID, ClientID: first.ClientID, Started: now, LastSeen: now.Add(time.Minute), Events: 2,
			LandingPath: "/landing", Attribution: sessionstore.Attribution{ReferrerOrigin: "https://search.example",
				UTMSource: "news", UTMMedium: "email", ClickIDParam: "gclid"}},
	}
	if len(sessions) != len(want) {
		t.Fatalf("sessions %+v, want %+v", sessions, want)
	}
	for i, w := range want {
		w.Started, w.LastSeen = w.Started.Truncate(time.Millisecond), w.LastSeen.Truncate(time.Millisecond)
		if got := sessions[i]; got.SessionID != w.SessionID || !got.Started.Equal(w.Started) || !got.LastSeen.Equal(w.LastSeen) ||
			got.Events != w.Events || got.LandingPath != w.LandingPath || got.Attribution != w.Attribution || got.ClientID != w.ClientID {
			t.Errorf("session %d: %+v, want %+v", i, got, w)
		}
	}
}

// TestRedisJSONObjectOfAnEarlierVersion: a client stored as JSON by an
// earlier version is rebuilt from its cookies, without a fallback, and
// erasure removes the old keys too.
func TestRedisJSONObjectOfAnEarlierVersion(t *testing.T) {
	_, s, raw := redisStoreAndClient(t)
	ctx := context.Background()
	now := time.Now()
	id := sessionstore.NewID(now.Add(-time.Minute))
	base := "test:{" + id.String() + "}:"
	object := `{"fs":1,"ls":2,"sid":"` + id.String() + `","ss":1,"sn":4,"en":9,"te":40,"eid":"` + id.String() + `","cid":"` + id.String() + `"}`
	raw.HSet(ctx, base+"o", "v", "7", "d", object)
	raw.HSet(ctx, base+"s", id.String(), `{"sid":"`+id.String()+`","st":1,"ls":2,"ev":9}`)

	claim := sessionstore.Claim{ClientID: id, SessionID: id, EventID: id, FromCookie: true}
	ev := storetest.Visit(s, now, claim, storetest.Opts)
	if ev.Fallback || ev.ClientID != id || ev.SessionID != id || ev.EventNumber != 2 || ev.NewClient {
		t.Fatalf("visit of a client stored by an earlier version: %+v", ev)
	}
	obj, sessions, err := s.Inspect(ctx, id)
	if err != nil || obj == nil || obj.EventNumber != 2 || len(sessions) != 1 {
		t.Fatalf("inspect: %+v %+v (%v)", obj, sessions, err)
	}
	if found, err := s.Erase(ctx, id, now.Add(time.Hour)); !found || err != nil {
		t.Fatalf("erase: %v %v", found, err)
	}
	if keys := raw.Keys(ctx, base+"*").Val(); len(keys) != 1 || keys[0] != base+"t" {
		t.Fatalf("after erasure the client's keys are %v, want only its tombstone", keys)
	}
}
