package caddymodule_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/c0f4626f/caddy-session/internal/wait"
)

// startNginx runs Debian's nginx in the foreground with the nginx recipe,
// in front of the origin, and returns its base URL and the directory of
// its logs: the access log in the default format and the error log at
// the default level, as a site has them. The session service is the
// caddytest site at :9080.
func startNginx(t *testing.T, origin string) (base, logs string) {
	t.Helper()
	return runNginx(t, func(addr, _ string) string {
		site := mustReplace(t, recipe(t, nginxRecipe), "listen 8080;", "listen "+addr+";")
		site = mustReplace(t, site, "listen 8080 default_server;", "listen "+addr+" default_server;")
		return mustReplace(t, site, "http://"+recipeOrigin, "http://"+origin)
	})
}

// runNginx runs Debian's nginx in the foreground until the test ends, with
// the http block's contents that site gives for its listen address and its
// own directory, and returns its base URL and that directory, which holds
// its logs.
func runNginx(t *testing.T, site func(addr, dir string) string) (base, dir string) {
	t.Helper()
	bin, err := exec.LookPath("nginx")
	if err != nil {
		if bin, err = exec.LookPath("/usr/sbin/nginx"); err != nil {
			t.Skip("nginx not installed (apt-get install nginx)")
		}
	}
	addr := freeAddr(t)
	dir = t.TempDir()
	conf := fmt.Sprintf(`master_process off;
events {}
http {
	access_log %[1]s/access.log;
	client_body_temp_path %[1]s/body;
	proxy_temp_path %[1]s/proxy;
	fastcgi_temp_path %[1]s/fastcgi;
	uwsgi_temp_path %[1]s/uwsgi;
	scgi_temp_path %[1]s/scgi;
	include %[1]s/session.conf;
}
`, dir)
	for name, text := range map[string]string{"nginx.conf": conf, "session.conf": site(addr, dir)} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command(bin, "-e", "stderr", "-p", dir, "-c", filepath.Join(dir, "nginx.conf"),
		"-g", "daemon off; pid "+filepath.Join(dir, "nginx.pid")+"; error_log "+filepath.Join(dir, "error.log")+";")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		if t.Failed() {
			errorLog, _ := os.ReadFile(filepath.Join(dir, "error.log"))
			t.Logf("nginx:\n%s%s", stderr.String(), errorLog)
		}
	})
	if !wait.Listening(addr, 10*time.Second) {
		t.Fatalf("nginx did not listen on %s", addr)
	}
	return "http://" + addr, dir
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// throughNginx starts the session service and nginx in front of a new
// origin, and returns a browser pointed at nginx.
func throughNginx(t *testing.T, svc *service) (*browser, *upstream) {
	t.Helper()
	noteSkip(t)
	origin := newUpstream(t)
	svc.start(t, "")
	b := newBrowser(t)
	b.base, _ = startNginx(t, origin.addr())
	b.host = recipeSite
	return b, origin
}

// spoofed are session headers a client sends to fool the origin: the
// fields the origin reads (nginx cannot remove other names by prefix).
var spoofed = []string{
	"X-Session-Client-ID", "forged", "X-Session-ID", "forged", "X-Session-Event-Number", "forged",
	"X-Session-Previous-Event-ID", "forged", "X-Session-Fallback", "forged", "X-Session-Consent", "forged",
	"X-Session-New-Client", "forged", "X-Session-Number", "forged", "X_Session_Event_ID", "forged",
}

