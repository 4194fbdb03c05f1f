package sessionstore

import (
	"encoding/binary"
	"errors"
	"math/bits"
	"time"
)

// The binary form of objects and session rows, the one every back end and
// the in-memory sets keep: one pointer-free byte string per object. The
// SQLite back end stores it as a client's row (one small value instead of
// a dozen columns halves the cost of each write; the client ID and
// last_seen stay columns, for the key and the index), Redis stores it
// behind its compare-and-set version, and the in-memory sets keep objects
// in it (the garbage collector then has one pointer per client to scan,
// not ten). The client ID is the key everywhere and last_seen is kept
// beside the form everywhere (the SQLite column that the sweep's index
// reads, the Redis value's prefix, the memory slot), so neither is in it:
// that also keeps the form that instances of the previous version read and
// write, so instances sharing a Redis can be upgraded one at a time.
//
// Object:
//
//	version byte (2)
//	uvarint first_seen, session_started (Unix ms);
//	uvarint session_number, event_number, total_events;
//	16 bytes sID; 16 bytes last eID;
//	uvarint length + each of landing path, referrer origin, utm_source,
//	utm_medium, utm_campaign, utm_term, utm_content, click-ID parameter name;
//	then the optional groups below
//
// Version 1, written before sessions kept utm values, still decodes: its
// objects have an attribution of the referrer origin alone.
//
// Fields added since are optional groups appended at the end, each a
// uvarint length + text per field, written only when it or a later group
// has a value: a decoder reads the groups it knows and ignores any after
// them, so instances of neighbouring versions sharing a Redis read each
// other's objects (an older one drops the newer groups when it writes).
// The groups, in order: geo (country, continent, region, city), the user
// the client is bound to.
//
// Session row (of an ended session; session and client IDs are its key):
//
//	uvarint started, last_seen (Unix ms), events;
//	uvarint length + each of the same texts and optional groups (rows
//	written before sessions kept utm values end after the referrer origin)

const stateVersion = 2

// The texts an object keeps are cut to these lengths, so that every object
// in memory (pending, cached, queued) has a bounded size whatever the
// request carried: at most about 160 bytes of its own plus these, plus
// five times MaxUTMValue and a click-ID parameter name, plus four times
// MaxGeoText, plus MaxUserID.
const (
	MaxLandingPath    = 256
	MaxReferrerOrigin = 128
)

// ErrMalformed is the error of decoding damaged bytes.
var ErrMalformed = errors.New("malformed stored object")

// MarshalBinary returns the object's binary form, without its client ID
// and last_seen.
func (o *Object) MarshalBinary() ([]byte, error) {
	numbers := [...]int64{o.FirstSeen.UnixMilli(), o.SessionStarted.UnixMilli(),
		o.SessionNumber, o.EventNumber, o.TotalEvents}
	texts := o.texts()
	b := make([]byte, 0, 1+uvarintsSize(numbers[:])+32+textsSize(texts))
	b = append(b, stateVersion)
	b = appendUvarints(b, numbers[:]...)
	b = append(b, o.SessionID[:]...)
	b = append(b, o.LastEventID[:]...)
	return appendTexts(b, texts), nil
}

// UnmarshalBinary reads an object's binary form, leaving ClientID and
// LastSeen as they were. It never panics on damaged input.
func (o *Object) UnmarshalBinary(b []byte) error {
	if len(b) == 0 || b[0] < 1 || b[0] > stateVersion {
		return ErrMalformed
	}
	version := b[0]
	r := stateReader{b: b[1:]}
	o.FirstSeen, o.SessionStarted = r.time(), r.time()
	o.SessionNumber, o.EventNumber, o.TotalEvents = r.int(), r.int(), r.int()
	copy(o.SessionID[:], r.bytes(16))
	copy(o.LastEventID[:], r.bytes(16))
	fields := textFields(&o.LandingPath, &o.Attribution, &o.Geo, &o.UserID)
	if version < 2 {
		r.texts(fields[:2])
	} else {
		r.texts(fields[:required])
		r.optional(fields, required)
	}
	return r.err()
}

