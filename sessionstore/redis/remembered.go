package redis

import (
	"github.com/google/uuid"
	lru "github.com/hashicorp/golang-lru/v2"
)

// remembered is a bounded set of the stored values of recently updated
// clients, least recently used dropped first. A value remembered wrongly
// (another instance wrote since) costs a round trip, never correctness: the
// update script writes only over exactly the value it was computed from.
type remembered struct{ values *lru.Cache[uuid.UUID, string] }

func newRemembered(limit int) remembered {
	if limit <= 0 {
		return remembered{}
	}
	values, _ := lru.New[uuid.UUID, string](limit) // only a size ≤ 0 is an error
	return remembered{values}
}

// Get returns the value remembered for id, "" when none.
func (m remembered) Get(id uuid.UUID) (string, bool) {
	if m.values == nil {
		return "", false
	}
	return m.values.Get(id)
}

func (m remembered) Add(id uuid.UUID, value string) {
	if m.values != nil {
		m.values.Add(id, value)
	}
}

func (m remembered) Remove(id uuid.UUID) {
	if m.values != nil {
		m.values.Remove(id)
	}
}
