package sessionstore

import (
	"context"
	"database/sql"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestLandingAttribution(t *testing.T) {
	long := strings.Repeat("x", MaxUTMValue-1) + "ü" // the ü would end past the bound
	tests := []struct {
		name string
		in   Landing
		want Attribution
	}{
		{"nothing", Landing{Host: "site.example"}, Attribution{}},
		{"utm values and a click ID's name", Landing{Query: "utm_source=news&utm_medium=email&utm_campaign=spring%20sale&utm_term=a+b&utm_content=top&gclid=SECRET", Host: "site.example"},
			Attribution{UTMSource: "news", UTMMedium: "email", UTMCampaign: "spring sale", UTMTerm: "a b", UTMContent: "top", ClickIDParam: "gclid"}},
		{"the first value of a repeated parameter", Landing{Query: "utm_source=a&utm_source=b"}, Attribution{UTMSource: "a"}},
		{"click ID names in their order of preference", Landing{Query: "twclid=1&fbclid=2&msclkid=3"}, Attribution{ClickIDParam: "fbclid"}},
		{"a click ID without a value is present", Landing{Query: "li_fat_id"}, Attribution{ClickIDParam: "li_fat_id"}},
		{"not a click ID", Landing{Query: "GCLID=1&gclid_x=2"}, Attribution{}},
		{"cut on a character boundary", Landing{Query: "utm_source=" + long}, Attribution{UTMSource: long[:MaxUTMValue-1]}},
		{"control characters dropped", Landing{Query: "utm_source=a%0D%0AX-Evil:%201%00"}, Attribution{UTMSource: "aX-Evil: 1"}},
		{"malformed pair skipped, the rest kept", Landing{Query: "utm_medium=%zz&utm_source=ok"}, Attribution{UTMSource: "ok"}},
		{"referrer origin of another site", Landing{Referer: "https://search.example/q?term=private", Host: "site.example"},
			Attribution{ReferrerOrigin: "https://search.example"}},
		{"self-referral", Landing{Referer: "https://site.example/page", Host: "site.example"}, Attribution{}},
		{"self-referral, any port and case", Landing{Referer: "http://Site.Example:8080/page", Host: "site.example:9080"}, Attribution{}},
		{"self-referral, IPv6", Landing{Referer: "http://[::1]:9080/", Host: "[::1]:9080"}, Attribution{}},
		{"a subdomain is another site", Landing{Referer: "https://blog.site.example/", Host: "site.example"},
			Attribution{ReferrerOrigin: "https://blog.site.example"}},
		{"unusable referrer", Landing{Referer: "not a url", Host: "site.example"}, Attribution{}},
	}
	for _, tt := range tests {
		if got := tt.in.attribution(); got != tt.want {
			t.Errorf("%s: %+v, want %+v", tt.name, got, tt.want)
		}
	}
}

// The attribution is the landing visit's: later events of the session keep
// it whatever they carry, the next session gets its own, and a fallback
// that continues a session does not invent one.
func TestAttributionIsFixedWhenTheSessionStarts(t *testing.T) {
	p := Policy{SessionTimeout: 30 * time.Minute}
	landing := func(now time.Time, prev *Object, query, referer string) (Object, Event) {
		v := visitAt(now, Claim{})
		v.Landing = Landing{Query: query, Referer: referer, Host: "site.example"}
		return applyVisit(prev, v, p)
	}
	obj, first := landing(at(0), nil, "utm_source=news&gclid=X", "https://mail.example/inbox")
	want := Attribution{ReferrerOrigin: "https://mail.example", UTMSource: "news", ClickIDParam: "gclid"}
	if first.Attribution != want || obj.Attribution != want {
		t.Fatalf("landing: event %+v object %+v, want %+v", first.Attribution, obj.Attribution, want)
	}
	obj, later := landing(at(time.Minute), &obj, "utm_source=ads&fbclid=Y", "https://other.example/")
	if later.NewSession || later.Attribution != want || obj.Attribution != want || obj.Session().Attribution != want {
		t.Fatalf("later event of the session: %+v, object %+v, want %+v", later, obj.Attribution, want)
	}
	obj, next := landing(at(time.Hour), &obj, "utm_source=ads", "https://site.example/page")
	if !next.NewSession || next.Attribution != (Attribution{UTMSource: "ads"}) || obj.Attribution != next.Attribution {
		t.Fatalf("next session: %+v, object %+v", next, obj.Attribution)
	}
	v := visitAt(at(time.Hour+time.Minute), Claim{ClientID: obj.ClientID, SessionID: obj.SessionID, EventID: obj.LastEventID})
	v.Landing = Landing{Query: "utm_source=mid-session"}
	if ev := Fallback(v, p, ReasonError); ev.NewSession || ev.Attribution != (Attribution{}) {
		t.Fatalf("fallback within the session: %+v", ev)
	}
}

// A database file of the schema from before sessions kept utm values opens:
// the columns are added, its rows read with none, new rows keep theirs.
func TestSQLiteFileOfTheEarlierSchemaOpens(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sessions.db")
	writeEarlierSchemaFile(t, path)
	ro, err := OpenSQLiteReadOnly(path)
	if err != nil {
		t.Fatal(err)
	}
	old := sessionRows(t, ro)
	ro.Close()
	if len(old) != 2 || old[0].LandingPath != "/earlier" || old[1].LandingPath != "/landing/ü" ||
		old[1].Attribution != (Attribution{ReferrerOrigin: "https://ref.example"}) {
		t.Fatalf("earlier file read without writing: %+v", old)
	}

	s := NewWriteBehind(Config{}, openSQLite(path))
	now := time.Now()
	first := s.Visit(t.Context(), Visit{EventID: NewID(now), Now: now, Path: "/new",
		Landing: Landing{Query: "utm_source=news&utm_medium=email&gclid=SECRET", Host: "site.example"}}, opts)
	later := now.Add(time.Hour)
	s.Visit(t.Context(), Visit{Claim: returning(first), EventID: NewID(later), Now: later, Path: "/"}, opts) // ends the session
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	ro, err = OpenSQLiteReadOnly(path)
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	rows := sessionRows(t, ro)
	bySource := map[string]int{}
	for _, r := range rows {
		bySource[r.UTMSource+"/"+r.UTMMedium+"/"+r.ClickIDParam]++
	}
	if len(rows) != 4 || bySource["news/email/gclid"] != 1 || bySource["//"] != 3 {
		t.Fatalf("sessions after the upgrade: %+v", rows)
	}
}

// writeEarlierSchemaFile writes a session database as the code before
// attribution did: its schema, an ended session and a client whose object
// is of state version 1.
func writeEarlierSchemaFile(t *testing.T, path string) {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=journal_mode(WAL)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	client, state := stateV1(t)
	for _, stmt := range []string{`
CREATE TABLE clients (cid BLOB PRIMARY KEY, last_seen INTEGER NOT NULL, state BLOB NOT NULL) WITHOUT ROWID;
CREATE INDEX clients_last_seen ON clients (last_seen);
CREATE TABLE sessions (sid BLOB PRIMARY KEY, cid BLOB NOT NULL, started INTEGER NOT NULL, last_seen INTEGER NOT NULL,
	events INTEGER NOT NULL, landing_path TEXT NOT NULL, referrer_origin TEXT NOT NULL) WITHOUT ROWID;
CREATE INDEX sessions_cid ON sessions (cid);
CREATE INDEX sessions_last_seen ON sessions (last_seen);
CREATE TABLE tombstones (cid BLOB PRIMARY KEY, until INTEGER NOT NULL) WITHOUT ROWID;`} {
		if _, err := db.Exec(stmt); err != nil {
			t.Fatal(err)
		}
	}
	lastSeen := time.Now().UnixMilli()
	if _, err := db.Exec(`INSERT INTO clients VALUES (?, ?, ?)`, client[:], lastSeen, state); err != nil {
		t.Fatal(err)
	}
	ended := NewID(time.UnixMilli(1718000000000))
	if _, err := db.Exec(`INSERT INTO sessions VALUES (?, ?, ?, ?, 4, '/earlier', '')`, ended[:], client[:],
		int64(1718000000000), lastSeen-1); err != nil {
		t.Fatal(err)
	}
}

func sessionRows(t *testing.T, s *SQLite) []SessionRow {
	t.Helper()
	var rows []SessionRow
	if err := s.EachSession(context.Background(), time.Time{}, func(r SessionRow) error {
		rows = append(rows, r)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return rows
}
