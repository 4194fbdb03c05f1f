package sessionstore

import "testing"

func TestRedisValuesRoundTrip(t *testing.T) {
	o := sampleObject()
	value := string(encodeRedisObject(nextVersion("\x00\x00\x00\x07"), &o))
	version, got, err := decodeRedisObject(o.ClientID, value)
	if err != nil || *got != o || nextVersion(version) != 9 {
		t.Fatalf("object round trip: %+v version %q (%v), want %+v version 8", got, version, err, o)
	}
	row := o.Session()
	gotRow, err := decodeRedisRow(o.ClientID, string(row.SessionID[:]), string(encodeRedisRow(row)))
	if err != nil || gotRow != row {
		t.Fatalf("row round trip: %+v (%v), want %+v", gotRow, err, row)
	}
	for n := range len(value) {
		if _, _, err := decodeRedisObject(o.ClientID, value[:n]); err == nil {
			t.Fatalf("an object cut to %d of %d bytes decoded", n, len(value))
		}
	}
	encodedRow := string(encodeRedisRow(row))
	withoutUTM := len(encodeRedisRow(SessionRow{Started: row.Started, LastSeen: row.LastSeen, Events: row.Events,
		LandingPath: row.LandingPath, Attribution: Attribution{ReferrerOrigin: row.ReferrerOrigin}})) - 6 - 4 // ten empty texts
	withoutGeo := len(encodedRow) - geoSize(row.Geo)
	for n := range len(encodedRow) {
		if n == withoutUTM || n == withoutGeo {
			continue // a row as written before sessions kept utm values, or geo
		}
		if _, err := decodeRedisRow(o.ClientID, string(row.SessionID[:]), encodedRow[:n]); err == nil {
			t.Fatalf("a row cut to %d of %d bytes decoded", n, len(encodedRow))
		}
	}
	if _, err := decodeRedisRow(o.ClientID, "short", encodedRow); err == nil {
		t.Fatal("a row under a field that is no session ID decoded")
	}
}

// geoSize is the size of a Geo's texts in a row, their lengths included.
func geoSize(g Geo) int {
	return len(appendTexts(nil, g.Country, g.Continent, g.Region, g.City))
}
