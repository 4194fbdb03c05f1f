package caddymodule_test

import (
	"encoding/json"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2/caddytest"

	"github.com/c0f4626f/caddy-session/caddymodule"
	"github.com/c0f4626f/caddy-session/internal/concurrent"
	"github.com/c0f4626f/caddy-session/internal/testredis"
	"github.com/c0f4626f/caddy-session/internal/wait"
)

// redisSite is a site whose store is the redis-server at addr, its
// tester started with options.
func redisSite(t *testing.T, addr, options string) *site {
	s := &site{t: t, upstream: newUpstream(t), dir: t.TempDir(), store: redisBlock(addr)}
	s.tester = startSite(t, options).tester
	return s
}

// TestRedisTwoInstances runs two Caddy instances (this process and the
// binary) on one redis-server, as behind a load balancer.
func TestRedisTwoInstances(t *testing.T) {
	noteSkip(t)
	r := testredis.Start(t)
	s := redisSite(t, r.Addr(), "")
	s.load("")
	bin, dir := caddyBinary(t), t.TempDir()
	binaryConfig := func(options string) string {
		return procConfigWith(dir, "secret "+testKey+"\n\t\t"+options+"\n\t\t"+redisBlock(r.Addr()))
	}
	startCaddy(t, bin, dir, binaryConfig(""))

	b := newBrowser(t)
	instances := []string{siteURL, procURL}
	var first received
	for i := 1; i <= 6; i++ {
		b.base = instances[i%2]
		_, up := b.get("/")
		if i == 1 {
			first = up
		}
		expect(t, up.Header, map[string]string{
			"X-Session-Client-Id": first.Header.Get("X-Session-Client-Id"), "X-Session-Id": first.Header.Get("X-Session-Id"),
			"X-Session-Event-Number": strconv.Itoa(i), "X-Session-Fallback": "false",
		})
	}

	numbers := concurrentOverInstances(t, b, instances, 40)
	sort.Ints(numbers)
	for i, n := range numbers {
		if n != 7+i {
			t.Fatalf("event numbers %v, want 7..46", numbers)
		}
	}

	// The deadline, apart from the counting above: both instances now give
	// up on Redis after 200ms, and Redis stalls for much longer.
	s.load("store_timeout 200ms")
	reloadCaddy(t, bin, dir, binaryConfig("store_timeout 200ms"))
	r.Stall(3 * time.Second)
	expectFallbackKeepsIdentity(t, b, instances, first)
	time.Sleep(3 * time.Second)

	r.Kill()
	expectFallbackKeepsIdentity(t, b, instances, first)
	r.Restart()
	for _, base := range instances {
		b.base = base
		if _, ok := untilServedFromStore(b, 40*time.Second); !ok {
			t.Fatalf("%s never recovered after redis came back", base)
		}
	}
}

// concurrentOverInstances sends n requests with b's cookies at once, spread
// over the instances, and returns their event numbers.
func concurrentOverInstances(t *testing.T, b *browser, instances []string, n int) []int {
	cookie := b.cookieHeader()
	return concurrent.Map(n, func(i int) int {
		c := newBrowser(t)
		c.ua, c.base = b.ua, instances[i%len(instances)]
		req, _ := http.NewRequest(http.MethodGet, c.base+"/", nil)
		req.Header.Set("User-Agent", c.ua)
		req.Header.Set("Cookie", cookie)
		_, up := c.do(req)
		number, _ := strconv.Atoi(up.Header.Get("X-Session-Event-Number"))
		return number
	})
}

// untilServedFromStore repeats b's request until it is answered from the
// store, and returns that answer; ok is false if none was within timeout.
func untilServedFromStore(b *browser, timeout time.Duration) (up received, ok bool) {
	ok = wait.Until(timeout, 200*time.Millisecond, func() bool {
		_, up = b.get("/")
		return up.Header.Get("X-Session-Fallback") == "false"
	})
	return up, ok
}

