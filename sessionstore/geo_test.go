package sessionstore

import (
	"strings"
	"testing"
	"time"
)

var saoPaulo = Geo{Country: "BR", Continent: "SA", Region: "BR-SP", City: "São Paulo"}

// The geo is the first visit's: later events of the session keep it, the
// next session gets its own; each text is bounded and header-safe.
func TestGeoIsFixedWhenTheSessionStarts(t *testing.T) {
	p := Policy{SessionTimeout: 30 * time.Minute}
	from := func(now time.Time, prev *Object, g Geo) Object {
		v := visitAt(now, Claim{})
		v.Geo = g
		obj, _ := applyVisit(prev, v, p)
		return obj
	}
	obj := from(at(0), nil, saoPaulo)
	if obj.Geo != saoPaulo || obj.Session().Geo != saoPaulo {
		t.Fatalf("first visit: %+v", obj.Geo)
	}
	obj = from(at(time.Minute), &obj, Geo{Country: "CA", Continent: "NA"})
	if obj.Geo != saoPaulo {
		t.Fatalf("later event of the session: %+v, want %+v", obj.Geo, saoPaulo)
	}
	obj = from(at(time.Hour), &obj, Geo{Country: "CA", Continent: "NA", City: "Evil\r\n" + strings.Repeat("x", 300)})
	want := Geo{Country: "CA", Continent: "NA", City: "Evil%0D%0A" + strings.Repeat("x", MaxGeoText-10)}
	if obj.Geo != want {
		t.Fatalf("next session: %+v, want %+v", obj.Geo, want)
	}
}
