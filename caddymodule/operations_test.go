package caddymodule_test

import (
	"bufio"
	"encoding/json"
	"io"
	"net/http"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
)

const adminURL = "http://localhost:2999"

// adminDo calls the admin API and decodes a JSON answer into out.
func adminDo(t *testing.T, method, path string, out any) int {
	t.Helper()
	req, _ := http.NewRequest(method, adminURL+path, nil)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	if out != nil && res.StatusCode == http.StatusOK {
		if err := json.Unmarshal(body, out); err != nil {
			t.Fatalf("%s %s: %v in %s", method, path, err, body)
		}
	}
	return res.StatusCode
}

func TestAdminStatsInspectErase(t *testing.T) {
	s := startSite(t, "")
	b := newBrowser(t)
	b.get("/")
	_, up := b.get("/")
	cid := up.Header.Get("X-Session-Client-Id")

	var stats struct {
		Stores []struct {
			Store, Kind string
			Healthy     bool
			Objects     *int64
			QueueDepth  int `json:"queue_depth"`
		}
	}
	adminDo(t, http.MethodGet, "/session/stats", &stats)
	found := false
	for _, st := range stats.Stores {
		if st.Store == "sqlite:"+s.dbPath() {
			found = st.Kind == "sqlite" && st.Healthy && st.Objects != nil && *st.Objects == 1
		}
	}
	if !found {
		t.Fatalf("stats lack a healthy sqlite store with 1 object at %s: %+v", s.dbPath(), stats)
	}

	var client struct {
		ClientID    string `json:"client_id"`
		TotalEvents int    `json:"total_events"`
		Sessions    []struct {
			Events int `json:"events"`
		}
	}
	if code := adminDo(t, http.MethodGet, "/session/clients/"+cid, &client); code != 200 || client.ClientID != cid ||
		client.TotalEvents != 2 || len(client.Sessions) != 1 || client.Sessions[0].Events != 2 {
		t.Fatalf("inspect: %d %+v", code, client)
	}
	if code := adminDo(t, http.MethodGet, "/session/clients/not-a-uuid", nil); code != http.StatusBadRequest {
		t.Fatalf("malformed cID: %d, want 400", code)
	}
	if code := adminDo(t, http.MethodGet, "/session/clients/01a21c0d-f737-72b1-a48b-6f0c6908e947", nil); code != http.StatusNotFound {
		t.Fatalf("unknown cID: %d, want 404", code)
	}
	if code := adminDo(t, http.MethodDelete, "/session/clients/"+cid, nil); code != http.StatusOK {
		t.Fatalf("erase: %d", code)
	}
	if code := adminDo(t, http.MethodGet, "/session/clients/"+cid, nil); code != http.StatusNotFound {
		t.Fatalf("inspect after erase: %d, want 404", code)
	}
	_, up = b.get("/")
	if up.Header.Get("X-Session-Client-Id") == cid || up.Header.Get("X-Session-New-Client") != "true" {
		t.Fatalf("the erased cID came back: %v", up.Header)
	}
}

// metricValues reads the caddy_session_* samples from the admin /metrics.
func metricValues(t *testing.T) map[string]float64 {
	t.Helper()
	res, err := http.Get(adminURL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	out := map[string]float64{}
	sc := bufio.NewScanner(res.Body)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, "caddy_session_") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, _ := strconv.ParseFloat(line[i+1:], 64)
		out[line[:i]] = v
	}
	return out
}

