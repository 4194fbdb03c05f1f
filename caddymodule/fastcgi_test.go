package caddymodule_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2/caddytest"

	"github.com/c0f4626f/caddy-session/internal/wait"
)

// phpEcho prints the X-Session-* variables PHP registered, as JSON.
const phpEcho = `<?php
$seen = [];
foreach ($_SERVER as $k => $v) {
	if (strncmp($k, 'HTTP_X_SESSION_', 15) === 0) { $seen[$k] = $v; }
}
header('Content-Type: application/json');
echo json_encode($seen);
`

// CGI and FastCGI fold "-", "_" (and PHP ".") onto one variable name. An
// operator who lets underscore and dot header names through Caddy must not
// let a client's X_Session_Client_ID or X.Session.Client.ID reach PHP in
// place of the real X-Session-Client-ID.
func TestUnderscoreAndDotSpellingsNeverReachPHP(t *testing.T) {
	noteSkip(t)
	addr := startPHPFPM(t)
	docroot := t.TempDir()
	if err := os.WriteFile(filepath.Join(docroot, "index.php"), []byte(phpEcho), 0o644); err != nil {
		t.Fatal(err)
	}
	caddytest.NewTester(t).InitServer(fmt.Sprintf(`{
	admin localhost:2999
	http_port 9080
	https_port 9443
	skip_install_trust
	grace_period 1ns
	servers {
		expected_underscore_headers x_session_*
		expected_dot_headers x.session.*
	}
}
%s {
	session {
		secret %s
		%s
	}
	root * %s
	php_fastcgi %s
}
`, siteURL, testKey, sqliteBlock(filepath.Join(t.TempDir(), "sessions.db")), docroot, addr), "caddyfile")
	if t.Failed() {
		t.FailNow()
	}
	forged := map[string]string{
		"X_Session_Client_ID": "forged-underscore", "X_Session_ID": "forged-underscore",
		"X.Session.Client.ID": "forged-dot", "X.Session.New.Client": "forged-dot",
		"X-Session-Fallback": "forged-hyphen",
		"Connection":         "X_Session_Event_ID, X.Session.Number, keep-alive",
	}
	// FastCGI parameters go out in map order, so one forged request may
	// lose by chance: send several.
	for range 10 {
		seen, cid := phpRequest(t, forged)
		for k, v := range seen {
			if strings.HasPrefix(v, "forged") {
				t.Fatalf("PHP saw %s = %q (all: %v)", k, v, seen)
			}
		}
		if seen["HTTP_X_SESSION_CLIENT_ID"] != cid || seen["HTTP_X_SESSION_EVENT_ID"] == "" || seen["HTTP_X_SESSION_NUMBER"] != "1" {
			t.Fatalf("PHP did not see the real session (cID %s): %v", cid, seen)
		}
	}
}

// phpRequest sends a cookieless request with the given headers, spelled as
// given, and returns what PHP saw and the cID the response set.
func phpRequest(t *testing.T, headers map[string]string) (map[string]string, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, siteURL+"/", nil)
	req.Header.Set("User-Agent", "php-test/"+t.Name()+time.Now().String()) // a new client each time
	for k, v := range headers {
		req.Header[k] = []string{v}
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	seen := map[string]string{}
	if err := json.Unmarshal(body, &seen); err != nil || res.StatusCode != http.StatusOK {
		t.Fatalf("status %d, body %q: %v", res.StatusCode, body, err)
	}
	for _, c := range res.Cookies() {
		if c.Name == "_cs_cID" {
			return seen, c.Value
		}
	}
	t.Fatalf("no _cs_cID cookie in %v", res.Header)
	return nil, ""
}

// startPHPFPM runs Debian's php-fpm in the foreground on a free loopback
// port with a config of its own, and returns its address.
func startPHPFPM(t *testing.T) string {
	t.Helper()
	bin := phpFPMBinary()
	if bin == "" {
		t.Skip("php-fpm not installed (apt-get install php-fpm)")
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	dir := t.TempDir()
	conf := fmt.Sprintf(`[global]
error_log = %[1]s/fpm.log
pid = %[1]s/fpm.pid
daemonize = no
[www]
listen = %[2]s
pm = static
pm.max_children = 2
`, dir, addr)
	args := []string{"-F", "-n", "-y", filepath.Join(dir, "fpm.conf")}
	if os.Geteuid() == 0 { // php-fpm refuses root unless told
		conf += "user = root\ngroup = root\n"
		args = append(args, "-R")
	}
	if err := os.WriteFile(filepath.Join(dir, "fpm.conf"), []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, args...)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	if !wait.Listening(addr, 10*time.Second) {
		log, _ := os.ReadFile(filepath.Join(dir, "fpm.log"))
		t.Fatalf("php-fpm did not listen on %s:\n%s", addr, log)
	}
	return addr
}

// phpFPMBinary finds php-fpm under its plain or its versioned Debian name.
func phpFPMBinary() string {
	if bin, err := exec.LookPath("php-fpm"); err == nil {
		return bin
	}
	for _, dir := range []string{"/usr/sbin", "/usr/local/sbin"} {
		if found, _ := filepath.Glob(filepath.Join(dir, "php-fpm*")); len(found) > 0 {
			return found[len(found)-1]
		}
	}
	return ""
}
