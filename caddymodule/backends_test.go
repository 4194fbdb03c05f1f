package caddymodule_test

import (
	"bytes"
	"net/http"
	"testing"

	"github.com/c0f4626f/caddy-session/internal/testredis"
)

// onEachBackEnd runs test on a site with options on a SQLite file, then on
// a real redis-server.
func onEachBackEnd(t *testing.T, options string, test func(t *testing.T, s *site)) {
	t.Run("sqlite", func(t *testing.T) { test(t, startSite(t, options)) })
	t.Run("redis", func(t *testing.T) {
		noteSkip(t)
		s := redisSite(t, testredis.Start(t).Addr(), options)
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
