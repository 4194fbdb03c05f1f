package main

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strconv"
	"sync"
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
		var wg sync.WaitGroup
		for range pacedConnections {
			wg.Go(func() {
				var conn *keepAlive
				for i := range due {
					var err error
					if conn == nil {
						conn, err = dial(addr)
					}
					if err == nil {
						_, err = conn.get(w.visitor(jars, first+i))
					}
					if err != nil {
						failed.Add(1)
						conn.close()
						conn = nil
					}
					latencies[i] = time.Since(start.Add(time.Duration(i) * interval))
				}
				conn.close()
			})
		}
		for i := range latencies {
			time.Sleep(time.Until(start.Add(time.Duration(i) * interval)))
			due <- i
		}
		close(due)
		wg.Wait()
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

// keepAlive is one HTTP/1.1 connection that sends a request and reads its
// answer, nothing in between.
type keepAlive struct {
	conn net.Conn
	r    *bufio.Reader
	buf  []byte
}

func dial(addr string) (*keepAlive, error) {
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return nil, err
	}
	return &keepAlive{conn: conn, r: bufio.NewReader(conn)}, nil
}

// get sends the visitor's request and reads the whole answer.
func (k *keepAlive) get(v visitor) (*http.Response, error) {
	k.buf = append(k.buf[:0], "GET / HTTP/1.1\r\nHost: bench\r\nUser-Agent: "...)
	k.buf = append(k.buf, v.userAgent...)
	if v.cookie != "" {
		k.buf = append(append(k.buf, "\r\nCookie: "...), v.cookie...)
	}
	k.buf = append(k.buf, "\r\n\r\n"...)
	k.conn.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := k.conn.Write(k.buf); err != nil {
		return nil, err
	}
	res, err := http.ReadResponse(k.r, nil)
	if err != nil {
		return nil, err
	}
	_, err = io.Copy(io.Discard, res.Body)
	res.Body.Close()
	if err == nil && res.StatusCode != http.StatusOK {
		err = fmt.Errorf("status %d", res.StatusCode)
	}
	return res, err
}

func (k *keepAlive) close() {
	if k != nil {
		k.conn.Close()
	}
}

// fetch sends the visitor's request and reads the whole answer.
func fetch(client *http.Client, url string, v visitor) (*http.Response, error) {
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("User-Agent", v.userAgent)
	if v.cookie != "" {
		req.Header.Set("Cookie", v.cookie)
	}
	res, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	return res, nil
}
