package sessionstore

import (
	"context"
	"errors"
	"time"

	"github.com/google/uuid"
	"go.uber.org/zap"
)

// shared runs visits on a back end that other processes use too. Every
// visit is one atomic update in the back end, so there is no cache and no
// write-behind queue: what one instance writes, the next request on another
// instance reads. The local lock only spares the back end needless retries.
type shared struct {
	s        *Store
	conn     conn[Shared]
	undos    undos
	indexing indexing

	reloadStop chan struct{}
	reloadDone chan struct{}
}

func newShared(s *Store, open func() (Shared, error)) *shared {
	sh := &shared{s: s, reloadStop: make(chan struct{}), reloadDone: make(chan struct{})}
	sh.conn.open = reconciled(s, open)
	connect(s, &sh.conn)
	go sh.reloadTombstonesEvery(tombstoneReload)
	return sh
}

func (sh *shared) visit(parent context.Context, v Visit, o Options) (Event, error) {
	b, err := sh.conn.get()
	if err != nil {
		return Event{}, err
	}
	d := newDeadline(parent, o.Timeout)
	defer d.release()
	ctx := d.context()
	if v.Claim.ClientID == uuid.Nil {
		ev, err := sh.create(ctx, b, v, o)
		if err != nil || o.BootstrapWindow <= 0 || v.BootstrapKey == (BootstrapKey{}) {
			return ev, err
		}
		joined, err := sh.bootstrap(ctx, b, v, o, ev.ClientID)
		if err != nil || joined == uuid.Nil {
			return ev, err
		}
		v.Claim = Claim{ClientID: joined}
	}
	ev, err := sh.update(ctx, b, v, o)
	if errors.Is(err, ErrErased) {
		return sh.create(ctx, b, v, o) // erased: a brand-new client
	}
	return ev, err
}

// createShared writes a new client's object.
func (sh *shared) create(ctx context.Context, b Shared, v Visit, o Options) (Event, error) {
	obj, ev := applyVisit(nil, v, o.Policy)
	err := sh.callUpdate(ctx, b, obj.ClientID, sh.ttl(!o.PersistImmediately, o.Policy), func(*Object) Object { return obj })
	return ev, err
}

// bootstrap publishes the new client for the browser's key and returns
// the client the visit joins instead (see bootstrap.go), uuid.Nil when it
// keeps its own. A page load contests a window that another client holds.
// The object is written before the key, so whoever reads the key finds it;
// a visit that joins discards its own object.
func (sh *shared) bootstrap(ctx context.Context, b Shared, v Visit, o Options, client uuid.UUID) (uuid.UUID, error) {
	var held uuid.UUID
	err := sh.s.call(ctx, bootstrapNodeOf(b, v.BootstrapKey), "bootstrap", func(ctx context.Context) (err error) {
		held, err = b.Bootstrap(ctx, v.BootstrapKey, client, o.BootstrapWindow, v.PageLoad)
		return err
	})
	if err != nil {
		return uuid.Nil, err // a late call may still write held
	}
	if held == client || !joinsWindow(held, v.PageLoad) {
		return uuid.Nil, nil
	}
	err = sh.s.call(ctx, nodeOf(b, client), "bootstrap", func(ctx context.Context) error {
		return b.Discard(ctx, client)
	})
	if err != nil {
		return uuid.Nil, err
	}
	return held, nil
}

// updateShared advances the client's object inside an atomic update.
func (sh *shared) update(ctx context.Context, b Shared, v Visit, o Options) (Event, error) {
	l, err := sh.s.lock(given(ctx), v.Claim.ClientID)
	if err != nil {
		return Event{}, err
	}
	defer l.unlock()
	var ev Event
	ttl := sh.ttl(!o.PersistImmediately && !v.Claim.FromCookie, o.Policy)
	err = sh.callUpdate(ctx, b, v.Claim.ClientID, ttl, func(prev *Object) Object {
		if prev == nil {
			prev = rehydrate(v.Claim)
		}
		next, e := applyVisit(prev, v, o.Policy)
		ev = e
		return next
	})
	if err != nil {
		return Event{}, err // a write made late is taken back (undo.go)
	}
	sh.refreshIndexLater(b, ev)
	return ev, nil
}

// pendingGrace is how long past the session timeout a shared back end keeps
// a new client that has not come back yet (in one process these live in
// memory instead; here they must be shared, as the client may come back
// through another instance). By then its session would have ended anyway;
// the grace covers a request that arrives at the timeout and clocks that
// differ between instances. A client that comes back later is rebuilt from
// its cookies.
const pendingGrace = 5 * time.Minute

