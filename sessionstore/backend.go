package sessionstore

import (
	"context"
	"errors"
	"time"

	"github.com/google/uuid"
)

// Backend is where objects rest between visits. SQLite and Redis implement
// it; serialisation, caching, batching, deadlines and the breaker sit above
// it in Store, once for every back end.
type Backend interface {
	// Load returns the client's object, or nil and no error when the store
	// does not have it.
	Load(ctx context.Context, clientID uuid.UUID) (*Object, error)
	// Save writes a batch atomically: objects replace their stored
	// versions, session rows replace rows with the same session ID.
	Save(ctx context.Context, b Batch) error
	// Sessions returns up to limit session rows of a client, newest first.
	Sessions(ctx context.Context, clientID uuid.UUID, limit int) ([]SessionRow, error)
	// Erase removes a client's object and session rows and records a
	// tombstone that lasts until the given time. found reports whether
	// there was an object.
	Erase(ctx context.Context, clientID uuid.UUID, until time.Time) (found bool, err error)
	// Tombstones returns the erased clients whose tombstones last beyond now.
	Tombstones(ctx context.Context, now time.Time) (map[uuid.UUID]time.Time, error)
	// Count returns the number of stored objects.
	Count(ctx context.Context) (int64, error)
	// Sweep deletes at most limit objects and at most limit session rows
	// last seen before idleBefore, and tombstones expired at now. It
	// reports the larger of the two counts.
	Sweep(ctx context.Context, idleBefore, now time.Time, limit int) (int, error)
	// Close releases the back end. It is called once.
	Close() error
}

// Batch is one group commit.
type Batch struct {
	Objects  []Object
	Sessions []SessionRow
}

// Fallback reasons, as counted in metrics and reported in events.
const (
	ReasonError       = "error"
	ReasonTimeout     = "timeout"
	ReasonPanic       = "panic"
	ReasonBreaker     = "breaker"
	ReasonUnavailable = "unavailable"
	ReasonClosed      = "closed"
)

var (
	errPanic  = errors.New("store panicked")
	errClosed = errors.New("store is closed")
)

// reason names the fallback cause of a store error.
func reason(err error) string {
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return ReasonTimeout
	case errors.Is(err, errPanic):
		return ReasonPanic
	case errors.Is(err, errClosed):
		return ReasonClosed
	case errors.Is(err, errUnavailable):
		return ReasonUnavailable
	default:
		return ReasonError
	}
}
