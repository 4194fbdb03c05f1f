package sessionstore

import (
	"context"
	"time"

	"go.uber.org/zap"
)

// Garbage collection deletes objects idle longer than the retention in small
// batches with pauses between them, so that it never holds the database
// long enough to stall requests.
const (
	gcEvery      = time.Minute
	gcFirstAfter = 10 * time.Second
	gcBatch      = 500
	gcPause      = 5 * time.Millisecond
)

func (s *Store) collectGarbage() {
	defer close(s.gcDone)
	t := time.NewTimer(gcFirstAfter)
	defer t.Stop()
	for {
		select {
		case <-s.gcStop:
			return
		case <-t.C:
		}
		n, err := s.Sweep(time.Now())
		if err != nil {
			s.log.Warn("session garbage collection failed", zap.Error(err))
		} else if n > 0 {
			s.log.Info("session garbage collection", zap.Int("deleted", n))
		}
		if err := s.reloadTombstones(); err != nil {
			s.log.Warn("reading the session store's tombstones failed", zap.Error(err))
		}
		t.Reset(gcEvery)
	}
}

// Sweep deletes every object idle longer than the retention at now and
// reports how many it deleted. It stops early when the store closes.
func (s *Store) Sweep(now time.Time) (int, error) {
	b, err := s.conn.get()
	if err != nil {
		return 0, err
	}
	wb, ok := b.(WriteBehind)
	if !ok {
		return 0, nil // a shared back end expires objects itself
	}
	cutoff := now.Add(-s.cfg.Retention)
	total := 0
	for {
		ctx, cancel := context.WithTimeout(context.Background(), saveTimeout)
		start := time.Now()
		n, err := wb.Sweep(ctx, cutoff, now, gcBatch)
		s.cfg.Observe("sweep", time.Since(start))
		cancel()
		total += n
		if err != nil || n < gcBatch {
			return total, err
		}
		select {
		case <-s.gcStop:
			return total, nil
		case <-time.After(gcPause):
		}
	}
}

// reloadTombstones learns the erasures made since the back end opened by
// another process sharing it, so that the paths that do not reach the back
// end (fallbacks) refuse those clients too.
func (s *Store) reloadTombstones() error {
	b, err := s.conn.get()
	if err != nil {
		return nil // not open: the next open loads them
	}
	ctx, cancel := context.WithTimeout(context.Background(), saveTimeout)
	defer cancel()
	stored, err := b.Tombstones(ctx, time.Now())
	if err == nil {
		s.tombs.merge(stored)
	}
	return err
}
