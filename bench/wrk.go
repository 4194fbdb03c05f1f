package main

import (
	"fmt"
	"log"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// saturate loads one target with wrk (closed loop: each connection sends its
// next request when the last one is answered) after a short warm-up, and
// measures Caddy's CPU time over the run.
func saturate(c *caddyProcess, dir string, w workload, t target, d time.Duration, conns int) result {
	script := filepath.Join(dir, "script.lua")
	check(os.WriteFile(script, []byte(w.script), 0o600))
	url := fmt.Sprintf("http://127.0.0.1:%d/", t.port)
	env := append(os.Environ(), "COOKIES="+filepath.Join(dir, t.cookieFile()))
	wrk := func(d time.Duration) string {
		cmd := exec.Command("wrk", "-t1", "-c"+strconv.Itoa(conns), "-d"+d.String(), "--latency", "-s", script, url)
		cmd.Env = env
		out, err := cmd.CombinedOutput()
		if err != nil {
			log.Fatalf("wrk: %v\n%s", err, out)
		}
		return string(out)
	}
	wrk(2 * time.Second)
	before := c.cpu()
	out := wrk(d)
	cpu := c.cpu() - before
	r := parseWrk(out)
	if total := r.rps * d.Seconds(); total > 0 {
		r.cpuPerRequest = time.Duration(float64(cpu) / total)
	}
	return r
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
