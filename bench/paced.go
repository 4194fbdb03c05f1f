package main

import (
	"fmt"
	"slices"
	"strconv"
	"sync/atomic"
	"time"
)

// pacedConnections bounds the requests in flight at the fixed rate; a
// request finds them all busy only when Caddy has fallen far behind, and
// its wait then counts in its latency.
const pacedConnections = 64

// paced loads one target at a fixed rate, open loop: each request is due at
// its scheduled time whatever became of the ones before it, and its latency
// counts from that time. A stall then shows in the percentiles instead of
// slowing the load down, and the latency is Caddy's at a load it can carry,
// not the queueing of a saturated machine. The requests go over plain
// keep-alive connections, one goroutine each, so that the load generator
// adds as little of its own scheduling as it can. Caddy's CPU per request
// is measured over the run.
func paced(c *caddyProcess, w workload, t target, jars []string, rate int, d time.Duration) result {
	addr := fmt.Sprintf("127.0.0.1:%d", t.port)
	load := func(d time.Duration, first int) ([]time.Duration, int64) {
		interval := time.Second / time.Duration(rate)
		latencies := make([]time.Duration, int(d/interval))
		due := make(chan int, len(latencies))
		var failed atomic.Int64
		start := time.Now()
		wait := onConnections(addr, func(conn *redialer) {
			for i := range due {
				err := conn.do(func(k *keepAlive) error {
					_, err := k.get(w.visitor(jars, first+i))
					return err
				})
				if err != nil {
					failed.Add(1)
				}
				latencies[i] = time.Since(start.Add(time.Duration(i) * interval))
			}
		})
		for i := range latencies {
			time.Sleep(time.Until(start.Add(time.Duration(i) * interval)))
			due <- i
		}
		close(due)
		wait()
		return latencies, failed.Load()
	}
	load(time.Second, 0) // warm-up
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
