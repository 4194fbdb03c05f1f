package redis

import (
	"context"
	"testing"
	"time"

	"github.com/c0f4626f/caddy-session/internal/citest"
	"github.com/c0f4626f/caddy-session/internal/storetest"
	"github.com/c0f4626f/caddy-session/internal/testredis"
	"github.com/c0f4626f/caddy-session/internal/wait"
	"github.com/c0f4626f/caddy-session/sessionstore"
)

func TestRedisUserBindingAndErasure(t *testing.T) {
	r := storetest.StartRedis(t)
	storetest.ExpectUserBinding(t, newRedisStore(t, r), newRedisStore(t, r))
}

func TestRedisEitherUserErasesABrowserOfTwo(t *testing.T) {
	storetest.ExpectEitherUserErasesABrowserOfTwo(t, newRedisStore(t, storetest.StartRedis(t)))
}

// On a cluster the user's index is in another slot than the clients' keys.
func TestRedisClusterUserBindingAndErasure(t *testing.T) {
	citest.NoteSkip(t)
	addrs := testredis.StartCluster(t, 3)
	storetest.ExpectUserBinding(t, newRedisStoreAt(t, addrs...), newRedisStoreAt(t, addrs...))
}

// A bound client that keeps coming back keeps its object; the user's index
// must last as long, or erasure by user would miss it. The index here is
// made to expire within a second after the login; the client's first visit
// of the next day extends it, and erasure by user finds the client.
func TestRedisUserIndexLivesAsLongAsItsActiveClient(t *testing.T) {
	r := storetest.StartRedis(t)
	raw := r.Client()
	t.Cleanup(func() { raw.Close() })
	s := newRedisStore(t, r)
	ctx := context.Background()
	now := time.Now()
	ev := storetest.Visit(s, now, sessionstore.Claim{}, storetest.Opts)
	ev = storetest.Visit(s, now.Add(time.Second), storetest.Returning(ev), storetest.Opts)
	if err := s.BindUser(ctx, storetest.Returning(ev), "alice", storetest.Opts); err != nil {
		t.Fatal(err)
	}
	key := "test:u:alice"
	if err := raw.PExpire(ctx, key, time.Second).Err(); err != nil {
		t.Fatal(err)
	}
	storetest.Visit(s, now.Add(25*time.Hour), storetest.Returning(ev), storetest.Opts)
	refreshed := wait.Until(5*time.Second, 20*time.Millisecond, func() bool {
		return raw.PTTL(ctx, key).Val() > time.Hour
	})
	if !refreshed {
		t.Fatalf("the user index was not extended by the client's visit of the next day: PTTL %v", raw.PTTL(ctx, key).Val())
	}
	time.Sleep(1100 * time.Millisecond) // past the lifetime the index had before the visit
	erased, err := s.EraseUser(ctx, "alice", now.Add(48*time.Hour))
	if err != nil || len(erased) != 1 || erased[0] != ev.ClientID {
		t.Fatalf("erasure by user: %v (%v), want the client %s", erased, err, ev.ClientID)
	}
}
