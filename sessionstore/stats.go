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
	// WithdrawalsWaiting counts the clients whose consent was withdrawn
	// and whose erasure waits for the back end (tombstoned meanwhile).
	WithdrawalsWaiting int `json:"withdrawals_waiting"`
	// DashboardDropped counts the visits (or parts of them) the dashboard's
	// in-memory bounds left uncounted.
	DashboardDropped uint64 `json:"dashboard_dropped"`

	// OpenNodes are the nodes of a Redis Cluster that their breakers skip:
	// only the clients on those nodes fall back.
	OpenNodes []string `json:"breaker_open_nodes,omitempty"`
}

// Stats reports the store's current state.
func (s *Store) Stats() Stats {
	now := time.Now()
	nodes := s.breaker.openNodes(now)
	open := s.breaker.store.open(now) || len(nodes) > 0
	st := Stats{
		BreakerOpen: open,
		OpenNodes:   nodes,
	}
	s.way.stats(&st)
	s.withdrawn.mu.Lock()
	st.WithdrawalsWaiting = len(s.withdrawn.waiting)
	s.withdrawn.mu.Unlock()
	st.DashboardDropped = s.tally.dropped.Load()
	err := s.way.openError()
	if err != nil {
		st.LastError = err.Error()
	}
	st.Healthy = err == nil && !open && !s.closed.Load()
	return st
}
