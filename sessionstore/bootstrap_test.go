package sessionstore

import (
	"testing"
	"time"

	"github.com/google/uuid"
)

func TestBootstrapKeysAreBoundedOldestFirst(t *testing.T) {
	b := newBootstrap(100)
	now := time.Now()
	key := func(i int) BootstrapKey { return BootstrapKey{byte(i), byte(i >> 8)} }
	for i := range 1000 {
		b.clientFor(key(i), now, time.Minute, false, uuid.New)
	}
	if n := b.len(); n != 100 {
		t.Fatalf("%d keys kept, want the bound of 100", n)
	}
	if _, joined := b.clientFor(key(0), now, time.Minute, false, uuid.New); joined {
		t.Fatal("the oldest key outlived the bound")
	}
	if _, joined := b.clientFor(key(999), now, time.Minute, false, uuid.New); !joined {
		t.Fatal("the newest key was dropped")
	}
}

// Sites with different windows share one map: a short window behind a long
// one still ends on time, and a key added again after its window is a new
// client that the old entry's expiry does not remove.
func TestBootstrapWindowsOfDifferentLengths(t *testing.T) {
	b := newBootstrap(100)
	now := time.Now()
	long, short := BootstrapKey{1}, BootstrapKey{2}
	b.clientFor(long, now, time.Hour, false, uuid.New)
	first, _ := b.clientFor(short, now, time.Second, false, uuid.New)
	later := now.Add(2 * time.Second)
	second, joined := b.clientFor(short, later, time.Minute, false, uuid.New)
	if joined || second == first {
		t.Fatal("a key joined a client after its window")
	}
	if again, joined := b.clientFor(short, later.Add(time.Second), time.Minute, false, uuid.New); !joined || again != second {
		t.Fatal("a key added again lost its client to the old entry's expiry")
	}
	if n := b.len(); n != 2 {
		t.Fatalf("%d keys, want 2", n)
	}
}

// A window that two page loads contested still ends on time, and the next
// visit opens a new one that others join.
func TestContestedWindowEndsOnTime(t *testing.T) {
	b := newBootstrap(100)
	now := time.Now()
	key := BootstrapKey{1}
	b.clientFor(key, now, time.Second, true, uuid.New)
	b.clientFor(key, now, time.Second, true, uuid.New)
	if _, joined := b.clientFor(key, now, time.Second, false, uuid.New); joined {
		t.Fatal("a request joined a contested window")
	}
	later := now.Add(time.Second)
	opened, _ := b.clientFor(key, later, time.Second, false, uuid.New)
	if again, joined := b.clientFor(key, later, time.Second, false, uuid.New); !joined || again != opened {
		t.Fatal("the window after a contested one was not joined")
	}
	if n := b.len(); n != 1 {
		t.Fatalf("%d keys, want 1", n)
	}
}
