//go:build unix

package geoip

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/c0f4626f/caddy-session/internal/testgeo"
)

// A file too large to be a country or city database is refused before it
// is read into memory (a sparse terabyte here), and so is a directory.
func TestOpenRefusesWhatCannotBeADatabaseFile(t *testing.T) {
	huge := filepath.Join(t.TempDir(), "huge.mmdb")
	f, err := os.Create(huge)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := f.Truncate(1 << 40); err != nil {
		t.Skipf("no sparse files here: %v", err)
	}
	for _, path := range []string{huge, t.TempDir()} {
		if err := Check(path); err == nil {
			t.Errorf("%s was accepted", path)
		}
	}
}

// A FIFO put at the path does not block the watcher, so Close returns.
func TestAFIFOAtThePathDoesNotHangTheWatcher(t *testing.T) {
	db, path := openTestDB(t, testgeo.City, Options{CheckInterval: 10 * time.Millisecond})
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(path, 0o600); err != nil {
		t.Skipf("no FIFOs here: %v", err)
	}
	time.Sleep(100 * time.Millisecond) // several checks of the watcher
	closed := make(chan struct{})
	go func() { db.Close(); close(closed) }()
	select {
	case <-closed:
	case <-time.After(10 * time.Second):
		t.Fatal("Close does not return: the watcher is blocked opening the FIFO")
	}
}
