package sessionstore

import (
	"sync"
	"time"
)

// breaker skips a failing back end for a cool-down, then lets requests try
// it again: the first failure after the cool-down reopens it for twice as
// long (up to maxCooldown), the first success closes it.
type breaker struct {
	mu        sync.Mutex
	threshold int
	failures  int
	cooldown  time.Duration
	openUntil time.Time
	tripped   bool
}

const (
	breakerThreshold = 5
	minCooldown      = time.Second
	maxCooldown      = 30 * time.Second
)

func newBreaker() *breaker {
	return &breaker{threshold: breakerThreshold, cooldown: minCooldown}
}

// allow reports whether the back end may be used at now.
func (b *breaker) allow(now time.Time) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return !now.Before(b.openUntil)
}

// open reports whether the breaker is currently skipping the back end.
func (b *breaker) open(now time.Time) bool { return !b.allow(now) }

func (b *breaker) success() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.failures, b.tripped, b.cooldown = 0, false, minCooldown
	b.openUntil = time.Time{}
}

// failure records a failed call and reports whether it opened the breaker.
func (b *breaker) failure(now time.Time) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.failures++
	if !b.tripped && b.failures < b.threshold {
		return false
	}
	if b.tripped {
		b.cooldown = min(2*b.cooldown, maxCooldown)
	}
	b.tripped = true
	b.openUntil = now.Add(b.cooldown)
	return true
}
