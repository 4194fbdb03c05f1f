package sessionstore

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"go.uber.org/zap"
)

// writeBehind runs visits on a back end this process owns. An object lives
// in memory while its client is active: new clients stay in the pending
// set until they come back with their cookie (most never do, and cost no
// write), updates go to the cache and the write queue, and one writer
// group-commits them. Lookups check every copy that may be newer than the
// back end's before reading it.
type writeBehind struct {
	s       *Store
	conn    conn[WriteBehind]
	cache   *lru
	pending *lru
	boot    *bootstrap
	writer  *writer

	pendingDropped atomic.Uint64
	gcStop         chan struct{} // stops the garbage collection and watchReplaced
	gcDone         chan struct{}
	watchDone      chan struct{}
}

func newWriteBehind(s *Store, open func() (WriteBehind, error)) *writeBehind {
	cfg := s.cfg
	w := &writeBehind{
		s:       s,
		cache:   newLRU(cfg.CacheSize),
		pending: newLRU(cfg.PendingLimit),
		boot:    newBootstrap(cfg.BootstrapLimit),
		gcStop:  make(chan struct{}),
		gcDone:  make(chan struct{}),

		watchDone: make(chan struct{}),
	}
	w.conn.open = reconciled(s, open)
	w.writer = newWriter(w.save, cfg.FlushInterval, cfg.QueueLimit)
	connect(s, &w.conn)
	go w.collectGarbage()
	go w.watchReplaced()
	return w
}

func (w *writeBehind) ready() error {
	_, err := w.conn.get()
	return err
}

func (w *writeBehind) openError() error { return w.conn.openError() }

// flush writes what is queued, into the file now at the path.
func (w *writeBehind) flush(ctx context.Context) error {
	if err := w.reopenIfReplaced(ctx); err != nil {
		return err
	}
	return w.writer.flush(ctx)
}

// close writes what is queued and closes the back end, first reopening a
// replaced file so that the next start reads the erasures it lacked.
func (w *writeBehind) close() error {
	close(w.gcStop)
	<-w.gcDone
	<-w.watchDone
	ctx, cancel := context.WithTimeout(context.Background(), saveTimeout)
	if err := w.reopenIfReplaced(ctx); err != nil {
		w.s.log.Warn("session database file replaced; reopening it before closing failed", zap.Error(err))
	}
	cancel()
	w.writer.close()
	return w.conn.close()
}

func (w *writeBehind) stats(st *Stats) {
	st.QueueDepth = w.writer.depth()
	st.DroppedWrites = w.writer.dropped.Load()
	st.PendingClients = w.pending.len()
	st.PendingDropped = w.pendingDropped.Load()
	st.CachedObjects = w.cache.len()
	st.BootstrapKeys = w.boot.len()
}

// load reads an object from the back end under the deadline.
func (w *writeBehind) load(ctx context.Context, id uuid.UUID) (*Object, error) {
	b, err := w.conn.get()
	if err != nil {
		return nil, err
	}
	var obj *Object
	err = w.s.call(ctx, "", "load", func(ctx context.Context) (err error) {
		obj, err = b.Load(ctx, id)
		return err
	})
	if err != nil {
		return nil, err // a late call may still write obj
	}
	return obj, nil
}

func (w *writeBehind) visit(ctx context.Context, v Visit, o Options) (Event, error) {
	dl := newDeadline(ctx, o.Timeout)
	defer dl.release()
	d := &dl
	if v.Claim.ClientID == uuid.Nil {
		if o.BootstrapWindow <= 0 || v.BootstrapKey == (BootstrapKey{}) {
			ev, commit := w.create(v, o)
			return ev, w.await(d, commit)
		}
		var ev Event
		var commit <-chan error
		client, joined := w.boot.clientFor(v.BootstrapKey, v.Now, o.BootstrapWindow, v.PageLoad, func() uuid.UUID {
			ev, commit = w.create(v, o)
			return ev.ClientID
		})
		if !joined {
			return ev, w.await(d, commit)
		}
		v.Claim = Claim{ClientID: client}
	}
	ev, commit, err := w.advance(d, v, o)
	if err != nil {
		return Event{}, err
	}
	return ev, w.await(d, commit)
}

