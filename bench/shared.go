package main

import (
	"fmt"
	"log"
	"os"
	"path/filepath"
	"time"
)

// runShared is the shared-core mode: one Caddy with every site, the origin
// among them, and the load generators, all on the machine's cores. Each
// round loads every target saturated (wrk) and at a fixed rate (open loop).
func runShared(o options) {
	dir, err := os.MkdirTemp("", "caddy-session-bench-")
	check(err)
	defer os.RemoveAll(dir)

	others := []target{sqliteTarget, {name: "forward_auth to a session service + reverse_proxy", slug: "forward_auth", port: 9304, seedPort: 9306}}
	redisAddr, _, stopRedis := startRedis(dir, nil)
	defer stopRedis()
	if redisAddr != "" {
		others = append(others, redisTarget)
	}
	loads := workloads(o)
	caddy := startCaddy(o.caddyBin, dir, sharedCaddyfile(dir, redisAddr, loads))
	defer caddy.stop()
	seedAll(dir, others, o.clients)

	var saturated, fixed [][]result
	for round := 1; round <= o.rounds; round++ {
		var wrkResults, pacedResults []result
		for _, w := range loads {
			for _, t := range w.targets(others) {
				log.Printf("round %d/%d, wrk: %s, %s", round, o.rounds, w.name, t.name)
				r := saturate(caddy, dir, w, t, o.duration, o.connections, loadSide{})
				r.workload, r.target = w.name, t.name
				wrkResults = append(wrkResults, r)
			}
		}
		for _, w := range loads {
			for _, t := range w.targets(others) {
				log.Printf("round %d/%d, %d req/s: %s, %s", round, o.rounds, o.rate, w.name, t.name)
				r := paced(caddy, w, t, readJars(filepath.Join(dir, t.cookieFile())), o.rate, o.pacedDuration)
				r.workload, r.target = w.name, t.name
				pacedResults = append(pacedResults, r)
			}
		}
		saturated, fixed = append(saturated, wrkResults), append(fixed, pacedResults)
	}
	memory := ""
	if o.memoryClients > 0 { // last: it grows the SQLite site's store
		log.Printf("making %d distinct returning visitors on the SQLite site", o.memoryClients)
		took, failed := fillClients(sqliteTarget, o.memoryClients)
		memory = fmt.Sprintf("Memory: %d distinct returning visitors (each persisted) made on the SQLite site in %s, %d failed; "+
			"Caddy RSS after them: %d MB (cache_size 100,000, the default).\n", o.memoryClients, took.Round(time.Second), failed, caddy.rssMB())
	}
	fallbacks, dropped := sessionCounters()

	fmt.Printf("Saturated: wrk, 1 thread, %d connections, %s per target after a 2 s warm-up; median of %d rounds.\n\n",
		o.connections, o.duration, o.rounds)
	fmt.Println(saturatedTable(medians(saturated)))
	fmt.Printf("At a fixed %d requests/s, open loop (latency from each request's scheduled time), %s per target after a 1 s warm-up; median of %d rounds.\n\n",
		o.rate, o.pacedDuration, o.rounds)
	fmt.Println(pacedTable(medians(fixed)))
	fmt.Printf("Session fallbacks during the run, by reason: %v; dropped writes: %v; Caddy RSS at the end: %d MB.\n",
		fallbacks, dropped, caddy.rssMB())
	fmt.Print(memory)
}

var (
	sqliteTarget = target{name: "session (SQLite) + reverse_proxy", slug: "sqlite", port: sqlitePort, seedPort: sqlitePort}
	redisTarget  = target{name: "session (Redis) + reverse_proxy", slug: "redis", port: 9305, seedPort: 9305}
)
