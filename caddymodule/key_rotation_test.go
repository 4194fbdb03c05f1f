package caddymodule_test

import (
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/c0f4626f/caddy-session/internal/testredis"
)

// newKey is the key a fleet signing with testKey rotates to.
const newKey = "rotated-signing-key-0123456789abcdef0123456789"

// fleet is two instances of the built binary on one redis-server, as
// behind a load balancer that sends each request to either.
type fleet struct {
	t         *testing.T
	bin       string
	redis     string
	instances [2]fleetInstance
	secrets   [2]string // each instance's secret line
}

type fleetInstance struct{ url, admin, dir string }

// startFleet runs both instances with the secret line's keys.
func startFleet(t *testing.T, bin, secret string) *fleet {
	noteSkip(t)
	f := &fleet{t: t, bin: bin, redis: testredis.Start(t).Addr(), instances: [2]fleetInstance{
		{url: procURL, admin: procAdmin, dir: t.TempDir()},
		{url: "http://localhost:9181", admin: "localhost:4000", dir: t.TempDir()},
	}}
	for i, in := range f.instances {
		f.secrets[i] = secret
		startCaddyAt(t, bin, in.dir, f.config(i), in.admin)
	}
	return f
}

func (f *fleet) config(i int) string {
	in := f.instances[i]
	return procConfigOn(in.url, in.admin, in.dir, "secret "+f.secrets[i]+"\n\t\tfingerprint\n\t\t"+redisBlock(f.redis))
}

// reload gives instance i the secret line's keys.
func (f *fleet) reload(i int, secret string) {
	f.secrets[i] = secret
	in := f.instances[i]
	reloadCaddyAt(f.t, f.bin, in.dir, f.config(i), in.admin)
}

// rotation step: instance i is reloaded with the secret line's keys.
type rotationStep struct {
	instance int
	secret   string
}

// visitor is a browser of the fleet and the client it was given first.
type visitor struct {
	*browser
	client string
	last   string // the client of its latest page
	lostAt string // the step after which it was a new client; "" if never
}

// rollOut gives each of n visitors a client, then applies the steps one
// by one: after each, every visitor loads a page from each instance, half
// of them A first and half B first. It returns the visitors, which tell
// who became a new client and when. Each page is served from the store,
// and where the instances sign with the same first key they give a
// visitor the same fingerprint.
func (f *fleet) rollOut(n int, steps ...rotationStep) []*visitor {
	t := f.t
	visitors := make([]*visitor, n)
	for v := range visitors {
		b := newBrowser(t)
		b.ua += " visitor " + strconv.Itoa(v)
		b.base = f.instances[v%2].url
		_, up := b.get("/")
		visitors[v] = &visitor{browser: b, client: up.Header.Get("X-Session-Client-Id")}
	}
	for s, step := range steps {
		f.reload(step.instance, step.secret)
		name := fmt.Sprintf("step %d (%s: secret %s)", s+1, "AB"[step.instance:step.instance+1], keyNames(step.secret))
		for v, vis := range visitors {
			var fingerprints [2]string
			for j := range 2 {
				i := (v + j) % 2
				vis.base = f.instances[i].url
				_, up := vis.get("/")
				h := up.Header
				if h.Get("X-Session-Fallback") != "false" {
					t.Fatalf("%s: visitor %d served without the store: %v", name, v, h)
				}
				vis.last = h.Get("X-Session-Client-Id")
				if vis.last != vis.client && vis.lostAt == "" {
					vis.lostAt = fmt.Sprintf("%s, on %s", name, "AB"[i:i+1])
				}
				fingerprints[i] = h.Get("X-Session-Fingerprint")
			}
			if firstKey(f.secrets[0]) == firstKey(f.secrets[1]) && fingerprints[0] != fingerprints[1] {
				t.Errorf("%s: both instances sign with one key but give visitor %d the fingerprints %q", name, v, fingerprints)
			}
		}
	}
	return visitors
}

func firstKey(secret string) string { return strings.Fields(secret)[0] }

// keyNames spells a secret line as OLD and NEW.
func keyNames(secret string) string {
	return strings.NewReplacer(testKey, "OLD", newKey, "NEW").Replace(secret)
}

func lost(visitors []*visitor) (out []string) {
	for v, vis := range visitors {
		if vis.lostAt != "" {
			out = append(out, fmt.Sprintf("visitor %d after %s", v, vis.lostAt))
		}
	}
	return out
}

// A rotation as one step (the new key put first on each instance in turn)
// loses identities in a fleet: while A signs with NEW and B knows only
// OLD, a visitor whose cookies A re-signed is a stranger to B, and stays a
// new client for good. The README's two phases (NEW added second
// everywhere, then moved first everywhere, then OLD dropped) lose none.
func TestKeyRotationInAFleet(t *testing.T) {
	bin := caddyBinary(t)
	old, both, swapped := testKey, testKey+" "+newKey, newKey+" "+testKey
	const visitors = 6

	t.Run("one step", func(t *testing.T) {
		f := startFleet(t, bin, old)
		all := f.rollOut(visitors, rotationStep{0, swapped}, rotationStep{1, swapped})
		gone := lost(all)
		if len(gone) == 0 {
			t.Fatal("the one-step rotation kept every identity; the test no longer shows what the two phases avoid")
		}
		t.Logf("one step: %d of %d visitors became new clients: %s", len(gone), visitors, strings.Join(gone, "; "))
		for v, vis := range all {
			if vis.lostAt != "" && vis.last == vis.client {
				t.Errorf("visitor %d got its client back after the rotation", v)
			}
		}
	})

	t.Run("two phases", func(t *testing.T) {
		f := startFleet(t, bin, old)
		gone := lost(f.rollOut(visitors,
			rotationStep{0, both}, rotationStep{1, both}, // phase 1: NEW added second
			rotationStep{0, swapped}, rotationStep{1, swapped}, // phase 2: NEW moved first
			rotationStep{0, newKey}, rotationStep{1, newKey}, // OLD dropped
		))
		if len(gone) != 0 {
			t.Errorf("the two-phase rotation lost %d of %d visitors: %s", len(gone), visitors, strings.Join(gone, "; "))
		}
	})
}
