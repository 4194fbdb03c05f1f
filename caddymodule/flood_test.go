package caddymodule_test

import (
	"io"
	"net/http"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/c0f4626f/caddy-session/internal/concurrent"
	"github.com/c0f4626f/caddy-session/internal/proc"
)

// TestFloodOfCookielessClients: 100,000 requests from 100,000 distinct
// cookieless clients, every tenth a crawler, leave nothing on disk and keep
// memory within the bounds the README states.
func TestFloodOfCookielessClients(t *testing.T) {
	const requests, workers = 100_000, 32
	bin, dir := caddyBinary(t), t.TempDir()
	p := startCaddy(t, bin, dir, procConfig(dir, filepath.Join(dir, "sessions.db")))
	transport := &http.Transport{MaxIdleConnsPerHost: workers}
	client := &http.Client{Transport: transport, Timeout: 10 * time.Second}
	var next, failed atomic.Int64
	concurrent.Do(workers, func(int) {
		for i := next.Add(1); i <= requests; i = next.Add(1) {
			if !floodRequest(client, i) {
				failed.Add(1)
			}
		}
	})
	if failed.Load() > 0 {
		t.Fatalf("%d of %d requests failed", failed.Load(), requests)
	}
	time.Sleep(2500 * time.Millisecond) // past the bootstrap window
	floodRequest(client, requests+1)    // expires the old bootstrap keys

	var stats struct {
		Stores []struct {
			Objects        int64
			PendingClients int `json:"pending_clients"`
			BootstrapKeys  int `json:"bootstrap_keys"`
		}
	}
	getJSON(t, "http://"+procAdmin+"/session/stats", &stats)
	st := stats.Stores[0]
	rss, err := proc.RSSMB(p.Pid())
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("after the flood: %d objects on disk, %d clients pending in memory, %d bootstrap keys, RSS %d MB", st.Objects, st.PendingClients, st.BootstrapKeys, rss)
	if st.Objects != 0 {
		t.Errorf("%d objects written for clients that never came back", st.Objects)
	}
	if st.PendingClients > 100_000 || st.BootstrapKeys > 1 {
		t.Errorf("unbounded memory: %d pending clients (bound 100,000), %d bootstrap keys after the window", st.PendingClients, st.BootstrapKeys)
	}
	if rss > 256 {
		t.Errorf("Caddy RSS %d MB after the flood, bound 256 MB", rss)
	}
}

// floodRequest sends the i-th client's only request.
func floodRequest(client *http.Client, i int64) bool {
	ua := "Mozilla/5.0 (X11; Linux x86_64) flood client " + strconv.FormatInt(i, 10)
	if i%10 == 0 {
		ua = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html) " + strconv.FormatInt(i, 10)
	}
	req, _ := http.NewRequest(http.MethodGet, procURL+"/", nil)
	req.Header.Set("User-Agent", ua)
	res, err := client.Do(req)
	if err != nil {
		return false
	}
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	return res.StatusCode == http.StatusOK
}
