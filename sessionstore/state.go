package sessionstore

import (
	"encoding/binary"
	"errors"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
)

// An object's compact form: one pointer-free byte string. The SQLite back
// end stores it as a client's row (one small value instead of eleven
// columns halves the cost of each write; the client ID and last_seen stay
// columns, for the key and the index), and the in-memory sets keep objects
// in it (the garbage collector then has one pointer per client to scan,
// not ten).
//
//	version byte (1)
//	uvarint first_seen, session_started (Unix ms); uvarint session_number,
//	event_number, total_events; 16 bytes sID; 16 bytes last eID;
//	uvarint length + landing path; uvarint length + referrer origin

const stateVersion = 1

// The texts an object keeps are cut to these lengths, so that every object
// in memory (pending, cached, queued) has a bounded size whatever the
// request carried: at most about 160 bytes of its own plus these.
const (
	MaxLandingPath    = 256
	MaxReferrerOrigin = 128
)

// keptText is s cut to at most limit bytes on a character boundary, in
// memory of its own: a request's path is a slice of the whole request line,
// which the object must not keep alive.
func keptText(s string, limit int) string {
	if len(s) > limit {
		n := limit
		for n > 0 && !utf8.RuneStart(s[n]) { // s[n] continues a character: cut before it
			n--
		}
		s = s[:n]
	}
	return strings.Clone(s)
}

var errBadState = errors.New("malformed stored object")

func encodeState(o *Object) []byte {
	b := make([]byte, 0, 64+len(o.LandingPath)+len(o.ReferrerOrigin))
	b = append(b, stateVersion)
	for _, n := range []int64{o.FirstSeen.UnixMilli(), o.SessionStarted.UnixMilli(), o.SessionNumber, o.EventNumber, o.TotalEvents} {
		b = binary.AppendUvarint(b, uint64(n))
	}
	b = append(b, o.SessionID[:]...)
	b = append(b, o.LastEventID[:]...)
	for _, s := range []string{o.LandingPath, o.ReferrerOrigin} {
		b = binary.AppendUvarint(b, uint64(len(s)))
		b = append(b, s...)
	}
	return b
}

// decodeState rebuilds the object of client id last seen at lastSeen. It
// never panics on damaged input.
func decodeState(id uuid.UUID, lastSeen int64, b []byte) (Object, error) {
	o := Object{ClientID: id, LastSeen: time.UnixMilli(lastSeen)}
	if len(b) == 0 || b[0] != stateVersion {
		return o, errBadState
	}
	r := stateReader{b: b[1:]}
	o.FirstSeen = time.UnixMilli(int64(r.uvarint()))
	o.SessionStarted = time.UnixMilli(int64(r.uvarint()))
	o.SessionNumber, o.EventNumber, o.TotalEvents = int64(r.uvarint()), int64(r.uvarint()), int64(r.uvarint())
	copy(o.SessionID[:], r.bytes(16))
	copy(o.LastEventID[:], r.bytes(16))
	o.LandingPath = string(r.bytes(int(r.uvarint())))
	o.ReferrerOrigin = string(r.bytes(int(r.uvarint())))
	if r.bad {
		return o, errBadState
	}
	return o, nil
}

// stateReader reads fields and remembers whether any was cut short.
type stateReader struct {
	b   []byte
	bad bool
}

func (r *stateReader) uvarint() uint64 {
	n, size := binary.Uvarint(r.b)
	if size <= 0 {
		r.bad, r.b = true, nil
		return 0
	}
	r.b = r.b[size:]
	return n
}

func (r *stateReader) bytes(n int) []byte {
	if n < 0 || n > len(r.b) {
		r.bad, r.b = true, nil
		return nil
	}
	out := r.b[:n]
	r.b = r.b[n:]
	return out
}
