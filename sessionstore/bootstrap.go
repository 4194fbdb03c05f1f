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

// The bootstrap rule, for every store. The first cookieless visit of a key
// opens its window with a new client; the visits that follow within the
// window join that client, as the parallel requests of one page load do. A
// page load (a navigation) never joins: one page load has one navigation,
// so a second one is another browser that sends the same things (behind
// one NAT). It gets a client of its own and contests the window, which
// from then on joins nobody: a later request could belong to either
// browser, and joining the wrong one would hand it the other's identity.
//
// A window holds the client that opened it, or uuid.Nil once contested.

// joinsWindow reports whether a visit joins the client a window holds.
func joinsWindow(held uuid.UUID, pageLoad bool) bool {
	return held != uuid.Nil && !pageLoad
}

// bootstrap keeps the windows of a store that one process owns. Keys live
// only for their window and the map is bounded; the oldest entry goes
// first. Nothing in it is a pointer: a full map of new visitors costs the
// garbage collector nothing to scan.
type bootstrap struct {
	mu    sync.Mutex
	limit int
	items map[BootstrapKey]bootstrapEntry
	order []queuedKey // insertion order, oldest at head
	head  int
}

type bootstrapEntry struct {
	client  uuid.UUID // uuid.Nil once contested
	expires int64     // Unix nanoseconds
}

type queuedKey struct {
	key     BootstrapKey
	expires int64
}

func newBootstrap(limit int) *bootstrap {
	return &bootstrap{limit: limit, items: make(map[BootstrapKey]bootstrapEntry)}
}

// clientFor returns the client that key joined within the window. When it
// joins none, it calls create (under the lock, so followers cannot see the
// key before the client exists) and opens the window with the new client,
// or contests the open window for a page load.
func (b *bootstrap) clientFor(key BootstrapKey, now time.Time, window time.Duration, pageLoad bool, create func() uuid.UUID) (client uuid.UUID, joined bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	at := now.UnixNano()
	b.expire(at)
	// An entry can outlive its window behind a longer one (sites differ).
	if e, ok := b.items[key]; ok && at < e.expires {
		if joinsWindow(e.client, pageLoad) {
			return e.client, true
		}
		if pageLoad {
			e.client = uuid.Nil
			b.items[key] = e
		}
		return create(), false
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
