package sessionstore

import (
	"encoding/binary"
	"time"

	"github.com/google/uuid"
)

// Redis values use the compact binary form of state.go, not JSON: a
// visitor that never comes back must cost Redis a few hundred bytes.
//
// Object, <prefix>{<cID>}:c, a string:
//
//	4 bytes compare-and-set version, big-endian (the script compares them)
//	uvarint last_seen (Unix ms)
//	the object's compact state (encodeState)
//
// Row of an ended session, a field of the hash <prefix>{<cID>}:r whose name
// is the 16 bytes of the session ID:
//
//	uvarint started, last_seen (Unix ms), events;
//	uvarint length + landing path; uvarint length + referrer origin;
//	uvarint length + each of utm_source, utm_medium, utm_campaign,
//	utm_term, utm_content, click-ID parameter name (absent in rows written
//	before sessions kept them: those decode with no utm values);
//	uvarint length + each of country, continent, region, city (absent in
//	rows written before sessions kept them: those decode with no geo)

// versionSize is the length of the version at the start of an object value.
const versionSize = 4

// nextVersion is the version written after the one read ("" when the object
// was absent). It wraps around: the script only asks whether it changed.
func nextVersion(read string) uint32 {
	if len(read) != versionSize {
		return 1
	}
	return binary.BigEndian.Uint32([]byte(read)) + 1
}

func encodeRedisObject(version uint32, o *Object) []byte {
	state := encodeState(o)
	b := make([]byte, 0, versionSize+binary.MaxVarintLen64+len(state))
	b = binary.BigEndian.AppendUint32(b, version)
	b = binary.AppendUvarint(b, uint64(o.LastSeen.UnixMilli()))
	return append(b, state...)
}

// decodeRedisObject splits a stored object value into its version and the
// object of client id.
func decodeRedisObject(id uuid.UUID, value string) (string, *Object, error) {
	if len(value) < versionSize {
		return "", nil, errBadState
	}
	r := stateReader{b: []byte(value[versionSize:])}
	lastSeen := r.uvarint()
	if r.bad {
		return "", nil, errBadState
	}
	o, err := decodeState(id, int64(lastSeen), r.b)
	if err != nil {
		return "", nil, err
	}
	return value[:versionSize], &o, nil
}

func encodeRedisRow(s SessionRow) []byte {
	texts := [...]string{s.LandingPath, s.ReferrerOrigin,
		s.UTMSource, s.UTMMedium, s.UTMCampaign, s.UTMTerm, s.UTMContent, s.ClickIDParam,
		s.Country, s.Continent, s.Region, s.City}
	size := 3 * binary.MaxVarintLen64
	for _, str := range texts {
		size += 2 + len(str)
	}
	b := make([]byte, 0, size)
	for _, n := range []int64{s.Started.UnixMilli(), s.LastSeen.UnixMilli(), s.Events} {
		b = binary.AppendUvarint(b, uint64(n))
	}
	return appendTexts(b, texts[:]...)
}

// decodeRedisRow reads the row of session field (its 16 bytes) of client.
func decodeRedisRow(client uuid.UUID, field, value string) (SessionRow, error) {
	sid, err := uuid.FromBytes([]byte(field))
	if err != nil {
		return SessionRow{}, errBadState
	}
	r := stateReader{b: []byte(value)}
	row := SessionRow{SessionID: sid, ClientID: client}
	row.Started = time.UnixMilli(int64(r.uvarint()))
	row.LastSeen = time.UnixMilli(int64(r.uvarint()))
	row.Events = int64(r.uvarint())
	r.texts(&row.LandingPath, &row.ReferrerOrigin)
	if len(r.b) > 0 {
		r.utm(&row.Attribution)
	}
	if len(r.b) > 0 {
		r.geo(&row.Geo)
	}
	if r.bad {
		return SessionRow{}, errBadState
	}
	return row, nil
}