// The nginx recipe: one visitor's pages through nginx are one event each,
// with the same client and session; the browser gets all six cookies with
// their attributes on the first page and the event pair after; the origin
// gets the session headers, never the signed cookies nor a client's forged
// headers (the Cache-Control of the pages is
// TestRecipesKeepTheOriginsCacheControlAndMakeItPrivate's).
func TestNginxRecipe(t *testing.T) {
	svc := &service{trusted: true}
	b, origin := throughNginx(t, svc)
	b.cookies["theme"] = "dark"

	var cid, sid string
	for i, path := range []string{
		"/landing?utm_source=x",
		"/next?cc=public,+max-age=600",
		"/third?cc=no-store",
	} {
		res, up := b.get(path, spoofed...)
		if i == 0 {
			cid, sid = up.Header.Get("X-Session-Client-Id"), up.Header.Get("X-Session-Id")
			traceOneRequest(t, b, res, up, svc)
		}
		expect(t, up.Header, map[string]string{
			"X-Session-Client-Id": cid, "X-Session-Id": sid, "X-Session-Event-Number": fmt.Sprint(i + 1),
			"X-Session-New-Client": fmt.Sprint(i == 0), "X-Session-Fallback": "false", "X-Session-Consent": "",
		})
		assertCookies(t, res, firstOnly(i == 0, cid), firstOnly(i == 0, sid), up.Header.Get("X-Session-Event-Id"))
		assertOriginSawNoSecret(t, up)
	}
	if _, err := uuid.Parse(cid); err != nil {
		t.Fatalf("cID %q: %v", cid, err)
	}
	origin.mu.Lock()
	if origin.seen != 3 {
		t.Errorf("origin saw %d requests, want 3", origin.seen)
	}
	origin.mu.Unlock()
	if landing := landingPath(t, cid); landing != "/landing" {
		t.Errorf("landing path %q, want /landing", landing)
	}

	// Consent withdrawn (Sec-GPC): the browser's six cookies expire.
	res, up := b.get("/", "Sec-GPC", "1")
	if expired := res.Header.Values("Set-Cookie"); len(expired) != 6 || !strings.Contains(expired[0], "Max-Age=0") {
		t.Errorf("withdrawal through nginx set %q, want six expiries", expired)
	}
	expect(t, up.Header, map[string]string{"X-Session-Consent": "false", "X-Session-Client-Id": ""})

	// A crawler: no cookie, an event ID upstream.
	crawler := newBrowser(t)
	crawler.base, crawler.host, crawler.ua = b.base, b.host, "Googlebot/2.1"
	res, up = crawler.get("/")
	if set := res.Header.Values("Set-Cookie"); len(set) != 0 || up.Header.Get("X-Session-Event-Id") == "" {
		t.Errorf("crawler: cookies %q, event ID %q", set, up.Header.Get("X-Session-Event-Id"))
	}
}

// assertOriginSawNoSecret checks that no signed cookie and no forged value
// reached the origin, and that the visitor's other cookies did.
func assertOriginSawNoSecret(t *testing.T, up received) {
	t.Helper()
	for name, values := range up.Header {
		for _, v := range values {
			if strings.Contains(v, "_ss_") || strings.Contains(v, "forged") {
				t.Errorf("origin got %s: %s", name, v)
			}
		}
	}
	if c := up.Header.Get("Cookie"); !strings.Contains(c, "theme=dark") {
		t.Errorf("origin's Cookie %q lacks the visitor's own cookie", c)
	}
}

// When the store fails, pages still flow through nginx: the origin is told
// it is a fallback, and identity continues from the signed cookies.
func TestNginxFallbackWhenTheStoreFails(t *testing.T) {
	blocker := filepath.Join(t.TempDir(), "blocker")
	if err := os.WriteFile(blocker, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	b, _ := throughNginx(t, &service{trusted: true, store: sqliteBlock(filepath.Join(blocker, "sessions.db"))})
	b.cookies["theme"] = "dark"
	res, first := b.get("/")
	cid := first.Header.Get("X-Session-Client-Id")
	assertCookies(t, res, cid, cid, cid)
	_, second := b.get("/next")
	expect(t, second.Header, map[string]string{"X-Session-Fallback": "true", "X-Session-Client-Id": cid, "X-Session-Id": cid})
	assertOriginSawNoSecret(t, second)
}

// traceOneRequest logs the headers of one request at each hop: the
// browser's request, nginx's subrequest and Caddy's answer (from Caddy's
// access log), what the origin got, what the browser got.
func traceOneRequest(t *testing.T, b *browser, res *http.Response, up received, svc *service) {
	var subrequest struct {
		Request struct {
			URI     string      `json:"uri"`
			Headers http.Header `json:"headers"`
		} `json:"request"`
		RespHeaders http.Header `json:"resp_headers"`
	}
	if !wait.Until(5*time.Second, 50*time.Millisecond, func() bool {
		f, err := os.Open(svc.logPath())
		if err != nil {
			return false
		}
		defer f.Close()
		line := bufio.NewScanner(f)
		return line.Scan() && json.Unmarshal(line.Bytes(), &subrequest) == nil
	}) {
		t.Errorf("no access log entry in %s", svc.logPath())
	}
	show := func(h http.Header) string {
		out, _ := json.MarshalIndent(h, "\t", "  ")
		return string(out)
	}
	t.Logf("trace: browser -> nginx: GET /landing?utm_source=x, User-Agent %s, Cookie theme=dark, spoofed %q", b.ua, spoofed)
	t.Logf("trace: nginx -> Caddy: GET %s\n\t%s", subrequest.Request.URI, show(subrequest.Request.Headers))
	t.Logf("trace: Caddy -> nginx: 200\n\t%s", show(subrequest.RespHeaders))
	t.Logf("trace: nginx -> origin:\n\t%s", show(up.Header))
	t.Logf("trace: nginx -> browser: %d\n\t%s", res.StatusCode, show(res.Header))
}
