package sessionstore

import (
	"context"
	"errors"
	"time"

	"github.com/google/uuid"
)

// visitShared runs a visit on a back end that other processes use too. Every
// visit is one atomic update in the back end, so there is no cache and no
// write-behind queue: what one instance writes, the next request on another
// instance reads. The local lock only spares the back end needless retries.
func (s *Store) visitShared(ctx context.Context, b Shared, v Visit, o Options) (Event, error) {
	if v.Claim.ClientID == uuid.Nil {
		ev, err := s.createShared(ctx, b, v, o)
		if err != nil || o.BootstrapWindow <= 0 || v.BootstrapKey == (BootstrapKey{}) {
			return ev, err
		}
		holder, err := s.bootstrapShared(ctx, b, v, o, ev.ClientID)
		if err != nil || holder == ev.ClientID {
			return ev, err
		}
		v.Claim = Claim{ClientID: holder}
	}
	ev, err := s.updateShared(ctx, b, v, o)
	if errors.Is(err, ErrErased) {
		return s.createShared(ctx, b, v, o) // erased: a brand-new client
	}
	return ev, err
}

// createShared writes a new client's object.
func (s *Store) createShared(ctx context.Context, b Shared, v Visit, o Options) (Event, error) {
	obj, ev := Advance(nil, v, o.Policy)
	err := s.callUpdate(ctx, b, obj.ClientID, s.sharedTTL(!o.PersistImmediately, o.Policy), func(*Object) Object { return obj })
	return ev, err
}

// bootstrapShared publishes the new client for the browser's key. The
// object is written before the key, so whoever reads the key finds it; a
// process that loses the race discards its object and joins the holder.
func (s *Store) bootstrapShared(ctx context.Context, b Shared, v Visit, o Options, client uuid.UUID) (uuid.UUID, error) {
	var holder uuid.UUID
	err := s.call(ctx, bootstrapNodeOf(b, v.BootstrapKey), "bootstrap", func(ctx context.Context, _ Backend) (err error) {
		holder, err = b.Bootstrap(ctx, v.BootstrapKey, client, o.BootstrapWindow)
		return err
	})
	if err != nil {
		return uuid.Nil, err // a late call may still write holder
	}
	if holder != client {
		err = s.call(ctx, nodeOf(b, client), "bootstrap", func(ctx context.Context, _ Backend) error {
			return b.Discard(ctx, client)
		})
	}
	if err != nil {
		return uuid.Nil, err
	}
	return holder, nil
}

// updateShared advances the client's object inside an atomic update.
func (s *Store) updateShared(ctx context.Context, b Shared, v Visit, o Options) (Event, error) {
	l, err := s.lock(given(ctx), v.Claim.ClientID)
	if err != nil {
		return Event{}, err
	}
	defer l.unlock()
	var ev Event
	ttl := s.sharedTTL(!o.PersistImmediately && !v.Claim.FromCookie, o.Policy)
	err = s.callUpdate(ctx, b, v.Claim.ClientID, ttl, func(prev *Object) Object {
		if prev == nil {
			prev = Rehydrate(v.Claim)
		}
		next, e := Advance(prev, v, o.Policy)
		ev = e
		return next
	})
	if err != nil {
		return Event{}, err // a write made late is taken back (undo.go)
	}
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
func (s *Store) sharedTTL(pending bool, p Policy) time.Duration {
	if pending {
		return min(p.SessionTimeout+pendingGrace, s.cfg.Retention)
	}
	return s.cfg.Retention
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
