package caddymodule_test

import (
	"errors"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestSessionCommandsRefuseAMissingDatabase(t *testing.T) {
	bin := caddyBinary(t)
	dir := t.TempDir()
	db := filepath.Join(dir, "typo", "sessions.db")
	const cid = "01a21c0d-f737-72b1-a48b-6f0c6908e947"
	for _, args := range [][]string{{"erase", cid}, {"stats"}, {"inspect", cid}, {"export"}} {
		out, err := exec.Command(bin, append([]string{"session"}, append(args, "--db", db)...)...).CombinedOutput()
		var exit *exec.ExitError
		if !errors.As(err, &exit) || !strings.Contains(string(out), "no session database at "+db) {
			t.Errorf("session %s with a missing --db: %v\n%s", args[0], err, out)
		}
	}
	if made, _ := os.ReadDir(dir); len(made) != 0 {
		t.Fatalf("a missing --db was created: %s holds %v", dir, made)
	}
}

// The Caddy holding the file has its admin endpoint on a non-default
// address; the hint must name that address, found from the config as
// `caddy reload` finds it, and the command it shows must work.
func TestEraseHintNamesTheConfiguredAdminAddress(t *testing.T) {
	bin := caddyBinary(t)
	dir := t.TempDir()
	db := filepath.Join(dir, "sessions.db")
	startCaddy(t, bin, dir, procConfig(dir, db))
	b := newBrowser(t)
	b.base = procURL
	b.get("/")
	_, up := b.get("/") // a returning client is stored
	cid := up.Header.Get("X-Session-Client-Id")

	eraseFrom := func(workdir string, flags ...string) string {
		cmd := exec.Command(bin, append([]string{"session", "erase", cid, "--db", db}, flags...)...)
		cmd.Dir = workdir
		out, err := cmd.CombinedOutput()
		if err == nil {
			t.Fatalf("erase succeeded while Caddy holds the file:\n%s", out)
		}
		return string(out)
	}
	elsewhere := t.TempDir()
	want := "curl -X DELETE 'http://" + procAdmin + "/session/clients/" + cid + "'"
	for how, out := range map[string]string{
		"--config":                     eraseFrom(elsewhere, "--config", filepath.Join(dir, "Caddyfile"), "--adapter", "caddyfile"),
		"Caddyfile in the working dir": eraseFrom(dir),
		"--address":                    eraseFrom(elsewhere, "--address", procAdmin),
	} {
		if !strings.Contains(out, "in use by another process") || !strings.Contains(out, want) {
			t.Errorf("erase beside a running Caddy (admin address from %s) does not show %q:\n%s", how, want, out)
		}
	}

	req, _ := http.NewRequest(http.MethodDelete, "http://"+procAdmin+"/session/clients/"+cid, nil)
	res, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("the hinted DELETE answered %d, want 200 (client erased)", res.StatusCode)
	}
}
