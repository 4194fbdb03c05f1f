package sessionstore

import (
	"encoding/binary"
	"time"

	"github.com/google/uuid"
)

// futureTolerance is how far ahead of the clock an ID's timestamp may be
// before the ID is treated as absent: enough for clock skew between
// instances, too little to pin a session open for long.
const futureTolerance = 5 * time.Minute

// NewID returns a fresh UUIDv7 whose timestamp is at. uuid.NewV7 supplies the
// random and monotonic bits; the timestamp is set from at so that the clock
// the lifecycle reasons with and the clock inside the IDs are the same one.
func NewID(at time.Time) uuid.UUID {
	id, err := uuid.NewV7()
	if err != nil {
		id = uuid.New() // crypto/rand failed; keep the request going
		id[6] = id[6]&0x0f | 0x70
	}
	setIDTime(&id, at)
	return id
}

func setIDTime(id *uuid.UUID, at time.Time) {
	ms := uint64(at.UnixMilli())
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], ms)
	copy(id[0:6], b[2:8])
}

// idTime is the moment a UUIDv7 was made.
func idTime(id uuid.UUID) time.Time {
	var b [8]byte
	copy(b[2:8], id[0:6])
	return time.UnixMilli(int64(binary.BigEndian.Uint64(b[:])))
}

// validID reports whether id is a UUIDv7 made no later than futureTolerance
// after now.
func validID(id uuid.UUID, now time.Time) bool {
	if id.Version() != 7 || id.Variant() != uuid.RFC4122 {
		return false
	}
	return !idTime(id).After(now.Add(futureTolerance))
}
