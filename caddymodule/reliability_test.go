package caddymodule_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/c0f4626f/caddy-session/internal/concurrent"
)

// loadClient is one visitor sending requests back to back, remembering when
// each response arrived.
type loadClient struct {
	b        *browser
	clientID string
	acked    []time.Time
	failures []string // answered, but not with a session (never allowed)
	dropped  []string // no answer: the connection failed
}

// runLoad runs n visitors against base through transport until the
// returned stop is called; stop returns once every visitor has finished.
func runLoad(t *testing.T, base string, n int, transport http.RoundTripper) (clients []*loadClient, stop func()) {
	clients = make([]*loadClient, n)
	var started sync.WaitGroup
	for i := range clients {
		c := &loadClient{b: newBrowser(t)}
		c.b.base, c.b.ua = base, fmt.Sprintf("%s load client %d", c.b.ua, i)
		c.b.client.Transport = transport
		clients[i] = c
	}
	started.Add(n)
	stop = concurrent.Background(n, func(i int, done <-chan struct{}) { clients[i].loop(done, &started) })
	started.Wait()
	return clients, stop
}

func (c *loadClient) loop(stop <-chan struct{}, started *sync.WaitGroup) {
	once := sync.OnceFunc(started.Done)
	defer once()
	for {
		select {
		case <-stop:
			return
		default:
		}
		err := c.request()
		once()
		if err != nil {
			select {
			case <-stop:
				return
			case <-time.After(20 * time.Millisecond):
			}
		}
	}
}

func (c *loadClient) request() error {
	req, _ := http.NewRequest(http.MethodGet, c.b.base+"/", nil)
	req.Header.Set("User-Agent", c.b.ua)
	if cookie := c.b.cookieHeader(); cookie != "" {
		req.Header.Set("Cookie", cookie)
	}
	res, err := c.b.client.Do(req)
	if err != nil {
		c.dropped = append(c.dropped, err.Error())
		return err
	}
	defer res.Body.Close()
	var got received
	if err := json.NewDecoder(res.Body).Decode(&got); err != nil || res.StatusCode != http.StatusOK {
		c.failures = append(c.failures, fmt.Sprintf("status %d, %v", res.StatusCode, err))
		return errors.New(c.failures[len(c.failures)-1])
	}
	for _, ck := range res.Cookies() {
		c.b.cookies[ck.Name] = ck.Value
	}
	c.clientID = got.Header.Get("X-Session-Client-Id")
	c.acked = append(c.acked, time.Now())
	return nil
}

// storedEvents asks the admin API at admin for a client's total events.
func storedEvents(t *testing.T, admin, cid string) int {
	t.Helper()
	res, err := http.Get("http://" + admin + "/session/clients/" + cid)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode == http.StatusNotFound {
		return 0
	}
	var v struct {
		TotalEvents int `json:"total_events"`
	}
	if err := json.NewDecoder(res.Body).Decode(&v); err != nil {
		t.Fatal(err)
	}
	return v.TotalEvents
}

func TestKillNineLosesAtMostOneFlushInterval(t *testing.T) {
	bin, dir := caddyBinary(t), t.TempDir()
	config := procConfig(dir, filepath.Join(dir, "sessions.db"))
	p := startCaddy(t, bin, dir, config)
	clients, stop := runLoad(t, procURL, 16, http.DefaultTransport)
	time.Sleep(2 * time.Second)
	killedAt := time.Now()
	p.Kill() // SIGKILL: no flush, no goodbye
	stop()

	startCaddy(t, bin, dir, config) // opens cleanly on the same file
	const flushInterval, commitMargin = 100 * time.Millisecond, 150 * time.Millisecond
	safeBefore := killedAt.Add(-flushInterval - commitMargin)
	total := 0
	for i, c := range clients {
		safe := 0
		for _, at := range c.acked {
			if at.Before(safeBefore) {
				safe++
			}
		}
		stored := storedEvents(t, procAdmin, c.clientID)
		if stored < safe || stored > len(c.acked)+1 {
			t.Errorf("client %d: %d events stored; %d acknowledged before the last flush interval, %d in all", i, stored, safe, len(c.acked))
		}
		total += len(c.acked)
	}
	var stats struct{ Stores []struct{ Objects int64 } }
	getJSON(t, "http://"+procAdmin+"/session/stats", &stats)
	if len(stats.Stores) != 1 || stats.Stores[0].Objects != int64(len(clients)) {
		t.Fatalf("after the crash: %+v, want exactly %d clients (none duplicated)", stats, len(clients))
	}
	t.Logf("%d responses from %d clients before kill -9", total, len(clients))
}

func TestReloadUnderLoadLosesNothing(t *testing.T) {
	bin, dir := caddyBinary(t), t.TempDir()
	db := filepath.Join(dir, "sessions.db")
	startCaddy(t, bin, dir, procConfig(dir, db))
	clients, stop := runLoad(t, procURL, 8, http.DefaultTransport)
	for _, timeout := range []string{"31m", "32m", "33m"} {
		time.Sleep(500 * time.Millisecond)
		reloadCaddy(t, bin, dir, strings.Replace(procConfig(dir, db), "session {", "session {\n\t\tsession_timeout "+timeout, 1))
	}
	time.Sleep(500 * time.Millisecond)
	stop()
	// Caddy itself drops a few connections while a reload hands its
	// listeners over (plain reverse_proxy or respond too: connection reset
	// or EOF before any response). Those requests never reached a handler.
	// Every request that got an answer must have been answered with its
	// session, and counted exactly once.
	total, dropped := 0, 0
	for i, c := range clients {
		if len(c.failures) > 0 {
			t.Errorf("client %d: %d requests answered without a session during reloads: %q", i, len(c.failures), c.failures[0])
		}
		stored := storedEvents(t, procAdmin, c.clientID)
		if stored < len(c.acked) || stored > len(c.acked)+len(c.dropped) {
			t.Errorf("client %d: %d events stored, %d responses served, %d connections dropped", i, stored, len(c.acked), len(c.dropped))
		}
		total += len(c.acked)
		dropped += len(c.dropped)
	}
	t.Logf("%d responses across 3 reloads; %d connections dropped by Caddy's listener handover", total, dropped)
}

func getJSON(t *testing.T, url string, v any) {
	t.Helper()
	res, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if err := json.NewDecoder(res.Body).Decode(v); err != nil {
		t.Fatal(err)
	}
}
