package sessionstore

import (
	"database/sql"
	"path/filepath"
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
	want := Geo{Country: "CA", Continent: "NA", City: "Evil" + strings.Repeat("x", MaxGeoText-4)}
	if obj.Geo != want {
		t.Fatalf("next session: %+v, want %+v", obj.Geo, want)
	}
}

// Values written before sessions kept their geo (state version 2, Redis
// rows without the geo part) decode with none.
func TestValuesOfTheSecondVersionStillDecode(t *testing.T) {
	o := sampleObject()
	o.Geo = Geo{}
	v3 := encodeState(&o)
	v2 := append([]byte{2}, v3[1:len(v3)-4]...) // without the four empty geo texts
	if got, err := decodeState(o.ClientID, o.LastSeen.UnixMilli(), v2); err != nil || got != o {
		t.Fatalf("version 2 object: %+v (%v), want %+v", got, err, o)
	}
	row := o.Session()
	encoded := encodeRedisRow(row)
	if got, err := decodeRedisRow(o.ClientID, string(row.SessionID[:]), string(encoded[:len(encoded)-4])); err != nil || got != row {
		t.Fatalf("Redis row without geo: %+v (%v), want %+v", got, err, row)
	}
}

// A file of the schema with utm columns but no geo ones gets them: its
// rows read with no geo, new rows keep theirs.
func TestSQLiteFileWithoutGeoColumnsOpens(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sessions.db")
	writeEarlierSchemaFile(t, path)
	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range addedColumns[:6] { // the utm columns, as the schema before geo had them
		if _, err := db.Exec(`ALTER TABLE sessions ADD COLUMN ` + c + ` TEXT NOT NULL DEFAULT ''`); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := db.Exec(`UPDATE sessions SET utm_source = 'news'`); err != nil {
		t.Fatal(err)
	}
	db.Close()

	s := NewWriteBehind(Config{}, openSQLite(path))
	now := time.Now()
	v := Visit{EventID: NewID(now), Now: now, Path: "/new", Geo: saoPaulo}
	first := s.Visit(t.Context(), v, opts)
	later := now.Add(time.Hour)
	s.Visit(t.Context(), Visit{Claim: returning(first), EventID: NewID(later), Now: later, Path: "/"}, opts) // ends the session
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	ro, err := OpenSQLiteReadOnly(path)
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	byPlace := map[string]int{}
	for _, r := range sessionRows(t, ro) {
		byPlace[r.UTMSource+"/"+r.Country+"/"+r.Continent+"/"+r.Region+"/"+r.City]++
	}
	if len(byPlace) != 3 || byPlace["news////"] != 1 || byPlace["/BR/SA/BR-SP/São Paulo"] != 1 || byPlace["////"] != 2 {
		t.Fatalf("sessions after the upgrade: %v", byPlace)
	}
}
