package caddymodule

import (
	"fmt"
	"time"

	"github.com/caddyserver/caddy/v2"
	"go.uber.org/zap"

	"github.com/c0f4626f/caddy-session/sessionstore"
)

// StoreBackend is implemented by the guest modules in the
// http.handlers.session.stores namespace.
type StoreBackend interface {
	// PoolKey names the resource the back end writes to (e.g. the absolute
	// database path). Handlers with equal keys share one store process-wide,
	// across config reloads.
	PoolKey() string
	// StoreConfig returns the back end's own store settings (e.g. the
	// flush interval); the handler adds its limits and logger.
	StoreConfig() sessionstore.Config
	// NewStore starts the store on the back end with cfg, choosing its
	// strategy by the constructor it calls: sessionstore.NewWriteBehind for
	// a back end this process owns, sessionstore.NewShared for one several
	// processes use.
	NewStore(cfg sessionstore.Config) *sessionstore.Store
	// SharedAcrossInstances reports whether several Caddy instances use the
	// back end at once; they must then sign cookies alike.
	SharedAcrossInstances() bool
}

// storeNamespace is where store modules register.
const storeNamespace = "http.handlers.session.stores"

// checkSecretFor enforces that instances sharing a store sign cookies with
// the same configured key: a generated one differs per instance.
func (h *Handler) checkSecretFor(backend StoreBackend) error {
	if backend.SharedAcrossInstances() && len(h.Secrets) == 0 {
		return fmt.Errorf("store %s needs secret: every instance must sign cookies with the same key", caddy.GetModuleName(backend))
	}
	return nil
}

// stores holds one *sessionstore.Store per back-end resource, shared by all
// handlers and config generations that use it.
var stores = caddy.NewUsagePool()

// pooledStore is a store and the settings it was opened with, which it
// keeps until the process restarts.
type pooledStore struct {
	*sessionstore.Store
	settings storeSettings
}

func (p pooledStore) Destruct() error { return p.Close() }

// openStore loads the configured back end (SQLite by default) and takes a
// reference on its pooled store. A back end that cannot open does not fail
// provisioning: the store logs it loudly and serves fallbacks until it can.
func (h *Handler) openStore(ctx caddy.Context) error {
	backend, err := h.loadBackend(ctx)
	if err != nil {
		return err
	}
	if err := h.checkSecretFor(backend); err != nil {
		return err
	}
	cfg := backend.StoreConfig()
	cfg.Retention = time.Duration(h.Retention)
	cfg.CacheSize, cfg.PendingLimit = h.CacheSize, h.CacheSize
	cfg.Logger = h.logger.Named("store")
	cfg.Observe = observeStore
	key := backend.PoolKey()
	val, loaded, err := stores.LoadOrNew(key, func() (caddy.Destructor, error) {
		return pooledStore{backend.NewStore(cfg), settingsOf(cfg)}, nil
	})
	if err != nil {
		return fmt.Errorf("opening session store: %w", err)
	}
	pooled := val.(pooledStore)
	if loaded {
		h.warnUnapplied(pooled.settings, settingsOf(cfg))
	}
	h.poolKey = key
	h.store = pooled.Store
	return nil
}

// storeSettings are the settings a store takes when it opens, by
// Caddyfile name.
type storeSettings [4]struct {
	name  string
	value any
}

func settingsOf(cfg sessionstore.Config) storeSettings {
	durability := durabilityBatched
	if cfg.Sync {
		durability = durabilitySync
	}
	return storeSettings{
		{"retention", cfg.Retention}, {"cache_size", cfg.CacheSize},
		{"flush_interval", cfg.FlushInterval}, {"durability", durability},
	}
}

// warnUnapplied names each setting that differs from what the already open
// store runs with (a reload, or another site on the same store): it applies
// only when the store opens again, after a restart.
func (h *Handler) warnUnapplied(running, configured storeSettings) {
	for i, r := range running {
		if c := configured[i]; c.value != r.value {
			h.logger.Warn("session store setting takes effect only after a restart",
				zap.String("setting", r.name), zap.String("running", fmt.Sprint(r.value)),
				zap.String("configured", fmt.Sprint(c.value)))
		}
	}
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
