package testredis

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/c0f4626f/caddy-session/internal/wait"
)

// This file holds what failover tests need: replicas, a cluster with
// replicas, a Sentinel that watches a master and its replica, a crash, and
// a wait for the new master.

// StartReplica runs a replica of master until the test ends and waits until
// it is in sync.
func StartReplica(t testing.TB, master *Server) *Server {
	t.Helper()
	r := start(t, master.bin, "--replicaof", "127.0.0.1", strconv.Itoa(master.port))
	waitFor(t, "replica "+r.Addr()+" in sync", func() bool {
		return strings.Contains(info(r.Addr(), "replication"), "master_link_status:up")
	})
	return r
}

// CrashInSync kills the server with SIGKILL, as a crash, at a moment when
// its replicas hold every write it has acknowledged: writes are paused
// first and the kill waits for the replicas to catch up. (Replication is
// asynchronous: a crash at any other moment can lose the last writes, which
// is not what failover tests measure.)
func (s *Server) CrashInSync(replicas ...*Server) {
	s.t.Helper()
	c := redis.NewClient(&redis.Options{Addr: s.Addr()})
	defer c.Close()
	if err := c.Do(context.Background(), "CLIENT", "PAUSE", "10000", "WRITE").Err(); err != nil {
		s.t.Fatalf("pausing writes on %s: %v", s.Addr(), err)
	}
	written := replicationOffset(s.Addr())
	for _, r := range replicas {
		waitFor(s.t, "replica "+r.Addr()+" caught up", func() bool { return replicationOffset(r.Addr()) >= written })
	}
	s.Kill()
}

func replicationOffset(addr string) int64 {
	for _, line := range strings.Split(info(addr, "replication"), "\r\n") {
		if v, ok := strings.CutPrefix(line, "master_repl_offset:"); ok {
			n, _ := strconv.ParseInt(v, 10, 64)
			return n
		}
	}
	return -1
}

func info(addr, section string) string {
	c := redis.NewClient(&redis.Options{Addr: addr})
	defer c.Close()
	s, _ := c.Info(context.Background(), section).Result()
	return s
}

func clusterInfo(addr string) string {
	c := redis.NewClient(&redis.Options{Addr: addr})
	defer c.Close()
	s, _ := c.ClusterInfo(context.Background()).Result()
	return s
}

func waitFor(t testing.TB, what string, ok func() bool) {
	t.Helper()
	if !wait.Until(20*time.Second, 20*time.Millisecond, ok) {
		t.Fatalf("timed out waiting for %s", what)
	}
}

// Sentinel is a master, its replica and one Sentinel that watches them
// under the name "caddy" and fails over one second after the master stops
// answering.
type Sentinel struct {
	Addr            string
	Master, Replica *Server
}

// StartSentinelGroup runs a master, a replica and a Sentinel that knows
// both, until the test ends.
func StartSentinelGroup(t testing.TB) *Sentinel {
	t.Helper()
	master := Start(t)
	replica := StartReplica(t, master)
	addr := StartSentinel(t, master)
	c := redis.NewSentinelClient(&redis.Options{Addr: addr})
	defer c.Close()
	waitFor(t, "the sentinel to find the replica", func() bool {
		replicas, _ := c.Replicas(context.Background(), "caddy").Result()
		return len(replicas) == 1 && !strings.Contains(replicas[0]["flags"], "disconnected")
	})
	return &Sentinel{Addr: addr, Master: master, Replica: replica}
}

// WaitForFailover returns when the Sentinel names the replica as master.
func (g *Sentinel) WaitForFailover() time.Time {
	c := redis.NewSentinelClient(&redis.Options{Addr: g.Addr})
	defer c.Close()
	waitFor(g.Master.t, "the sentinel to promote the replica", func() bool {
		addr, _ := c.GetMasterAddrByName(context.Background(), "caddy").Result()
		return len(addr) == 2 && addr[0]+":"+addr[1] == g.Replica.Addr()
	})
	return time.Now()
}

// Cluster is a running Redis Cluster.
type Cluster struct {
	t     testing.TB
	Nodes []*Server
}

