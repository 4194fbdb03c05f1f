package sessionstore

import (
	"fmt"
	"os"
	"sync/atomic"
	"testing"
)

// skippedUnderCI is set by a test that skipped for a missing dependency;
// under CI=true that fails the run, because a skip hides a missing install.
var skippedUnderCI atomic.Bool

func TestMain(m *testing.M) {
	code := m.Run()
	if os.Getenv("CI") == "true" && skippedUnderCI.Load() {
		fmt.Fprintln(os.Stderr, "FAIL: a test skipped for a missing dependency under CI=true")
		code = 1
	}
	os.Exit(code)
}