// sharedTTL is how long an updated object is kept at least.
func (sh *shared) ttl(pending bool, p Policy) time.Duration {
	if pending {
		return min(p.SessionTimeout+pendingGrace, sh.s.cfg.Retention)
	}
	return sh.s.cfg.Retention
}

// nodeOf names the node that holds a client's object, "" for a back end on
// one node.
func nodeOf(b Shared, id uuid.UUID) string {
	if sharded, ok := b.(Sharded); ok {
		return sharded.Node(id)
	}
	return ""
}

// bootstrapNodeOf names the node that holds a bootstrap key, "" for a back
// end on one node.
func bootstrapNodeOf(b Shared, key BootstrapKey) string {
	if sharded, ok := b.(Sharded); ok {
		return sharded.BootstrapNode(key)
	}
	return ""
}

func (sh *shared) ready() error {
	_, err := sh.conn.get()
	return err
}

func (sh *shared) openError() error { return sh.conn.openError() }

// flush has nothing to do: every visit was written when it answered.
func (sh *shared) flush(context.Context) error { return nil }

// stats adds nothing: a shared store keeps no queue, cache or pending set.
func (sh *shared) stats(*Stats) {}

func (sh *shared) close() error {
	close(sh.reloadStop)
	<-sh.reloadDone
	return sh.conn.close()
}

func (sh *shared) inspect(ctx context.Context, id uuid.UUID) (*Object, []SessionRow, error) {
	return inspectIn(ctx, &sh.conn, id)
}

func (sh *shared) erase(ctx context.Context, id uuid.UUID, until time.Time) (bool, error) {
	return eraseIn(ctx, &sh.conn, id, until)
}

func (sh *shared) count(ctx context.Context) (int64, error) { return countIn(ctx, &sh.conn) }

// bind adds the client to the user's index, if the back end keeps one,
// then binds its object in one atomic update (rebuilt from the claim when
// absent). The index comes first: should the update fail, erasure by user
// still finds the client the application named, rather than miss one.
func (sh *shared) bind(parent context.Context, c Claim, userID string, _ time.Time, o Options) error {
	b, err := sh.conn.get()
	if err != nil {
		return err
	}
	d := newDeadline(parent, o.Timeout)
	defer d.release()
	ctx := d.context()
	if index, ok := b.(UserIndex); ok {
		err := sh.s.call(ctx, "", "bind", func(ctx context.Context) error {
			return index.IndexUser(ctx, userID, c.ClientID, sh.indexTTL())
		})
		if err != nil {
			return err
		}
	}
	l, err := sh.s.lock(given(ctx), c.ClientID)
	if err != nil {
		return err
	}
	defer l.unlock()
	return sh.callUpdate(ctx, b, c.ClientID, sh.s.cfg.Retention, func(prev *Object) Object {
		if prev == nil {
			prev = rehydrate(c)
		}
		return bind(*prev, userID)
	})
}

func (sh *shared) clientsOf(ctx context.Context, userID string) ([]uuid.UUID, error) {
	return clientsOfIn(ctx, &sh.conn, userID)
}

func (sh *shared) forgetUser(ctx context.Context, userID string, ids []uuid.UUID) error {
	return forgetUserIn(ctx, &sh.conn, userID, ids)
}

// tombstoneReload is how often a shared store learns the erasures other
// processes made.
const tombstoneReload = time.Minute

// reloadTombstonesEvery learns, every interval, the erasures made since the
// back end opened by another process sharing it, so that the paths that do
// not reach the back end (fallbacks) refuse those clients too.
func (sh *shared) reloadTombstonesEvery(interval time.Duration) {
	defer close(sh.reloadDone)
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-sh.reloadStop:
			return
		case <-t.C:
		}
		if err := sh.reloadTombstones(); err != nil {
			sh.s.log.Warn("reading the session store's tombstones failed", zap.Error(err))
		}
	}
}

func (sh *shared) reloadTombstones() error {
	e, err := ability[Eraser](&sh.conn)
	if err != nil {
		return nil // not open (the next open loads them), or nothing to load
	}
	ctx, cancel := context.WithTimeout(context.Background(), saveTimeout)
	defer cancel()
	stored, err := e.Tombstones(ctx, time.Now())
	if err == nil {
		sh.s.tombs.merge(stored)
	}
	return err
}

func (sh *shared) aggregator() (Aggregator, error) { return ability[Aggregator](&sh.conn) }

func (sh *shared) write(_ context.Context, fn func() error) error { return fn() }
