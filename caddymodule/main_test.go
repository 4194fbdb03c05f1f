package caddymodule_test

import (
	"flag"
	"fmt"
	"os"
	"sync/atomic"
	"testing"
)

// skippedUnderCI is set by a test that skipped for a missing dependency;
// under CI=true that fails the run, because a skip hides a missing install.
var skippedUnderCI atomic.Bool

func TestMain(m *testing.M) {
	flag.Parse()
	ci := os.Getenv("CI") == "true"
	if testing.Short() && ci {
		fmt.Fprintln(os.Stderr, "caddy-session tests run real Caddy servers; -short would skip them")
		os.Exit(1)
	}
	code := m.Run()
	if ci && skippedUnderCI.Load() {
		fmt.Fprintln(os.Stderr, "FAIL: a test skipped for a missing dependency under CI=true")
		code = 1
	}
	os.Exit(code)
}

// noteSkip marks t so that a skip fails the run under CI.
func noteSkip(t *testing.T) {
	t.Cleanup(func() {
		if t.Skipped() {
			skippedUnderCI.Store(true)
		}
	})
}
