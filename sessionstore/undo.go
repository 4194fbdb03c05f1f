package sessionstore

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"go.uber.org/zap"
)

// A shared back end's write can be made in time while its answer comes
// after the visit's deadline (a congested network, an instance too busy to
// read): the visit was answered as a fallback from its cookies, yet the
// store counted it. The back end says, before it sends a write, how to take
// it back; when the visit falls back, the store does so in the background.
// The undo restores the value that was read only while the stored one is
// still the one written, so a later visit's write is never undone. It runs
// after every write that could have been made: such a write reaches the
// server before the deadline in the server's clock (the Redis back end
// sends its deadline with the write), the undo is sent after it.

// An UndoFunc takes back a write; it reports whether it did.
type UndoFunc func(context.Context) (bool, error)

// pendingWrite is where a back end leaves the undo of the write it is about
// to send, for the store to run if the visit gives up on the answer.
type pendingWrite struct {
	mu   sync.Mutex
	undo UndoFunc
}

type pendingWriteKey struct{}

// withPendingWrite returns a context in which a back end can note an undo.
func withPendingWrite(ctx context.Context) (context.Context, *pendingWrite) {
	w := &pendingWrite{}
	return context.WithValue(ctx, pendingWriteKey{}, w), w
}

// NoteUndo is how a Shared back end's Update records, before it sends a
// write, how to take it back.
func NoteUndo(ctx context.Context, undo UndoFunc) {
	if w, ok := ctx.Value(pendingWriteKey{}).(*pendingWrite); ok {
		w.mu.Lock()
		w.undo = undo
		w.mu.Unlock()
	}
}

func (w *pendingWrite) take() UndoFunc {
	w.mu.Lock()
	defer w.mu.Unlock()
	u := w.undo
	w.undo = nil
	return u
}

const (
	// maxUndos bounds the undos under way at once: when Redis stops
	// answering, every visit's write fails, and their undos must not pile up.
	maxUndos = 32
	// undoTimeout bounds one undo.
	undoTimeout = 2 * time.Second
)

// undos counts the undos under way; the zero value is ready.
type undos struct{ running atomic.Int32 }

// callUpdate runs a shared back end's Update through call. When the visit
// does not get the answer (err), a write that was sent is taken back.
func (sh *shared) callUpdate(ctx context.Context, b Shared, id uuid.UUID, ttl time.Duration, fn func(*Object) Object) error {
	ctx, w := withPendingWrite(ctx)
	err := sh.s.call(ctx, nodeOf(b, id), "update", func(ctx context.Context) error {
		return b.Update(ctx, id, ttl, fn)
	})
	if err != nil {
		sh.undoLater(id, w.take())
	}
	return err
}

// undoLater runs undo in the background, bounded, and logs what it did.
func (sh *shared) undoLater(id uuid.UUID, undo UndoFunc) {
	if undo == nil {
		return
	}
	if sh.undos.running.Add(1) > maxUndos {
		sh.undos.running.Add(-1)
		sh.s.log.Warn("session store: a write whose answer came too late is not taken back (too many undos under way); the client's next event number may skip one", zap.Stringer("client", id))
		return
	}
	go func() {
		defer sh.undos.running.Add(-1)
		ctx, cancel := context.WithTimeout(context.Background(), undoTimeout)
		defer cancel()
		undone, err := undo(ctx)
		switch {
		case err != nil:
			sh.s.log.Warn("session store: could not take back a write whose answer came too late; the client's next event number may skip one", zap.Stringer("client", id), zap.Error(err))
		case undone:
			sh.s.log.Info("session store: took back a write whose answer came after the visit fell back", zap.Stringer("client", id))
		}
	}()
}
