package redis

import (
	"encoding/binary"
	"testing"

	"github.com/c0f4626f/caddy-session/internal/storetest"
	"github.com/c0f4626f/caddy-session/sessionstore"
)

func TestRedisValuesRoundTrip(t *testing.T) {
	o := storetest.SampleObject()
	value := string(encodeObject(nextVersion("\x00\x00\x00\x07"), &o))
	version, got, err := decodeObject(o.ClientID, value)
	if err != nil || *got != o || nextVersion(version) != 9 {
		t.Fatalf("object round trip: %+v version %q (%v), want %+v version 8", got, version, err, o)
	}
	form, _ := o.MarshalBinary()
	for n := range len(value) - len(form) + 1 { // cuts of the form itself: TestBinaryFormRoundTrip
		if _, _, err := decodeObject(o.ClientID, value[:n]); err == nil {
			t.Fatalf("an object cut to %d of %d bytes decoded", n, len(value))
		}
	}
	row := o.Session()
	form, _ = row.MarshalBinary()
	if gotRow, err := decodeRow(o.ClientID, string(row.SessionID[:]), string(form)); err != nil || gotRow != row {
		t.Fatalf("row round trip: %+v (%v), want %+v", gotRow, err, row)
	}
	if _, err := decodeRow(o.ClientID, "short", string(form)); err == nil {
		t.Fatal("a row under a field that is no session ID decoded")
	}
}

// Object values as earlier versions wrote them (version, last_seen, then a
// form of version 1 or 2) still load, with their last_seen.
func TestRedisEarlierObjectValuesLoad(t *testing.T) {
	full := storetest.EarlierObject()
	withoutUTM := full
	withoutUTM.Attribution = sessionstore.Attribution{ReferrerOrigin: full.ReferrerOrigin}
	for form, want := range map[string]sessionstore.Object{"object-v1": withoutUTM, "object-v2": full} {
		value := binary.BigEndian.AppendUint32(nil, 7)
		value = binary.AppendUvarint(value, uint64(full.LastSeen.UnixMilli()))
		value = append(value, storetest.EarlierForm(t, form)...)
		version, got, err := decodeObject(full.ClientID, string(value))
		if err != nil || *got != want || nextVersion(version) != 8 {
			t.Errorf("%s: %+v version %q (%v), want %+v", form, got, version, err, want)
		}
	}
}
