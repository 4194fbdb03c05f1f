package sqlite

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"
	"time"

	"github.com/c0f4626f/caddy-session/internal/storetest"
	"github.com/c0f4626f/caddy-session/sessionstore"
)

// A database file of the schema from before sessions kept utm values opens:
// the columns are added, its rows read with none, new rows keep theirs.
func TestSQLiteFileOfTheEarlierSchemaOpens(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sessions.db")
	writeEarlierSchemaFile(t, path)
	ro, err := OpenReadOnly(path)
	if err != nil {
		t.Fatal(err)
	}
	old := sessionRows(t, ro)
	ro.Close()
	if len(old) != 2 || old[0].LandingPath != "/earlier" || old[1].LandingPath != "/landing/ü" ||
		old[1].Attribution != (sessionstore.Attribution{ReferrerOrigin: "https://ref.example"}) {
		t.Fatalf("earlier file read without writing: %+v", old)
	}

	s := sessionstore.NewWriteBehind(sessionstore.Config{}, func() (sessionstore.WriteBehind, error) { return Open(path, Options{}) })
	now := time.Now()
	first := s.Visit(t.Context(), sessionstore.Visit{EventID: sessionstore.NewID(now), Now: now, Path: "/new",
		Landing: sessionstore.Landing{Query: "utm_source=news&utm_medium=email&gclid=SECRET", Host: "site.example"}}, storetest.Opts)
	later := now.Add(time.Hour)
	s.Visit(t.Context(), sessionstore.Visit{Claim: storetest.Returning(first), EventID: sessionstore.NewID(later), Now: later, Path: "/"}, storetest.Opts) // ends the session
	ro = closeAndReadOnly(t, s, path)
	rows := sessionRows(t, ro)
	bySource := map[string]int{}
	for _, r := range rows {
		bySource[r.UTMSource+"/"+r.UTMMedium+"/"+r.ClickIDParam]++
	}
	if len(rows) != 4 || bySource["news/email/gclid"] != 1 || bySource["//"] != 3 {
		t.Fatalf("sessions after the upgrade: %+v", rows)
	}
}

// closeAndReadOnly closes the store, then opens its file read-only for the
// rest of the test.
func closeAndReadOnly(t *testing.T, s *sessionstore.Store, path string) *Backend {
	t.Helper()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	ro, err := OpenReadOnly(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ro.Close() })
	return ro
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
	client, state := storetest.EarlierObject().ClientID, storetest.EarlierForm(t, "object-v1")
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
	ended := sessionstore.NewID(time.UnixMilli(1718000000000))
	if _, err := db.Exec(`INSERT INTO sessions VALUES (?, ?, ?, ?, 4, '/earlier', '')`, ended[:], client[:],
		int64(1718000000000), lastSeen-1); err != nil {
		t.Fatal(err)
	}
}

// execIn runs statements on the database file at path, as an earlier
// version of the code would have written it.
func execIn(t *testing.T, path string, stmts ...string) {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, stmt := range stmts {
		if _, err := db.Exec(stmt); err != nil {
			t.Fatal(err)
		}
	}
}

func sessionRows(t *testing.T, s *Backend) []sessionstore.SessionRow {
	t.Helper()
	var rows []sessionstore.SessionRow
	if err := s.EachSession(context.Background(), time.Time{}, func(r sessionstore.SessionRow) error {
		rows = append(rows, r)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return rows
}

var saoPaulo = sessionstore.Geo{Country: "BR", Continent: "SA", Region: "BR-SP", City: "São Paulo"}

// A file of the schema with utm columns but no geo ones gets them: its
// rows read with no geo, new rows keep theirs.
func TestSQLiteFileWithoutGeoColumnsOpens(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sessions.db")
	writeEarlierSchemaFile(t, path)
	var stmts []string
	for _, c := range addedColumns[:6] { // the utm columns, as the schema before geo had them
		stmts = append(stmts, `ALTER TABLE sessions ADD COLUMN `+c+` TEXT NOT NULL DEFAULT ''`)
	}
	execIn(t, path, append(stmts, `UPDATE sessions SET utm_source = 'news'`)...)

	s := sessionstore.NewWriteBehind(sessionstore.Config{}, func() (sessionstore.WriteBehind, error) { return Open(path, Options{}) })
	now := time.Now()
	v := sessionstore.Visit{EventID: sessionstore.NewID(now), Now: now, Path: "/new", Geo: saoPaulo}
	first := s.Visit(t.Context(), v, storetest.Opts)
	later := now.Add(time.Hour)
	s.Visit(t.Context(), sessionstore.Visit{Claim: storetest.Returning(first), EventID: sessionstore.NewID(later), Now: later, Path: "/"}, storetest.Opts) // ends the session
	ro := closeAndReadOnly(t, s, path)
	byPlace := map[string]int{}
	for _, r := range sessionRows(t, ro) {
		byPlace[r.UTMSource+"/"+r.Country+"/"+r.Continent+"/"+r.Region+"/"+r.City]++
	}
	if len(byPlace) != 3 || byPlace["news////"] != 1 || byPlace["/BR/SA/BR-SP/São Paulo"] != 1 || byPlace["////"] != 2 {
		t.Fatalf("sessions after the upgrade: %v", byPlace)
	}
}

// A file from before clients were bound to users gets the user_id columns
// and their indexes when opened for writing, and erasure by user finds its
// bound clients through them.
func TestSQLiteFileWithoutUserColumnsIsUpgraded(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sessions.db")
	writeEarlierSchemaFile(t, path)
	s := sessionstore.NewWriteBehind(sessionstore.Config{}, func() (sessionstore.WriteBehind, error) { return Open(path, Options{}) })
	client := storetest.EarlierObject().ClientID
	returning := sessionstore.Claim{ClientID: client, FromCookie: true}
	if err := s.BindUser(t.Context(), returning, "u-1", storetest.Opts); err != nil {
		t.Fatal(err)
	}
	ro := closeAndReadOnly(t, s, path)
	var indexes int
	if err := ro.db.QueryRow(`SELECT count(*) FROM sqlite_master WHERE type = 'index' AND name IN ('clients_user_id', 'sessions_user_id')`).Scan(&indexes); err != nil || indexes != 2 {
		t.Fatalf("user_id indexes after the upgrade: %d (%v), want 2", indexes, err)
	}
	ids, err := ro.ClientsOf(t.Context(), "u-1")
	if err != nil || len(ids) != 1 || ids[0] != client {
		t.Fatalf("clients of the user: %v (%v), want %s", ids, err, client)
	}
}
