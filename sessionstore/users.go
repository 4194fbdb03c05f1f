package sessionstore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/google/uuid"
	"go.uber.org/zap"
)

// This file holds the application's users: a response binds its client to
// a user (the rule is bind, in lifecycle.go), and an operator erases every
// client of a user.

// ErrInvalidUserID is returned by BindUser for an ID ValidUserID refuses.
var ErrInvalidUserID = fmt.Errorf("user ID must be 1 to %d bytes of text without control characters", MaxUserID)

// BindUser binds the client of the claim (the IDs of the event the
// response answers) to the user, from this event on. It is one more write
// of the object, as a visit's: queued by a write-behind store, one atomic
// update (and the user index) in a shared one; a client the store lacks is
// rebuilt from the claim first. Like a visit it is bounded by o.Timeout,
// skipped by an open breaker and never panics; unlike a visit it has no
// fallback, so it returns the error for the caller to log.
func (s *Store) BindUser(ctx context.Context, c Claim, userID string, o Options) (err error) {
	if !ValidUserID(userID) {
		return ErrInvalidUserID
	}
	now := time.Now()
	if c = c.sanitize(now); c.ClientID == uuid.Nil {
		return errors.New("no valid client to bind")
	}
	if s.tombs.has(c.ClientID, now) {
		return ErrErased
	}
	p, err := s.enter()
	if err != nil {
		return err
	}
	defer p.release()
	defer func() {
		if r := recover(); r != nil {
			s.log.Error("session store panicked", zap.Any("panic", r), zap.Stack("stack"))
			err = fmt.Errorf("%w: %v", errPanic, r)
		}
	}()
	return s.way.bind(ctx, c, userID, now, o)
}

// EraseUser erases every client bound to the user (now, or in a session it
// keeps) as Erase does, and returns those the store knew. Each is
// tombstoned until the given time.
func (s *Store) EraseUser(ctx context.Context, userID string, until time.Time) ([]uuid.UUID, error) {
	if err := s.way.ready(); err != nil {
		return nil, err
	}
	ids, err := s.way.clientsOf(ctx, userID)
	if err != nil {
		return nil, err
	}
	erased := []uuid.UUID{}
	for _, id := range ids {
		found, err := s.Erase(ctx, id, until)
		if err != nil {
			return erased, err
		}
		if found {
			erased = append(erased, id)
		}
	}
	return erased, s.way.forgetUser(ctx, userID, ids)
}

// clientsOfIn asks the back end of c for the clients of a user.
func clientsOfIn[B io.Closer](ctx context.Context, c *conn[B], userID string) ([]uuid.UUID, error) {
	f, err := ability[UserFinder](c)
	if err != nil {
		return nil, err
	}
	return f.ClientsOf(ctx, userID)
}

// forgetUserIn removes erased clients from the user index of the back end
// of c, if it keeps one.
func forgetUserIn[B io.Closer](ctx context.Context, c *conn[B], userID string, ids []uuid.UUID) error {
	index, err := ability[UserIndex](c)
	if errors.Is(err, ErrUnsupported) || len(ids) == 0 {
		return nil
	}
	if err != nil {
		return err
	}
	return index.ForgetUser(ctx, userID, ids)
}
