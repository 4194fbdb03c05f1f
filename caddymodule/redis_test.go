package caddymodule_test

import (
	"net/http"
	"sort"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/c0f4626f/caddy-session/internal/testredis"
)

// TestRedisTwoInstances runs two Caddy instances (this process and the
// binary) on one redis-server, as behind a load balancer.
func TestRedisTwoInstances(t *testing.T) {
	noteSkip(t)
	r := testredis.Start(t)
	s := &site{t: t, upstream: newUpstream(t), dir: t.TempDir(), store: redisBlock(r.Addr())}
	s.tester = startSite(t, "").tester
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
		deadline := time.Now().Add(40 * time.Second)
		for {
			_, up := b.get("/")
			if up.Header.Get("X-Session-Fallback") == "false" {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s never recovered after redis came back", base)
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
}

// concurrentOverInstances sends n requests with b's cookies at once, spread
// over the instances, and returns their event numbers.
func concurrentOverInstances(t *testing.T, b *browser, instances []string, n int) []int {
	cookie := b.cookieHeader()
	numbers := make([]int, n)
	var wg sync.WaitGroup
	for i := range numbers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := newBrowser(t)
			c.ua, c.base = b.ua, instances[i%len(instances)]
			req, _ := http.NewRequest(http.MethodGet, c.base+"/", nil)
			req.Header.Set("User-Agent", c.ua)
			req.Header.Set("Cookie", cookie)
			_, up := c.do(req)
			numbers[i], _ = strconv.Atoi(up.Header.Get("X-Session-Event-Number"))
		}()
	}
	wg.Wait()
	return numbers
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