// create makes a new client's object. It lives in memory until the client
// returns with its cookie, unless o says to persist it at once.
func (w *writeBehind) create(v Visit, o Options) (Event, <-chan error) {
	obj, ev := applyVisit(nil, v, o.Policy)
	return ev, w.keep(obj, nil, !o.PersistImmediately)
}

// advance runs the visit inside the client's object, holding its lock.
func (w *writeBehind) advance(d *deadline, v Visit, o Options) (Event, <-chan error, error) {
	l, err := w.s.lock(d, v.Claim.ClientID)
	if err != nil {
		return Event{}, nil, err
	}
	defer l.unlock()
	if w.s.tombs.has(v.Claim.ClientID, v.Now) {
		ev, commit := w.create(v, o) // erased: a brand-new client
		return ev, commit, nil
	}
	var stored Object
	found, pending, err := w.lookup(d, v.Claim.ClientID, v.Now, &stored)
	if err != nil {
		return Event{}, nil, err
	}
	prev := &stored
	if !found {
		prev = rehydrate(v.Claim)
	}
	next, ev := applyVisit(prev, v, o.Policy)
	var closed *SessionRow
	if ev.NewSession && prev.SessionID != uuid.Nil {
		row := prev.Session()
		closed = &row
	}
	if pending && !v.Claim.FromCookie {
		return ev, w.keep(next, closed, true), nil
	}
	if pending {
		w.pending.remove(next.ClientID) // it came back: written from now on
	}
	return ev, w.keep(next, closed, false), nil
}

// lookup finds a client's object, into obj: new clients in memory, then the
// cache, then the updates not yet written, then the back end. pending
// reports a new client not yet written. An object idle past the retention
// is not found, whichever copy of it is still around.
func (w *writeBehind) lookup(d *deadline, id uuid.UUID, now time.Time, obj *Object) (found, pending bool, err error) {
	found, pending, err = w.find(d, id, obj)
	if found && w.s.retired(obj, now) {
		w.pending.remove(id)
		w.cache.remove(id)
		return false, false, nil
	}
	return found, pending, err
}

func (w *writeBehind) find(d *deadline, id uuid.UUID, obj *Object) (found, pending bool, err error) {
	if *obj, found = w.pending.get(id); found {
		return true, true, nil
	}
	if *obj, found = w.cache.get(id); found {
		return true, false, nil
	}
	if *obj, found = w.writer.unwritten(id); found {
		return true, false, nil
	}
	loaded, err := w.load(d.context(), id)
	if err != nil || loaded == nil {
		return false, false, err
	}
	*obj = *loaded
	return true, false, nil
}

// retired reports whether obj was idle longer than the retention at now:
// garbage collection deletes it from the back end, and no copy in memory
// may bring it back.
func (s *Store) retired(obj *Object, now time.Time) bool {
	return now.Sub(obj.LastSeen) > s.cfg.Retention
}

// keep stores the object's new state, with the row of a session the visit
// ended: in the pending set, or in the cache and the write queue. The
// channel, with Sync, reports the commit; it also reports an update the
// writer refused (closed, or dropped by a full queue), which is then not
// cached either: the visit is a fallback, and the next one continues from
// what was written, never from a copy the cache may lose.
func (w *writeBehind) keep(obj Object, closed *SessionRow, stayPending bool) <-chan error {
	if stayPending {
		w.pendingDropped.Add(uint64(w.pending.put(obj)))
		return nil
	}
	commit, err := w.writer.enqueue(obj, closed, w.s.cfg.Sync)
	if err != nil {
		return refused(err)
	}
	w.cache.put(obj)
	return commit
}

func refused(err error) <-chan error {
	ch := make(chan error, 1)
	ch <- err
	return ch
}

