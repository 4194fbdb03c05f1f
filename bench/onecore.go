package main

import (
	"fmt"
	"log"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
)

// loadSaturated is the busy share of the load side's core from which its
// figures are not Caddy's: wrk, the origin or Redis waited for the CPU.
const loadSaturated = 0.95

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
	redisAddr, stopRedis := startRedis(dir, load)
	defer stopRedis()
	if redisAddr != "" {
		sessions = append(sessions, redisTarget)
	}
	loads := workloads(o)
	origin := startPinnedCaddy(o.loadCPU, o.caddyBin, originDir, globalOptions(2398, originDir)+originSite, "http://127.0.0.1:9301/")
	defer origin.stop()
	caddy := startPinnedCaddy(o.caddyCPU, o.caddyBin, testedDir, globalOptions(testedAdmin, testedDir)+proxySites(testedDir, redisAddr, loads), "http://127.0.0.1:9302/")
	defer caddy.stop()
	seedAll(dir, sessions, o.clients)

	var rounds [][]result
	for round := 1; round <= o.rounds; round++ {
		var results []result
		for _, w := range loads {
			for _, t := range w.targets(sessions) {
				log.Printf("round %d/%d, wrk: %s, %s", round, o.rounds, w.name, t.name)
				r := saturate(caddy, dir, w, t, o.duration, o.connections, load)
				r.workload, r.target = w.name, t.name
				r.caddyBusy, r.loadBusy = r.busy[o.caddyCPU], r.busy[o.loadCPU]
				r.loadSaturated = r.loadBusy >= loadSaturated
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
	fmt.Printf("A row is not valid when the load side's core was %.0f %% busy or more (in its round, or in its plain or floor pair's): "+
		"then the load, not Caddy, set the pace.\n", 100*loadSaturated)
	fmt.Println(responseSizes(dir, loads, sessions))
	fmt.Printf("Session fallbacks during the run, by reason: %v; dropped writes: %v.\n", fallbacks, dropped)
	if o.profileDir != "" {
		profileAll(o, caddy, dir, loads, load)
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
