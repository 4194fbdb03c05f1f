// Command bench loads Caddy with the session plugin side by side with plain
// reverse_proxy, with the static floor (reverse_proxy plus the bytes the
// contract adds, fixed, added by one header handler and header_up; and the
// same with a directive per header, to show what handlers cost beside the
// bytes) and with forward_auth to a session service, in one
// run on one machine, and prints markdown tables. Two modes:
//
//	go run ./bench -caddy ./caddy                 # shared: load and Caddy share every core
//	go run ./bench -caddy ./caddy -mode one-core  # Caddy on one core, the load on another
//
// The shared mode reports throughput at saturation (wrk) and latency at a
// fixed rate (open loop); the one-core mode reports Caddy's CPU per request
// and throughput against plain reverse_proxy and against the static floor,
// and can profile Caddy under the load (-profile). It needs wrk on the PATH;
// redis-server adds the Redis row.
package main

import (
	"bufio"
	_ "embed"
	"flag"
	"fmt"
	"log"
	"net/http"
	"os"
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
	floorTarget = "reverse_proxy + the same headers and cookies, static"
	// perDirectiveTarget is the static floor written with a directive per
	// header: what the handlers cost beside the bytes.
	perDirectiveTarget = "the same, one directive per header"
	sqlitePort         = 9303
)

// target is one site of the bench Caddy.
type target struct {
	name, slug string
	port       int
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
	name, slug, script string
	returning          bool
	floor              floorSite
}

// targets are the sites a workload loads: plain reverse_proxy, the
// workload's static floor (and its twin of a directive per header), then
// the others.
func (w workload) targets(others []target) []target {
	return append([]target{{name: plainTarget, slug: "plain", port: 9302}, {name: floorTarget, slug: "floor", port: w.floor.port},
		{name: perDirectiveTarget, slug: "floor-per-directive", port: w.floor.perDirectiveTwin().port}}, others...)
}

func workloads(o options) []workload {
	return []workload{
		{name: "returning visitors", slug: "returning", script: returningLua, returning: true, floor: floorSite{port: 9307, returning: true, setCookies: o.floorCookiesReturning}},
		{name: "new visitors", slug: "new", script: newLua, floor: floorSite{port: 9308, setCookies: o.floorCookiesNew}},
	}
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

// options are the command line's.
type options struct {
	caddyBin                               string
	duration                               time.Duration
	rounds, clients, connections           int
	rate                                   int
	pacedDuration                          time.Duration
	memoryClients                          int
	caddyCPU, loadCPU                      int
	floorCookiesReturning, floorCookiesNew int
	profileDir                             string
	profileDuration                        time.Duration
}

func main() {
	var o options
	mode := flag.String("mode", "shared", "shared: Caddy and the load share the machine's cores; one-core: Caddy pinned to -caddy-cpu with GOMAXPROCS=1, the origin, wrk and redis-server on -load-cpu")
	flag.StringVar(&o.caddyBin, "caddy", "./caddy", "Caddy binary with the session plugin")
	flag.DurationVar(&o.duration, "duration", 10*time.Second, "wrk load per target, workload and round")
	flag.IntVar(&o.rounds, "rounds", 3, "rounds of every load; the tables show medians")
	flag.IntVar(&o.clients, "clients", 2000, "distinct returning visitors (cookie jars)")
	flag.IntVar(&o.connections, "connections", 50, "wrk connections")
	flag.IntVar(&o.rate, "rate", 2000, "shared: requests/s of the fixed-rate latency load")
	flag.DurationVar(&o.pacedDuration, "paced-duration", 10*time.Second, "shared: fixed-rate load per target and workload")
	flag.IntVar(&o.memoryClients, "memory-clients", 1_000_000, "shared: distinct returning visitors made on the SQLite site before Caddy's RSS is read; 0 skips")
	flag.IntVar(&o.caddyCPU, "caddy-cpu", 1, "one-core: the CPU of the Caddy under test")
	flag.IntVar(&o.loadCPU, "load-cpu", 0, "one-core: the CPU of the origin, wrk and redis-server")
	flag.IntVar(&o.floorCookiesReturning, "floor-cookies-returning", 2, "Set-Cookie lines of the static floor for returning visitors (the eID pair first, then sID, then cID): 2 with cookie_refresh, 6 with cookie_refresh off")
	flag.IntVar(&o.floorCookiesNew, "floor-cookies-new", 6, "Set-Cookie lines of the static floor for new visitors")
	flag.StringVar(&o.profileDir, "profile", "", "one-core: after the rounds, save CPU and allocation profiles of Caddy under each workload and target to this directory")
	flag.DurationVar(&o.profileDuration, "profile-duration", 20*time.Second, "one-core: length of each profile")
	flag.Parse()
	log.SetFlags(0)
	for _, n := range []int{o.floorCookiesReturning, o.floorCookiesNew} {
		if n < 0 || n > 6 {
			log.Fatalf("a static floor has 0 to 6 Set-Cookie lines, not %d", n)
		}
	}
	switch *mode {
	case "shared":
		runShared(o)
	case "one-core":
		runOneCore(o)
	default:
		log.Fatalf("-mode %q: want shared or one-core", *mode)
	}
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
			v.cookie = withCookies(v.cookie, res)
		}
		fmt.Fprintln(f, v.cookie)
	}
	return nil
}

// seedAll seeds the returning visitors of every target that has a session.
func seedAll(dir string, targets []target, n int) {
	log.Printf("seeding %d returning visitors per session target", n)
	for _, t := range targets {
		if t.seedPort != 0 {
			check(seed(dir+"/"+t.cookieFile(), t.seedPort, n))
		}
	}
}

func cookieHeader(res *http.Response) string { return withCookies("", res) }

// withCookies is the Cookie header a browser sends after res: the cookies
// of header, with those res sets added or replaced (a response need not
// re-send the ones that did not change).
func withCookies(header string, res *http.Response) string {
	var parts []string
	set := map[string]string{}
	for _, c := range res.Cookies() {
		set[c.Name] = c.Value
	}
	for part := range strings.SplitSeq(header, "; ") {
		name, _, _ := strings.Cut(part, "=")
		if _, ok := set[name]; !ok && part != "" {
			parts = append(parts, part)
		}
	}
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
