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

// caddyProcess is the bench Caddy, with the figures the tables report.
type caddyProcess struct{ *caddyproc.Process }

func startCaddy(bin, dir, config string) *caddyProcess {
	p, err := caddyproc.Start(bin, dir, config, "http://127.0.0.1:9301/")
	check(err)
	return &caddyProcess{p}
}

func (c *caddyProcess) stop() {
	if err := c.Stop(time.Minute); err != nil {
		log.Print(err)
	}
}

// cpu is the process's user+system time, from /proc (clock ticks of 10ms).
func (c *caddyProcess) cpu() time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", c.Pid()))
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
	stop = func() { cmd.Process.Kill(); cmd.Wait() }
	if !wait.Listening(addr, 10*time.Second) {
		stop()
		log.Fatalf("redis-server did not listen on %s", addr)
	}
	return addr, stop
}
