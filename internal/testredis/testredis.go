// Package testredis runs a real redis-server on a free loopback port for
// tests.
package testredis

import (
	"context"
	"fmt"
	"net"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/c0f4626f/caddy-session/internal/wait"
)

// Server is a redis-server process that the test owns.
type Server struct {
	t        testing.TB
	bin      string
	port     int
	password string
	dir      string   // its working directory: a replica writes the data it receives there
	extra    []string // arguments beyond the common ones (replication, cluster)
	cmd      *exec.Cmd
}

// Start runs a server until the test ends. It skips the test when
// redis-server is not installed.
func Start(t testing.TB) *Server {
	t.Helper()
	return start(t, serverBinary(t))
}

// start runs a server with the common arguments and extra.
func start(t testing.TB, bin string, extra ...string) *Server {
	s := &Server{t: t, bin: bin, port: freePort(t), dir: t.TempDir(), extra: extra}
	s.Restart()
	t.Cleanup(s.Kill)
	return s
}

func serverBinary(t testing.TB) string {
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		t.Skipf("redis-server not installed (apt-get install redis-server): %v", err)
	}
	return bin
}

func freePort(t testing.TB) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// Addr is host:port of the server.
func (s *Server) Addr() string { return "127.0.0.1:" + strconv.Itoa(s.port) }

// Restart starts the server (again, empty) on its port and waits for it.
func (s *Server) Restart() {
	s.t.Helper()
	args := append([]string{"--port", strconv.Itoa(s.port), "--bind", "127.0.0.1", "--save", "",
		"--appendonly", "no", "--enable-debug-command", "yes", "--dir", s.dir, "--requirepass", s.password}, s.extra...)
	s.cmd = exec.Command(s.bin, args...)
	if err := s.cmd.Start(); err != nil {
		s.t.Fatal(err)
	}
	waitForPing(s.t, s.Client())
}

// Client is a new connection to the server, with its current password; the
// caller closes it.
func (s *Server) Client() *redis.Client {
	return redis.NewClient(&redis.Options{Addr: s.Addr(), Password: s.password})
}

// RequirePassword changes the password the server asks for (CONFIG SET
// requirepass, kept across Restart) and drops every connection, as a
// rotation followed by a server restart would: clients must log in again.
func (s *Server) RequirePassword(password string) {
	s.t.Helper()
	c := s.Client()
	defer c.Close()
	ctx := context.Background()
	if err := c.ConfigSet(ctx, "requirepass", password).Err(); err != nil {
		s.t.Fatalf("CONFIG SET requirepass: %v", err)
	}
	s.password = password
	if err := c.ClientKillByFilter(ctx, "TYPE", "normal", "SKIPME", "yes").Err(); err != nil {
		s.t.Fatalf("CLIENT KILL: %v", err)
	}
}

// UsedMemory is the server's used_memory (INFO memory), in bytes.
func (s *Server) UsedMemory() int64 {
	s.t.Helper()
	c := s.Client()
	defer c.Close()
	info, err := c.Info(context.Background(), "memory").Result()
	if err != nil {
		s.t.Fatalf("INFO memory: %v", err)
	}
	for _, line := range strings.Split(info, "\r\n") {
		if v, ok := strings.CutPrefix(line, "used_memory:"); ok {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				s.t.Fatalf("used_memory %q: %v", v, err)
			}
			return n
		}
	}
	s.t.Fatalf("no used_memory in INFO memory:\n%s", info)
	return 0
}

// Kill ends the server at once, like a crash.
func (s *Server) Kill() {
	if s.cmd != nil && s.cmd.Process != nil {
		s.cmd.Process.Kill()
		s.cmd.Wait()
		s.cmd = nil
	}
}

// Stall blocks the server for d (DEBUG SLEEP), like a stalled Redis, and
// returns once the command has reached it.
func (s *Server) Stall(d time.Duration) {
	c := s.Client()
	go func() {
		defer c.Close()
		c.Do(context.Background(), "DEBUG", "SLEEP", fmt.Sprintf("%.3f", d.Seconds()))
	}()
	time.Sleep(50 * time.Millisecond)
}

// Slow keeps the server busy for d in DEBUG SLEEP steps of 250 ms, serving
// what queued up in between, like an overloaded Redis; it returns when the
// last step ends.
func (s *Server) Slow(d time.Duration) {
	c := redis.NewClient(&redis.Options{Addr: s.Addr(), ReadTimeout: -1})
	defer c.Close()
	for end := time.Now().Add(d); time.Now().Before(end); {
		if err := c.Do(context.Background(), "DEBUG", "SLEEP", "0.25").Err(); err != nil {
			s.t.Fatalf("DEBUG SLEEP: %v", err)
		}
	}
}

// PauseWrites makes the server hold every write command (scripts included)
// for d while it goes on answering reads (CLIENT PAUSE WRITE).
func (s *Server) PauseWrites(d time.Duration) {
	c := redis.NewClient(&redis.Options{Addr: s.Addr()})
	defer c.Close()
	if err := c.Do(context.Background(), "CLIENT", "PAUSE", d.Milliseconds(), "WRITE").Err(); err != nil {
		s.t.Fatalf("CLIENT PAUSE: %v", err)
	}
}

// StartCluster runs a Redis Cluster of n masters (no replicas) until the
// test ends and returns their addresses. It skips the test when
// redis-server or redis-cli is not installed.
func StartCluster(t testing.TB, n int) []string {
	t.Helper()
	return startCluster(t, n, 0, nil).Addrs()
}

// startCluster runs masters×(1+replicas) nodes, each started with the
// common cluster arguments and extra, and waits until the cluster is ready.
func startCluster(t testing.TB, masters, replicas int, extra []string) *Cluster {
	bin := serverBinary(t)
	cli, err := exec.LookPath("redis-cli")
	if err != nil {
		t.Skipf("redis-cli not installed (apt-get install redis-tools): %v", err)
	}
	c := &Cluster{t: t}
	for range masters * (1 + replicas) {
		c.Nodes = append(c.Nodes, start(t, bin, append([]string{"--cluster-enabled", "yes"}, extra...)...))
	}
	args := append(append([]string{"--cluster", "create"}, c.Addrs()...),
		"--cluster-replicas", strconv.Itoa(replicas), "--cluster-yes")
	if out, err := exec.Command(cli, args...).CombinedOutput(); err != nil {
		t.Fatalf("creating the cluster: %v\n%s", err, out)
	}
	c.waitReady(masters)
	return c
}

// waitForPing waits for the server behind c to answer, and closes c.
func waitForPing(t testing.TB, c *redis.Client) {
	defer c.Close()
	answers := func() bool { return c.Ping(context.Background()).Err() == nil }
	if !wait.Until(10*time.Second, 20*time.Millisecond, answers) {
		t.Fatalf("redis-server at %s did not start", c.Options().Addr)
	}
}
