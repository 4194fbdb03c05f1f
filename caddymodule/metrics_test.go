package caddymodule_test

import (
	"bufio"
	"net/http"
	"path/filepath"
	"testing"

	"github.com/c0f4626f/caddy-session/sessionstore"
)

// An alert on a fallback reason or a store operation must see 0, not "no
// data", before the first one happens: a fresh Caddy exports them all.
func TestFreshCaddyExportsEveryReasonAndOpAtZero(t *testing.T) {
	dir := t.TempDir()
	startCaddy(t, caddyBinary(t), dir, procConfig(dir, filepath.Join(dir, "sessions.db")))
	res, err := http.Get("http://" + procAdmin + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	lines := map[string]bool{}
	for sc := bufio.NewScanner(res.Body); sc.Scan(); {
		lines[sc.Text()] = true
	}
	want := []string{}
	for _, reason := range sessionstore.Reasons {
		want = append(want, `caddy_session_fallbacks_total{reason="`+reason+`"} 0`)
	}
	for _, op := range sessionstore.Ops {
		want = append(want, `caddy_session_store_duration_seconds_count{op="`+op+`"} 0`)
	}
	for _, line := range want {
		if !lines[line] {
			t.Errorf("/metrics of a fresh Caddy lacks %s", line)
		}
	}
}
