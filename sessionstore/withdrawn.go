package sessionstore

import (
	"context"
	"errors"
	"maps"
	"sync"
	"time"

	"github.com/google/uuid"
	"go.uber.org/zap"
)

// A visitor who withdraws consent loses the cookies that prove which client
// is theirs, so the client goes with them. The request that withdraws must
// neither wait for the store nor fail with it: the tombstone holds in this
// process at once, on every path, and the erasure is made in the back end
// in the background, retried while the store fails. The requests of one
// withdrawn client (a page load's burst, every later page without consent)
// erase it once.

const (
	// maxWithdrawals bounds the erasures waiting for the back end; past it
	// a withdrawal is only tombstoned in memory, and its object left to the
	// retention.
	maxWithdrawals = 10_000
	// withdrawalRetry is how often erasures that failed are tried again.
	withdrawalRetry = 5 * time.Second
	// withdrawalTimeout bounds one erasure in the background.
	withdrawalTimeout = 2 * time.Second
)

// withdrawals are the clients to erase in the back end, with the end of
// their tombstones.
type withdrawals struct {
	mu      sync.Mutex
	waiting map[uuid.UUID]time.Time
	// round lets one pass over waiting run at a time: the background's or
	// a flush's.
	round sync.Mutex
	wake  chan struct{}
	stop  chan struct{}
	done  chan struct{}
}

func newWithdrawals() *withdrawals {
	return &withdrawals{waiting: map[uuid.UUID]time.Time{}, wake: make(chan struct{}, 1),
		stop: make(chan struct{}), done: make(chan struct{})}
}

// Withdraw erases a client whose visitor withdrew consent: from now on a
// request carrying its ID gets a brand-new client, and its object and
// sessions are erased in the back end soon after, as Erase does. It returns
// at once and never fails; a client already tombstoned is left as it is.
func (s *Store) Withdraw(id uuid.UUID, until time.Time) {
	if id == uuid.Nil || !s.tombs.addUnless(id, until, time.Now()) {
		return
	}
	q := s.withdrawn
	q.mu.Lock()
	full := len(q.waiting) >= maxWithdrawals
	if !full {
		q.waiting[id] = until
	}
	q.mu.Unlock()
	if full {
		s.log.Warn("session store: too many withdrawn clients waiting to be erased; this one stays tombstoned in memory and expires with the retention", zap.Stringer("client", id))
		return
	}
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

// eraseWithdrawnInBackground erases withdrawn clients as they come, and
// those that failed every withdrawalRetry.
func (s *Store) eraseWithdrawnInBackground() {
	q := s.withdrawn
	defer close(q.done)
	retry := time.NewTicker(withdrawalRetry)
	defer retry.Stop()
	for {
		select {
		case <-q.stop:
			return
		case <-q.wake:
		case <-retry.C:
		}
		if err := s.eraseWithdrawn(context.Background()); err != nil {
			s.log.Warn("session store: erasing a client whose consent was withdrawn failed; it stays tombstoned and is tried again", zap.Error(err))
		}
	}
}

// eraseWithdrawn erases the waiting clients in the back end, stopping at
// the first failure: the store is failing, and the rest waits for the next
// round.
func (s *Store) eraseWithdrawn(ctx context.Context) error {
	q := s.withdrawn
	q.round.Lock()
	defer q.round.Unlock()
	q.mu.Lock()
	waiting := maps.Clone(q.waiting)
	q.mu.Unlock()
	for id, until := range waiting {
		erase, cancel := context.WithTimeout(ctx, withdrawalTimeout)
		_, err := s.Erase(erase, id, until)
		cancel()
		if err != nil && !errors.Is(err, ErrUnsupported) {
			return err
		}
		q.mu.Lock()
		delete(q.waiting, id)
		q.mu.Unlock()
	}
	return nil
}

// stopWithdrawals stops the background erasures and makes one last round.
func (s *Store) stopWithdrawals() error {
	close(s.withdrawn.stop)
	<-s.withdrawn.done
	return s.eraseWithdrawn(context.Background())
}
