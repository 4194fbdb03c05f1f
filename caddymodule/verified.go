package caddymodule

import (
	"strings"
	"sync"

	"github.com/google/uuid"
)

// verifiedValues remembers signed cookie values that verified, so that a
// returning visitor's unchanged cID and sID cookies cost a map lookup instead
// of a MAC per key on every request. Only values that verified are added,
// so a forged value always takes the full, constant-time path. Bounded: when
// full it starts over.
type verifiedValues struct {
	mu    sync.RWMutex
	limit int
	m     map[string]verifiedValue
}

type verifiedValue struct {
	id      uuid.UUID
	current bool  // signed with the first key: can be sent back unchanged
	renewed int64 // the event cookie's renewal time, Unix seconds
}

// verifiedLimit bounds each cookie name's map (about 100 bytes an entry).
const verifiedLimit = 50_000

func newVerifiedValues() *verifiedValues {
	return &verifiedValues{limit: verifiedLimit, m: make(map[string]verifiedValue)}
}

func (v *verifiedValues) get(value string) (verifiedValue, bool) {
	v.mu.RLock()
	defer v.mu.RUnlock()
	got, ok := v.m[value]
	return got, ok
}

func (v *verifiedValues) put(value string, got verifiedValue) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if len(v.m) >= v.limit {
		clear(v.m)
	}
	v.m[strings.Clone(value)] = got // value is a slice of the request's Cookie header
}
