// Package testredis runs a real redis-server on a free loopback port for
// tests.
package testredis

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// Server is a redis-server process that the test owns.
type Server struct {
	t        testing.TB
	bin      string
	port     int
	password string
	cmd      *exec.Cmd
}

// Start runs a server until the test ends. It skips the test when
// redis-server is not installed.
func Start(t testing.TB) *Server {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		t.Skipf("redis-server not installed (apt-get install redis-server): %v", err)
	}
	s := &Server{t: t, bin: bin, port: freePort(t)}
	s.Restart()
	t.Cleanup(s.Kill)
	return s
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
	s.cmd = exec.Command(s.bin, "--port", strconv.Itoa(s.port), "--bind", "127.0.0.1", "--save", "",
		"--appendonly", "no", "--enable-debug-command", "yes", "--requirepass", s.password)
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

// StartCluster runs a Redis Cluster of n masters (no replicas) until the
// test ends and returns their addresses. It skips the test when
// redis-server or redis-cli is not installed.
func StartCluster(t testing.TB, n int) []string {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		t.Skipf("redis-server not installed (apt-get install redis-server): %v", err)
	}
	cli, err := exec.LookPath("redis-cli")
	if err != nil {
		t.Skipf("redis-cli not installed (apt-get install redis-tools): %v", err)
	}
	dir := t.TempDir()
	var addrs []string
	for range n {
		port := strconv.Itoa(freePort(t))
		cmd := exec.Command(bin, "--port", port, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
			"--cluster-enabled", "yes", "--cluster-config-file", "nodes-"+port+".conf", "--dir", dir)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
		addrs = append(addrs, "127.0.0.1:"+port)
	}
	for _, a := range addrs {
		c := redis.NewClient(&redis.Options{Addr: a})
		waitForPing(t, c)
	}
	args := append(append([]string{"--cluster", "create"}, addrs...), "--cluster-replicas", "0", "--cluster-yes")
	if out, err := exec.Command(cli, args...).CombinedOutput(); err != nil {
		t.Fatalf("creating the cluster: %v\n%s", err, out)
	}
	c := redis.NewClusterClient(&redis.ClusterOptions{Addrs: addrs})
	defer c.Close()
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		info, _ := c.ClusterInfo(context.Background()).Result()
		if strings.Contains(info, "cluster_state:ok") {
			return addrs
		}
		if time.Now().After(deadline) {
			t.Fatalf("cluster not ready:\n%s", info)
		}
	}
}

// waitForPing waits for the server behind c to answer, and closes c.
func waitForPing(t testing.TB, c *redis.Client) {
	defer c.Close()
	for deadline := time.Now().Add(10 * time.Second); c.Ping(context.Background()).Err() != nil; {
		if time.Now().After(deadline) {
			t.Fatalf("redis-server at %s did not start", c.Options().Addr)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// StartSentinel runs a Redis Sentinel that monitors master under the name
// "caddy" until the test ends, and returns its address.
func StartSentinel(t testing.TB, master *Server) string {
	t.Helper()
	port := strconv.Itoa(freePort(t))
	conf := filepath.Join(t.TempDir(), "sentinel.conf")
	config := "port " + port + "\nbind 127.0.0.1\n" +
		"sentinel monitor caddy " + strings.Replace(master.Addr(), ":", " ", 1) + " 1\n" +
		"sentinel down-after-milliseconds caddy 1000\n"
	if err := os.WriteFile(conf, []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(master.bin, conf, "--sentinel")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	addr := "127.0.0.1:" + port
	c := redis.NewSentinelClient(&redis.Options{Addr: addr})
	defer c.Close()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if got, err := c.GetMasterAddrByName(context.Background(), "caddy").Result(); err == nil && len(got) == 2 {
			return addr
		}
		if time.Now().After(deadline) {
			t.Fatal("redis sentinel did not start")
		}
	}
}
