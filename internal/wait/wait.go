// Package wait polls a condition with a deadline, for tests and tools that
// wait for something to start or to recover without timing it.
package wait

import (
	"net"
	"time"
)

// Until checks cond every interval until it holds and reports whether it
// did before timeout. cond runs at least once, and once more after the
// deadline has passed, so a slow machine that sleeps past the deadline still
// sees the final state.
func Until(timeout, interval time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(interval)
	}
	return true
}

// Listening waits up to timeout until addr accepts TCP connections and
// reports whether it did.
func Listening(addr string, timeout time.Duration) bool {
	return Until(timeout, 50*time.Millisecond, func() bool {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
		}
		return err == nil
	})
}
