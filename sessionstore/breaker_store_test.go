package sessionstore_test

import (
	"context"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/c0f4626f/caddy-session/internal/storetest"

	"github.com/google/uuid"

	"github.com/c0f4626f/caddy-session/internal/concurrent"
	. "github.com/c0f4626f/caddy-session/sessionstore"
	"github.com/c0f4626f/caddy-session/sessionstore/sqlite"
)

// stallingBackend is real SQLite that, while stalled, answers no load until
// the deadline, like a disk or server that stopped answering.
type stallingBackend struct {
	*sqlite.Backend
	stalled atomic.Bool
}

func (b *stallingBackend) Load(ctx context.Context, id uuid.UUID) (*Object, error) {
	if b.stalled.Load() {
		<-ctx.Done()
		return nil, ctx.Err()
	}
	return b.Backend.Load(ctx, id)
}

// TestBreakerTripsOnceForRequestsFailingTogether stalls the back end under
// concurrent requests of 16 clients: they all time out at once, which opens
// the breaker once, and the store is used again within about a second of
// answering again (it used to double the cool-down for every request in
// flight: 30 s).
func TestBreakerTripsOnceForRequestsFailingTogether(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sessions.db")
	sb := &stallingBackend{}
	s := NewWriteBehind(Config{CacheSize: -1}, func() (WriteBehind, error) {
		b, err := sqlite.Open(path, sqlite.Options{})
		sb.Backend = b
		return sb, err
	})
	t.Cleanup(func() { s.Close() })
	o := storetest.Opts
	o.Timeout = 50 * time.Millisecond
	o.PersistImmediately = true
	clients := concurrent.Map(16, func(int) Event { return storetest.Visit(s, time.Now(), Claim{}, o) })
	storetest.Flush(t, s)

	sb.stalled.Store(true)
	for i, got := range concurrent.Map(16, func(i int) Event { return storetest.Visit(s, time.Now(), storetest.Returning(clients[i]), o) }) {
		if !got.Fallback || got.ClientID != clients[i].ClientID {
			t.Fatalf("stalled store: %+v", got)
		}
	}
	if !s.Stats().BreakerOpen {
		t.Fatal("16 timeouts did not open the breaker")
	}
	sb.stalled.Store(false)
	healed := time.Now()
	if _, ok := storetest.UntilStored(s, clients[0], o, storetest.RecoveryBound, 20*time.Millisecond); !ok {
		t.Fatalf("still skipping the store %v after it answers again: %+v", storetest.RecoveryBound, s.Stats())
	}
	t.Logf("store used again %v after it answered again", time.Since(healed).Round(time.Millisecond))
}
