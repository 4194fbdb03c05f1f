package sessionstore

import "time"

// Stats is a snapshot of the store's health.
type Stats struct {
	Healthy        bool   `json:"healthy"`
	BreakerOpen    bool   `json:"breaker_open"`
	LastError      string `json:"last_error,omitempty"`
	QueueDepth     int    `json:"queue_depth"`
	DroppedWrites  uint64 `json:"dropped_writes"`
	PendingClients int    `json:"pending_clients"`
	PendingDropped uint64 `json:"pending_dropped"`
	CachedObjects  int    `json:"cached_objects"`
	BootstrapKeys  int    `json:"bootstrap_keys"`
}

// Stats reports the store's current state.
func (s *Store) Stats() Stats {
	open := s.breaker.open(time.Now())
	st := Stats{
		BreakerOpen:    open,
		QueueDepth:     s.writer.depth(),
		DroppedWrites:  s.writer.dropped.Load(),
		PendingClients: s.pending.len(),
		PendingDropped: s.pendingDropped.Load(),
		CachedObjects:  s.cache.len(),
		BootstrapKeys:  s.boot.len(),
	}
	err := s.conn.openError()
	if err != nil {
		st.LastError = err.Error()
	}
	st.Healthy = err == nil && !open && !s.closed.Load()
	return st
}
