package sessionstore

import (
	"sync"
	"time"
)

// breaker skips a failing back end (or one node of it) for a cool-down.
// threshold consecutive failures open it; once the cool-down has passed it
// lets one call through, the probe: the probe's success closes it, its
// failure opens it again for twice as long, up to maxCooldown. So the
// cool-down follows the outage (one doubling per probe) and recovery comes
// at most maxCooldown after the back end answers again.
//
// Outcomes are judged by when their call started: a call that started
// before the breaker last opened or closed (one in flight when it tripped,
// or a background write while it was open) tells nothing new and is
// ignored, so a burst of requests that fail together trips it once.
type breaker struct {
	node      string // "" for the store as a whole
	mu        sync.Mutex
	failures  int // consecutive, while closed
	cooldown  time.Duration
	openUntil time.Time // zero while closed
	countFrom time.Time // calls that started earlier are ignored
	probing   bool      // the probe of this cool-down is under way
	lastUsed  time.Time
}

const (
	breakerThreshold = 5
	minCooldown      = 500 * time.Millisecond
	maxCooldown      = time.Second
)

func newBreaker(node string) *breaker { return &breaker{node: node, cooldown: minCooldown} }

// probe is the leave a half-open breaker gave one call; the zero probe is
// an ordinary call.
type probe struct {
	b      *breaker
	window time.Time
}

// admit reports whether a call may use the back end at now. When the call
// is the probe, release must be called on the returned probe once the call
// is over.
func (b *breaker) admit(now time.Time) (probe, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.lastUsed = now
	switch {
	case b.openUntil.IsZero():
		return probe{}, true
	case now.Before(b.openUntil) || b.probing:
		return probe{}, false
	}
	b.probing = true
	return probe{b, b.openUntil}, true
}

// release ends a probe that reported no outcome (a visit answered from
// memory), so that the next call probes instead.
func (p probe) release() {
	if p.b == nil {
		return
	}
	p.b.mu.Lock()
	defer p.b.mu.Unlock()
	if p.b.probing && p.b.openUntil.Equal(p.window) {
		p.b.probing = false
	}
}

// open reports whether a call at now would be skipped.
func (b *breaker) open(now time.Time) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return !b.openUntil.IsZero() && (now.Before(b.openUntil) || b.probing)
}

// record feeds the outcome of a call that started at start and reports
// whether it opened the breaker.
func (b *breaker) record(start, now time.Time, failed bool) (tripped bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	switch {
	case start.Before(b.countFrom):
		return false
	case !failed && b.openUntil.IsZero():
		b.failures = 0
	case !failed:
		b.failures, b.openUntil, b.cooldown, b.probing = 0, time.Time{}, minCooldown, false
		b.countFrom = now
	case !b.openUntil.IsZero():
		b.cooldown = min(2*b.cooldown, maxCooldown)
		b.reopen(now)
	default:
		b.failures++
		if b.failures < breakerThreshold {
			return false
		}
		b.reopen(now)
		return true
	}
	return false
}

func (b *breaker) reopen(now time.Time) {
	b.openUntil = now.Add(b.cooldown)
	b.countFrom, b.probing = b.openUntil, false
}

// idle reports whether no call has asked the breaker since before.
func (b *breaker) idle(before time.Time) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.lastUsed.Before(before)
}
