package redis

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"
	goredis "github.com/redis/go-redis/v9"

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

// Erasing one client, by the admin API or by a withdrawal of consent,
// removes it from the set of every user it was bound to: a set naming it
// would still tie the user to the erased browser. The browser here logged
// in as carol, then as dave; another client of carol's is still erased by
// user afterwards.
func TestRedisErasedClientLeavesItsUsersSets(t *testing.T) {
	r := storetest.StartRedis(t)
	raw := r.Client()
	t.Cleanup(func() { raw.Close() })
	expectErasedClientLeavesItsUsersSets(t, newRedisStore(t, r), raw)
}

func TestRedisClusterErasedClientLeavesItsUsersSets(t *testing.T) {
	citest.NoteSkip(t)
	addrs := testredis.StartCluster(t, 3)
	raw := goredis.NewClusterClient(&goredis.ClusterOptions{Addrs: addrs})
	t.Cleanup(func() { raw.Close() })
	expectErasedClientLeavesItsUsersSets(t, newRedisStoreAt(t, addrs...), raw)
}

func expectErasedClientLeavesItsUsersSets(t *testing.T, s *sessionstore.Store, raw goredis.UniversalClient) {
	ctx := context.Background()
	until := time.Now().Add(time.Hour)
	for way, erase := range map[string]func(uuid.UUID){
		"erase":    func(id uuid.UUID) { s.Erase(ctx, id, until) },
		"withdraw": func(id uuid.UUID) { s.Withdraw(id, until); s.Flush(ctx) },
	} {
		t.Run(way, func(t *testing.T) {
			browser := boundTo(t, s, "carol-"+way, "dave-"+way).ClientID
			other := boundTo(t, s, "carol-"+way).ClientID
			erase(browser)
			for _, user := range []string{"carol-" + way, "dave-" + way} {
				members := raw.SMembers(ctx, "test:u:"+user).Val()
				if slices.Contains(members, browser.String()) {
					t.Errorf("SMEMBERS test:u:%s after the erasure: %v, still names the erased client %s", user, members, browser)
				}
			}
			erased, err := s.EraseUser(ctx, "carol-"+way, until)
			if err != nil || len(erased) != 1 || erased[0] != other {
				t.Fatalf("erasure by user afterwards: %v (%v), want the other client %s", erased, err, other)
			}
		})
	}
}

// boundTo makes a returning client, binds it to each user in turn and
// returns its claim.
func boundTo(t *testing.T, s *sessionstore.Store, users ...string) sessionstore.Claim {
	t.Helper()
	now := time.Now()
	ev := storetest.Visit(s, now, sessionstore.Claim{}, storetest.Opts)
	ev = storetest.Visit(s, now.Add(time.Second), storetest.Returning(ev), storetest.Opts)
	for _, u := range users {
		if err := s.BindUser(context.Background(), storetest.Returning(ev), u, storetest.Opts); err != nil {
			t.Fatal(err)
		}
	}
	return storetest.Returning(ev)
}

// A login on one instance while another erases the client leaves no set
// naming the erased client, whichever runs first at each step.
func TestRedisLoginDuringErasureLeavesNoSetNamingTheClient(t *testing.T) {
	r := storetest.StartRedis(t)
	raw := r.Client()
	t.Cleanup(func() { raw.Close() })
	binding, erasing := newRedisStore(t, r), newRedisStore(t, r)
	ctx := context.Background()
	for i := range 50 {
		user := fmt.Sprintf("erin-%d", i)
		claim := boundTo(t, binding)
		id := claim.ClientID
		done := make(chan struct{})
		go func() {
			defer close(done)
			binding.BindUser(ctx, claim, user, storetest.Opts)
		}()
		erasing.Erase(ctx, id, time.Now().Add(time.Hour))
		<-done
		if members := raw.SMembers(ctx, "test:u:"+user).Val(); slices.Contains(members, id.String()) {
			t.Fatalf("round %d: SMEMBERS test:u:%s names the client erased during its login: %v", i, user, members)
		}
	}
}
