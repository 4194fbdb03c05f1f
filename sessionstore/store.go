// Package sessionstore keeps one object per client and runs the session
// lifecycle inside it, one request at a time per client: the Durable Object
// of the Worker this replaces. It knows nothing of HTTP; callers hand it
// claims and get events back.
package sessionstore

import (
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"go.uber.org/zap"
)

// Config is the store-wide configuration. Zero values take the defaults.
type Config struct {
	// Open opens the back end. It is retried when it fails.
	Open func() (Backend, error)
	// FlushInterval is the group-commit window (default 100ms).
	FlushInterval time.Duration
	// Sync makes each visit wait for the commit that carries it.
	Sync bool
	// QueueLimit bounds the objects waiting to be written (default 100,000).
	QueueLimit int
	// CacheSize bounds the objects kept in memory after a write
	// (default 100,000; negative disables the cache).
	CacheSize int
	// PendingLimit bounds the new clients kept in memory until they return
	// (default 100,000).
	PendingLimit int
	// BootstrapLimit bounds the bootstrap-window map (default 100,000).
	BootstrapLimit int
	// Retention deletes objects idle longer than this (default 90 days).
	Retention time.Duration
	// Logger receives the store's own log lines.
	Logger *zap.Logger
	// Observe, when set, is told how long each back-end call took:
	// op is load, save or sweep.
	Observe func(op string, d time.Duration)
}

// Options are the per-site settings of a visit.
type Options struct {
	Policy
	// Timeout is the deadline of the store work of one visit.
	Timeout time.Duration
	// BootstrapWindow is how long cookieless requests of one browser share
	// a new client; 0 disables it.
	BootstrapWindow time.Duration
	// PersistImmediately writes new clients at once instead of waiting for
	// them to come back.
	PersistImmediately bool
}

// Store runs visits against per-client objects.
type Store struct {
	cfg     Config
	log     *zap.Logger
	conn    conn
	locks   [lockStripes]stripe
	seed    maphash.Seed
	cache   *lru
	pending *lru
	boot    *bootstrap
	writer  *writer
	breaker *breakers
	tombs   tombstones
	undos   undos
	closed  atomic.Bool

	pendingDropped atomic.Uint64
	gcStop         chan struct{}
	gcDone         chan struct{}
}

const lockStripes = 512

// Defaults.
const (
	DefaultFlushInterval = 100 * time.Millisecond
	DefaultLimit         = 100_000
	DefaultRetention     = 90 * 24 * time.Hour
)

// New starts a store. The back end is opened right away; when that fails
// the error is logged and returned through Health, and the store serves
// fallbacks until a later attempt succeeds.
func New(cfg Config) *Store {
	cfg = cfg.withDefaults()
	s := &Store{
		cfg:     cfg,
		log:     cfg.Logger,
		seed:    maphash.MakeSeed(),
		cache:   newLRU(cfg.CacheSize),
		pending: newLRU(cfg.PendingLimit),
		boot:    newBootstrap(cfg.BootstrapLimit),
		breaker: newBreakers(),
		gcStop:  make(chan struct{}),
		gcDone:  make(chan struct{}),
	}
	s.conn.open = s.openBackend
	for i := range s.locks {
		s.locks[i] = make(stripe, 1)
	}
	s.writer = newWriter(s.save, cfg.FlushInterval, cfg.QueueLimit)
	if err := s.conn.openNow(); err != nil {
		s.log.Error("session store cannot open; serving identity from cookies until it can", zap.Error(err))
	}
	go s.collectGarbage()
	return s
}

func (c Config) withDefaults() Config {
	if c.FlushInterval <= 0 {
		c.FlushInterval = DefaultFlushInterval
	}
	if c.QueueLimit <= 0 {
		c.QueueLimit = DefaultLimit
	}
	if c.CacheSize == 0 {
		c.CacheSize = DefaultLimit
	}
	if c.PendingLimit <= 0 {
		c.PendingLimit = DefaultLimit
	}
	if c.BootstrapLimit <= 0 {
		c.BootstrapLimit = DefaultLimit
	}
	if c.Retention <= 0 {
		c.Retention = DefaultRetention
	}
	if c.Logger == nil {
		c.Logger = zap.NewNop()
	}
	if c.Observe == nil {
		c.Observe = func(string, time.Duration) {}
	}
	return c
}

// openBackend opens the back end and reconciles its tombstones with the
// ones in memory: a database file that was replaced or recreated (a restored
// backup, a lost file) must not bring an erased client back, so erasures it
// lacks are made again in it.
func (s *Store) openBackend() (Backend, error) {
	b, err := s.cfg.Open()
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), saveTimeout)
	defer cancel()
	stored, err := b.Tombstones(ctx, time.Now())
	if err == nil {
		err = eraseAgain(ctx, b, s.tombs.missingFrom(stored))
	}
	if err != nil {
		b.Close()
		return nil, fmt.Errorf("loading tombstones: %w", err)
	}
	s.tombs.merge(stored)
	return b, nil
}

