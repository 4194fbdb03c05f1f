package caddymodule

import (
	"cmp"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"

	"github.com/c0f4626f/caddy-session/sessionstore"
	"github.com/c0f4626f/caddy-session/sessionstore/redis"
)

func init() {
	caddy.RegisterModule(RedisStore{})
}

// RedisStore keeps per-client objects in Redis, shared by several Caddy
// instances: each request is one atomic update, objects expire after the
// retention. Instances that share it must share the signing secret.
type RedisStore struct {
	// Address of the server, host:port. Several addresses mean a cluster;
	// with MasterName they are Sentinels.
	Address []string `json:"address,omitempty"`

	// MasterName is the master's name at the Sentinels in Address.
	MasterName string `json:"master_name,omitempty"`

	// Username for Redis ACLs.
	Username string `json:"username,omitempty"`

	// Password; {env.*} and {file.*} placeholders are resolved at
	// provision time.
	Password string `json:"password,omitempty"`

	// DB is the database number (single node only).
	DB int `json:"db,omitempty"`

	// KeyPrefix prefixes every key. Default: caddy-session:.
	KeyPrefix string `json:"key_prefix,omitempty"`

	// TLS connects with TLS.
	TLS bool `json:"tls,omitempty"`
}

// CaddyModule returns the Caddy module information.
func (RedisStore) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  "http.handlers.session.stores.redis",
		New: func() caddy.Module { return new(RedisStore) },
	}
}

// Provision sets defaults and resolves the password.
func (s *RedisStore) Provision(caddy.Context) error {
	if len(s.Address) == 0 {
		s.Address = []string{"localhost:6379"}
	}
	if s.KeyPrefix == "" {
		s.KeyPrefix = "caddy-session:"
	}
	s.Password = caddy.NewReplacer().ReplaceAll(s.Password, "")
	return nil
}

// Validate checks the database number.
func (s *RedisStore) Validate() error {
	if s.DB < 0 {
		return fmt.Errorf("redis db must not be negative")
	}
	return nil
}

// PoolKey implements StoreBackend: one store per server, key space and way
// of connecting, so that a reload that rotates the password or switches TLS
// connects anew instead of keeping the old connection. The credentials
// appear only as a keyed hash: /session/stats shows the key.
func (s *RedisStore) PoolKey() string {
	key := "redis:" + s.MasterName + "@" + strings.Join(s.Address, ",") + "/" + strconv.Itoa(s.DB) + "/" + s.KeyPrefix
	if s.TLS {
		key += " tls"
	}
	if s.Username != "" || s.Password != "" {
		key += " auth:" + credentialDigest(s.Username, s.Password)
	}
	return key
}

// credentialKey keys the credential digests. Pool keys live in one process
// only, so a random key per process will do, and without it a digest of a
// weak password could be guessed offline.
var credentialKey = []byte(rand.Text())

// credentialDigest tells credentials apart without revealing them.
func credentialDigest(username, password string) string {
	mac := hmac.New(sha256.New, credentialKey)
	mac.Write([]byte(strconv.Quote(username) + " " + strconv.Quote(password)))
	return hex.EncodeToString(mac.Sum(nil)[:8])
}

// SharedAcrossInstances implements StoreBackend.
func (*RedisStore) SharedAcrossInstances() bool { return true }

// StoreConfig implements StoreBackend: Redis has no settings of its own.
func (*RedisStore) StoreConfig() sessionstore.Config { return sessionstore.Config{} }

// NewStore implements StoreBackend: every visit is an atomic update in Redis.
func (s *RedisStore) NewStore(cfg sessionstore.Config) *sessionstore.Store {
	opts := redis.Options{
		Addresses: s.Address, MasterName: s.MasterName, Username: s.Username, Password: s.Password,
		DB: s.DB, KeyPrefix: s.KeyPrefix, TLS: s.TLS, Remember: cmp.Or(cfg.CacheSize, sessionstore.DefaultLimit),
	}
	return sessionstore.NewShared(cfg, func() (sessionstore.Shared, error) { return redis.Open(opts) })
}

// UnmarshalCaddyfile reads the store redis block:
//
//	store redis {
//	    address     <host:port>...
//	    master_name <name>
//	    username    <user>
//	    password    <password>
//	    db          <n>
//	    key_prefix  <prefix>
//	    tls
//	}
func (s *RedisStore) UnmarshalCaddyfile(d *caddyfile.Dispenser) error {
	return unmarshalStoreBlock(d, s, s.parseOption)
}

// parseOption reads one line of the store redis block.
func (s *RedisStore) parseOption(d *caddyfile.Dispenser) error {
	switch d.Val() {
	case "address":
		if s.Address = d.RemainingArgs(); len(s.Address) == 0 {
			return d.ArgErr()
		}
		return nil
	case "master_name":
		return parseString(d, &s.MasterName)
	case "username":
		return parseString(d, &s.Username)
	case "password":
		return parseString(d, &s.Password)
	case "db":
		return parseInt(d, &s.DB)
	case "key_prefix":
		return parseString(d, &s.KeyPrefix)
	case "tls":
		s.TLS = true
		return noArgs(d)
	}
	return d.Errf("unrecognized store redis option '%s'", d.Val())
}

// Interface guards
var (
	_ caddy.Provisioner     = (*RedisStore)(nil)
	_ caddy.Validator       = (*RedisStore)(nil)
	_ StoreBackend          = (*RedisStore)(nil)
	_ caddyfile.Unmarshaler = (*RedisStore)(nil)
)
