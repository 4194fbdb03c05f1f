package sessionstore_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/c0f4626f/caddy-session/internal/storetest"

	"github.com/c0f4626f/caddy-session/internal/wait"

	. "github.com/c0f4626f/caddy-session/sessionstore"
)

// TestDiskFullOnRealTmpfs runs the store on a 1 MB tmpfs, fills it up, and
// checks that requests keep their identity without waiting, that the
// breaker opens, and that everything recovers once space is freed.
func TestDiskFullOnRealTmpfs(t *testing.T) {
	dir := t.TempDir()
	if err := syscall.Mount("tmpfs", dir, "tmpfs", 0, "size=1m"); err != nil {
		t.Skipf("cannot mount a tmpfs here (%v); the fault wrapper covers write errors", err)
	}
	t.Cleanup(func() { syscall.Unmount(dir, syscall.MNT_DETACH) })
	path := filepath.Join(dir, "sessions.db")
	s := NewWriteBehind(Config{FlushInterval: 10 * time.Millisecond}, openSQLite(path))
	defer s.Close()
	o := storetest.Opts
	o.PersistImmediately = true
	o.Timeout = 50 * time.Millisecond
	ev := storetest.Visit(s, time.Now(), Claim{}, o)
	storetest.Flush(t, s)

	filler := filepath.Join(dir, "filler")
	os.WriteFile(filler, bytes.Repeat([]byte("x"), 4<<20), 0o600) // fails part-way: the disk is full
	breakerOpen := func() bool {
		if s.Stats().BreakerOpen {
			return true
		}
		start := time.Now()
		storetest.Visit(s, time.Now(), Claim{}, o) // new clients, each a write the full disk refuses
		got := storetest.Visit(s, time.Now(), storetest.Returning(ev), o)
		if got.ClientID != ev.ClientID || time.Since(start) > 2*o.Timeout+500*time.Millisecond {
			t.Fatalf("with the disk full: %+v after %v", got, time.Since(start))
		}
		ev = got
		return false
	}
	if !wait.Until(10*time.Second, 20*time.Millisecond, breakerOpen) {
		t.Fatalf("the breaker never opened on a full disk: %+v", s.Stats())
	}
	if got := storetest.Visit(s, time.Now(), storetest.Returning(ev), o); !got.Fallback || got.FallbackReason != ReasonBreaker || got.ClientID != ev.ClientID {
		t.Fatalf("breaker open: %+v", got)
	}

	os.Remove(filler)
	recovered := func() bool {
		return !storetest.Visit(s, time.Now(), storetest.Returning(ev), o).Fallback && s.Flush(context.Background()) == nil
	}
	if !wait.Until(40*time.Second, 100*time.Millisecond, recovered) {
		t.Fatalf("never recovered after space was freed: %+v", s.Stats())
	}
	if st := s.Stats(); st.QueueDepth != 0 || !st.Healthy {
		t.Fatalf("after recovery: %+v", st)
	}
}
