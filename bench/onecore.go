package main

import (
	"fmt"
	"log"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Limits of a valid one-core load: the load side's core must have had time
// to spare, else wrk, the origin or Redis set the pace; Caddy must have had
// most of its core, else other processes on it did (its CPU per request
// still counts); and the session must not have fallen back, else the row
// measures the fallback.
const (
	loadSaturated   = 0.95
	caddyShareFloor = 0.90
	fallbackLimit   = 0.01
)

// verdict says why a one-core load's figures are not Caddy's at one core,
// or "".
func verdict(r result, d time.Duration) string {
	switch {
	case r.loadShare >= loadSaturated || r.loadBusy >= loadSaturated && r.caddyShare < caddyShareFloor:
		return fmt.Sprintf("load side saturated: its core %.0f %% busy, %.0f %% by the load, Caddy had %.0f %% of its own", 100*r.loadBusy, 100*r.loadShare, 100*r.caddyShare)
	case r.caddyShare < caddyShareFloor:
		return fmt.Sprintf("Caddy had %.0f %% of its core", 100*r.caddyShare)
	case r.fallbacks > fallbackLimit*r.rps*d.Seconds():
		return fmt.Sprintf("%.0f fallbacks", r.fallbacks)
	}
	return ""
}

// runOneCore is the one-core mode: the Caddy under test alone on one CPU
// with GOMAXPROCS=1; the origin (a second Caddy with respond), wrk and
// redis-server on another. Caddy's CPU per request is then its own, and
// its throughput is what one core of it serves. Each round loads, per
// workload, plain reverse_proxy, the static floor and the session sites
// back to back, so that ratios are taken between loads minutes apart at
// most.
func runOneCore(o options) {
	loadBefore := loadAverage()
	dir, err := os.MkdirTemp("", "caddy-session-bench-")
	check(err)
	defer os.RemoveAll(dir)
	originDir, testedDir := filepath.Join(dir, "origin"), filepath.Join(dir, "tested")
	check(os.Mkdir(originDir, 0o700))
	check(os.Mkdir(testedDir, 0o700))
	load := onCPU(o.loadCPU)
	// This process seeds and watches; it too stays off Caddy's core.
	check(exec.Command("taskset", "-a", "-p", "-c", strconv.Itoa(o.loadCPU), strconv.Itoa(os.Getpid())).Run())

	sessions := []target{sqliteTarget}
	redisAddr, redisPID, stopRedis := startRedis(dir, load)
	defer stopRedis()
	loads := workloads(o)
	origin := startPinnedCaddy(o.loadCPU, o.caddyBin, originDir, globalOptions(2398, originDir)+originSite, "http://127.0.0.1:9301/")
	defer origin.stop()
	side := loadSide{pin: load, pids: []int{origin.Pid()}}
	if redisAddr != "" {
		sessions = append(sessions, redisTarget)
		side.pids = append(side.pids, redisPID)
	}
	caddy := startPinnedCaddy(o.caddyCPU, o.caddyBin, testedDir, globalOptions(testedAdmin, testedDir)+proxySites(testedDir, redisAddr, loads), "http://127.0.0.1:9302/")
	defer caddy.stop()
	seedAll(dir, sessions, o.clients)

	var rounds [][]result
	for round := 1; round <= o.rounds; round++ {
		var results []result
		for _, w := range loads {
			for _, t := range w.targets(sessions) {
				log.Printf("round %d/%d, wrk: %s, %s", round, o.rounds, w.name, t.name)
				r := saturate(caddy, dir, w, t, o.duration, o.connections, side)
				r.workload, r.target = w.name, t.name
				r.caddyBusy, r.loadBusy = r.busy[o.caddyCPU], r.busy[o.loadCPU]
				r.invalid = verdict(r, o.duration)
				results = append(results, r)
			}
		}
		rounds = append(rounds, results)
	}
	fallbacks, dropped := sessionCounters()

	fmt.Printf("One core: Caddy on CPU %d with GOMAXPROCS=1; the origin (a second Caddy), wrk (1 thread, %d connections) and redis-server on CPU %d. "+
		"%s per target after a 2 s warm-up; median of %d rounds, ratios and differences taken within each round. "+
		"Static floor: %d Set-Cookie lines for returning visitors, %d for new ones. Machine: %s; load average before and after: %s / %s.\n\n",
		o.caddyCPU, o.connections, o.loadCPU, o.duration, o.rounds, o.floorCookiesReturning, o.floorCookiesNew, machine(), loadBefore, loadAverage())
	fmt.Println(oneCoreTable(medians(rounds)))
	fmt.Printf("Core columns: the share of the core that Caddy (or wrk, the origin and redis-server) used, and how busy the core was with any process. "+
		"A row is not valid in a round when, in its load or its plain or floor pair's, the load used %.0f %% of its core or its core was that busy while Caddy had under %.0f %% of its own "+
		"(the load side saturated), Caddy had under %.0f %% of its core (other processes took it: its CPU per request still counts), or over %.0f %% of requests fell back.\n",
		100*loadSaturated, 100*caddyShareFloor, 100*caddyShareFloor, 100*fallbackLimit)
	fmt.Println(responseSizes(dir, loads, sessions))
	fmt.Printf("Session fallbacks during the run, by reason: %v; dropped writes: %v.\n", fallbacks, dropped)
	if o.profileDir != "" {
		profileAll(o, caddy, dir, loads, sessions, load)
	}
}

// responseSizes are the bytes of each target's response headers, per
// workload, as they come over the wire: the floor's should match the
// session sites'.
func responseSizes(dir string, loads []workload, sessions []target) string {
	var b strings.Builder
	b.WriteString("Response header bytes:")
	for _, w := range loads {
		b.WriteString(" " + w.name + ":")
		for _, t := range w.targets(sessions) {
			k, err := dial(fmt.Sprintf("127.0.0.1:%d", t.port))
			check(err)
			n, err := k.headerBytes(w.visitor(readJars(filepath.Join(dir, t.cookieFile())), 0))
			k.close()
			check(err)
			fmt.Fprintf(&b, " %s %d,", t.slug, n)
		}
	}
	return strings.TrimSuffix(b.String(), ",") + "."
}

// machine names the CPUs: how many, and their model.
func machine() string {
	b, err := os.ReadFile("/proc/cpuinfo")
	check(err)
	n, model := 0, ""
	for line := range strings.SplitSeq(string(b), "\n") {
		k, v, _ := strings.Cut(line, ":")
		switch strings.TrimSpace(k) {
		case "processor":
			n++
		case "model name":
			model = strings.TrimSpace(v)
		}
	}
	return fmt.Sprintf("%d cores (%s)", n, model)
}

// loadAverage is the machine's 1, 5 and 15 minute load averages.
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	check(err)
	return strings.Join(strings.Fields(string(b))[:3], " ")
}
