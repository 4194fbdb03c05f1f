package sessionstore

import (
	"sort"
	"sync"
	"time"
)

// breakers are a store's circuit breakers: one for the store as a whole
// (its connection, and every call to a back end on one node) and one per
// node of a back end that spreads clients over nodes that fail on their own
// (a Redis Cluster), so that one node's failure does not fall back the
// clients of the others.
type breakers struct {
	store *breaker
	mu    sync.Mutex
	nodes map[string]*breaker
}

const (
	// maxNodeBreakers bounds the per-node breakers; past it, idle ones are
	// dropped, and if none is idle the store's breaker stands in.
	maxNodeBreakers = 1024
	// nodeIdle is how long a node's breaker may go unasked before it is
	// forgotten (a master replaced in a failover gets no more calls).
	nodeIdle = 10 * time.Second
)

func newBreakers() *breakers {
	return &breakers{store: newBreaker(""), nodes: map[string]*breaker{}}
}

// of returns the breaker of node; "" is the store's.
func (bs *breakers) of(node string) *breaker {
	if node == "" {
		return bs.store
	}
	bs.mu.Lock()
	defer bs.mu.Unlock()
	if b, ok := bs.nodes[node]; ok {
		return b
	}
	if len(bs.nodes) >= maxNodeBreakers {
		bs.dropIdle(time.Now())
	}
	if len(bs.nodes) >= maxNodeBreakers {
		return bs.store
	}
	b := newBreaker(node)
	bs.nodes[node] = b
	return b
}

func (bs *breakers) dropIdle(now time.Time) {
	for node, b := range bs.nodes {
		if b.idle(now.Add(-nodeIdle)) {
			delete(bs.nodes, node)
		}
	}
}

// openNodes lists the nodes whose breakers skip them at now, leaving out
// nodes nothing has asked for lately.
func (bs *breakers) openNodes(now time.Time) []string {
	bs.mu.Lock()
	defer bs.mu.Unlock()
	var open []string
	for node, b := range bs.nodes {
		if b.open(now) && !b.idle(now.Add(-nodeIdle)) {
			open = append(open, node)
		}
	}
	sort.Strings(open)
	return open
}
