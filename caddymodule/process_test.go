package caddymodule_test

import (
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// These tests run Caddy as its own process: the binary that ./xcaddy.sh
// builds (CADDY_BIN), or one built here from ./cmd/caddy.

const (
	procURL   = "http://localhost:9180"
	procAdmin = "localhost:3999"
)

func caddyBinary(t *testing.T) string {
	t.Helper()
	if bin := os.Getenv("CADDY_BIN"); bin != "" {
		return bin
	}
	bin := filepath.Join(t.TempDir(), "caddy")
	cmd := exec.Command("go", "build", "-o", bin, "../cmd/caddy")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building caddy: %v\n%s", err, out)
	}
	return bin
}

// procConfig is a site whose response body reports the session as JSON, so
// the browser helper reads it like the upstream's report.
func procConfig(dir, dbPath string) string { return procConfigWith(dir, sqliteBlock(dbPath)) }

func procConfigWith(dir, store string) string {
	return fmt.Sprintf(`{
	admin %s
	http_port 9180
	persist_config off
	storage file_system %s
}
%s {
	session {
		%s
	}
	respond `+"`"+`{"header":{"X-Session-Client-Id":["{http.session.client_id}"],"X-Session-Id":["{http.session.id}"],"X-Session-Event-Number":["{http.session.event_number}"],"X-Session-New-Client":["{http.session.new_client}"],"X-Session-Fallback":["{http.session.fallback}"]}}`+"`"+`
}
`, procAdmin, filepath.Join(dir, "storage"), procURL, withStoreTimeout(store))
}

type caddyProcess struct {
	cmd *exec.Cmd
	log string
}

// startCaddy runs the binary on config and waits until it serves.
func startCaddy(t *testing.T, bin, dir, config string) *caddyProcess {
	t.Helper()
	cfg := filepath.Join(dir, "Caddyfile")
	if err := os.WriteFile(cfg, []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	logPath := filepath.Join(dir, fmt.Sprintf("caddy-%d.log", time.Now().UnixNano()))
	logFile, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "run", "--config", cfg, "--adapter", "caddyfile")
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.Env = append(os.Environ(), "XDG_DATA_HOME="+filepath.Join(dir, "data"), "XDG_CONFIG_HOME="+filepath.Join(dir, "config"))
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &caddyProcess{cmd: cmd, log: logPath}
	t.Cleanup(func() { p.stop(t) })
	deadline := time.Now().Add(20 * time.Second)
	for {
		if res, err := http.Get("http://" + procAdmin + "/config/"); err == nil {
			res.Body.Close()
			return p
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(logPath)
			t.Fatalf("caddy did not start:\n%s", log)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// reloadCaddy gives the running binary a new config with `caddy reload`.
func reloadCaddy(t *testing.T, bin, dir, config string) {
	t.Helper()
	cfg := filepath.Join(dir, "Caddyfile")
	if err := os.WriteFile(cfg, []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(bin, "reload", "--config", cfg, "--adapter", "caddyfile", "--address", procAdmin).CombinedOutput()
	if err != nil {
		t.Fatalf("caddy reload: %v\n%s", err, out)
	}
}

// stop ends Caddy gracefully (SIGTERM) and waits for it.
func (p *caddyProcess) stop(t *testing.T) {
	if p.cmd.ProcessState != nil {
		return
	}
	p.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- p.cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(15 * time.Second):
		p.cmd.Process.Kill()
		<-done
		t.Error("caddy did not stop within 15s of SIGTERM")
	}
}

func (p *caddyProcess) logText() string {
	b, _ := os.ReadFile(p.log)
	return string(b)
}

func TestRestartKeepsIdentityAndCounters(t *testing.T) {
	bin := caddyBinary(t)
	dir := t.TempDir()
	config := procConfig(dir, filepath.Join(dir, "sessions.db"))
	p := startCaddy(t, bin, dir, config)
	b := newBrowser(t)
	b.base = procURL
	_, first := b.get("/")
	b.get("/")
	p.stop(t)
	if _, err := os.Stat(filepath.Join(dir, "storage", "session", "secret.key")); err != nil {
		t.Fatalf("generated signing key not in Caddy's storage: %v", err)
	}

	startCaddy(t, bin, dir, config)
	_, up := b.get("/")
	expect(t, up.Header, map[string]string{
		"X-Session-Client-Id": first.Header.Get("X-Session-Client-Id"), "X-Session-Id": first.Header.Get("X-Session-Id"),
		"X-Session-Event-Number": "3", "X-Session-New-Client": "false", "X-Session-Fallback": "false",
	})
}

func TestSecondProcessOnTheSameDatabaseIsRefused(t *testing.T) {
	s := startSite(t, "persist_new_clients immediately")
	newBrowser(t).get("/") // the in-process Caddy now holds the database
	dir := t.TempDir()
	p := startCaddy(t, caddyBinary(t), dir, procConfig(dir, s.dbPath()))
	b := newBrowser(t)
	b.base = procURL
	_, up := b.get("/")
	if up.Header.Get("X-Session-Fallback") != "true" || up.Header.Get("X-Session-Client-Id") == "" {
		t.Fatalf("second process: %v", up.Header)
	}
	if log := p.logText(); !strings.Contains(log, "in use by another process") {
		t.Fatalf("second process did not say why it cannot open the database:\n%s", log)
	}
}
