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
	"io"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"go.uber.org/zap"

	"github.com/c0f4626f/caddy-session/internal/clienttext"
)

// Config is the store-wide configuration. Zero values take the defaults.
type Config struct {
	// FlushInterval is the group-commit window (default 100ms). This and
	// the settings down to BootstrapLimit apply to write-behind stores.
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

// Store runs visits against per-client objects. It wraps every visit the
// same way (tombstones, breaker, deadline, panics) and hands it to the
// strategy its constructor chose for the back end.
type Store struct {
	cfg     Config
	log     *zap.Logger
	locks   [lockStripes]stripe
	seed    maphash.Seed
	breaker *breakers
	tombs   tombstones
	closed  atomic.Bool
	way     strategy
	tally   *tally
	// withdrawn are erasures to make in the background (withdrawn.go).
	withdrawn *withdrawals

	tallyStop chan struct{}
	tallyDone chan struct{}
}

// strategy is how visits and operator calls reach the back end: write-behind
// (writebehind.go) or shared (shared.go).
type strategy interface {
	// ready reports, without waiting, why the back end cannot be used now.
	ready() error
	// visit runs the visit within o.Timeout. It makes the deadline itself:
	// one passed in through this interface would escape to the heap.
	visit(ctx context.Context, v Visit, o Options) (Event, error)
	// inspect returns the client's object and sessions as stored.
	inspect(ctx context.Context, id uuid.UUID) (*Object, []SessionRow, error)
	// erase removes the client from memory and the back end.
	erase(ctx context.Context, id uuid.UUID, until time.Time) (bool, error)
	// bind binds the claim's client to the user within o.Timeout (users.go).
	bind(ctx context.Context, c Claim, userID string, now time.Time, o Options) error
	// clientsOf returns the clients bound to the user, all written first.
	clientsOf(ctx context.Context, userID string) ([]uuid.UUID, error)
	// forgetUser removes erased clients from a user index.
	forgetUser(ctx context.Context, userID string, ids []uuid.UUID) error
	count(ctx context.Context) (int64, error)
	// aggregator returns the back end's Aggregator ability.
	aggregator() (Aggregator, error)
	// write runs a write of the store's own (the dashboard's aggregates)
	// where the strategy writes: the writer's goroutine, or right away.
	write(ctx context.Context, fn func() error) error
	flush(ctx context.Context) error
	stats(*Stats)
	openError() error
	close() error
}

const lockStripes = 512

// Defaults.
const (
	DefaultFlushInterval = 100 * time.Millisecond
	DefaultLimit         = 100_000
	DefaultRetention     = 90 * 24 * time.Hour
)

// NewWriteBehind starts a store on a back end this process owns: objects
// are cached, new clients wait in memory until they return, and writes are
// group-committed. The back end is opened right away; when that fails the
// error is logged and reported by Stats, and the store serves fallbacks
// until a later attempt succeeds.
func NewWriteBehind(cfg Config, open func() (WriteBehind, error)) *Store {
	s := newStore(cfg, false)
	s.way = newWriteBehind(s, open)
	s.startBackground()
	return s
}

// NewShared starts a store on a back end that several processes use at
// once: each visit is one atomic update there, nothing is cached. It opens
// like NewWriteBehind.
func NewShared(cfg Config, open func() (Shared, error)) *Store {
	s := newStore(cfg, true)
	s.way = newShared(s, open)
	s.startBackground()
	return s
}

// newStore makes the parts every strategy shares. A shared back end counts
// the dashboard's unique clients itself, over every instance.
func newStore(cfg Config, sharedClients bool) *Store {
	cfg = cfg.withDefaults()
	s := &Store{
		cfg: cfg, log: cfg.Logger, seed: maphash.MakeSeed(), breaker: newBreakers(), tally: newTally(sharedClients),
		withdrawn: newWithdrawals(), tallyStop: make(chan struct{}), tallyDone: make(chan struct{}),
	}
	for i := range s.locks {
		s.locks[i] = make(stripe, 1)
	}
	return s
}

// startBackground starts the background work of a store whose strategy is set:
// the dashboard's hand-over and the erasures of withdrawn clients.
func (s *Store) startBackground() {
	s.learnAdmittedAtOpen()
	go s.handOverEvery(tallyEvery, s.tallyStop, s.tallyDone)
	go s.eraseWithdrawnInBackground()
}

// connect opens the back end through c at once, logging a failure: the
// store then retries in the background.
func connect[B io.Closer](s *Store, c *conn[B]) {
	if err := c.openNow(); err != nil {
		s.log.Error("session store cannot open; serving identity from cookies until it can", zap.Error(err))
	}
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

// reconciled opens the back end with open and reconciles its tombstones
// with the ones in memory: a database file that was replaced or recreated
// (a restored backup, a lost file) must not bring an erased client back, so
// erasures it lacks are made again in it.
func reconciled[B io.Closer](s *Store, open func() (B, error)) func() (B, error) {
	return func() (B, error) {
		b, err := open()
		e, ok := any(b).(Eraser)
		if err != nil || !ok {
			return b, err
		}
		ctx, cancel := context.WithTimeout(context.Background(), saveTimeout)
		defer cancel()
		stored, err := e.Tombstones(ctx, time.Now())
		if err == nil {
			err = eraseAgain(ctx, e, s.tombs.missingFrom(stored))
		}
		if err != nil {
			b.Close()
			var none B
			return none, fmt.Errorf("loading tombstones: %w", err)
		}
		s.tombs.merge(stored)
		return b, nil
	}
}

func eraseAgain(ctx context.Context, e Eraser, tombs map[uuid.UUID]time.Time) error {
	for id, until := range tombs {
		if _, err := e.Erase(ctx, id, until); err != nil {
			return err
		}
	}
	return nil
}

// Visit processes one request of a client. It never fails: when the store
// errs, hangs past the deadline, panics or is skipped by the breaker, the
// visit is processed from its claim alone and the event says Fallback.
func (s *Store) Visit(ctx context.Context, v Visit, o Options) (ev Event) {
	v.Claim = v.Claim.sanitize(v.Now)
	v.Path = clienttext.Clean(v.Path, MaxLandingPath)
	if s.tombs.has(v.Claim.ClientID, v.Now) {
		v.Claim = Claim{} // erased: a brand-new client, on every path
	}
	p, err := s.enter()
	if err != nil {
		return Fallback(v, o.Policy, reason(err))
	}
	defer p.release()
	defer func() {
		if r := recover(); r != nil {
			s.log.Error("session store panicked", zap.Any("panic", r), zap.Stack("stack"))
			ev = Fallback(v, o.Policy, ReasonPanic)
		}
	}()
	ev, err = s.way.visit(ctx, v, o)
	if err == nil {
		s.tally.add(hit{site: siteOf(v.Landing.Host), ev: ev, now: v.Now, path: v.Path, country: v.Geo.Country})
		return ev
	}
	if ev.EventID == uuid.Nil {
		return Fallback(v, o.Policy, reason(err))
	}
	// The event was applied but its commit failed or timed out (sync).
	ev.Fallback, ev.FallbackReason = true, reason(err)
	return ev
}

// enter admits a request's call to the store: refused when the store is
// closed, its breaker skips it or the back end is not open. The probe must
// be released when the call is over.
func (s *Store) enter() (probe, error) {
	if s.closed.Load() {
		return probe{}, errClosed
	}
	start := time.Now()
	p, ok := s.breaker.store.admit(start)
	if !ok {
		return probe{}, errSkipped
	}
	if err := s.way.ready(); err != nil {
		s.record(s.breaker.store, start, err)
		p.release()
		return probe{}, err
	}
	return p, nil
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

// call runs one back-end call f for a request under its deadline, on node
// ("" when the back end is one node). The call runs on its own goroutine so
// that a back end that ignores its context cannot hold the request past the
// deadline; a panic there becomes an error. Its outcome feeds the node's
// breaker (the visit has passed the store's already) and its duration the
// Observe hook.
func (s *Store) call(ctx context.Context, node, op string, f func(context.Context) error) error {
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
		done <- f(ctx)
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

// Flush writes everything queued so far, the erasures of withdrawn
// clients included.
func (s *Store) Flush(ctx context.Context) error {
	err := s.way.flush(ctx)
	if herr := s.handOver(ctx); !errors.Is(herr, ErrUnsupported) {
		err = errors.Join(err, herr)
	}
	return errors.Join(err, s.eraseWithdrawn(ctx))
}

// Close writes what is queued, stops the background work and closes the
// back end. Visits after Close fall back to cookies.
func (s *Store) Close() error {
	if s.closed.Swap(true) {
		return nil
	}
	close(s.tallyStop)
	<-s.tallyDone
	err := s.stopWithdrawals()
	if err != nil {
		s.log.Warn("session store: clients whose consent was withdrawn could not be erased before closing; they expire with the retention", zap.Error(err))
	}
	return s.way.close()
}