func eraseAgain(ctx context.Context, b Backend, tombs map[uuid.UUID]time.Time) error {
	for id, until := range tombs {
		if _, err := b.Erase(ctx, id, until); err != nil {
			return err
		}
	}
	return nil
}

// Visit processes one request of a client. It never fails: when the store
// errs, hangs past the deadline, panics or is skipped by the breaker, the
// visit is processed from its claim alone and the event says Fallback.
func (s *Store) Visit(ctx context.Context, v Visit, o Options) (ev Event) {
	v.Claim = v.Claim.Sanitize(v.Now)
	if s.tombs.has(v.Claim.ClientID, v.Now) {
		v.Claim = Claim{} // erased: a brand-new client, on every path
	}
	if s.closed.Load() {
		return Fallback(v, o.Policy, ReasonClosed)
	}
	start := time.Now()
	p, ok := s.breaker.store.admit(start)
	if !ok {
		return Fallback(v, o.Policy, ReasonBreaker)
	}
	defer p.release()
	b, err := s.conn.get()
	if err != nil {
		s.record(s.breaker.store, start, err)
		return Fallback(v, o.Policy, reason(err))
	}
	defer func() {
		if r := recover(); r != nil {
			s.log.Error("session store panicked", zap.Any("panic", r), zap.Stack("stack"))
			ev = Fallback(v, o.Policy, ReasonPanic)
		}
	}()
	d := newDeadline(ctx, o.Timeout)
	defer d.release()
	if shared, ok := b.(Shared); ok {
		ev, err = s.visitShared(d.context(), shared, v, o)
	} else {
		ev, err = s.visit(&d, v, o)
	}
	if err == nil {
		return ev
	}
	if ev.EventID == uuid.Nil {
		return Fallback(v, o.Policy, reason(err))
	}
	// The event was applied but its commit failed or timed out (sync).
	ev.Fallback, ev.FallbackReason = true, reason(err)
	return ev
}

func (s *Store) visit(d *deadline, v Visit, o Options) (Event, error) {
	if v.Claim.ClientID == uuid.Nil {
		if o.BootstrapWindow <= 0 || v.BootstrapKey == (BootstrapKey{}) {
			ev, commit := s.create(v, o)
			return ev, s.await(d, commit)
		}
		var ev Event
		var commit <-chan error
		client, joined := s.boot.clientFor(v.BootstrapKey, v.Now, o.BootstrapWindow, func() uuid.UUID {
			ev, commit = s.create(v, o)
			return ev.ClientID
		})
		if !joined {
			return ev, s.await(d, commit)
		}
		v.Claim = Claim{ClientID: client}
	}
	ev, commit, err := s.advance(d, v, o)
	if err != nil {
		return Event{}, err
	}
	return ev, s.await(d, commit)
}

// create makes a new client's object. It lives in memory until the client
// returns with its cookie, unless o says to persist it at once.
func (s *Store) create(v Visit, o Options) (Event, <-chan error) {
	obj, ev := Advance(nil, v, o.Policy)
	return ev, s.keep(obj, nil, !o.PersistImmediately)
}

// advance runs the visit inside the client's object, holding its lock.
func (s *Store) advance(d *deadline, v Visit, o Options) (Event, <-chan error, error) {
	l, err := s.lock(d, v.Claim.ClientID)
	if err != nil {
		return Event{}, nil, err
	}
	defer l.unlock()
	if s.tombs.has(v.Claim.ClientID, v.Now) {
		ev, commit := s.create(v, o) // erased: a brand-new client
		return ev, commit, nil
	}
	var stored Object
	found, pending, err := s.lookup(d, v.Claim.ClientID, v.Now, &stored)
	if err != nil {
		return Event{}, nil, err
	}
	prev := &stored
	if !found {
		prev = Rehydrate(v.Claim)
	}
	next, ev := Advance(prev, v, o.Policy)
	var closed *SessionRow
	if ev.NewSession && prev.SessionID != uuid.Nil {
		row := prev.Session()
		closed = &row
	}
	if pending && !v.Claim.FromCookie {
		return ev, s.keep(next, closed, true), nil
	}
	if pending {
		s.pending.remove(next.ClientID) // it came back: written from now on
	}
	return ev, s.keep(next, closed, false), nil
}

// lookup finds a client's object, into obj: new clients in memory, then the
// cache, then the updates not yet written, then the back end. pending
// reports a new client not yet written. An object idle past the retention
// is not found, whichever copy of it is still around.
func (s *Store) lookup(d *deadline, id uuid.UUID, now time.Time, obj *Object) (found, pending bool, err error) {
	found, pending, err = s.find(d, id, obj)
	if found && s.retired(obj, now) {
		s.pending.remove(id)
		s.cache.remove(id)
		return false, false, nil
	}
	return found, pending, err
}

