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
	// Delete removes a client's object and its session rows.
	Delete(ctx context.Context, clientID uuid.UUID) error
	// Sweep deletes at most limit objects (and their session rows) last
	// seen before the cutoff and reports how many it deleted.
	Sweep(ctx context.Context, before time.Time, limit int) (int, error)
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
