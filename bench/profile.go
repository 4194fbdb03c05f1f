package main

import (
	"fmt"
	"io"
	"log"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// profileAll profiles the Caddy under test while wrk loads each target
// (plain reverse_proxy, the static floors and the session sites) with each
// workload:
// a CPU profile and the allocations over the same window, from Caddy's
// admin endpoint, saved as <kind>-<workload>-<target>.pprof in
// o.profileDir, with the requests and Caddy CPU of each window in
// summary.txt there, to turn profile seconds into µs per request.
func profileAll(o options, caddy *caddyProcess, dir string, loads []workload, sessions []target, load []string) {
	check(os.MkdirAll(o.profileDir, 0o755))
	var summary strings.Builder
	fmt.Fprintf(&summary, "Profiles of %s each, Caddy on CPU %d with GOMAXPROCS=1; machine %s; load average %s.\n",
		o.profileDuration, o.caddyCPU, machine(), loadAverage())
	for _, w := range loads {
		for _, t := range w.targets(sessions) {
			summary.WriteString(profileOne(o, caddy, dir, w, t, load) + "\n")
		}
	}
	check(os.WriteFile(filepath.Join(o.profileDir, "summary.txt"), []byte(summary.String()), 0o644))
	fmt.Print(summary.String())
}

// profileOne profiles one target under one workload and says how many
// requests the window held and Caddy's CPU per request over it.
func profileOne(o options, caddy *caddyProcess, dir string, w workload, t target, load []string) string {
	log.Printf("profiling %s, %s", w.name, t.name)
	const warmUp = 3 * time.Second
	loadDuration := warmUp + o.profileDuration + 3*time.Second
	report := make(chan string, 1)
	go func() {
		out, _ := runWrk(dir, w, t, loadDuration, o.connections, load)
		report <- out
	}()
	time.Sleep(warmUp)
	before := caddy.cpu()
	var wg sync.WaitGroup
	for _, kind := range []string{"profile", "allocs"} {
		wg.Go(func() {
			name := strings.Replace(kind, "profile", "cpu", 1) + "-" + w.slug + "-" + t.slug + ".pprof"
			saveProfile(kind, o.profileDuration, filepath.Join(o.profileDir, name))
		})
	}
	wg.Wait()
	cpu := caddy.cpu() - before
	r := parseWrk(<-report)
	requests := r.rps * o.profileDuration.Seconds()
	return fmt.Sprintf("%s, %s: %.0f req/s, about %.0f requests in the window, Caddy CPU %.1f µs/request",
		w.slug, t.slug, r.rps, requests, µs(cpu)/requests)
}

// saveProfile fetches the named profile over d (a delta for allocs) from
// the admin endpoint into path.
func saveProfile(kind string, d time.Duration, path string) {
	url := fmt.Sprintf("http://localhost:%d/debug/pprof/%s?seconds=%d", testedAdmin, kind, int(d.Seconds()))
	res, err := http.Get(url)
	check(err)
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(res.Body)
		log.Fatalf("%s: %s: %s", url, res.Status, b)
	}
	f, err := os.Create(path)
	check(err)
	defer f.Close()
	_, err = io.Copy(f, res.Body)
	check(err)
}
