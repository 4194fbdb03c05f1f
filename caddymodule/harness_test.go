package caddymodule_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2/caddytest"

	"github.com/c0f4626f/caddy-session/internal/testredis"

	_ "github.com/c0f4626f/caddy-session/caddymodule"
)

const (
	siteURL   = "http://localhost:9080"
	testKey   = "test-signing-key-0123456789abcdef0123456789"
	globalOpt = `{
	admin localhost:2999
	http_port 9080
	https_port 9443
	skip_install_trust
	grace_period 1ns
}
`
)

// upstream is a real origin that reports, as JSON, the request headers and
// trailers it received (it reads the body for those); it answers with the
// Cache-Control given in the cc query value, and with a response header
// for each answer query value "<name>:<value>".
type upstream struct {
	*httptest.Server
	mu   sync.Mutex
	seen int
}

type received struct {
	Header  http.Header `json:"header"`
	Trailer http.Header `json:"trailer"`
}

func newUpstream(t *testing.T) *upstream {
	u := &upstream{}
	u.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u.mu.Lock()
		u.seen++
		u.mu.Unlock()
		if cc := r.URL.Query().Get("cc"); cc != "" {
			w.Header().Set("Cache-Control", cc)
		}
		for _, answer := range r.URL.Query()["answer"] {
			name, value, _ := strings.Cut(answer, ":")
			w.Header().Add(name, value)
		}
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(received{Header: r.Header, Trailer: r.Trailer})
	}))
	t.Cleanup(u.Close)
	return u
}

func (u *upstream) addr() string { return strings.TrimPrefix(u.URL, "http://") }

// site is a running Caddy config: session in front of an upstream, with a
// SQLite file and an access log in a temp dir.
type site struct {
	t        *testing.T
	tester   *caddytest.Tester
	upstream *upstream
	dir      string
	db       string            // the database path in the config
	store    string            // the store block; empty: sqlite at db
	redis    *testredis.Server // the server of a Redis store, when onEachBackEnd started it
}

// caddyfile renders the Caddyfile of the site with the given session
// options.
func (s *site) caddyfile(options string) string {
	return globalOpt + fmt.Sprintf(`
%s {
	session {
		secret %s
		%s
		%s
	}
	log {
		output file %s
		format json
	}
	handle /session_info {
		session_info
	}
	reverse_proxy %s {
		header_up X-Ph-Client-ID {http.session.client_id}
		header_up X-Ph-ID {http.session.id}
		header_up X-Ph-Event-ID {http.session.event_id}
		header_up X-Ph-Previous-Event-ID {http.session.previous_event_id}
		header_up X-Ph-New-Client {http.session.new_client}
		header_up X-Ph-New-Session {http.session.new_session}
		header_up X-Ph-Number {http.session.number}
		header_up X-Ph-Event-Number {http.session.event_number}
		header_up X-Ph-Fallback {http.session.fallback}
		header_up X-Ph-Utm-Source {http.session.utm_source}
		header_up X-Ph-Country {http.session.country}
		header_up X-Ph-City {http.session.city}
	}
}
`, siteURL, testKey, s.storeBlock(), withStoreTimeout(options), s.logPath(), s.upstream.addr())
}

// trustingProxies is the site's Caddyfile with options, its server
// trusting private-range proxies (X-Forwarded-For names the client).
func (s *site) trustingProxies(options string) string {
	return strings.Replace(s.caddyfile(options), "grace_period 1ns",
		"grace_period 1ns\n\tservers {\n\t\ttrusted_proxies static private_ranges\n\t}", 1)
}

// withStoreTimeout gives a test site a store_timeout far beyond any store
// call on a loaded machine under -race (the 50ms default is not), so that a
// test that counts events or expects no fallback never meets the deadline.
// Tests about the deadline set their own store_timeout.
func withStoreTimeout(options string) string {
	if strings.Contains(options, "store_timeout") {
		return options
	}
	return "store_timeout 5s\n\t\t" + options
}

func (s *site) storeBlock() string {
	if s.store != "" {
		return s.store
	}
	return sqliteBlock(s.db)
}

func sqliteBlock(path string) string { return "store sqlite {\n\t\t\tpath " + path + "\n\t\t}" }

func redisBlock(addr string) string { return "store redis {\n\t\t\taddress " + addr + "\n\t\t}" }

func (s *site) dbPath() string  { return filepath.Join(s.dir, "sessions.db") }
func (s *site) logPath() string { return filepath.Join(s.dir, "access.log") }

// startSite loads a config with the session handler in front of a fresh
// upstream.
func startSite(t *testing.T, options string) *site {
	t.Helper()
	noteSkip(t)
	s := &site{t: t, tester: caddytest.NewTester(t), upstream: newUpstream(t), dir: t.TempDir()}
	s.db = s.dbPath()
	s.load(options)
	return s
}

func (s *site) load(options string) {
	s.t.Helper()
	s.tester.InitServer(s.caddyfile(options), "caddyfile")
	if s.t.Failed() {
		s.t.FailNow()
	}
}

// browser keeps cookies like a browser on http://localhost does (Secure
// cookies included), so tests see exactly what was set.
type browser struct {
	t       *testing.T
	base    string
	host    string // the Host to send; empty: base's
	ua      string
	cookies map[string]string
	client  *http.Client
}

func newBrowser(t *testing.T) *browser {
	return &browser{t: t, base: siteURL, ua: "Mozilla/5.0 (X11; Linux x86_64) caddy-session-test/" + t.Name(),
		cookies: map[string]string{}, client: &http.Client{Timeout: 10 * time.Second}}
}

func (b *browser) cookieHeader() string {
	var parts []string
	for n, v := range b.cookies {
		parts = append(parts, n+"="+v)
	}
	return strings.Join(parts, "; ")
}

// get requests path with the browser's cookies plus extra headers (a
// "Host" one names the request's host), stores the cookies of the
// response, and returns it with what the upstream saw.
func (b *browser) get(path string, extra ...string) (*http.Response, received) {
	b.t.Helper()
	req, err := http.NewRequest(http.MethodGet, b.base+path, nil)
	if err != nil {
		b.t.Fatal(err)
	}
	if b.host != "" {
		req.Host = b.host
	}
	req.Header.Set("User-Agent", b.ua)
	if c := b.cookieHeader(); c != "" {
		req.Header.Set("Cookie", c)
	}
	for i := 0; i+1 < len(extra); i += 2 {
		if extra[i] == "Host" {
			req.Host = extra[i+1]
		}
		req.Header.Add(extra[i], extra[i+1])
	}
	return b.do(req)
}

func (b *browser) do(req *http.Request) (*http.Response, received) {
	b.t.Helper()
	res, err := b.client.Do(req)
	if err != nil {
		b.t.Fatalf("GET %s: %v", req.URL, err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusOK {
		b.t.Fatalf("GET %s: status %d, body %s", req.URL, res.StatusCode, body)
	}
	for _, c := range res.Cookies() {
		b.cookies[c.Name] = c.Value
	}
	var got received
	if err := json.Unmarshal(body, &got); err != nil {
		b.t.Fatalf("upstream body %q: %v", body, err)
	}
	return res, got
}

// loadUnopenable reloads the site with a database path under a regular
// file: a store that cannot open.
func (s *site) loadUnopenable(options string) {
	s.t.Helper()
	blocker := filepath.Join(s.dir, "blocker")
	if err := os.WriteFile(blocker, []byte("x"), 0o600); err != nil {
		s.t.Fatal(err)
	}
	s.db = filepath.Join(blocker, "sessions.db")
	s.load(options)
}
