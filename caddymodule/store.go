package caddymodule

import (
	"fmt"
	"time"

	"github.com/caddyserver/caddy/v2"

	"github.com/c0f4626f/caddy-session/sessionstore"
)

// StoreBackend is implemented by the guest modules in the
// http.handlers.session.stores namespace.
type StoreBackend interface {
	// PoolKey names the resource the back end writes to (e.g. the absolute
	// database path). Handlers with equal keys share one store process-wide,
	// across config reloads.
	PoolKey() string
	// StoreConfig describes how to open the back end; the handler fills in
	// its own limits and logger.
	StoreConfig() sessionstore.Config
	// SharedAcrossInstances reports whether several Caddy instances use the
	// back end at once; they must then sign cookies alike.
	SharedAcrossInstances() bool
}

// stores holds one *sessionstore.Store per back-end resource, shared by all
// handlers and config generations that use it.
var stores = caddy.NewUsagePool()

type pooledStore struct{ *sessionstore.Store }

func (p pooledStore) Destruct() error { return p.Close() }

// openStore loads the configured back end (SQLite by default) and takes a
// reference on its pooled store. A back end that cannot open does not fail
// provisioning: the store logs it loudly and serves fallbacks until it can.
func (h *Handler) openStore(ctx caddy.Context) error {
	backend, err := h.loadBackend(ctx)
	if err != nil {
		return err
	}
	if backend.SharedAcrossInstances() && len(h.Secrets) == 0 {
		return fmt.Errorf("a store shared by several instances needs secret: every instance must sign cookies with the same key")
	}
	key := backend.PoolKey()
	val, _, err := stores.LoadOrNew(key, func() (caddy.Destructor, error) {
		cfg := backend.StoreConfig()
		cfg.Retention = time.Duration(h.Retention)
		cfg.CacheSize, cfg.PendingLimit = h.CacheSize, h.CacheSize
		cfg.Logger = h.logger.Named("store")
		cfg.Observe = observeStore
		return pooledStore{sessionstore.New(cfg)}, nil
	})
	if err != nil {
		return fmt.Errorf("opening session store: %w", err)
	}
	h.poolKey = key
	h.store = val.(pooledStore).Store
	return nil
}

func (h *Handler) loadBackend(ctx caddy.Context) (StoreBackend, error) {
	if h.StoreRaw == nil {
		s := new(SQLiteStore)
		if err := s.Provision(ctx); err != nil {
			return nil, err
		}
		return s, nil
	}
	mod, err := ctx.LoadModule(h, "StoreRaw")
	if err != nil {
		return nil, fmt.Errorf("loading session store module: %w", err)
	}
	backend, ok := mod.(StoreBackend)
	if !ok {
		return nil, fmt.Errorf("module %T is not a session store", mod)
	}
	return backend, nil
}

// namedStore is a pooled store and its pool key.
type namedStore struct {
	key string
	*sessionstore.Store
}

// pooledStores lists the live stores. Range holds the pool's lock, so only
// pointers are copied out; callers do the slow work afterwards.
func pooledStores() []namedStore {
	var out []namedStore
	stores.Range(func(k, v any) bool {
		out = append(out, namedStore{k.(string), v.(pooledStore).Store})
		return true
	})
	return out
}