// MarshalBinary returns the row's binary form, without its IDs.
func (s *SessionRow) MarshalBinary() ([]byte, error) {
	numbers := [...]int64{s.Started.UnixMilli(), s.LastSeen.UnixMilli(), s.Events}
	texts := s.texts()
	b := make([]byte, 0, uvarintsSize(numbers[:])+textsSize(texts))
	b = appendUvarints(b, numbers[:]...)
	return appendTexts(b, texts), nil
}

// UnmarshalBinary reads a row's binary form, leaving its IDs as they were.
func (s *SessionRow) UnmarshalBinary(b []byte) error {
	r := stateReader{b: b}
	s.Started, s.LastSeen, s.Events = r.time(), r.time(), r.int()
	fields := textFields(&s.LandingPath, &s.Attribution, &s.Geo, &s.UserID)
	r.texts(fields[:2])
	r.optional(fields, 2)
	return r.err()
}

func appendUvarints(b []byte, ns ...int64) []byte {
	for _, n := range ns {
		b = binary.AppendUvarint(b, uint64(n))
	}
	return b
}

// textFields are the texts of the binary forms, in their order: the
// landing path and referrer origin, the utm values and click-ID name (the
// last required fields), then the optional groups.
func textFields(landingPath *string, a *Attribution, g *Geo, userID *string) [13]*string {
	return [...]*string{landingPath, &a.ReferrerOrigin,
		&a.UTMSource, &a.UTMMedium, &a.UTMCampaign, &a.UTMTerm, &a.UTMContent, &a.ClickIDParam,
		&g.Country, &g.Continent, &g.Region, &g.City, userID}
}

// groupEnds are where the groups of textFields end: landing path and
// referrer origin, utm values and click-ID name, geo, user.
var groupEnds = [...]int{2, 8, 12, 13}

// required is how many texts every form of version 2 has and writes.
const required = 8

func (o *Object) texts() []*string {
	fields := textFields(&o.LandingPath, &o.Attribution, &o.Geo, &o.UserID)
	return fields[:writtenCount(&fields)]
}

func (s *SessionRow) texts() []*string {
	fields := textFields(&s.LandingPath, &s.Attribution, &s.Geo, &s.UserID)
	return fields[:writtenCount(&fields)]
}

// writtenCount is how many texts a form carries: the required ones, and the
// optional groups up to the last one with a value.
func writtenCount(fields *[13]*string) int {
	n := required
	for i := required; i < len(fields); i++ {
		if *fields[i] != "" {
			n = groupEnd(i)
		}
	}
	return n
}

// groupEnd is where the group of text i ends.
func groupEnd(i int) int {
	for _, end := range groupEnds {
		if i < end {
			return end
		}
	}
	return groupEnds[len(groupEnds)-1]
}

// The sizes are exact: every object in memory is a slice of this length.
func uvarintsSize(ns []int64) (size int) {
	for _, n := range ns {
		size += uvarintSize(uint64(n))
	}
	return size
}

func uvarintSize(n uint64) int { return (bits.Len64(n|1) + 6) / 7 }

func textsSize(texts []*string) (size int) {
	for _, s := range texts {
		size += uvarintSize(uint64(len(*s))) + len(*s)
	}
	return size
}

func appendTexts(b []byte, texts []*string) []byte {
	for _, s := range texts {
		b = binary.AppendUvarint(b, uint64(len(*s)))
		b = append(b, *s...)
	}
	return b
}

// stateReader reads fields and remembers whether any was cut short.
type stateReader struct {
	b   []byte
	bad bool
}

func (r *stateReader) err() error {
	if r.bad {
		return ErrMalformed
	}
	return nil
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

func (r *stateReader) int() int64 { return int64(r.uvarint()) }

func (r *stateReader) time() time.Time { return time.UnixMilli(r.int()) }

// texts reads length-prefixed strings into each of into.
func (r *stateReader) texts(into []*string) {
	for _, s := range into {
		*s = string(r.bytes(int(r.uvarint())))
	}
}

// optional reads the groups of fields from start on, as far as the form
// has them; it ignores groups after those it knows.
func (r *stateReader) optional(fields [13]*string, start int) {
	for _, end := range groupEnds {
		if end <= start || len(r.b) == 0 {
			continue
		}
		r.texts(fields[start:end])
		start = end
	}
	r.b = nil
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
