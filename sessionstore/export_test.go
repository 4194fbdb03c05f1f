package sessionstore

// What the external tests (package sessionstore_test, which may import the
// back ends) reach inside the store for.

// BreakerThreshold is how many failures in a row open a breaker.
const BreakerThreshold = breakerThreshold

// ApplyVisit is the lifecycle's step from an object to the next.
var ApplyVisit = applyVisit

// IDTime is the time inside an ID.
var IDTime = idTime

// CloseWriter makes the final commit of a write-behind store, as Close does
// before it closes the back end.
func (s *Store) CloseWriter() { s.way.(*writeBehind).writer.close() }

// ReloadTombstones runs a shared store's periodic reload of the erasures now.
func (s *Store) ReloadTombstones() error { return s.way.(*shared).reloadTombstones() }