func (w *writeBehind) await(d *deadline, commit <-chan error) error {
	if commit == nil {
		return nil
	}
	ctx := d.context()
	select {
	case err := <-commit:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// save is the writer's commit: one batch, panics turned into errors.
func (w *writeBehind) save(ctx context.Context, batch Batch) (err error) {
	start := time.Now()
	defer func() {
		w.s.cfg.Observe("save", time.Since(start))
		if r := recover(); r != nil {
			err = fmt.Errorf("%w: %v", errPanic, r)
		}
		w.s.record(w.s.breaker.store, start, err)
		if err != nil {
			w.s.log.Warn("session store write failed; will retry", zap.Int("objects", len(batch.Objects)), zap.Error(err))
		}
		if errors.Is(err, ErrBackendLost) {
			w.conn.reset()
		}
	}()
	b, err := w.conn.get()
	if err != nil {
		return err
	}
	return b.Save(ctx, batch)
}

// inspect finds a new client in memory, or writes what is queued and reads
// the back end.
func (w *writeBehind) inspect(ctx context.Context, id uuid.UUID) (*Object, []SessionRow, error) {
	if o, ok := w.pending.get(id); ok {
		return &o, []SessionRow{o.Session()}, nil
	}
	if err := w.flush(ctx); err != nil {
		return nil, nil, err
	}
	return inspectIn(ctx, &w.conn, id)
}

// erase forgets the client in memory and in the write queue, then erases
// it in the back end.
func (w *writeBehind) erase(ctx context.Context, id uuid.UUID, until time.Time) (bool, error) {
	if _, err := ability[Eraser](&w.conn); err != nil {
		return false, err
	}
	inMemory := w.pending.remove(id)
	w.cache.remove(id)
	queued := w.writer.forget(id)
	// A commit under way may still write the client: let it finish first.
	if err := w.flush(ctx); err != nil {
		return false, err
	}
	stored, err := eraseIn(ctx, &w.conn, id, until)
	return stored || inMemory || queued, err
}

func (w *writeBehind) count(ctx context.Context) (int64, error) { return countIn(ctx, &w.conn) }

// bind queues the binding, then binds the client's object, found as a
// visit finds it or rebuilt from the claim, and queues it. A new client
// waiting in memory is written from now on: erasure by user finds clients
// in the back end. The binding comes first, as a shared store's index
// does, and is kept apart from the object, which names only the latest
// user: a browser that logs in as another user keeps the first one's data.
func (w *writeBehind) bind(ctx context.Context, c Claim, userID string, now time.Time, o Options) error {
	dl := newDeadline(ctx, o.Timeout)
	defer dl.release()
	d := &dl
	l, err := w.s.lock(d, c.ClientID)
	if err != nil {
		return err
	}
	defer l.unlock()
	if w.s.tombs.has(c.ClientID, now) {
		return ErrErased
	}
	var stored Object
	found, pending, err := w.lookup(d, c.ClientID, now, &stored)
	if err != nil {
		return err
	}
	prev := &stored
	if !found {
		prev = rehydrate(c)
	}
	if err := w.writer.bind(Binding{ClientID: c.ClientID, UserID: userID, At: now}); err != nil {
		return err
	}
	if pending {
		w.pending.remove(c.ClientID)
	}
	return w.await(d, w.keep(bind(*prev, userID), nil, false))
}

// clientsOf writes what is queued (bindings among it) and asks the back end.
func (w *writeBehind) clientsOf(ctx context.Context, userID string) ([]uuid.UUID, error) {
	if err := w.flush(ctx); err != nil {
		return nil, err
	}
	return clientsOfIn(ctx, &w.conn, userID)
}

func (w *writeBehind) forgetUser(ctx context.Context, userID string, ids []uuid.UUID) error {
	return forgetUserIn(ctx, &w.conn, userID, ids)
}

func (w *writeBehind) aggregator() (Aggregator, error) { return ability[Aggregator](&w.conn) }

func (w *writeBehind) write(ctx context.Context, fn func() error) error { return w.writer.do(ctx, fn) }
