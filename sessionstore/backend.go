package sessionstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
)

// A back end is where objects rest between visits. Serialisation,
// deadlines and the breaker sit above it in Store, once for every back end.
// A back end is one of two kinds, and the constructor that takes it decides
// once how visits run: WriteBehind (NewWriteBehind: this process owns the
// data, Store caches objects and batches writes) or Shared (NewShared:
// several processes use it, each visit is an atomic update in the back end
// itself). The two interfaces hold only what a visit needs; what operators
// do (list sessions, erase, count) and what housekeeping needs are optional
// abilities below, which Store looks for and reports ErrUnsupported without.

// Loader reads objects.
type Loader interface {
	// Load returns the client's object, or nil and no error when the store
	// does not have it.
	Load(ctx context.Context, clientID uuid.UUID) (*Object, error)
}

// WriteBehind is a back end owned by one process (SQLite).
type WriteBehind interface {
	Loader
	// Save writes a batch atomically: objects replace their stored
	// versions, session rows (of ended sessions) replace rows with the same
	// session ID, bindings are added for UserFinder to find. An object
	// carries its current session; Sessions returns both.
	Save(ctx context.Context, b Batch) error
	// Close releases the back end. It is called once.
	Close() error
}

// Shared is a back end that several processes use at once (Redis).
type Shared interface {
	// Update applies fn to the client's object (nil when absent) and
	// stores the result atomically, calling fn again when another process
	// changed the object meanwhile. The object is kept for at least ttl
	// (a longer remaining lifetime stays). It returns ErrErased for a
	// tombstoned client.
	Update(ctx context.Context, clientID uuid.UUID, ttl time.Duration, fn func(prev *Object) Object) error
	// Discard removes an object that was never handed out (a bootstrap race
	// lost to another process).
	Discard(ctx context.Context, clientID uuid.UUID) error
	// Bootstrap records client for key for the window unless the key is
	// held, and returns what the key held: client when it was free, else
	// the client recorded first, or uuid.Nil once the key is contested.
	// With contest, a held key becomes contested for the rest of its
	// window.
	Bootstrap(ctx context.Context, key BootstrapKey, client uuid.UUID, window time.Duration, contest bool) (uuid.UUID, error)
	// Close releases the back end. It is called once.
	Close() error
}

// SessionLister is a back end that lists a client's sessions.
type SessionLister interface {
	// Sessions returns up to limit session rows of a client, newest first.
	Sessions(ctx context.Context, clientID uuid.UUID, limit int) ([]SessionRow, error)
}

// Eraser is a back end that erases clients and remembers the erasures.
type Eraser interface {
	// Erase removes a client's object and session rows and records a
	// tombstone that lasts until the given time. found reports whether
	// there was an object.
	Erase(ctx context.Context, clientID uuid.UUID, until time.Time) (found bool, err error)
	// Tombstones returns the erased clients whose tombstones last beyond
	// now, for Store to refuse without a back-end call.
	Tombstones(ctx context.Context, now time.Time) (map[uuid.UUID]time.Time, error)
}

// Replaceable is a back end held in a file that an operator can replace or
// remove under the running store (a backup restored, a file lost).
type Replaceable interface {
	// Replaced reports whether the path no longer names the file opened.
	Replaced() bool
}

// UserFinder is a back end that finds the clients bound to a user.
type UserFinder interface {
	// ClientsOf returns the clients bound to the user now, in a session
	// they keep, or by a binding (Batch.Bindings) made in a session they
	// keep, though a later binding named another user: each holds the
	// user's data.
	ClientsOf(ctx context.Context, userID string) ([]uuid.UUID, error)
}

// UserIndex is a Shared back end that keeps the clients of each user in an
// index of its own, apart from their objects (in a Redis Cluster another
// slot, which no atomic update of an object can reach). The index may name
// more clients than are bound to the user, never fewer: a binding adds the
// client to it before the object says so.
type UserIndex interface {
	UserFinder
	// IndexUser adds the client to the user's index, which lasts at least
	// ttl from now.
	IndexUser(ctx context.Context, userID string, clientID uuid.UUID, ttl time.Duration) error
	// ForgetUser removes erased clients from the user's index.
	ForgetUser(ctx context.Context, userID string, clientIDs []uuid.UUID) error
}

// Counter is a back end that counts its objects.
type Counter interface {
	// Count returns the number of stored objects.
	Count(ctx context.Context) (int64, error)
}

// Sweeper is a WriteBehind back end that deletes what the retention let
// go; without it, a write-behind store keeps objects forever (a shared one
// expires them itself).
type Sweeper interface {
	// Sweep deletes at most limit objects, at most limit session rows and
	// at most limit bindings last seen before idleBefore, and tombstones
	// expired at now. It reports the largest of the counts.
	Sweep(ctx context.Context, idleBefore, now time.Time, limit int) (int, error)
}

