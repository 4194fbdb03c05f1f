// Command bench loads Caddy with the session plugin side by side with plain
// reverse_proxy and with forward_auth to a session service, in one run on one
// machine, and prints a markdown table of the ratios.
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
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/c0f4626f/caddy-session/internal/proc"
)

//go:embed returning.lua
var returningLua string

//go:embed new.lua
var newLua string

const secret = "bench-signing-key-0123456789abcdef0123456789"

// target is one site of the bench Caddy.
type target struct {
	name string
	port int
	// seedPort is where returning visitors get their cookies (the site
	// itself, or the session service behind forward_auth); 0: no cookies.
	seedPort int
}

func main() {
	caddyBin := flag.String("caddy", "./caddy", "Caddy binary with the session plugin")
	duration := flag.Duration("duration", 10*time.Second, "load per target and workload")
	clients := flag.Int("clients", 2000, "distinct returning visitors (cookie jars)")
	connections := flag.Int("connections", 50, "wrk connections")
	flag.Parse()
	log.SetFlags(0)

	dir, err := os.MkdirTemp("", "caddy-session-bench-")
	check(err)
	defer os.RemoveAll(dir)

	targets := []target{
		{name: "plain reverse_proxy", port: 9302},
		{name: "reverse_proxy + the same headers and cookies, static", port: 9307},
		{name: "session (SQLite) + reverse_proxy", port: 9303, seedPort: 9303},
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
			check(seed(filepath.Join(dir, cookieFile(t)), t.seedPort, *clients))
		}
	}

	var results []result
	for _, w := range []workload{{"returning visitors", returningLua}, {"new visitors", newLua}} {
		for _, t := range targets {
			log.Printf("%s, %s", w.name, t.name)
			r := run(caddy, dir, w, t, *duration, *connections)
			results = append(results, r)
		}
	}
	fallbacks, dropped := sessionCounters()
	fmt.Println(table(results))
	fmt.Printf("\nSession fallbacks during the run, by reason: %v; dropped writes: %v; Caddy RSS at the end: %d MB.\n",
		fallbacks, dropped, caddy.rssMB())
}

// staticSessionHeaders is Caddyfile for the request headers and Set-Cookie
// headers of a returning visitor, with fixed values of the real sizes.
func staticSessionHeaders() string {
	const id = "01a21c0d-f737-72b1-a48b-6f0c6908e947"
	const sig = "bK6b_LO7o5a5y9rvnRK5ZTcq0rGNKABkDTFYmRYUEDg"
	const attrs = "; Path=/; Max-Age=34560000; Secure; SameSite=Lax"
	var b strings.Builder
	for _, h := range []string{"Client-Id", "Id", "Event-Id", "Previous-Event-Id"} {
		b.WriteString("\trequest_header X-Session-" + h + " " + id + "\n")
	}
	for h, v := range map[string]string{"New-Client": "false", "New-Session": "false", "Number": "1", "Event-Number": "2", "Fallback": "false"} {
		b.WriteString("\trequest_header X-Session-" + h + " " + v + "\n")
	}
	for _, n := range []string{"cID", "sID", "eID"} {
		b.WriteString("\theader +Set-Cookie \"_ss_" + n + "=" + id + "." + sig + attrs + "; HttpOnly\"\n")
		b.WriteString("\theader +Set-Cookie \"_cs_" + n + "=" + id + attrs + "\"\n")
	}
	b.WriteString("\theader Cache-Control private\n")
	return b.String()
}

func cookieFile(t target) string { return fmt.Sprintf("cookies-%d.txt", t.seedPort) }

