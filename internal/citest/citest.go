// Package citest makes a test run that skipped for a missing dependency fail
// under CI=true, where a skip would hide a missing install step.
package citest

import (
	"flag"
	"fmt"
	"os"
	"sync/atomic"
	"testing"
)

var skipped atomic.Bool

// Main runs the tests. Under CI=true it refuses -short (the real-server
// tests would skip) and fails the run when a test marked with NoteSkip
// skipped.
func Main(m *testing.M) {
	flag.Parse()
	ci := os.Getenv("CI") == "true"
	if testing.Short() && ci {
		fmt.Fprintln(os.Stderr, "caddy-session tests run real servers; -short would skip them")
		os.Exit(1)
	}
	code := m.Run()
	if ci && skipped.Load() {
		fmt.Fprintln(os.Stderr, "FAIL: a test skipped for a missing dependency under CI=true")
		code = 1
	}
	os.Exit(code)
}

// NoteSkip marks t: if it skips, the run fails under CI=true.
func NoteSkip(t testing.TB) {
	t.Cleanup(func() {
		if t.Skipped() {
			skipped.Store(true)
		}
	})
}