// expectFallbackKeepsIdentity checks that every instance answers within the
// store timeout plus a margin for a loaded machine (well short of the
// stall), as a fallback with the same identity.
func expectFallbackKeepsIdentity(t *testing.T, b *browser, instances []string, first received) {
	t.Helper()
	for _, base := range instances {
		b.base = base
		start := time.Now()
		_, up := b.get("/")
		if elapsed := time.Since(start); elapsed > time.Second {
			t.Errorf("%s took %v with redis unavailable", base, elapsed)
		}
		expect(t, up.Header, map[string]string{
			"X-Session-Fallback": "true", "X-Session-Client-Id": first.Header.Get("X-Session-Client-Id"),
			"X-Session-Id": first.Header.Get("X-Session-Id"),
		})
	}
}

// TestRedisPasswordRotationOnReload rotates the Redis password: after a
// reload with the new password, requests are served from the store again,
// and the stats never show either password.
func TestRedisPasswordRotationOnReload(t *testing.T) {
	noteSkip(t)
	r := testredis.Start(t)
	const first, rotated = "first-redis-password-6f1c", "rotated-redis-password-9ad2"
	r.RequirePassword(first)
	s := &site{t: t, tester: caddytest.NewTester(t), upstream: newUpstream(t), dir: t.TempDir(), store: redisBlockWith(r.Addr(), "password "+first)}
	s.load("store_timeout 5s")
	b := newBrowser(t)
	_, up := b.get("/")
	expect(t, up.Header, map[string]string{"X-Session-Fallback": "false"})
	cid := up.Header.Get("X-Session-Client-Id")

	r.RequirePassword(rotated)
	_, up = b.get("/")
	expect(t, up.Header, map[string]string{"X-Session-Fallback": "true", "X-Session-Client-Id": cid})

	s.store = redisBlockWith(r.Addr(), "password "+rotated)
	s.load("store_timeout 5s")
	up, ok := untilServedFromStore(b, 10*time.Second)
	if !ok {
		t.Fatal("still in fallback after the reload with the new password")
	}
	expect(t, up.Header, map[string]string{"X-Session-Client-Id": cid})

	var stats json.RawMessage
	adminDo(t, http.MethodGet, "/session/stats", &stats)
	if !strings.Contains(string(stats), `"redis:`) || strings.Contains(string(stats), first) || strings.Contains(string(stats), rotated) {
		t.Fatalf("stats show a password or no redis store: %s", stats)
	}
}

// TestRedisPoolKeyTellsConnectionsApart: every setting that changes the
// connection changes the key; the key shows no password.
func TestRedisPoolKeyTellsConnectionsApart(t *testing.T) {
	base := caddymodule.RedisStore{Address: []string{"10.0.0.5:6379"}, Username: "caddy", Password: "hunter2-secret", KeyPrefix: "p:"}
	variants := map[string]func(*caddymodule.RedisStore){
		"password": func(s *caddymodule.RedisStore) { s.Password = "another-secret" },
		"username": func(s *caddymodule.RedisStore) { s.Username = "other" },
		"tls":      func(s *caddymodule.RedisStore) { s.TLS = true },
		"db":       func(s *caddymodule.RedisStore) { s.DB = 1 },
		"prefix":   func(s *caddymodule.RedisStore) { s.KeyPrefix = "q:" },
		"no auth":  func(s *caddymodule.RedisStore) { s.Username, s.Password = "", "" },
	}
	same := base
	if base.PoolKey() != same.PoolKey() {
		t.Fatalf("one configuration, two keys: %q %q", base.PoolKey(), same.PoolKey())
	}
	if strings.Contains(base.PoolKey(), base.Password) {
		t.Fatalf("pool key %q shows the password", base.PoolKey())
	}
	for name, change := range variants {
		v := base
		change(&v)
		if v.PoolKey() == base.PoolKey() {
			t.Errorf("changing the %s keeps the pool key %q", name, base.PoolKey())
		}
	}
}

// redisBlockWith is a store redis block with more options, one a line.
func redisBlockWith(addr string, options ...string) string {
	return "store redis {\n\t\t\taddress " + addr + "\n\t\t\t" + strings.Join(options, "\n\t\t\t") + "\n\t\t}"
}
