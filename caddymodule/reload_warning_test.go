package caddymodule_test

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/c0f4626f/caddy-session/internal/wait"
)

// A reload that changes a setting the open store keeps until restart says
// so, naming the setting; settings the reload leaves alone are not named.
func TestReloadWarnsOfStoreSettingsThatNeedARestart(t *testing.T) {
	bin := caddyBinary(t)
	dir := t.TempDir()
	store := sqliteBlock(filepath.Join(dir, "sessions.db"))
	p := startCaddy(t, bin, dir, procConfigWith(dir, "retention 30d\n\t\tcache_size 1000\n\t\t"+store))
	reloadCaddy(t, bin, dir, procConfigWith(dir, "retention 60d\n\t\tcache_size 1000\n\t\t"+store))

	var warned []string
	if !wait.Until(10*time.Second, 100*time.Millisecond, func() bool {
		warned = restartWarnings(p.Log())
		return len(warned) > 0
	}) {
		t.Fatalf("no warning naming retention after the reload:\n%s", p.Log())
	}
	if len(warned) != 1 || warned[0] != "retention" {
		t.Fatalf("warned of %v, want [retention]", warned)
	}
}

// restartWarnings lists the settings named by warnings in a JSON log.
func restartWarnings(log string) []string {
	var names []string
	for line := range strings.Lines(log) {
		var entry struct{ Level, Setting string }
		if json.Unmarshal([]byte(line), &entry) == nil && entry.Level == "warn" && entry.Setting != "" {
			names = append(names, entry.Setting)
		}
	}
	return names
}
