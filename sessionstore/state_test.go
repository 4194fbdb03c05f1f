package sessionstore_test

import (
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
	for name, m := range map[string]interface{ MarshalBinary() ([]byte, error) }{"object-v2": &o, "row-v2": &row} {
		if b, _ := m.MarshalBinary(); string(b) != string(storetest.EarlierForm(t, name)) {
			t.Errorf("%s: written %x, the previous version wrote %x", name, b, storetest.EarlierForm(t, name))
		}
	}
}

func TestBinaryFormRoundTrip(t *testing.T) {
	o := storetest.SampleObject()
	b, _ := o.MarshalBinary()
	got := Object{ClientID: o.ClientID, LastSeen: o.LastSeen}
	if err := got.UnmarshalBinary(b); err != nil || got != o {
		t.Fatalf("round trip: %+v (%v), want %+v", got, err, o)
	}
	for n := range len(b) {
		if err := new(Object).UnmarshalBinary(b[:n]); err == nil {
			t.Fatalf("a form cut to %d of %d bytes decoded", n, len(b))
		}
	}
	row := o.Session()
	rb, _ := row.MarshalBinary()
	gotRow := SessionRow{SessionID: row.SessionID, ClientID: row.ClientID}
	if err := gotRow.UnmarshalBinary(rb); err != nil || gotRow != row {
		t.Fatalf("row round trip: %+v (%v), want %+v", gotRow, err, row)
	}
	withoutUTM := len(storetest.EarlierForm(t, "row-v1")) + len(rb) - len(storetest.EarlierForm(t, "row-v2"))
	for n := range len(rb) {
		if n == withoutUTM {
			continue // a row as written before sessions kept utm values
		}
		if err := new(SessionRow).UnmarshalBinary(rb[:n]); err == nil {
			t.Fatalf("a row cut to %d of %d bytes decoded", n, len(rb))
		}
	}
}

// TestUserIDIsAnOptionalField: a bound user follows the previous version's
// form (which that version reads, ignoring what follows), a field of a
// later version is skipped, and a field cut short is an error.
func TestUserIDIsAnOptionalField(t *testing.T) {
	o := storetest.EarlierObject()
	o.UserID = "user-42@example.com"
	row := o.Session()
	for name, c := range map[string]struct {
		form   interface{ MarshalBinary() ([]byte, error) }
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
		if string(b[:len(previous)]) != string(previous) {
			t.Errorf("%s with a user: %x does not start with the previous version's form %x", name, b, previous)
		}
		later := append(append([]byte{}, b...), 0x7f, 2, 'x', 'y') // an unknown tag of a later version
		for _, form := range [][]byte{b, later} {
			if got, err := c.decode(form); err != nil || got != c.want {
				t.Errorf("%s: decoded %+v (%v), want %+v", name, got, err, c.want)
			}
		}
		for n := len(previous) + 1; n < len(b); n++ {
			if _, err := c.decode(b[:n]); err == nil {
				t.Errorf("%s cut to %d of %d bytes, inside the user field, decoded", name, n, len(b))
			}
		}
	}
}