func TestMetricsCountKnownTraffic(t *testing.T) {
	s := startSite(t, "session_timeout 1s")
	before := metricValues(t)
	a, b := newBrowser(t), newBrowser(t)
	b.ua += " (another browser)" // not one burst: the bootstrap window would join them
	a.get("/")
	a.get("/")
	b.get("/")
	time.Sleep(1200 * time.Millisecond)
	a.get("/") // a new session for a returning client

	s.loadUnopenable("")
	for range 7 { // 5 failures open the breaker, which then skips the store
		b.get("/")
	}
	after := metricValues(t)
	delta := func(name string) float64 { return after[name] - before[name] }
	want := map[string]float64{
		"caddy_session_events_total":                          11,
		"caddy_session_new_clients_total":                     2,
		"caddy_session_new_sessions_total":                    3,
		`caddy_session_fallbacks_total{reason="unavailable"}`: 5,
		`caddy_session_fallbacks_total{reason="breaker"}`:     2,
		"caddy_session_breaker_open":                          1,
	}
	for name, v := range want {
		if got := delta(name); got != v {
			t.Errorf("%s grew by %v, want %v", name, got, v)
		}
	}
	for _, name := range []string{"caddy_session_store_queue_depth", "caddy_session_store_dropped_total", "caddy_session_breaker_open"} {
		if _, ok := after[name]; !ok {
			t.Errorf("%s missing from /metrics", name)
		}
	}
}

func TestSessionInfo(t *testing.T) {
	s := startSite(t, "")
	s.tester.InitServer(globalOpt+siteURL+` {
	session {
		secret `+testKey+`
		`+withStoreTimeout("")+`
		store sqlite {
			path `+s.dbPath()+`
		}
	}
	handle /session {
		session_info
	}
	reverse_proxy `+s.upstream.addr()+`
}`, "caddyfile")
	b := newBrowser(t)
	_, up := b.get("/")
	info, header := sessionInfoAt(t, b, "/session")
	want := map[string]any{
		"client_id": up.Header.Get("X-Session-Client-Id"), "session_id": up.Header.Get("X-Session-Id"),
		"previous_event_id": up.Header.Get("X-Session-Event-Id"), "new_client": false, "new_session": false,
		"session_number": 1.0, "event_number": 2.0, "fallback": false,
	}
	for k, v := range want {
		if info[k] != v {
			t.Errorf("session_info %s = %v, want %v", k, info[k], v)
		}
	}
	if id, _ := info["event_id"].(string); id == "" || id == up.Header.Get("X-Session-Event-Id") {
		t.Errorf("session_info event_id %v", info["event_id"])
	}
	if len(header.Values("Set-Cookie")) != 2 || header.Get("Cache-Control") != "no-store" {
		t.Errorf("session_info response headers %v", header)
	}
}

func TestConsentAndGPC(t *testing.T) {
	s := startSite(t, "consent cookie analytics yes\n\t\thonor_gpc\n\t\tpersist_new_clients immediately")
	b := newBrowser(t)
	res, up := b.get("/?utm_source=news&gclid=1", "Referer", "https://mail.example/")
	if len(res.Header.Values("Set-Cookie")) != 0 || up.Header.Get("X-Session-Consent") != "false" ||
		up.Header.Get("X-Session-Client-Id") != "" || up.Header.Get("X-Session-Event-Id") == "" {
		t.Fatalf("without consent: cookies %q upstream %v", res.Header.Values("Set-Cookie"), up.Header)
	}
	for _, name := range attributionHeaders {
		if v := up.Header.Get(name); v != "" {
			t.Errorf("without consent the upstream got %s: %s", name, v)
		}
	}
	assertLogSession(t, s.logPath(), "/?utm_source=news&gclid=1", map[string]any{"event_id": up.Header.Get("X-Session-Event-Id"), "fallback": false})
	b.cookies["analytics"] = "no"
	if res, _ := b.get("/"); len(res.Header.Values("Set-Cookie")) != 0 {
		t.Fatal("a consent cookie with another value counted as consent")
	}
	b.cookies["analytics"] = "yes"
	res, up = b.get("/")
	if len(res.Header.Values("Set-Cookie")) != 6 || up.Header.Get("X-Session-Client-Id") == "" || up.Header.Get("X-Session-Consent") != "" {
		t.Fatalf("with consent: cookies %q upstream %v", res.Header.Values("Set-Cookie"), up.Header)
	}
	res, up = b.get("/?cc=public,+max-age=600", "Sec-GPC", "1")
	if up.Header.Get("X-Session-Consent") != "false" || up.Header.Get("X-Session-Client-Id") != "" {
		t.Fatalf("Sec-GPC: 1 still got identity: %v", up.Header)
	}
	if cc := res.Header.Values("Cache-Control"); len(cc) != 1 || cc[0] != "private, max-age=600" {
		t.Errorf("withdrawn consent's expiries under the origin's public page: Cache-Control %q, want [\"private, max-age=600\"]", cc)
	}
	for _, c := range res.Cookies() {
		if c.MaxAge >= 0 {
			t.Fatalf("withdrawn consent: cookie %s not expired", c)
		}
	}
	if len(res.Cookies()) != 6 {
		t.Fatalf("withdrawn consent expired %d cookies, want 6", len(res.Cookies()))
	}
	var stats struct {
		Stores []struct {
			Store   string
			Objects *int64
		}
	}
	adminDo(t, http.MethodGet, "/session/stats", &stats)
	for _, st := range stats.Stores {
		// The one client with consent was erased when it withdrew.
		if st.Store == "sqlite:"+s.dbPath() && (st.Objects == nil || *st.Objects != 0) {
			t.Fatalf("requests without consent were stored: %v objects", st.Objects)
		}
	}
}

