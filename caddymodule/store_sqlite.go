package caddymodule

import (
	"fmt"
	"path/filepath"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"

	"github.com/c0f4626f/caddy-session/sessionstore"
	"github.com/c0f4626f/caddy-session/sessionstore/sqlite"
)

func init() {
	caddy.RegisterModule(SQLiteStore{})
}

// SQLiteStore keeps per-client objects in an embedded SQLite database (WAL),
// opened once per process and shared across config reloads. Writes are
// group-committed by one writer.
type SQLiteStore struct {
	// Path of the database file. Default: {caddy data dir}/session/sessions.db.
	Path string `json:"path,omitempty"`

	// FlushInterval is the group-commit window. After a crash, at most this
	// much of acknowledged updates is lost. Default: 100ms.
	FlushInterval caddy.Duration `json:"flush_interval,omitempty"`

	// Durability is "batched" (default) or "sync": with sync, each request
	// waits for the commit that carries its update, and each commit is
	// fsynced (SQLite synchronous=FULL) before it counts, so that a power
	// cut loses nothing acknowledged. A request whose update could not be
	// queued or committed in time is marked as a fallback.
	Durability string `json:"durability,omitempty"`
}

// CaddyModule returns the Caddy module information.
func (SQLiteStore) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  "http.handlers.session.stores.sqlite",
		New: func() caddy.Module { return new(SQLiteStore) },
	}
}

// Provision resolves the database path.
func (s *SQLiteStore) Provision(caddy.Context) error {
	if s.Path == "" {
		s.Path = filepath.Join(caddy.AppDataDir(), "session", "sessions.db")
	}
	s.Path = caddy.NewReplacer().ReplaceAll(s.Path, "")
	abs, err := caddy.FastAbs(s.Path)
	if err != nil {
		return fmt.Errorf("session database path %q: %w", s.Path, err)
	}
	s.Path = abs
	return s.Validate()
}

// Validate checks the durability mode.
func (s *SQLiteStore) Validate() error {
	switch s.Durability {
	case "", durabilityBatched, durabilitySync:
	default:
		return fmt.Errorf("durability must be %s or %s, not %q", durabilityBatched, durabilitySync, s.Durability)
	}
	if s.FlushInterval < 0 {
		return fmt.Errorf("flush_interval must not be negative")
	}
	return nil
}

const (
	durabilityBatched = "batched"
	durabilitySync    = "sync"
)

// PoolKey implements StoreBackend: one store per database file.
func (s *SQLiteStore) PoolKey() string { return "sqlite:" + s.Path }

// SharedAcrossInstances implements StoreBackend: a database file belongs to
// one process.
func (*SQLiteStore) SharedAcrossInstances() bool { return false }

// StoreConfig implements StoreBackend: the group commit's settings.
func (s *SQLiteStore) StoreConfig() sessionstore.Config {
	return sessionstore.Config{FlushInterval: time.Duration(s.FlushInterval), Sync: s.Durability == durabilitySync}
}

// NewStore implements StoreBackend: the database belongs to this process,
// so writes are cached and group-committed.
func (s *SQLiteStore) NewStore(cfg sessionstore.Config) *sessionstore.Store {
	path, o := s.Path, sqlite.Options{FsyncEachCommit: cfg.Sync}
	return sessionstore.NewWriteBehind(cfg, func() (sessionstore.WriteBehind, error) { return sqlite.Open(path, o) })
}

// Interface guards
var (
	_ caddy.Provisioner     = (*SQLiteStore)(nil)
	_ caddy.Validator       = (*SQLiteStore)(nil)
	_ StoreBackend          = (*SQLiteStore)(nil)
	_ caddyfile.Unmarshaler = (*SQLiteStore)(nil)
)
