package sessionstore

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
)

// This file holds what operators do with the store: look at a client,
// erase one, count them.

// recentSessions is how many session rows Inspect returns.
const recentSessions = 20

// Inspect returns a client's object and its recent sessions, newest first,
// or nil when the store does not know the client. A client idle past the
// retention is unknown, as it is to a visit.
func (s *Store) Inspect(ctx context.Context, id uuid.UUID) (*Object, []SessionRow, error) {
	now := time.Now()
	if o, ok := s.pending.get(id); ok && !s.retired(&o, now) {
		return &o, []SessionRow{o.Session()}, nil
	}
	if err := s.Flush(ctx); err != nil {
		return nil, nil, err
	}
	b, err := s.conn.get()
	if err != nil {
		return nil, nil, err
	}
	obj, err := b.Load(ctx, id)
	if err != nil || obj == nil || s.retired(obj, now) {
		return nil, nil, err
	}
	rows, err := b.Sessions(ctx, id, recentSessions)
	return obj, s.unretired(rows, now), err
}

// unretired keeps the session rows that are within the retention at now.
func (s *Store) unretired(rows []SessionRow, now time.Time) []SessionRow {
	kept := rows[:0]
	for _, r := range rows {
		if now.Sub(r.LastSeen) <= s.cfg.Retention {
			kept = append(kept, r)
		}
	}
	return kept
}

// Erase removes a client everywhere (memory, write queue, back end) and
// tombstones its ID until the given time, so that the next request carrying
// it gets a brand-new client. found reports whether the client was known.
func (s *Store) Erase(ctx context.Context, id uuid.UUID, until time.Time) (found bool, err error) {
	b, err := s.conn.get()
	if err != nil {
		return false, err
	}
	l, err := s.lock(given(ctx), id)
	if err != nil {
		return false, err
	}
	defer l.unlock()
	inMemory := s.pending.remove(id)
	s.cache.remove(id)
	queued := s.writer.forget(id)
	// A commit under way may still write the client: let it finish first.
	if err := s.Flush(ctx); err != nil {
		return false, err
	}
	stored, err := s.eraseStored(ctx, b, id, until)
	if err != nil {
		return false, err
	}
	s.tombs.add(id, until)
	return stored || inMemory || queued, nil
}

// eraseStored erases in the back end. A lost back end (its file replaced)
// is reopened and the erasure made in the new one, so that it lands where
// the next start will read, not in the file that was moved away.
func (s *Store) eraseStored(ctx context.Context, b Backend, id uuid.UUID, until time.Time) (bool, error) {
	stored, err := b.Erase(ctx, id, until)
	if !errors.Is(err, ErrBackendLost) {
		return stored, err
	}
	s.conn.reset()
	ctx, cancel := context.WithTimeout(ctx, saveTimeout)
	defer cancel()
	if b, err = s.conn.await(ctx); err != nil {
		return false, err
	}
	return b.Erase(ctx, id, until)
}

// Count returns the number of stored objects.
func (s *Store) Count(ctx context.Context) (int64, error) {
	b, err := s.conn.get()
	if err != nil {
		return 0, err
	}
	return b.Count(ctx)
}

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

// atomicSum adds counts from concurrent goroutines.
type atomicSum struct{ n atomic.Int64 }

func (a *atomicSum) add(n int64) { a.n.Add(n) }
func (a *atomicSum) load() int64 { return a.n.Load() }
