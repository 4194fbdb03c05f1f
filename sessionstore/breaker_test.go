package sessionstore

import (
	"testing"
	"time"
)

func TestBreakerLetsOneProbeThroughPerCoolDown(t *testing.T) {
	b := newBreaker("")
	t0 := time.Now()
	for i := range breakerThreshold {
		if _, ok := b.admit(t0); !ok {
			t.Fatalf("closed breaker refused call %d", i)
		}
		b.record(t0, t0, true)
	}
	if _, ok := b.admit(t0.Add(minCooldown - time.Millisecond)); ok {
		t.Fatal("a call went through during the cool-down")
	}
	end := t0.Add(minCooldown)
	p, ok := b.admit(end)
	if !ok || p.b == nil {
		t.Fatal("no probe after the cool-down")
	}
	if _, ok := b.admit(end); ok {
		t.Fatal("a second call went through while the probe was under way")
	}
	b.record(end, end, true) // the probe failed: twice as long
	if _, ok := b.admit(end.Add(2*minCooldown - time.Millisecond)); ok {
		t.Fatal("a call went through before the doubled cool-down ended")
	}
	p, _ = b.admit(end.Add(2 * minCooldown))
	p.release() // the probe made no call: the next one probes
	later := end.Add(2 * minCooldown)
	if _, ok := b.admit(later); !ok {
		t.Fatal("a released probe blocked the next one")
	}
	b.record(later, later, false)
	if _, ok := b.admit(later); !ok || b.open(later) {
		t.Fatal("the probe's success did not close the breaker")
	}
}

func TestBreakerIgnoresCallsThatStartedBeforeItChanged(t *testing.T) {
	b := newBreaker("")
	t0 := time.Now()
	for range breakerThreshold {
		b.record(t0, t0, true)
	}
	for i := range 20 { // in flight when it tripped, failing afterwards
		b.record(t0, t0.Add(time.Duration(i)*time.Millisecond), true)
	}
	end := t0.Add(minCooldown)
	if !b.open(end.Add(-time.Millisecond)) || b.open(end) {
		t.Fatal("failures of calls in flight at the trip changed the cool-down")
	}
	b.record(t0, end, false) // nor does a late success close it
	if !b.open(end.Add(-time.Millisecond)) {
		t.Fatal("the success of a call from before the trip closed the breaker")
	}
	for i := range 20 { // the cool-down never grows past maxCooldown
		at := end.Add(time.Duration(i) * maxCooldown)
		b.admit(at)
		b.record(at, at, true)
	}
	last := end.Add(19 * maxCooldown)
	if b.open(last.Add(maxCooldown)) {
		t.Fatalf("cool-down longer than %v", maxCooldown)
	}
}