func (s *Store) find(d *deadline, id uuid.UUID, obj *Object) (found, pending bool, err error) {
	if *obj, found = s.pending.get(id); found {
		return true, true, nil
	}
	if *obj, found = s.cache.get(id); found {
		return true, false, nil
	}
	if *obj, found = s.writer.unwritten(id); found {
		return true, false, nil
	}
	loaded, err := s.load(d.context(), id)
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
func (s *Store) keep(obj Object, closed *SessionRow, stayPending bool) <-chan error {
	if stayPending {
		s.pendingDropped.Add(uint64(s.pending.put(obj)))
		return nil
	}
	commit, err := s.writer.enqueue(obj, closed, s.cfg.Sync)
	if err != nil {
		return refused(err)
	}
	s.cache.put(obj)
	return commit
}

func refused(err error) <-chan error {
	ch := make(chan error, 1)
	ch <- err
	return ch
}

func (s *Store) await(d *deadline, commit <-chan error) error {
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

// lock takes the client's lock (one of lockStripes), giving up at the
// deadline.
func (s *Store) lock(d *deadline, id uuid.UUID) (stripe, error) {
	l := s.locks[maphash.Bytes(s.seed, id[:])%lockStripes]
	select {
	case l <- struct{}{}:
		return l, nil
	default:
	}
	ctx := d.context()
	select {
	case l <- struct{}{}:
		return l, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// stripe is one of the client locks: a channel with room for one.
type stripe chan struct{}

func (l stripe) unlock() { <-l }

// load reads an object from the back end under the deadline.
func (s *Store) load(ctx context.Context, id uuid.UUID) (*Object, error) {
	var obj *Object
	err := s.call(ctx, "", "load", func(ctx context.Context, b Backend) (err error) {
		obj, err = b.Load(ctx, id)
		return err
	})
	if err != nil {
		return nil, err // a late call may still write obj
	}
	return obj, nil
}

// call runs one back-end call for a request under its deadline, on node
// ("" when the back end is one node). The call runs on its own goroutine so
// that a back end that ignores its context cannot hold the request past the
// deadline; a panic there becomes an error. Its outcome feeds the node's
// breaker (the visit has passed the store's already) and its duration the
// Observe hook.
func (s *Store) call(ctx context.Context, node, op string, f func(context.Context, Backend) error) error {
	start := time.Now()
	gate := s.breaker.of(node)
	if gate != s.breaker.store {
		p, ok := gate.admit(start)
		if !ok {
			return errNodeSkipped
		}
		defer p.release()
	}
	done := make(chan error, 1)
	go func() {
		defer func() {
			if r := recover(); r != nil {
				s.log.Error("session back end panicked", zap.String("op", op), zap.Any("panic", r))
				done <- fmt.Errorf("%w: %v", errPanic, r)
			}
		}()
		b, err := s.conn.get()
		if err == nil {
			err = f(ctx, b)
		}
		done <- err
	}()
	var err error
	select {
	case err = <-done:
	case <-ctx.Done():
		select {
		case err = <-done: // it answered by the deadline: what it did stands
		default:
			err = ctx.Err()
		}
	}
	if err != nil && ctx.Err() != nil && !errors.Is(err, ctx.Err()) {
		// The back end gave up at the deadline in its own words (a network
		// read deadline, an interrupted query): a timeout.
		err = fmt.Errorf("%w: %v", ctx.Err(), err)
	}
	s.cfg.Observe(op, time.Since(start))
	s.record(gate, start, err)
	return err
}

// save is the writer's commit: one batch, panics turned into errors.
func (s *Store) save(ctx context.Context, batch Batch) (err error) {
	start := time.Now()
	defer func() {
		s.cfg.Observe("save", time.Since(start))
		if r := recover(); r != nil {
			err = fmt.Errorf("%w: %v", errPanic, r)
		}
		s.record(s.breaker.store, start, err)
		if err != nil {
			s.log.Warn("session store write failed; will retry", zap.Int("objects", len(batch.Objects)), zap.Error(err))
		}
		if errors.Is(err, ErrBackendLost) {
			s.conn.reset()
		}
	}()
	b, err := s.conn.get()
	if err != nil {
		return err
	}
	wb, ok := b.(WriteBehind)
	if !ok {
		return fmt.Errorf("back end %T cannot save batches", b)
	}
	return wb.Save(ctx, batch)
}

// record feeds the outcome of a back-end call that started at start to its
// breaker. A node that answers proves the connection to the store works.
func (s *Store) record(b *breaker, start time.Time, err error) {
	if errors.Is(err, context.Canceled) {
		return // the caller of an operation went away; not the store's fault
	}
	failed := err != nil && !errors.Is(err, ErrErased) // erased: the store answered
	now := time.Now()
	if b.record(start, now, failed) {
		s.log.Error("session store failing; skipping it for a cool-down", zap.String("node", b.node), zap.Error(err))
	}
	if !failed && b != s.breaker.store {
		s.breaker.store.record(start, now, false)
	}
}

// Flush writes everything queued so far.
func (s *Store) Flush(ctx context.Context) error {
	return s.writer.flush(ctx)
}

// Close writes what is queued, stops the background work and closes the
// back end. Visits after Close fall back to cookies.
func (s *Store) Close() error {
	if s.closed.Swap(true) {
		return nil
	}
	close(s.gcStop)
	<-s.gcDone
	s.writer.close()
	return s.conn.close()
}
