package main

import (
	"fmt"
	"log"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// saturate loads one target with wrk (closed loop: each connection sends its
// next request when the last one is answered), run under the command prefix
// pin, after a short warm-up, and measures Caddy's CPU time and how busy
// each CPU was over the run.
func saturate(c *caddyProcess, dir string, w workload, t target, d time.Duration, conns int, pin []string) result {
	runWrk(dir, w, t, 2*time.Second, conns, pin)
	before, machineBefore, fallbacksBefore := c.cpu(), readCPUTimes(), fallbackCount()
	out := runWrk(dir, w, t, d, conns, pin)
	cpu, machineAfter, fallbacks := c.cpu()-before, readCPUTimes(), fallbackCount()-fallbacksBefore
	r := parseWrk(out)
	if fallbacks > 0 {
		r.errors = strings.TrimPrefix(r.errors+fmt.Sprintf("; %.0f session fallbacks", fallbacks), "; ")
	}
	r.busy = map[int]float64{}
	for n := range machineAfter {
		r.busy[n] = busyShare(machineBefore, machineAfter, n)
	}
	if total := r.rps * d.Seconds(); total > 0 {
		r.cpuPerRequest = time.Duration(float64(cpu) / total)
	}
	return r
}

// runWrk loads the target with the workload's requests for d, and returns
// wrk's report.
func runWrk(dir string, w workload, t target, d time.Duration, conns int, pin []string) string {
	script := filepath.Join(dir, w.slug+".lua")
	check(os.WriteFile(script, []byte(w.script), 0o600))
	url := fmt.Sprintf("http://127.0.0.1:%d/", t.port)
	cmd := pinned(pin, "wrk", "-t1", "-c"+strconv.Itoa(conns), "-d"+d.String(), "--latency", "-s", script, url)
	cmd.Env = append(os.Environ(), "COOKIES="+filepath.Join(dir, t.cookieFile()))
	out, err := cmd.CombinedOutput()
	if err != nil {
		log.Fatalf("wrk: %v\n%s", err, out)
	}
	return string(out)
}

var (
	rpsLine     = regexp.MustCompile(`Requests/sec:\s+([\d.]+)`)
	latencyLine = regexp.MustCompile(`(?m)^\s+(50|99)%\s+([\d.]+)(us|ms|s)\s*$`)
	errorLine   = regexp.MustCompile(`(Socket errors:.*|Non-2xx or 3xx responses: \d+)`)
)

func parseWrk(out string) result {
	var r result
	if m := rpsLine.FindStringSubmatch(out); m != nil {
		r.rps, _ = strconv.ParseFloat(m[1], 64)
	}
	for _, m := range latencyLine.FindAllStringSubmatch(out, -1) {
		v, _ := strconv.ParseFloat(m[2], 64)
		unit := map[string]time.Duration{"us": time.Microsecond, "ms": time.Millisecond, "s": time.Second}[m[3]]
		if m[1] == "50" {
			r.p50 = time.Duration(v * float64(unit))
		} else {
			r.p99 = time.Duration(v * float64(unit))
		}
	}
	r.errors = strings.Join(errorLine.FindAllString(out, -1), "; ")
	return r
}
