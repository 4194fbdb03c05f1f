package main

import (
	"bufio"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/c0f4626f/caddy-session/internal/caddyproc"
	"github.com/c0f4626f/caddy-session/internal/proc"
	"github.com/c0f4626f/caddy-session/internal/wait"
)

// The bench Caddy: its sites, its process and what it counts.

// floorSite is a static floor: reverse_proxy plus the request headers,
// Set-Cookie lines and Cache-Control the contract adds to a workload's
// exchange, with fixed values of the real sizes and no session logic.
type floorSite struct {
	port      int
	returning bool
	// setCookies is how many Set-Cookie lines a response carries: the eID
	// pair first, then sID's, then cID's.
	setCookies int
	// perDirective adds each header with a directive of its own (a handler
	// per header, as a Caddyfile written by hand would); otherwise one
	// header handler and reverse_proxy's header_up add them all.
	perDirective bool
}

// perDirectiveTwin is the same floor, a directive per header, on the next
// port block.
func (f floorSite) perDirectiveTwin() floorSite {
	f.port += 10
	f.perDirective = true
	return f
}

func (f floorSite) site() string {
	const id = "01a21c0d-f737-72b1-a48b-6f0c6908e947"
	const sig = "bK6b_LO7o5a5y9rvnRK5ZTcq0rGNKABkDTFYmRYUEDg"
	// The signed event cookie also carries when the pairs were last sent.
	const renewed = ".1764331200"
	const attrs = "; Path=/; Max-Age=34560000; Secure; SameSite=Lax"
	headers := [][2]string{{"Client-Id", id}, {"Id", id}, {"Event-Id", id}, {"New-Client", "true"}, {"New-Session", "true"},
		{"Number", "1"}, {"Event-Number", "1"}, {"Fallback", "false"}}
	if f.returning {
		headers = [][2]string{{"Client-Id", id}, {"Id", id}, {"Event-Id", id}, {"Previous-Event-Id", id}, {"New-Client", "false"},
			{"New-Session", "false"}, {"Number", "1"}, {"Event-Number", "2"}, {"Fallback", "false"}}
	}
	var cookies []string
	for _, n := range []string{"eID", "sID", "cID"} {
		value := id
		if n == "eID" {
			value += renewed
		}
		cookies = append(cookies, "_ss_"+n+"="+value+"."+sig+attrs+"; HttpOnly", "_cs_"+n+"="+id+attrs)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "http://:%d {\n", f.port)
	if f.perDirective {
		for _, h := range headers {
			b.WriteString("\trequest_header X-Session-" + h[0] + " " + h[1] + "\n")
		}
		for _, c := range cookies[:f.setCookies] {
			b.WriteString("\theader +Set-Cookie \"" + c + "\"\n")
		}
		b.WriteString("\theader Cache-Control private\n\treverse_proxy 127.0.0.1:9301\n}\n")
		return b.String()
	}
	b.WriteString("\theader {\n")
	for _, c := range cookies[:f.setCookies] {
		b.WriteString("\t\t+Set-Cookie \"" + c + "\"\n")
	}
	b.WriteString("\t\tCache-Control private\n\t}\n\treverse_proxy 127.0.0.1:9301 {\n")
	for _, h := range headers {
		b.WriteString("\t\theader_up X-Session-" + h[0] + " " + h[1] + "\n")
	}
	b.WriteString("\t}\n}\n")
	return b.String()
}

func globalOptions(admin int, dir string) string {
	return fmt.Sprintf("{\n\tadmin localhost:%d\n\tpersist_config off\n\tstorage file_system %s\n}\n", admin, filepath.Join(dir, "storage"))
}

const originSite = "http://:9301 {\n\trespond \"origin ok\"\n}\n"

func session(store string) string {
	return "session {\n\t\tsecret " + secret + "\n\t\t" + store + "\n\t}"
}

func sqliteStore(dir, name string) string {
	return "store sqlite {\n\t\t\tpath " + filepath.Join(dir, name) + "\n\t\t}"
}

// proxySites are the sites in front of the origin: plain reverse_proxy,
// the workloads' static floors, and session with SQLite and (with an
// address) Redis.
func proxySites(dir, redisAddr string, loads []workload) string {
	cfg := `http://:9302 {
	reverse_proxy 127.0.0.1:9301
}
http://:9303 {
	` + session(sqliteStore(dir, "site.db")) + `
	reverse_proxy 127.0.0.1:9301
}
`
	// The bytes the contract adds to every exchange, without the plugin:
	// the floor any implementation pays in reverse_proxy, the origin and
	// the client.
	for _, w := range loads {
		cfg += w.floor.site() + w.floor.perDirectiveTwin().site()
	}
	if redisAddr != "" {
		cfg += `http://:9305 {
	` + session("store redis {\n\t\t\taddress "+redisAddr+"\n\t\t\tkey_prefix bench:\n\t\t}") + `
	reverse_proxy 127.0.0.1:9301
}
`
	}
	return cfg
}

