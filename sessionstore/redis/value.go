package redis

import (
	"encoding/binary"
	"time"

	"github.com/google/uuid"

	"github.com/c0f4626f/caddy-session/sessionstore"
)

// Redis values hold the binary form of the core (Object.MarshalBinary,
// SessionRow.MarshalBinary), not JSON: a visitor that never comes back must
// cost Redis a few hundred bytes.
//
// Object, <prefix>{<cID>}:c, a string:
//
//	4 bytes compare-and-set version, big-endian (the script compares them)
//	uvarint last_seen (Unix ms)
//	the object's binary form
//
// Row of an ended session: a field of the hash <prefix>{<cID>}:r whose name
// is the 16 bytes of the session ID, whose value is the row's binary form.

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

func encodeObject(version uint32, o *sessionstore.Object) []byte {
	form, _ := o.MarshalBinary()
	b := make([]byte, 0, versionSize+binary.MaxVarintLen64+len(form))
	b = binary.BigEndian.AppendUint32(b, version)
	b = binary.AppendUvarint(b, uint64(o.LastSeen.UnixMilli()))
	return append(b, form...)
}

// decodeObject splits a stored object value into its version and the
// object of client id.
func decodeObject(id uuid.UUID, value string) (string, *sessionstore.Object, error) {
	if len(value) < versionSize {
		return "", nil, sessionstore.ErrMalformed
	}
	form := []byte(value[versionSize:])
	lastSeen, n := binary.Uvarint(form)
	if n <= 0 {
		return "", nil, sessionstore.ErrMalformed
	}
	o := &sessionstore.Object{ClientID: id, LastSeen: time.UnixMilli(int64(lastSeen))}
	if err := o.UnmarshalBinary(form[n:]); err != nil {
		return "", nil, err
	}
	return value[:versionSize], o, nil
}

// decodeRow reads the row of session field (its 16 bytes) of client.
func decodeRow(client uuid.UUID, field, value string) (sessionstore.SessionRow, error) {
	sid, err := uuid.FromBytes([]byte(field))
	if err != nil {
		return sessionstore.SessionRow{}, sessionstore.ErrMalformed
	}
	row := sessionstore.SessionRow{SessionID: sid, ClientID: client}
	if err := row.UnmarshalBinary([]byte(value)); err != nil {
		return sessionstore.SessionRow{}, err
	}
	return row, nil
}
