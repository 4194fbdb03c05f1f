package sessionstore

import (
	"container/list"
	"sync"
	"time"

	"github.com/google/uuid"
)

// bootstrap lets the concurrent cookieless requests of one browser's first
// page load share one new client. Keys live only for the window and the map
// is bounded; the oldest entry goes first.
type bootstrap struct {
	mu    sync.Mutex
	limit int
	items map[string]*list.Element
	order list.List // front = newest
}

type bootstrapEntry struct {
	key     string
	client  uuid.UUID
	expires time.Time
}

func newBootstrap(limit int) *bootstrap {
	return &bootstrap{limit: limit, items: make(map[string]*list.Element)}
}

// clientFor returns the client that key joined within the window. When there
// is none, it calls create (under the lock, so followers cannot see the key
// before the client exists) and remembers the new client.
func (b *bootstrap) clientFor(key string, now time.Time, window time.Duration, create func() uuid.UUID) (client uuid.UUID, joined bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.expire(now)
	if el, ok := b.items[key]; ok {
		return el.Value.(*bootstrapEntry).client, true
	}
	client = create()
	b.items[key] = b.order.PushFront(&bootstrapEntry{key: key, client: client, expires: now.Add(window)})
	for b.order.Len() > b.limit {
		b.drop(b.order.Back())
	}
	return client, false
}

// expire drops entries past their window, oldest first.
func (b *bootstrap) expire(now time.Time) {
	for el := b.order.Back(); el != nil && !now.Before(el.Value.(*bootstrapEntry).expires); el = b.order.Back() {
		b.drop(el)
	}
}

func (b *bootstrap) drop(el *list.Element) {
	b.order.Remove(el)
	delete(b.items, el.Value.(*bootstrapEntry).key)
}

func (b *bootstrap) len() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.order.Len()
}
