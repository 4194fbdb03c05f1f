package sessionstore

import (
	"context"
	"time"

	"go.uber.org/zap"
)

// A database file replaced or removed under the running store (a backup
// restored from before an erasure, a lost file) is noticed by a write into
// it, but a store may have nothing to write for long, and none before it
// closes: its new clients wait in memory and its tombstones answer the
// erased cookies. So the file's identity is also checked every
// replacedCheckEvery, on every flush and before closing, off the request
// path, and a replaced file is reopened, which makes the erasures it lacks
// again (reconciled).
const replacedCheckEvery = time.Second

// watchReplaced reopens the back end whenever its file was replaced, until
// gcStop closes.
func (w *writeBehind) watchReplaced() {
	defer close(w.watchDone)
	t := time.NewTicker(replacedCheckEvery)
	defer t.Stop()
	for {
		select {
		case <-w.gcStop:
			return
		case <-t.C:
		}
		ctx, cancel := context.WithTimeout(context.Background(), saveTimeout)
		if err := w.reopenIfReplaced(ctx); err != nil {
			w.s.log.Warn("session database file replaced; reopening it failed, will retry", zap.Error(err))
		}
		cancel()
	}
}

// reopenIfReplaced reopens the back end when its file is no longer at its
// path, and waits for the reopened one.
func (w *writeBehind) reopenIfReplaced(ctx context.Context) error {
	r, err := ability[Replaceable](&w.conn)
	if err != nil || !r.Replaced() {
		return nil // nothing open, or nothing that can be replaced
	}
	w.s.log.Warn("session database file replaced or removed; reopening it and making its missing erasures again")
	w.conn.reset()
	_, err = w.conn.await(ctx)
	return err
}