// StartReplicatedCluster runs a cluster of masters, each with one replica,
// that fails over a master one second after it stops answering
// (cluster-node-timeout 1000) and keeps serving the other masters' slots
// meanwhile (cluster-require-full-coverage no).
func StartReplicatedCluster(t testing.TB, masters int) *Cluster {
	t.Helper()
	return startCluster(t, masters, 1, []string{"--cluster-node-timeout", "1000", "--cluster-require-full-coverage", "no"})
}

// Addrs are the addresses of every node.
func (c *Cluster) Addrs() []string {
	addrs := make([]string, len(c.Nodes))
	for i, n := range c.Nodes {
		addrs[i] = n.Addr()
	}
	return addrs
}

// waitReady waits until every node reports the cluster ok with masters
// masters and every replica is in sync.
func (c *Cluster) waitReady(masters int) {
	c.t.Helper()
	waitFor(c.t, "the cluster", func() bool {
		for _, n := range c.Nodes {
			cluster, replication := clusterInfo(n.Addr()), info(n.Addr(), "replication")
			if !strings.Contains(cluster, "cluster_state:ok") || !strings.Contains(cluster, "cluster_size:"+strconv.Itoa(masters)+"\r\n") ||
				strings.Contains(replication, "role:slave") && !strings.Contains(replication, "master_link_status:up") {
				return false
			}
		}
		return true
	})
}

// MasterOf is the node that serves key, as the cluster sees it now.
func (c *Cluster) MasterOf(key string) *Server {
	return c.node(c.masterAddrOf(c.Nodes[0].Addr(), key))
}

// masterAddrOf asks the node at addr which node serves key.
func (c *Cluster) masterAddrOf(addr, key string) string {
	client := redis.NewClient(&redis.Options{Addr: addr})
	defer client.Close()
	ctx := context.Background()
	slot, err := client.ClusterKeySlot(ctx, key).Result()
	if err != nil {
		return ""
	}
	//lint:ignore SA1019 CLUSTER SLOTS is what go-redis reads too, and Redis 6 has no CLUSTER SHARDS
	slots, _ := client.ClusterSlots(ctx).Result()
	for _, s := range slots {
		if int64(s.Start) <= slot && slot <= int64(s.End) && len(s.Nodes) > 0 {
			return s.Nodes[0].Addr
		}
	}
	return ""
}

func (c *Cluster) node(addr string) *Server {
	for _, n := range c.Nodes {
		if n.Addr() == addr {
			return n
		}
	}
	c.t.Fatalf("no cluster node at %q", addr)
	return nil
}

// ReplicasOf are the nodes that replicate master.
func (c *Cluster) ReplicasOf(master *Server) []*Server {
	client := redis.NewClient(&redis.Options{Addr: master.Addr()})
	defer client.Close()
	nodes, err := client.ClusterNodes(context.Background()).Result()
	if err != nil {
		c.t.Fatal(err)
	}
	var self string
	lines := strings.Split(strings.TrimSpace(nodes), "\n")
	for _, line := range lines {
		if f := strings.Fields(line); strings.Contains(f[2], "myself") {
			self = f[0]
		}
	}
	var replicas []*Server
	for _, line := range lines {
		if f := strings.Fields(line); f[3] == self {
			replicas = append(replicas, c.node(strings.SplitN(f[1], "@", 2)[0]))
		}
	}
	return replicas
}

// WaitForNewMaster returns when a node that is still up reports another
// node than old as the master of key.
func (c *Cluster) WaitForNewMaster(key string, old *Server) time.Time {
	waitFor(c.t, "a replica to take over from "+old.Addr(), func() bool {
		for _, n := range c.Nodes {
			if n.cmd == nil {
				continue
			}
			if addr := c.masterAddrOf(n.Addr(), key); addr != "" && addr != old.Addr() {
				return true
			}
		}
		return false
	})
	return time.Now()
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
	waitFor(t, "redis sentinel to start", func() bool {
		got, err := c.GetMasterAddrByName(context.Background(), "caddy").Result()
		return err == nil && len(got) == 2
	})
	return addr
}