// Aggregator is a back end that keeps the dashboard's per-site, per-day
// aggregates (dashboard.go). Store hands it what visits added every
// second, never on a request's path.
type Aggregator interface {
	// AddDays adds the changes to the stored days in one step, keeping
	// each day within MaxSites sites and each top table within MaxTopKeys
	// values (the rest counted under OtherSite and OtherKey). A day is kept
	// for keep after it ends.
	AddDays(ctx context.Context, changes []DayChange, keep time.Duration) error
	// Days returns the stored days of site from the UTC midnight from to
	// the one to, both included, oldest first; days without visits are
	// left out.
	Days(ctx context.Context, site string, from, to time.Time) ([]Day, error)
	// Sites lists the sites with a stored day from from to to.
	Sites(ctx context.Context, from, to time.Time) ([]string, error)
	// Admitted returns the names the day admitted beyond the ones known
	// holds: each site besides OtherSite that known lacks or whose tables
	// hold more values (besides OtherKey) than known counts, with the
	// values of those tables (nil for the others). Store keeps the names
	// in memory, so that a flood of new names in one hand-over window
	// does not push admitted ones under OtherSite and OtherKey.
	Admitted(ctx context.Context, day time.Time, known map[string][TopTables]int) (map[string][TopTables][]string, error)
}

// ClientCounter is an Aggregator that counts unique clients itself
// (Redis: HyperLogLog), given the clients of each DayChange; its Days
// report that count as Visitors, and it counts a range's unique clients.
type ClientCounter interface {
	// UniqueClients estimates the distinct clients of site over the days
	// from..to.
	UniqueClients(ctx context.Context, site string, from, to time.Time) (int64, error)
}

// DayChange is what visits added to one site's day since the last hand-over.
type DayChange struct {
	Day
	// Clients are the clients seen that day, for a ClientCounter.
	Clients []uuid.UUID
}

// Sharded is a Shared back end that spreads clients over nodes that fail
// on their own (a Redis Cluster). Store keeps a circuit breaker per node,
// so that one node's failure does not fall back the clients of the others.
type Sharded interface {
	// Node names the node that holds the client's object now; "" when the
	// back end is one node or does not know.
	Node(clientID uuid.UUID) string
	// BootstrapNode names the node that holds a bootstrap key, like Node.
	BootstrapNode(key BootstrapKey) string
}

// Batch is one group commit: objects, the final rows of sessions that
// ended, and the logins since the last commit.
type Batch struct {
	Objects  []Object
	Sessions []SessionRow
	// Bindings are kept apart from the objects: an object names only the
	// user it was bound to last, and a browser that logged in as two users
	// holds the data of both.
	Bindings []Binding
}

// Binding is a login: the client was bound to the user at At.
type Binding struct {
	ClientID uuid.UUID
	UserID   string
	At       time.Time
}

// Fallback reasons, as counted in metrics and reported in events.
const (
	ReasonError       = "error"
	ReasonTimeout     = "timeout"
	ReasonPanic       = "panic"
	ReasonBreaker     = "breaker"
	ReasonUnavailable = "unavailable"
	ReasonClosed      = "closed"
	// ReasonDropped: the full write queue dropped the visit's update.
	ReasonDropped = "dropped"
)

// Reasons lists every fallback reason, so that metrics export each one
// from the start.
var Reasons = []string{ReasonError, ReasonTimeout, ReasonPanic, ReasonBreaker, ReasonUnavailable, ReasonClosed, ReasonDropped}

// Ops lists the back-end operations that Config.Observe times, so that
// metrics export each one from the start.
var Ops = []string{"load", "save", "sweep", "update", "bootstrap", "bind"}

// ErrUnsupported is returned by Store's operator calls when the back end
// lacks the ability (an optional interface above).
var ErrUnsupported = fmt.Errorf("session back end: %w", errors.ErrUnsupported)

// ErrErased is returned by Shared.Update for a tombstoned client.
var ErrErased = errors.New("client erased")

// ErrBackendLost is wrapped by back-end errors that mean the open back end
// is no longer usable (its file was removed or replaced): Store closes it
// and opens the back end again.
var ErrBackendLost = errors.New("back end lost")

var (
	errPanic       = errors.New("store panicked")
	errClosed      = errors.New("store is closed")
	errDropped     = errors.New("write queue full: update dropped")
	errNodeSkipped = errors.New("store node skipped by its circuit breaker")
	errSkipped     = errors.New("store skipped by its circuit breaker")
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
	case errors.Is(err, errDropped):
		return ReasonDropped
	case errors.Is(err, errNodeSkipped), errors.Is(err, errSkipped):
		return ReasonBreaker
	default:
		return ReasonError
	}
}
