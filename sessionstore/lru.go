package sessionstore

import (
	"container/list"
	"sync"

	"github.com/google/uuid"
)

// lru is a bounded map of objects that drops the least recently used when
// full. It backs both the read cache and the set of new clients that live in
// memory until they return.
type lru struct {
	mu    sync.Mutex
	limit int
	items map[uuid.UUID]*list.Element
	order list.List // front = most recent
}

type lruEntry struct {
	id  uuid.UUID
	obj Object
}

func newLRU(limit int) *lru {
	return &lru{limit: limit, items: make(map[uuid.UUID]*list.Element)}
}

func (c *lru) get(id uuid.UUID) (Object, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.items[id]
	if !ok {
		return Object{}, false
	}
	c.order.MoveToFront(el)
	return el.Value.(*lruEntry).obj, true
}

// put stores obj and reports how many entries were dropped to make room.
func (c *lru) put(obj Object) (dropped int) {
	if c.limit <= 0 {
		return 0
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.items[obj.ClientID]; ok {
		el.Value.(*lruEntry).obj = obj
		c.order.MoveToFront(el)
		return 0
	}
	c.items[obj.ClientID] = c.order.PushFront(&lruEntry{id: obj.ClientID, obj: obj})
	for c.order.Len() > c.limit {
		oldest := c.order.Back()
		c.order.Remove(oldest)
		delete(c.items, oldest.Value.(*lruEntry).id)
		dropped++
	}
	return dropped
}

func (c *lru) remove(id uuid.UUID) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.items[id]
	if ok {
		c.order.Remove(el)
		delete(c.items, id)
	}
	return ok
}

func (c *lru) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.order.Len()
}
