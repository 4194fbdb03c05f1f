package redis

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	goredis "github.com/redis/go-redis/v9"

	"github.com/c0f4626f/caddy-session/sessionstore"
)

// This file holds what keeps the Redis back end right through failovers:
// naming the cluster node of a key (Store keeps a breaker per node),
// re-reading the cluster's slot map when a node stops answering, and
// refusing writes that reach Redis after their request gave up on them.

// failover is the Redis back end's view of its nodes.
type failover struct {
	cluster *goredis.ClusterClient // nil unless a cluster
	clocks  nodeClocks
	noticed atomic.Int64 // when a connection error was last acted on, UnixNano
}

const (
	// recheckEvery bounds how often connection errors re-read the slot map
	// and the nodes' clocks.
	recheckEvery = 250 * time.Millisecond
	// lateWriteMargin is how long before its request's deadline a write must
	// reach Redis (at most a fifth of the time left): the answer has that
	// long to come back before the request gives up and falls back.
	lateWriteMargin = 10 * time.Millisecond
)

// errLateWrite is the update that reached Redis after its deadline: not
// written, and answered as a fallback.
var errLateWrite = fmt.Errorf("%w: the write reached redis after the request's deadline and was not made", context.DeadlineExceeded)

// watch installs the hook that acts on connection errors.
func (f *failover) watch(client goredis.UniversalClient) {
	f.cluster, _ = client.(*goredis.ClusterClient)
	client.AddHook(failoverHook{f})
}

// master is the name and client of the node that serves key: in a cluster
// the slot's master, from go-redis's slot map (no round trip); otherwise
// the one server, named "".
func (r *Backend) master(key string) (string, goredis.Cmdable) {
	if r.failover.cluster == nil {
		return "", r.client
	}
	c, err := r.failover.cluster.MasterForKey(context.Background(), key)
	if err != nil {
		return "", r.client
	}
	return c.Options().Addr, c
}

// Node implements sessionstore.Sharded: the cluster master that holds the client's keys.
func (r *Backend) Node(id uuid.UUID) string {
	node, _ := r.master(r.keys(id).object)
	return node
}

// BootstrapNode implements sessionstore.Sharded.
func (r *Backend) BootstrapNode(key sessionstore.BootstrapKey) string {
	node, _ := r.master(r.bootstrapKey(key))
	return node
}

// writeDeadline is the last moment, in microseconds of the clock of the
// node that serves key, at which the update script may still write; 0 when
// ctx has no deadline.
func (r *Backend) writeDeadline(ctx context.Context, key string) (int64, error) {
	deadline, ok := ctx.Deadline()
	if !ok {
		return 0, nil
	}
	node, client := r.master(key)
	ahead, err := r.failover.clocks.ahead(ctx, node, client)
	if err != nil {
		r.failover.notice(err) // a node's own client: the hook does not see it
		return 0, err
	}
	margin := min(lateWriteMargin, time.Until(deadline)/5)
	return deadline.Add(ahead - margin).UnixMicro(), nil
}

// notice acts on a failed command: an error that is not Redis's reply
// (refused, reset, timed out) is how a failover shows. The cluster's slot
// map is read again at once (go-redis would otherwise go on dialling a dead
// master until a MOVED reply or its minute-long refresh), and the nodes'
// clocks are measured again (a promoted replica has its own).
func (f *failover) notice(err error) {
	var reply goredis.Error
	if err == nil || errors.As(err, &reply) {
		return
	}
	now, last := time.Now().UnixNano(), f.noticed.Load()
	if now-last < int64(recheckEvery) || !f.noticed.CompareAndSwap(last, now) {
		return
	}
	f.clocks.forget()
	if f.cluster != nil {
		f.cluster.ReloadState(context.Background())
	}
}

type failoverHook struct{ f *failover }

func (h failoverHook) DialHook(next goredis.DialHook) goredis.DialHook { return next }

func (h failoverHook) ProcessHook(next goredis.ProcessHook) goredis.ProcessHook {
	return func(ctx context.Context, cmd goredis.Cmder) error {
		err := next(ctx, cmd)
		h.f.notice(err)
		return err
	}
}

func (h failoverHook) ProcessPipelineHook(next goredis.ProcessPipelineHook) goredis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []goredis.Cmder) error {
		err := next(ctx, cmds)
		h.f.notice(err)
		return err
	}
}

// nodeClocks keeps how far each node's clock is ahead of ours, measured
// with TIME as the server's time minus ours when the answer arrived: a
// lower bound (the answer was on its way for a while), so that a deadline
// converted with it falls early, never late.
type nodeClocks struct {
	mu      sync.Mutex
	offsets map[string]clockOffset
}

type clockOffset struct {
	ahead    time.Duration
	measured time.Time
}

// clockRefresh is how long a measured offset is used.
const clockRefresh = 10 * time.Second

// ahead returns node's offset, measuring it through client when it is
// unknown or old.
func (c *nodeClocks) ahead(ctx context.Context, node string, client goredis.Cmdable) (time.Duration, error) {
	c.mu.Lock()
	o, ok := c.offsets[node]
	c.mu.Unlock()
	if ok && time.Since(o.measured) < clockRefresh {
		return o.ahead, nil
	}
	server, err := client.Time(ctx).Result()
	if err != nil {
		return 0, err
	}
	now := time.Now()
	o = clockOffset{ahead: server.Sub(now), measured: now}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.offsets == nil {
		c.offsets = map[string]clockOffset{}
	}
	c.offsets[node] = o
	return o.ahead, nil
}

func (c *nodeClocks) forget() {
	c.mu.Lock()
	defer c.mu.Unlock()
	clear(c.offsets)
}
