package sessionstore

import (
	"sync"
	"time"

	"github.com/google/uuid"
)

// BootstrapKey identifies a browser without cookies for the bootstrap
// window: a keyed hash of what the browser sends. The zero key shares
// nothing.
type BootstrapKey [16]byte

// bootstrap lets the concurrent cookieless requests of one browser's first
// page load share one new client. Keys live only for their window and the
// map is bounded; the oldest entry goes first. Nothing in it is a pointer:
// a full map of new visitors costs the garbage collector nothing to scan.
type bootstrap struct {
	mu    sync.Mutex
	limit int
	items map[BootstrapKey]bootstrapEntry
	order []queuedKey // insertion order, oldest at head
	head  int
}

type bootstrapEntry struct {
	client  uuid.UUID
	expires int64 // Unix nanoseconds
}

type queuedKey struct {
	key     BootstrapKey
	expires int64
}

func newBootstrap(limit int) *bootstrap {
	return &bootstrap{limit: limit, items: make(map[BootstrapKey]bootstrapEntry)}
}

// clientFor returns the client that key joined within the window. When there
// is none, it calls create (under the lock, so followers cannot see the key
// before the client exists) and remembers the new client.
func (b *bootstrap) clientFor(key BootstrapKey, now time.Time, window time.Duration, create func() uuid.UUID) (client uuid.UUID, joined bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	at := now.UnixNano()
	b.expire(at)
	// An entry can outlive its window behind a longer one (sites differ).
	if e, ok := b.items[key]; ok && at < e.expires {
		return e.client, true
	}
	client = create()
	expires := now.Add(window).UnixNano()
	b.items[key] = bootstrapEntry{client: client, expires: expires}
	b.order = append(b.order, queuedKey{key: key, expires: expires})
	for len(b.order)-b.head > b.limit {
		b.dropOldest()
	}
	return client, false
}

// expire drops entries past their window, oldest first.
func (b *bootstrap) expire(at int64) {
	for b.head < len(b.order) && b.order[b.head].expires <= at {
		b.dropOldest()
	}
}

// dropOldest removes the oldest queued key. Its map entry goes with it
// unless the key was added again since.
func (b *bootstrap) dropOldest() {
	q := b.order[b.head]
	if e, ok := b.items[q.key]; ok && e.expires == q.expires {
		delete(b.items, q.key)
	}
	b.head++
	if b.head > len(b.order)/2 { // reuse the front of the slice
		b.order = b.order[:copy(b.order, b.order[b.head:])]
		b.head = 0
	}
}

func (b *bootstrap) len() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.items)
}