// forwardAuthSites are forward_auth in front of the origin and the session
// service it asks: the plugin answering with headers.
func forwardAuthSites(dir string) string {
	return `http://:9304 {
	forward_auth 127.0.0.1:9306 {
		uri /session
		copy_headers X-Session-Client-Id X-Session-Id X-Session-Event-Id X-Session-New-Client X-Session-New-Session X-Session-Fallback
	}
	reverse_proxy 127.0.0.1:9301
}
http://:9306 {
	` + session(sqliteStore(dir, "service.db")) + `
	header X-Session-Client-Id {http.session.client_id}
	header X-Session-Id {http.session.id}
	header X-Session-Event-Id {http.session.event_id}
	header X-Session-New-Client {http.session.new_client}
	header X-Session-New-Session {http.session.new_session}
	header X-Session-Fallback {http.session.fallback}
	respond 200
}
`
}

// sharedCaddyfile is the shared-core mode's one Caddy: the origin and every
// site in front of it.
func sharedCaddyfile(dir, redisAddr string, loads []workload) string {
	return globalOptions(testedAdmin, dir) + originSite + proxySites(dir, redisAddr, loads) + forwardAuthSites(dir)
}

// testedAdmin is the admin address of the Caddy under test.
const testedAdmin = 2399

// sessionCounters reads the fallbacks (by reason) and the dropped writes
// from /metrics.
func sessionCounters() (fallbacks map[string]float64, dropped float64) {
	fallbacks = map[string]float64{}
	res, err := http.Get(fmt.Sprintf("http://localhost:%d/metrics", testedAdmin))
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

// fallbackCount is the session fallbacks so far, whatever the reason.
func fallbackCount() float64 {
	fallbacks, _ := sessionCounters()
	var n float64
	for _, v := range fallbacks {
		n += v
	}
	return n
}

// caddyProcess is the bench Caddy, with the figures the tables report.
type caddyProcess struct{ *caddyproc.Process }

// startCaddy runs the Caddy with the origin: ready when the origin answers.
func startCaddy(bin, dir, config string) *caddyProcess {
	p, err := caddyproc.Start(bin, dir, config, "http://127.0.0.1:9301/")
	check(err)
	return &caddyProcess{p}
}

// startPinnedCaddy runs a Caddy on one CPU with GOMAXPROCS=1, ready when
// readyURL answers.
func startPinnedCaddy(cpu int, bin, dir, config, readyURL string) *caddyProcess {
	p, err := caddyproc.StartPinned(cpu, bin, dir, config, readyURL)
	check(err)
	return &caddyProcess{p}
}

func (c *caddyProcess) stop() {
	if err := c.Stop(time.Minute); err != nil {
		log.Print(err)
	}
}

// cpu is the process's user+system time.
func (c *caddyProcess) cpu() time.Duration { return processCPU(c.Pid()) }

// processCPU is process pid's user+system time, from /proc (clock ticks of
// 10ms).
func processCPU(pid int) time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	check(err)
	fields := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+2:]))
	utime, _ := strconv.ParseInt(fields[11], 10, 64)
	stime, _ := strconv.ParseInt(fields[12], 10, 64)
	return time.Duration(utime+stime) * 10 * time.Millisecond
}

func (c *caddyProcess) rssMB() int {
	mb, err := proc.RSSMB(c.Pid())
	check(err)
	return mb
}

// startRedis runs redis-server on a free port when it is installed, under
// the command prefix pin (nil, or taskset and its CPU).
func startRedis(dir string, pin []string) (addr string, pid int, stop func()) {
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		log.Printf("redis-server not installed: no Redis row")
		return "", 0, func() {}
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	check(err)
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	cmd := pinned(pin, bin, "--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", dir)
	check(cmd.Start())
	addr = "127.0.0.1:" + strconv.Itoa(port)
	stop = func() { cmd.Process.Kill(); cmd.Wait() }
	if !wait.Listening(addr, 10*time.Second) {
		stop()
		log.Fatalf("redis-server did not listen on %s", addr)
	}
	return addr, cmd.Process.Pid, stop
}

// onCPU is the command prefix that runs a program on one CPU.
func onCPU(cpu int) []string { return []string{"taskset", "-c", strconv.Itoa(cpu)} }

// pinned is the command name with args, run under the prefix pin.
func pinned(pin []string, name string, args ...string) *exec.Cmd {
	all := append(append(pin[:len(pin):len(pin)], name), args...)
	return exec.Command(all[0], all[1:]...)
}
