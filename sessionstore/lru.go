package sessionstore

import (
	"sync"
	"time"

	"github.com/google/uuid"
)

// lru is a bounded set of objects that drops the least recently used when
// full. It backs both the read cache and the set of new clients that live in
// memory until they return. Objects are kept in their compact form in a
// slice with an index-linked recency list, and the index map holds no
// pointers, so a full set of 100,000 clients costs the garbage collector
// 100,000 pointers to scan instead of a million.
type lru struct {
	mu    sync.Mutex
	limit int
	index map[uuid.UUID]int32
	slots []lruSlot
	free  []int32
	head  int32 // most recently used, or -1
	tail  int32 // least recently used, or -1
}

type lruSlot struct {
	id         uuid.UUID
	lastSeen   int64
	state      []byte
	prev, next int32
}

func newLRU(limit int) *lru {
	return &lru{limit: limit, index: make(map[uuid.UUID]int32), head: -1, tail: -1}
}

func (c *lru) get(id uuid.UUID) (Object, bool) {
	c.mu.Lock()
	i, ok := c.index[id]
	if !ok {
		c.mu.Unlock()
		return Object{}, false
	}
	c.unlink(i)
	c.pushFront(i)
	s := c.slots[i]
	c.mu.Unlock()
	o := Object{ClientID: s.id, LastSeen: time.UnixMilli(s.lastSeen)}
	return o, o.UnmarshalBinary(s.state) == nil
}

// put stores obj and reports how many entries were dropped to make room.
func (c *lru) put(obj Object) (dropped int) {
	if c.limit <= 0 {
		return 0
	}
	state, _ := obj.MarshalBinary()
	c.mu.Lock()
	defer c.mu.Unlock()
	if i, ok := c.index[obj.ClientID]; ok {
		c.slots[i].lastSeen, c.slots[i].state = obj.LastSeen.UnixMilli(), state
		c.unlink(i)
		c.pushFront(i)
		return 0
	}
	for len(c.index) >= c.limit {
		c.drop(c.tail)
		dropped++
	}
	i := c.alloc()
	c.slots[i] = lruSlot{id: obj.ClientID, lastSeen: obj.LastSeen.UnixMilli(), state: state}
	c.index[obj.ClientID] = i
	c.pushFront(i)
	return dropped
}

func (c *lru) remove(id uuid.UUID) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	i, ok := c.index[id]
	if ok {
		c.drop(i)
	}
	return ok
}

func (c *lru) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.index)
}

func (c *lru) alloc() int32 {
	if n := len(c.free); n > 0 {
		i := c.free[n-1]
		c.free = c.free[:n-1]
		return i
	}
	c.slots = append(c.slots, lruSlot{})
	return int32(len(c.slots) - 1)
}

func (c *lru) drop(i int32) {
	c.unlink(i)
	delete(c.index, c.slots[i].id)
	c.slots[i] = lruSlot{}
	c.free = append(c.free, i)
}

func (c *lru) pushFront(i int32) {
	c.slots[i].prev, c.slots[i].next = -1, c.head
	if c.head >= 0 {
		c.slots[c.head].prev = i
	}
	c.head = i
	if c.tail < 0 {
		c.tail = i
	}
}

func (c *lru) unlink(i int32) {
	s := &c.slots[i]
	if s.prev >= 0 {
		c.slots[s.prev].next = s.next
	} else {
		c.head = s.next
	}
	if s.next >= 0 {
		c.slots[s.next].prev = s.prev
	} else {
		c.tail = s.prev
	}
	s.prev, s.next = -1, -1
}
