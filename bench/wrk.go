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

// loadSide is where the load runs: the command prefix of wrk (nil, or
// taskset and its CPU) and the processes that serve wrk besides Caddy (the
// origin, redis-server), whose CPU time counts as the load side's.
type loadSide struct {
	pin  []string
	pids []int
}

// cpu is the load side's processes' CPU time so far.
func (l loadSide) cpu() time.Duration {
	var sum time.Duration
	for _, pid := range l.pids {
		sum += processCPU(pid)
	}
	return sum
}

// saturate loads one target with wrk (closed loop: each connection sends its
// next request when the last one is answered) after a short warm-up, and
// measures over the run Caddy's CPU time, the load side's and how busy each
// CPU was.
func saturate(c *caddyProcess, dir string, w workload, t target, d time.Duration, conns int, side loadSide) result {
	runWrk(dir, w, t, 2*time.Second, conns, side.pin)
	before, sideBefore, machineBefore, fallbacksBefore := c.cpu(), side.cpu(), readCPUTimes(), fallbackCount()
	out, wrkCPU := runWrk(dir, w, t, d, conns, side.pin)
	cpu, sideCPU := c.cpu()-before, side.cpu()-sideBefore+wrkCPU
	machineAfter, fallbacks := readCPUTimes(), fallbackCount()-fallbacksBefore
	r := parseWrk(out)
	r.fallbacks = fallbacks
	if fallbacks > 0 {
		r.errors = strings.TrimPrefix(r.errors+fmt.Sprintf("; %.0f session fallbacks", fallbacks), "; ")
	}
	r.busy = map[int]float64{}
	for n := range machineAfter {
		r.busy[n] = busyShare(machineBefore, machineAfter, n)
	}
	r.caddyShare, r.loadShare = cpu.Seconds()/d.Seconds(), sideCPU.Seconds()/d.Seconds()
	if total := r.rps * d.Seconds(); total > 0 {
		r.cpuPerRequest = time.Duration(float64(cpu) / total)
	}
	return r
}

// runWrk loads the target with the workload's requests for d, and returns
// wrk's report and CPU time.
func runWrk(dir string, w workload, t target, d time.Duration, conns int, pin []string) (string, time.Duration) {
	script := filepath.Join(dir, w.slug+".lua")
	check(os.WriteFile(script, []byte(w.script), 0o600))
	url := fmt.Sprintf("http://127.0.0.1:%d/", t.port)
	cmd := pinned(pin, "wrk", "-t1", "-c"+strconv.Itoa(conns), "-d"+d.String(), "--latency", "-s", script, url)
	cmd.Env = append(os.Environ(), "COOKIES="+filepath.Join(dir, t.cookieFile()))
	out, err := cmd.CombinedOutput()
	if err != nil {
		log.Fatalf("wrk: %v\n%s", err, out)
	}
	return string(out), cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
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
