package sessionstore

import (
	"fmt"
	"os"
	"os/exec"
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

// requireBinary skips t when a program is missing (failing the run under CI).
func requireBinary(t testing.TB, name string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err != nil {
		skippedUnderCI.Store(true)
		t.Skipf("%s not installed: %v (apt-get install %s)", name, err, name)
	}
	return path
}
