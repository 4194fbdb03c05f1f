package sessionstore_test

import (
	"encoding"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/c0f4626f/caddy-session/internal/storetest"

	. "github.com/c0f4626f/caddy-session/sessionstore"
)

// TestEarlierFormsStillDecode: files and Redis values written by earlier
// versions load, with what they had; last_seen, kept beside those forms,
// is left to the caller.
func TestEarlierFormsStillDecode(t *testing.T) {
	full := storetest.EarlierObject()
	withoutUTM := full
	withoutUTM.Attribution = Attribution{ReferrerOrigin: full.ReferrerOrigin}
	for _, c := range []struct {
		name string
		form string
		want Object
	}{{"version 1", "object-v1", withoutUTM}, {"version 2", "object-v2", full}} {
		lastSeen := time.UnixMilli(42)
		o := Object{ClientID: full.ClientID, LastSeen: lastSeen}
		err := o.UnmarshalBinary(storetest.EarlierForm(t, c.form))
		c.want.LastSeen = lastSeen
		if err != nil || o != c.want {
			t.Errorf("%s: %+v (%v), want %+v", c.name, o, err, c.want)
		}
	}
	for _, c := range []struct {
		name string
		form string
		want SessionRow
	}{{"row without utm values", "row-v1", withoutUTM.Session()}, {"row with them", "row-v2", full.Session()}} {
		row := SessionRow{SessionID: full.SessionID, ClientID: full.ClientID}
		if err := row.UnmarshalBinary(storetest.EarlierForm(t, c.form)); err != nil || row != c.want {
			t.Errorf("%s: %+v (%v), want %+v", c.name, row, err, c.want)
		}
	}
}

// TestFormIsThePreviousVersions: the object and its row are written
// byte for byte as the previous version wrote them, so that instances of
// both versions sharing a Redis read each other's values.
func TestFormIsThePreviousVersions(t *testing.T) {
	o := storetest.EarlierObject()
	row := o.Session()
	for name, m := range map[string]encoding.BinaryMarshaler{"object-v2": &o, "row-v2": &row} {
		if b, _ := m.MarshalBinary(); string(b) != string(storetest.EarlierForm(t, name)) {
			t.Errorf("%s: written %x, the previous version wrote %x", name, b, storetest.EarlierForm(t, name))
		}
	}
	// A session with geo adds its group at the end, which the previous
	// version's decoder does not read.
	o.Geo = Geo{Country: "BR"}
	row = o.Session()
	for name, m := range map[string]encoding.BinaryMarshaler{"object-v2": &o, "row-v2": &row} {
		if b, _ := m.MarshalBinary(); !strings.HasPrefix(string(b), string(storetest.EarlierForm(t, name))) {
			t.Errorf("%s with geo: written %x, not the previous version's form %x and more", name, b, storetest.EarlierForm(t, name))
		}
	}
}

// TestBinaryFormRoundTrip reads back every field, and refuses a form cut
// anywhere but where an earlier form ended.
func TestBinaryFormRoundTrip(t *testing.T) {
	o := storetest.SampleObject()
	b, _ := o.MarshalBinary()
	got := Object{ClientID: o.ClientID, LastSeen: o.LastSeen}
	if err := got.UnmarshalBinary(b); err != nil || got != o {
		t.Fatalf("round trip: %+v (%v), want %+v", got, err, o)
	}
	withoutGeo := o
	withoutGeo.Geo = Geo{}
	expectCutsRefused(t, "object", b, new(Object), formLen(&withoutGeo))

	row := o.Session()
	rb, _ := row.MarshalBinary()
	gotRow := SessionRow{SessionID: row.SessionID, ClientID: row.ClientID}
	if err := gotRow.UnmarshalBinary(rb); err != nil || gotRow != row {
		t.Fatalf("row round trip: %+v (%v), want %+v", gotRow, err, row)
	}
	rowWithoutGeo, rowWithoutUTM := row, row
	rowWithoutGeo.Geo = Geo{}
	rowWithoutUTM.Geo, rowWithoutUTM.Attribution = Geo{}, Attribution{ReferrerOrigin: row.ReferrerOrigin}
	expectCutsRefused(t, "row", rb, new(SessionRow), formLen(&rowWithoutGeo), formLen(&rowWithoutUTM)-6) // six empty texts
}

func formLen(m encoding.BinaryMarshaler) int {
	b, _ := m.MarshalBinary()
	return len(b)
}

// expectCutsRefused checks that b cut short fails to decode, but where
// an earlier form ended (at one of earlier).
func expectCutsRefused(t *testing.T, what string, b []byte, into encoding.BinaryUnmarshaler, earlier ...int) {
	t.Helper()
	for n := range len(b) {
		if err := into.UnmarshalBinary(b[:n]); err == nil && !slices.Contains(earlier, n) {
			t.Fatalf("%s cut to %d of %d bytes decoded", what, n, len(b))
		}
	}
}

// TestUserIDIsAnOptionalField: a bound user is the group after the geo,
// after the previous version's form (which that version reads, ignoring
// what follows); a group of a later version is skipped, and a form cut
// inside the groups, but where one ends, is refused.
func TestUserIDIsAnOptionalField(t *testing.T) {
	o := storetest.EarlierObject()
	o.UserID = "user-42@example.com"
	row := o.Session()
	for name, c := range map[string]struct {
		form   encoding.BinaryMarshaler
		decode func([]byte) (any, error)
		want   any
	}{
		"object-v2": {&o, func(b []byte) (any, error) {
			got := Object{ClientID: o.ClientID, LastSeen: o.LastSeen}
			return got, got.UnmarshalBinary(b)
		}, o},
		"row-v2": {&row, func(b []byte) (any, error) {
			got := SessionRow{SessionID: row.SessionID, ClientID: row.ClientID}
			return got, got.UnmarshalBinary(b)
		}, row},
	} {
		b, _ := c.form.MarshalBinary()
		previous := storetest.EarlierForm(t, name)
		if !strings.HasPrefix(string(b), string(previous)) {
			t.Errorf("%s with a user: %x does not start with the previous version's form %x", name, b, previous)
		}
		later := append(append([]byte{}, b...), 2, 'x', 'y') // a group of a later version
		for _, form := range [][]byte{b, later} {
			if got, err := c.decode(form); err != nil || got != c.want {
				t.Errorf("%s: decoded %+v (%v), want %+v", name, got, err, c.want)
			}
		}
		withoutUser := len(previous) + 4 // and the geo group: four empty texts
		for n := len(previous) + 1; n < len(b); n++ {
			if _, err := c.decode(b[:n]); err == nil && n != withoutUser {
				t.Errorf("%s cut to %d of %d bytes, inside a group, decoded", name, n, len(b))
			}
		}
	}
}