func caddyfile(dir, redisAddr string) string {
	session := func(store string) string {
		return "session {\n\t\tsecret " + secret + "\n\t\t" + store + "\n\t}"
	}
	sqlite := func(name string) string {
		return "store sqlite {\n\t\t\tpath " + filepath.Join(dir, name) + "\n\t\t}"
	}
	cfg := `{
	admin localhost:2399
	persist_config off
	storage file_system ` + filepath.Join(dir, "storage") + `
}
http://:9301 {
	respond "origin ok"
}
http://:9302 {
	reverse_proxy 127.0.0.1:9301
}
http://:9303 {
	` + session(sqlite("site.db")) + `
	reverse_proxy 127.0.0.1:9301
}
# The bytes the contract adds to every exchange, without the plugin: the
# floor any implementation pays in reverse_proxy, the origin and the client.
http://:9307 {
` + staticSessionHeaders() + `
	reverse_proxy 127.0.0.1:9301
}
http://:9304 {
	forward_auth 127.0.0.1:9306 {
		uri /session
		copy_headers X-Session-Client-Id X-Session-Id X-Session-Event-Id X-Session-New-Client X-Session-New-Session X-Session-Fallback
	}
	reverse_proxy 127.0.0.1:9301
}
# The session service that forward_auth asks: the plugin answering with headers.
http://:9306 {
	` + session(sqlite("service.db")) + `
	header X-Session-Client-Id {http.session.client_id}
	header X-Session-Id {http.session.id}
	header X-Session-Event-Id {http.session.event_id}
	header X-Session-New-Client {http.session.new_client}
	header X-Session-New-Session {http.session.new_session}
	header X-Session-Fallback {http.session.fallback}
	respond 200
}
`
	if redisAddr != "" {
		cfg += `http://:9305 {
	` + session("store redis {\n\t\t\taddress "+redisAddr+"\n\t\t\tkey_prefix bench:\n\t\t}") + `
	reverse_proxy 127.0.0.1:9301
}
`
	}
	return cfg
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
		jar := ""
		for range 2 {
			req, _ := http.NewRequest(http.MethodGet, url, nil)
			req.Header.Set("User-Agent", "Mozilla/5.0 (X11; Linux x86_64) caddy-session-bench "+strconv.Itoa(i))
			if jar != "" {
				req.Header.Set("Cookie", jar)
			}
			res, err := client.Do(req)
			if err != nil {
				return err
			}
			io.Copy(io.Discard, res.Body)
			res.Body.Close()
			jar = cookieHeader(res)
		}
		fmt.Fprintln(f, jar)
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

type workload struct{ name, script string }

type result struct {
	workload, target string
	rps              float64
	p50, p99         time.Duration
	cpuPerRequest    time.Duration
	errors           string
}

// run loads one target with wrk after a short warm-up and measures Caddy's
// CPU time over the run.
func run(c *caddyProcess, dir string, w workload, t target, d time.Duration, conns int) result {
	script := filepath.Join(dir, "script.lua")
	check(os.WriteFile(script, []byte(w.script), 0o600))
	url := fmt.Sprintf("http://127.0.0.1:%d/", t.port)
	env := append(os.Environ(), "COOKIES="+filepath.Join(dir, cookieFile(t)))
	if t.seedPort == 0 { // no session: replay the SQLite site's cookies, which it ignores
		env = append(os.Environ(), "COOKIES="+filepath.Join(dir, "cookies-9303.txt"))
	}
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
	r.workload, r.target = w.name, t.name
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

// table renders the results, each row against plain reverse_proxy in the
// same workload.
func table(results []result) string {
	var b strings.Builder
	b.WriteString("| workload | target | req/s | × plain | p50 | p99 | p99 − plain | Caddy CPU µs/req |\n")
	b.WriteString("|---|---|---:|---:|---:|---:|---:|---:|\n")
	var base result
	for _, r := range results {
		if r.target == "plain reverse_proxy" {
			base = r
		}
		fmt.Fprintf(&b, "| %s | %s | %.0f | %.2f | %s | %s | %+.2f ms | %.1f |", r.workload, r.target, r.rps,
			r.rps/base.rps, ms(r.p50), ms(r.p99), float64(r.p99-base.p99)/1e6, float64(r.cpuPerRequest)/1e3)
		if r.errors != "" {
			b.WriteString(" " + r.errors)
		}
		b.WriteString("\n")
	}
	return b.String()
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2f ms", float64(d)/1e6) }

// sessionCounters reads the fallbacks (by reason) and the dropped writes
// from /metrics.
func sessionCounters() (fallbacks map[string]float64, dropped float64) {
	fallbacks = map[string]float64{}
	res, err := http.Get("http://localhost:2399/metrics")
	check(err)
	defer res.Body.Close()
	sc := bufio.NewScanner(res.Body)
	for sc.Scan() {
		line := sc.Text()
		i := strings.LastIndexByte(line, ' ')
		if i < 0 {
			continue
		}
		v, _ := strconv.ParseFloat(line[i+1:], 64)
		switch {
		case strings.HasPrefix(line, "caddy_session_fallbacks_total{"):
			fallbacks[strings.Trim(strings.TrimPrefix(line[:i], `caddy_session_fallbacks_total{reason=`), `"}`)] += v
		case strings.HasPrefix(line, "caddy_session_store_dropped_total"):
			dropped += v
		}
	}
	return fallbacks, dropped
}

type caddyProcess struct{ cmd *exec.Cmd }

func startCaddy(bin, dir, config string) *caddyProcess {
	path := filepath.Join(dir, "Caddyfile")
	check(os.WriteFile(path, []byte(config), 0o600))
	cmd := exec.Command(bin, "run", "--config", path, "--adapter", "caddyfile")
	logFile, err := os.Create(filepath.Join(dir, "caddy.log"))
	check(err)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.Env = append(os.Environ(), "XDG_DATA_HOME="+filepath.Join(dir, "data"), "XDG_CONFIG_HOME="+filepath.Join(dir, "config"))
	check(cmd.Start())
	for deadline := time.Now().Add(20 * time.Second); ; {
		if res, err := http.Get("http://127.0.0.1:9301/"); err == nil {
			res.Body.Close()
			return &caddyProcess{cmd: cmd}
		}
		if time.Now().After(deadline) {
			out, _ := os.ReadFile(filepath.Join(dir, "caddy.log"))
			log.Fatalf("caddy did not start:\n%s", out)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func (c *caddyProcess) stop() {
	c.cmd.Process.Signal(os.Interrupt)
	c.cmd.Wait()
}

// cpu is the process's user+system time, from /proc (clock ticks of 10ms).
func (c *caddyProcess) cpu() time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", c.cmd.Process.Pid))
	check(err)
	fields := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+2:]))
	utime, _ := strconv.ParseInt(fields[11], 10, 64)
	stime, _ := strconv.ParseInt(fields[12], 10, 64)
	return time.Duration(utime+stime) * 10 * time.Millisecond
}

func (c *caddyProcess) rssMB() int {
	mb, err := proc.RSSMB(c.cmd.Process.Pid)
	check(err)
	return mb
}

// startRedis runs redis-server on a free port when it is installed.
func startRedis(dir string) (addr string, stop func()) {
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		log.Printf("redis-server not installed: no Redis row")
		return "", func() {}
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	check(err)
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	cmd := exec.Command(bin, "--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", dir)
	check(cmd.Start())
	addr = "127.0.0.1:" + strconv.Itoa(port)
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			break
		}
	}
	return addr, func() { cmd.Process.Kill(); cmd.Wait() }
}

func check(err error) {
	if err != nil {
		log.Fatal(err)
	}
}
