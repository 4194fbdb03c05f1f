package sessionstore

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
)

// tombstones are the erased client IDs that must not come back. Erasures
// are rare, so the set is small; an empty set costs one atomic load.
type tombstones struct {
	size atomic.Int64
	mu   sync.RWMutex
	m    map[uuid.UUID]time.Time
}

func (t *tombstones) has(id uuid.UUID, now time.Time) bool {
	if t.size.Load() == 0 {
		return false
	}
	t.mu.RLock()
	defer t.mu.RUnlock()
	until, ok := t.m[id]
	return ok && now.Before(until)
}

func (t *tombstones) add(id uuid.UUID, until time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.m == nil {
		t.m = map[uuid.UUID]time.Time{}
	}
	t.m[id] = until
	t.size.Store(int64(len(t.m)))
}

// addUnless adds a tombstone unless the client has one at now, and
// reports whether it did: of concurrent callers, one does.
func (t *tombstones) addUnless(id uuid.UUID, until, now time.Time) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if old, ok := t.m[id]; ok && now.Before(old) {
		return false
	}
	if t.m == nil {
		t.m = map[uuid.UUID]time.Time{}
	}
	t.m[id] = until
	t.size.Store(int64(len(t.m)))
	return true
}

// missingFrom returns the tombstones that stored lacks or holds for a
// shorter time.
func (t *tombstones) missingFrom(stored map[uuid.UUID]time.Time) map[uuid.UUID]time.Time {
	t.mu.RLock()
	defer t.mu.RUnlock()
	missing := map[uuid.UUID]time.Time{}
	for id, until := range t.m {
		if s, ok := stored[id]; !ok || s.Before(until) {
			missing[id] = until
		}
	}
	return missing
}

// merge adds tombstones, keeping the later end of each.
func (t *tombstones) merge(m map[uuid.UUID]time.Time) {
	for id, until := range m {
		if !t.has(id, until) {
			t.add(id, until)
		}
	}
}