func TestFingerprint(t *testing.T) {
	startSite(t, "fingerprint")
	b := newBrowser(t)
	_, first := b.get("/", "Accept-Language", "en")
	_, second := b.get("/", "Accept-Language", "en")
	_, other := b.get("/", "Accept-Language", "de")
	fp := first.Header.Get("X-Session-Fingerprint")
	if len(fp) != 32 || second.Header.Get("X-Session-Fingerprint") != fp || other.Header.Get("X-Session-Fingerprint") == fp {
		t.Fatalf("fingerprints %q %q %q", fp, second.Header.Get("X-Session-Fingerprint"), other.Header.Get("X-Session-Fingerprint"))
	}
}

func TestCommandLine(t *testing.T) {
	s := startSite(t, "persist_new_clients immediately")
	b := newBrowser(t)
	_, up := b.get("/landing?x=1", "Referer", "https://ref.example/path")
	cid := up.Header.Get("X-Session-Client-Id")
	s.load("persist_new_clients immediately\n\t\tsession_timeout 31m") // a reload flushes the queue
	bin := caddyBinary(t)
	run := func(args ...string) (string, error) {
		out, err := exec.Command(bin, append([]string{"session"}, append(args, "--db", s.dbPath())...)...).CombinedOutput()
		return string(out), err
	}
	if out, err := run("stats"); err != nil || !strings.Contains(out, `"clients": 1`) {
		t.Fatalf("stats beside a running Caddy: %v\n%s", err, out)
	}
	if out, err := run("export", "--what", "sessions", "--format", "csv", "--since", "1h"); err != nil ||
		!strings.Contains(out, "session_id,client_id,started") || !strings.Contains(out, cid+","+cid) ||
		!strings.Contains(out, "/landing,https://ref.example") {
		t.Fatalf("export: %v\n%s", err, out)
	}
	if out, err := run("export", "--what", "clients", "--format", "jsonl"); err != nil || !strings.Contains(out, `"client_id":"`+cid+`"`) {
		t.Fatalf("export clients: %v\n%s", err, out)
	}
	if out, err := run("inspect", cid); err != nil || !strings.Contains(out, `"total_events": 1`) {
		t.Fatalf("inspect: %v\n%s", err, out)
	}
	if out, err := run("erase", cid); err == nil || !strings.Contains(out, "in use by another process") {
		t.Fatalf("erase beside a running Caddy: %v\n%s", err, out)
	}
	startSite(t, "") // another database: the first is released
	if out, err := run("erase", cid); err != nil || !strings.Contains(out, "erased "+cid) {
		t.Fatalf("erase: %v\n%s", err, out)
	}
	if out, _ := run("stats"); !strings.Contains(out, `"clients": 0`) || !strings.Contains(out, `"tombstones": 1`) {
		t.Fatalf("stats after erase:\n%s", out)
	}
}
