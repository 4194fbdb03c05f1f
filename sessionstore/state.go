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
//	(version 2 on) uvarint length + each of utm_source, utm_medium,
//	utm_campaign, utm_term, utm_content, click-ID parameter name
//	(version 3 on) uvarint length + each of country, continent, region, city
//
// Version 1, written before sessions kept their utm values, still decodes:
// its objects have an attribution of the referrer origin alone. Version 2,
// written before sessions kept their geo, decodes with none.

const stateVersion = 3

// The texts an object keeps are cut to these lengths, so that every object
// in memory (pending, cached, queued) has a bounded size whatever the
// request carried: at most about 160 bytes of its own plus these, plus
// five times MaxUTMValue and a click-ID parameter name, plus four times
// MaxGeoText.
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
	texts := [...]string{o.LandingPath, o.ReferrerOrigin,
		o.UTMSource, o.UTMMedium, o.UTMCampaign, o.UTMTerm, o.UTMContent, o.ClickIDParam,
		o.Country, o.Continent, o.Region, o.City}
	size := 64
	for _, s := range texts {
		size += 1 + len(s)
	}
	b := make([]byte, 0, size)
	b = append(b, stateVersion)
	for _, n := range []int64{o.FirstSeen.UnixMilli(), o.SessionStarted.UnixMilli(), o.SessionNumber, o.EventNumber, o.TotalEvents} {
		b = binary.AppendUvarint(b, uint64(n))
	}
	b = append(b, o.SessionID[:]...)
	b = append(b, o.LastEventID[:]...)
	return appendTexts(b, texts[:]...)
}

func appendTexts(b []byte, texts ...string) []byte {
	for _, s := range texts {
		b = binary.AppendUvarint(b, uint64(len(s)))
		b = append(b, s...)
	}
	return b
}

// decodeState rebuilds the object of client id last seen at lastSeen. It
// never panics on damaged input.
func decodeState(id uuid.UUID, lastSeen int64, b []byte) (Object, error) {
	o := Object{ClientID: id, LastSeen: time.UnixMilli(lastSeen)}
	if len(b) == 0 || b[0] < 1 || b[0] > stateVersion {
		return o, errBadState
	}
	r := stateReader{b: b[1:]}
	o.FirstSeen = time.UnixMilli(int64(r.uvarint()))
	o.SessionStarted = time.UnixMilli(int64(r.uvarint()))
	o.SessionNumber, o.EventNumber, o.TotalEvents = int64(r.uvarint()), int64(r.uvarint()), int64(r.uvarint())
	copy(o.SessionID[:], r.bytes(16))
	copy(o.LastEventID[:], r.bytes(16))
	r.texts(&o.LandingPath, &o.ReferrerOrigin)
	if b[0] >= 2 {
		r.utm(&o.Attribution)
	}
	if b[0] >= 3 {
		r.geo(&o.Geo)
	}
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

// texts reads length-prefixed strings into each of into.
func (r *stateReader) texts(into ...*string) {
	for _, s := range into {
		*s = string(r.bytes(int(r.uvarint())))
	}
}

// utm reads the utm values and click-ID parameter name of an attribution.
func (r *stateReader) utm(a *Attribution) {
	r.texts(&a.UTMSource, &a.UTMMedium, &a.UTMCampaign, &a.UTMTerm, &a.UTMContent, &a.ClickIDParam)
}

// geo reads the texts of a Geo.
func (r *stateReader) geo(g *Geo) {
	r.texts(&g.Country, &g.Continent, &g.Region, &g.City)
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
