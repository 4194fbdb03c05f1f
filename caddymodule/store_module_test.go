package caddymodule_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/caddy/v2/caddytest"
	"github.com/google/uuid"

	"github.com/c0f4626f/caddy-session/caddymodule"
	"github.com/c0f4626f/caddy-session/internal/wait"
	"github.com/c0f4626f/caddy-session/sessionstore"
)

// mapStore is a third-party store module as another plugin would write it:
// a write-behind back end over a map, with a Caddyfile option of its own.
type mapStore struct {
	// Shelf names the map the objects go to.
	Shelf string `json:"shelf,omitempty"`
}

func init() { caddy.RegisterModule(mapStore{}) }

func (mapStore) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{ID: "http.handlers.session.stores.testmap", New: func() caddy.Module { return new(mapStore) }}
}

func (s *mapStore) UnmarshalCaddyfile(d *caddyfile.Dispenser) error {
	d.Next() // the store's name
	for d.NextBlock(0) {
		if d.Val() != "shelf" || !d.NextArg() {
			return d.Errf("testmap: want shelf <name>, got %s", d.Val())
		}
		s.Shelf = d.Val()
	}
	return nil
}

func (s *mapStore) PoolKey() string           { return "testmap:" + s.Shelf }
func (*mapStore) SharedAcrossInstances() bool { return false }
func (*mapStore) StoreConfig() sessionstore.Config {
	return sessionstore.Config{FlushInterval: 10 * time.Millisecond}
}
func (s *mapStore) NewStore(cfg sessionstore.Config) *sessionstore.Store {
	return sessionstore.NewWriteBehind(cfg, func() (sessionstore.WriteBehind, error) { return shelfNamed(s.Shelf), nil })
}

var _ caddymodule.StoreBackend = (*mapStore)(nil)

// shelf is the map back end: what it holds shows what the module wrote.
type shelf struct {
	mu      sync.Mutex
	objects map[uuid.UUID]sessionstore.Object
}

var shelves sync.Map // name → *shelf

func shelfNamed(name string) *shelf {
	s, _ := shelves.LoadOrStore(name, &shelf{objects: map[uuid.UUID]sessionstore.Object{}})
	return s.(*shelf)
}

func (s *shelf) Load(_ context.Context, id uuid.UUID) (*sessionstore.Object, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	o, ok := s.objects[id]
	if !ok {
		return nil, nil
	}
	return &o, nil
}

func (s *shelf) Save(_ context.Context, b sessionstore.Batch) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, o := range b.Objects {
		s.objects[o.ClientID] = o
	}
	return nil
}

func (s *shelf) Close() error { return nil }

func (s *shelf) totalEvents(id uuid.UUID) int64 {
	o, _ := s.Load(context.Background(), id)
	if o == nil {
		return 0
	}
	return o.TotalEvents
}

// A store module defined outside the plugin is configured from a Caddyfile
// block of its own, and the visits go through it.
func TestThirdPartyStoreModuleFromCaddyfile(t *testing.T) {
	s := &site{t: t, tester: caddytest.NewTester(t), upstream: newUpstream(t), dir: t.TempDir(),
		store: "store testmap {\n\t\t\tshelf " + t.Name() + "\n\t\t}"}
	s.load("")
	b := newBrowser(t)
	var client string
	for want := 1; want <= 3; want++ {
		_, up := b.get("/")
		if got := up.Header.Get("X-Session-Event-Number"); got != fmt.Sprint(want) || up.Header.Get("X-Session-Fallback") != "false" {
			t.Fatalf("visit %d: event number %s, fallback %s", want, got, up.Header.Get("X-Session-Fallback"))
		}
		client = up.Header.Get("X-Session-Client-Id")
	}
	id := uuid.MustParse(client)
	shelf := shelfNamed(t.Name())
	if !wait.Until(5*time.Second, 10*time.Millisecond, func() bool { return shelf.totalEvents(id) == 3 }) {
		t.Fatalf("the shelf named in the Caddyfile holds %d events of the client, want 3", shelf.totalEvents(id))
	}
}
