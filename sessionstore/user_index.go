package sessionstore

import (
	"context"
	"errors"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"go.uber.org/zap"
)

// A shared back end finds a user's clients through an index of its own
// (UserIndex), apart from the clients' objects. A bound client's object
// lives on for as long as the client keeps coming back, so its index entry
// must too: besides every binding, the first event of each day of a bound
// client refreshes it, in the background. The index then lasts a
// retention and a day after the client's last active day, at least as long
// as the object.

// indexTTL is how long a user's index lasts after its last refresh.
func (sh *shared) indexTTL() time.Duration { return sh.s.cfg.Retention + 24*time.Hour }

// indexing counts the background refreshes under way; the zero value is
// ready.
type indexing struct{ running atomic.Int32 }

// refreshIndexLater refreshes the index entry of ev's client in the
// background when ev is a bound client's first event of its day.
func (sh *shared) refreshIndexLater(b Shared, ev Event) {
	index, ok := b.(UserIndex)
	if !ok || ev.UserID == "" || (ev.PreviousEventID != uuid.Nil && DayStart(idTime(ev.PreviousEventID)).Equal(DayStart(idTime(ev.EventID)))) {
		return
	}
	if sh.indexing.running.Add(1) > maxUndos {
		sh.indexing.running.Add(-1)
		sh.s.log.Warn("session store: a user index refresh is skipped (too many under way); the next event of the day tries again", zap.Stringer("client", ev.ClientID))
		return
	}
	go func() {
		defer sh.indexing.running.Add(-1)
		ctx, cancel := context.WithTimeout(context.Background(), undoTimeout)
		defer cancel()
		if err := index.IndexUser(ctx, ev.UserID, ev.ClientID, sh.indexTTL()); err != nil && !errors.Is(err, ErrErased) {
			sh.s.log.Warn("session store: could not refresh the user index of a bound client", zap.Stringer("client", ev.ClientID), zap.Error(err))
		}
	}()
}
