package main

import (
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// paced loads one target at a fixed rate, open loop: each request leaves at
// its scheduled time whatever became of the ones before it, and its latency
// counts from that time. A stall then shows in the percentiles instead of
// slowing the load down, and the latency is Caddy's at a load it can carry,
// not the queueing of a saturated machine. Caddy's CPU per request is
// measured over the run.
func paced(c *caddyProcess, w workload, t target, jars []string, rate int, d time.Duration) result {
	transport := &http.Transport{MaxIdleConnsPerHost: 1024, DisableCompression: true}
	defer transport.CloseIdleConnections()
	client := &http.Client{Transport: transport, Timeout: 10 * time.Second}
	url := fmt.Sprintf("http://127.0.0.1:%d/", t.port)
	load := func(d time.Duration, first int) ([]time.Duration, int64) {
		interval := time.Second / time.Duration(rate)
		latencies := make([]time.Duration, int(d/interval))
		var failed atomic.Int64
		var wg sync.WaitGroup
		start := time.Now()
		for i := range latencies {
			at := start.Add(time.Duration(i) * interval)
			time.Sleep(time.Until(at))
			wg.Go(func() {
				if !send(client, url, w.visitor(jars, first+i)) {
					failed.Add(1)
				}
				latencies[i] = time.Since(at)
			})
		}
		wg.Wait()
		return latencies, failed.Load()
	}
	load(time.Second, 0) // warm-up: connections open
	before := c.cpu()
	latencies, failed := load(d, rate)
	cpu := c.cpu() - before
	slices.Sort(latencies)
	r := result{
		rps:           float64(len(latencies)) / d.Seconds(),
		p50:           latencies[len(latencies)/2],
		p99:           latencies[len(latencies)*99/100],
		cpuPerRequest: cpu / time.Duration(len(latencies)),
	}
	if failed > 0 {
		r.errors = strconv.FormatInt(failed, 10) + " failed"
	}
	return r
}

func send(client *http.Client, url string, v visitor) bool {
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		return false
	}
	req.Header.Set("User-Agent", v.userAgent)
	if v.cookie != "" {
		req.Header.Set("Cookie", v.cookie)
	}
	res, err := client.Do(req)
	if err != nil {
		return false
	}
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	return res.StatusCode == http.StatusOK
}
