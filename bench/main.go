// Command bench loads Caddy with the session plugin side by side with plain
// reverse_proxy and with forward_auth to a session service, in one run on one
// machine, and prints markdown tables: throughput at saturation (wrk, median
// of several rounds) and latency at a fixed rate (open loop).
//
//	go run ./bench -caddy ./caddy
//
// It needs wrk on the PATH; redis-server adds the Redis row.
package main

import (
	"bufio"
	_ "embed"
	"flag"
	"fmt"
	"log"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

//go:embed returning.lua
var returningLua string

//go:embed new.lua
var newLua string

const (
	secret      = "bench-signing-key-0123456789abcdef0123456789"
	plainTarget = "plain reverse_proxy"
	sqlitePort  = 9303
)

// target is one site of the bench Caddy.
type target struct {
	name string
	port int
	// seedPort is where returning visitors get their cookies (the site
	// itself, or the session service behind forward_auth); 0: no cookies.
	seedPort int
}

// cookieFile holds the target's returning visitors' cookies, one Cookie
// header per line. Sites without a session replay the SQLite site's, which
// they ignore: the same bytes on the wire.
func (t target) cookieFile() string {
	port := t.seedPort
	if port == 0 {
		port = sqlitePort
	}
	return fmt.Sprintf("cookies-%d.txt", port)
}

type workload struct {
	name, script string
	returning    bool
}

type visitor struct{ userAgent, cookie string }

// visitor is the workload's i-th request: returning visitors take turns
// with their cookies and the User-Agent they were seeded with; new visitors
// each have a User-Agent of their own, so no two share a bootstrap window.
func (w workload) visitor(jars []string, i int) visitor {
	if !w.returning {
		return visitor{userAgent: "Mozilla/5.0 (X11; Linux x86_64) caddy-session-bench paced " + strconv.Itoa(i)}
	}
	k := i % len(jars)
	return visitor{userAgent: seedUserAgent(k + 1), cookie: jars[k]}
}

func seedUserAgent(n int) string {
	return "Mozilla/5.0 (X11; Linux x86_64) caddy-session-bench " + strconv.Itoa(n)
}

func main() {
	caddyBin := flag.String("caddy", "./caddy", "Caddy binary with the session plugin")
	duration := flag.Duration("duration", 10*time.Second, "wrk load per target, workload and round")
	rounds := flag.Int("rounds", 3, "rounds of every load; the tables show medians")
	clients := flag.Int("clients", 2000, "distinct returning visitors (cookie jars)")
	connections := flag.Int("connections", 50, "wrk connections")
	rate := flag.Int("rate", 2000, "requests/s of the fixed-rate latency load")
	pacedDuration := flag.Duration("paced-duration", 10*time.Second, "fixed-rate load per target and workload")
	memoryClients := flag.Int("memory-clients", 1_000_000, "distinct returning visitors made on the SQLite site before Caddy's RSS is read; 0 skips")
	flag.Parse()
	log.SetFlags(0)

	dir, err := os.MkdirTemp("", "caddy-session-bench-")
	check(err)
	defer os.RemoveAll(dir)

	sqlite := target{name: "session (SQLite) + reverse_proxy", port: sqlitePort, seedPort: sqlitePort}
	targets := []target{
		{name: plainTarget, port: 9302},
		{name: "reverse_proxy + the same headers and cookies, static", port: 9307},
		sqlite,
		{name: "forward_auth to a session service + reverse_proxy", port: 9304, seedPort: 9306},
	}
	redisAddr, stopRedis := startRedis(dir)
	defer stopRedis()
	if redisAddr != "" {
		targets = append(targets, target{name: "session (Redis) + reverse_proxy", port: 9305, seedPort: 9305})
	}

	caddy := startCaddy(*caddyBin, dir, caddyfile(dir, redisAddr))
	defer caddy.stop()

	log.Printf("seeding %d returning visitors per session target", *clients)
	for _, t := range targets {
		if t.seedPort != 0 {
			check(seed(filepath.Join(dir, t.cookieFile()), t.seedPort, *clients))
		}
	}
	workloads := []workload{{"returning visitors", returningLua, true}, {"new visitors", newLua, false}}

	var saturated, fixed [][]result
	for round := 1; round <= *rounds; round++ {
		var wrkResults, pacedResults []result
		for _, w := range workloads {
			for _, t := range targets {
				log.Printf("round %d/%d, wrk: %s, %s", round, *rounds, w.name, t.name)
				r := saturate(caddy, dir, w, t, *duration, *connections)
				r.workload, r.target = w.name, t.name
				wrkResults = append(wrkResults, r)
			}
		}
		for _, w := range workloads {
			for _, t := range targets {
				log.Printf("round %d/%d, %d req/s: %s, %s", round, *rounds, *rate, w.name, t.name)
				r := paced(caddy, w, t, readJars(filepath.Join(dir, t.cookieFile())), *rate, *pacedDuration)
				r.workload, r.target = w.name, t.name
				pacedResults = append(pacedResults, r)
			}
		}
		saturated, fixed = append(saturated, wrkResults), append(fixed, pacedResults)
	}
	memory := ""
	if *memoryClients > 0 { // last: it grows the SQLite site's store
		log.Printf("making %d distinct returning visitors on the SQLite site", *memoryClients)
		took, failed := fillClients(sqlite, *memoryClients)
		memory = fmt.Sprintf("Memory: %d distinct returning visitors (each persisted) made on the SQLite site in %s, %d failed; "+
			"Caddy RSS after them: %d MB (cache_size 100,000, the default).\n", *memoryClients, took.Round(time.Second), failed, caddy.rssMB())
	}
	fallbacks, dropped := sessionCounters()

	fmt.Printf("Saturated: wrk, 1 thread, %d connections, %s per target after a 2 s warm-up; median of %d rounds.\n\n",
		*connections, *duration, *rounds)
	fmt.Println(saturatedTable(medians(saturated)))
	fmt.Printf("At a fixed %d requests/s, open loop (latency from each request's scheduled time), %s per target after a 1 s warm-up; median of %d rounds.\n\n",
		*rate, *pacedDuration, *rounds)
	fmt.Println(pacedTable(medians(fixed)))
	fmt.Printf("Session fallbacks during the run, by reason: %v; dropped writes: %v; Caddy RSS at the end: %d MB.\n",
		fallbacks, dropped, caddy.rssMB())
	fmt.Print(memory)
}

func readJars(path string) []string {
	f, err := os.Open(path)
	check(err)
	defer f.Close()
	var jars []string
	for sc := bufio.NewScanner(f); sc.Scan(); {
		jars = append(jars, sc.Text())
	}
	return jars
}

// seed makes n clients on the session site at port and stores each one's
// cookies after its second request (so the client is persisted).
func seed(path string, port, n int) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	client := &http.Client{Timeout: 10 * time.Second}
	url := fmt.Sprintf("http://127.0.0.1:%d/", port)
	for i := 1; i <= n; i++ {
		v := visitor{userAgent: seedUserAgent(i)}
		for range 2 {
			res, err := fetch(client, url, v)
			if err != nil {
				return err
			}
			v.cookie = cookieHeader(res)
		}
		fmt.Fprintln(f, v.cookie)
	}
	return nil
}

func cookieHeader(res *http.Response) string {
	var parts []string
	for _, c := range res.Cookies() {
		parts = append(parts, c.Name+"="+c.Value)
	}
	return strings.Join(parts, "; ")
}

func check(err error) {
	if err != nil {
		log.Fatal(err)
	}
}
