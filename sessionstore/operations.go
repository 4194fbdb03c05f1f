package sessionstore

import (
	"context"
	"errors"
	"io"
	"time"

	"github.com/google/uuid"
)

// This file holds what operators do with the store: look at a client,
// erase one, count them. Each needs an optional ability of the back end.

// recentSessions is how many session rows Inspect returns.
const recentSessions = 20

// Inspect returns a client's object and its recent sessions, newest first,
// or nil when the store does not know the client. A client idle past the
// retention is unknown, as it is to a visit, and so is a tombstoned one
// whose erasure still waits (a withdrawal's).
func (s *Store) Inspect(ctx context.Context, id uuid.UUID) (*Object, []SessionRow, error) {
	now := time.Now()
	if s.tombs.has(id, now) {
		return nil, nil, nil
	}
	obj, rows, err := s.way.inspect(ctx, id)
	if obj == nil || s.retired(obj, now) {
		return nil, nil, err
	}
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
	if err := s.way.ready(); err != nil {
		return false, err
	}
	l, err := s.lock(given(ctx), id)
	if err != nil {
		return false, err
	}
	defer l.unlock()
	found, err = s.way.erase(ctx, id, until)
	if err != nil {
		return false, err
	}
	s.tombs.add(id, until)
	return found, nil
}

// Count returns the number of stored objects.
func (s *Store) Count(ctx context.Context) (int64, error) {
	return s.way.count(ctx)
}

// ability returns the open back end of c as the optional interface A, or
// ErrUnsupported when it lacks it.
func ability[A any, B io.Closer](c *conn[B]) (A, error) {
	var none A
	b, err := c.get()
	if err != nil {
		return none, err
	}
	a, ok := any(b).(A)
	if !ok {
		return none, ErrUnsupported
	}
	return a, nil
}

// inspectIn reads a client's object and recent sessions from the back end
// of c; a back end that cannot list sessions gives the current one.
func inspectIn[B io.Closer](ctx context.Context, c *conn[B], id uuid.UUID) (*Object, []SessionRow, error) {
	l, err := ability[Loader](c)
	if err != nil {
		return nil, nil, err
	}
	obj, err := l.Load(ctx, id)
	if err != nil || obj == nil {
		return nil, nil, err
	}
	lister, err := ability[SessionLister](c)
	if errors.Is(err, ErrUnsupported) {
		return obj, []SessionRow{obj.Session()}, nil
	}
	if err != nil {
		return obj, nil, err
	}
	rows, err := lister.Sessions(ctx, id, recentSessions)
	return obj, rows, err
}

// eraseIn erases a client in the back end of c. A lost back end (its file
// replaced) is reopened and the erasure made in the new one, so that it
// lands where the next start will read, not in the file that was moved away.
func eraseIn[B io.Closer](ctx context.Context, c *conn[B], id uuid.UUID, until time.Time) (bool, error) {
	e, err := ability[Eraser](c)
	if err != nil {
		return false, err
	}
	found, err := e.Erase(ctx, id, until)
	if !errors.Is(err, ErrBackendLost) {
		return found, err
	}
	c.reset()
	ctx, cancel := context.WithTimeout(ctx, saveTimeout)
	defer cancel()
	if _, err := c.await(ctx); err != nil {
		return false, err
	}
	if e, err = ability[Eraser](c); err != nil {
		return false, err
	}
	return e.Erase(ctx, id, until)
}

// countIn counts the objects in the back end of c.
func countIn[B io.Closer](ctx context.Context, c *conn[B]) (int64, error) {
	counter, err := ability[Counter](c)
	if err != nil {
		return 0, err
	}
	return counter.Count(ctx)
}
