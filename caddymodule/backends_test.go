package caddymodule_test

import (
	"bytes"
	"database/sql"
	"net/http"
	"testing"

	"github.com/google/uuid"

	"github.com/c0f4626f/caddy-session/internal/testredis"
)

// onEachBackEnd runs test on a site with options on a SQLite file, then on
// a real redis-server.
func onEachBackEnd(t *testing.T, options string, test func(t *testing.T, s *site)) {
	t.Run("sqlite", func(t *testing.T) { test(t, startSite(t, options)) })
	t.Run("redis", func(t *testing.T) {
		noteSkip(t)
		r := testredis.Start(t)
		s := redisSite(t, r.Addr(), options)
		s.redis = r
		s.load(options)
		test(t, s)
	})
}

// expectExported checks, on a SQLite site, whether the built binary's
// exports of clients and sessions name the client; a Redis site has no
// file to export.
func expectExported(t *testing.T, s *site, cid string, want bool) {
	t.Helper()
	if s.store != "" {
		return
	}
	adminDo(t, http.MethodGet, "/session/stats", nil) // writes what is queued
	bin := caddyBinary(t)
	for _, what := range []string{"clients", "sessions"} {
		for _, format := range exportFormats {
			if _, out := exportFile(t, bin, s.dbPath(), what, format.flag); bytes.Contains(out, []byte(cid)) != want {
				t.Errorf("the %s export (%s) names the client %s: %v, want %v", what, format.flag, cid, !want, want)
			}
		}
	}
}

// expectTombstoneStored checks that the site's store holds the client's
// tombstone (not only the running Caddy's memory): the SQLite file's
// tombstones table, or the Redis index of erasures.
func expectTombstoneStored(t *testing.T, s *site, cid string) {
	t.Helper()
	if s.redis != nil {
		raw := s.redis.Client()
		defer raw.Close()
		if err := raw.ZScore(t.Context(), "caddy-session:erased", cid).Err(); err != nil {
			t.Errorf("Redis holds no tombstone of %s: %v", cid, err)
		}
		return
	}
	db, err := sql.Open("sqlite", "file:"+s.dbPath()+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	id := uuid.MustParse(cid)
	var n int
	if err := db.QueryRow(`SELECT count(*) FROM tombstones WHERE cid = ?`, id[:]).Scan(&n); err != nil || n != 1 {
		t.Errorf("the SQLite file holds %d tombstones of %s (%v), want 1", n, cid, err)
	}
}
