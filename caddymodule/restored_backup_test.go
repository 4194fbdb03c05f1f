package caddymodule_test

import (
	"database/sql"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"testing"
)

// A backup from before an erasure, restored under the running binary
// (cp, then mv over the file) that then gets SIGTERM with nothing to write,
// must not bring the erased client back after the restart: its old cookie
// gets a new client and the admin view does not know it.
func TestRestoredBackupKeepsTheErasureAcrossARestart(t *testing.T) {
	bin := caddyBinary(t)
	dir := t.TempDir()
	path := filepath.Join(dir, "sessions.db")
	config := procConfig(dir, path)
	p := startCaddy(t, bin, dir, config)
	b := newBrowser(t)
	b.base = procURL
	b.get("/")
	_, up := b.get("/")
	cid := up.Header.Get("X-Session-Client-Id")
	procAdminCall(t, http.MethodGet, "/session/stats") // flushes the writes
	backup := filepath.Join(dir, "backup.db")
	vacuumInto(t, path, backup)
	if code := procAdminCall(t, http.MethodDelete, "/session/clients/"+cid); code != http.StatusOK {
		t.Fatalf("erase: %d", code)
	}
	restored, _ := os.ReadFile(backup)
	if err := os.WriteFile(path+".new", restored, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(path+".new", path); err != nil {
		t.Fatal(err)
	}
	old := maps.Clone(b.cookies)
	if _, up := b.get("/"); up.Header.Get("X-Session-Client-Id") == cid {
		t.Fatalf("the running Caddy gave the erased client back: %v", up.Header)
	}
	p.stop(t)

	startCaddy(t, bin, dir, config)
	b.cookies = old
	if _, up := b.get("/"); up.Header.Get("X-Session-Client-Id") == cid {
		t.Fatalf("after the restart the old cookie has the erased client again: %v", up.Header)
	}
	if code := procAdminCall(t, http.MethodGet, "/session/clients/"+cid); code != http.StatusNotFound {
		t.Fatalf("GET /session/clients/%s after the restart: %d, want 404", cid, code)
	}
}

// procAdminCall calls the admin API of the binary and returns the status.
func procAdminCall(t *testing.T, method, path string) int {
	t.Helper()
	req, _ := http.NewRequest(method, "http://"+procAdmin+path, nil)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	res.Body.Close()
	return res.StatusCode
}

// vacuumInto writes a consistent copy of a live database: a backup.
func vacuumInto(t *testing.T, path, backup string) {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(`VACUUM INTO ?`, backup); err != nil {
		t.Fatal(err)
	}
}
