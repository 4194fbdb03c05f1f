package sessionstore

import (
	"context"
	"errors"
	"time"

	"go.uber.org/zap"
)

// Garbage collection deletes objects idle longer than the retention in small
// batches with pauses between them, so that it never holds the database
// long enough to stall requests. A shared back end expires objects itself.
const (
	gcEvery      = time.Minute
	gcFirstAfter = 10 * time.Second
	gcBatch      = 500
	gcPause      = 5 * time.Millisecond
)

func (w *writeBehind) collectGarbage() {
	defer close(w.gcDone)
	t := time.NewTimer(gcFirstAfter)
	defer t.Stop()
	warned := false
	for {
		select {
		case <-w.gcStop:
			return
		case <-t.C:
		}
		n, err := w.sweep(time.Now())
		switch {
		case errors.Is(err, ErrUnsupported):
			if !warned {
				w.s.log.Warn("session back end cannot delete idle clients: retention is not enforced")
				warned = true
			}
		case err != nil:
			w.s.log.Warn("session garbage collection failed", zap.Error(err))
		case n > 0:
			w.s.log.Info("session garbage collection", zap.Int("deleted", n))
		}
		t.Reset(gcEvery)
	}
}

// Sweep deletes every object idle longer than the retention at now and
// reports how many it deleted. It stops early when the store closes. A
// shared store has nothing to sweep.
func (s *Store) Sweep(now time.Time) (int, error) {
	if w, ok := s.way.(*writeBehind); ok {
		return w.sweep(now)
	}
	return 0, nil
}

func (w *writeBehind) sweep(now time.Time) (int, error) {
	sw, err := ability[Sweeper](&w.conn)
	if err != nil {
		return 0, err
	}
	cutoff := now.Add(-w.s.cfg.Retention)
	total := 0
	for {
		ctx, cancel := context.WithTimeout(context.Background(), saveTimeout)
		start := time.Now()
		n, err := sw.Sweep(ctx, cutoff, now, gcBatch)
		w.s.cfg.Observe("sweep", time.Since(start))
		cancel()
		total += n
		if err != nil || n < gcBatch {
			return total, err
		}
		select {
		case <-w.gcStop:
			return total, nil
		case <-time.After(gcPause):
		}
	}
}
