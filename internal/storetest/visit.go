// Package storetest holds what the tests of the session store and of its
// back ends share: the options they visit with, a visit and the claim a
// browser sends back, and a load of clients over several instances that
// checks recovery and counters.
package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/c0f4626f/caddy-session/internal/citest"
	"github.com/c0f4626f/caddy-session/internal/testredis"
	"github.com/c0f4626f/caddy-session/internal/wait"
	"github.com/c0f4626f/caddy-session/sessionstore"
)

// Opts is what the tests visit with. Its deadline is far beyond any store
// call on a loaded machine under -race, so that a test that counts events
// or expects no fallback never meets it; tests about the deadline set
// their own.
var Opts = sessionstore.Options{
	Policy:          sessionstore.Policy{SessionTimeout: 30 * time.Minute},
	Timeout:         5 * time.Second,
	BootstrapWindow: 2 * time.Second,
}

// Visit is one request of the claim's browser at now, to path "/".
func Visit(s *sessionstore.Store, now time.Time, c sessionstore.Claim, o sessionstore.Options) sessionstore.Event {
	return s.Visit(context.Background(), sessionstore.Visit{Claim: c, EventID: sessionstore.NewID(now), Now: now, Path: "/"}, o)
}

// Returning is the claim a browser sends after ev.
func Returning(ev sessionstore.Event) sessionstore.Claim {
	return sessionstore.Claim{ClientID: ev.ClientID, SessionID: ev.SessionID, EventID: ev.EventID, FromCookie: true}
}

// UntilStored repeats the visit of ev's client every interval until the
// store answers it, not a fallback, and returns that answer; ok is false if
// none came within timeout.
func UntilStored(s *sessionstore.Store, ev sessionstore.Event, o sessionstore.Options, timeout, interval time.Duration) (got sessionstore.Event, ok bool) {
	ok = wait.Until(timeout, interval, func() bool {
		got = Visit(s, time.Now(), Returning(ev), o)
		return !got.Fallback
	})
	return got, ok
}

// Flush writes what a write-behind store holds, failing the test if it
// cannot.
func Flush(t testing.TB, s *sessionstore.Store) {
	t.Helper()
	if err := s.Flush(context.Background()); err != nil {
		t.Fatalf("flush: %v", err)
	}
}

// StartRedis runs a real redis-server for the test.
func StartRedis(t testing.TB) *testredis.Server {
	citest.NoteSkip(t)
	return testredis.Start(t)
}
