package sqlite

import (
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/c0f4626f/caddy-session/internal/storetest"
	"github.com/c0f4626f/caddy-session/sessionstore"
)

// A file from before the bindings table gets it, filled with its clients'
// current users: a client bound before the upgrade that logs in as another
// user after it is still erased with the first.
func TestSQLiteFileWithoutBindingsIsUpgraded(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sessions.db")
	writeEarlierSchemaFile(t, path)
	execIn(t, path, `ALTER TABLE clients ADD COLUMN user_id TEXT NOT NULL DEFAULT ''`, `UPDATE clients SET user_id = 'before'`)

	s := sessionstore.NewWriteBehind(sessionstore.Config{}, func() (sessionstore.WriteBehind, error) { return Open(path, Options{}) })
	t.Cleanup(func() { s.Close() })
	client := storetest.EarlierObject().ClientID
	if err := s.BindUser(t.Context(), sessionstore.Claim{ClientID: client, FromCookie: true}, "after", storetest.Opts); err != nil {
		t.Fatal(err)
	}
	erased, err := s.EraseUser(t.Context(), "before", time.Now().Add(time.Hour))
	if err != nil || len(erased) != 1 || erased[0] != client {
		t.Fatalf("erasing the user bound before the upgrade: %v (%v), want %s", erased, err, client)
	}
}

// A binding lasts as long as the session it was made in: the sweep keeps
// it while the session's row is within the retention and deletes it with
// the row.
func TestBindingsAreSweptWithTheirSession(t *testing.T) {
	db, err := Open(filepath.Join(t.TempDir(), "sessions.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	ctx := t.Context()
	login := time.UnixMilli(1_750_000_000_000)
	client := sessionstore.NewID(login.Add(-time.Minute))
	row := sessionstore.SessionRow{SessionID: client, ClientID: client, Started: login.Add(-time.Minute), LastSeen: login.Add(48 * time.Hour), Events: 9, UserID: "second"}
	for _, b := range []sessionstore.Batch{
		{Bindings: []sessionstore.Binding{{ClientID: client, UserID: "first", At: login}}},
		{Sessions: []sessionstore.SessionRow{row}},
	} {
		if err := db.Save(ctx, b); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range []struct {
		sweptBefore time.Time
		found       bool
	}{{login.Add(24 * time.Hour), true}, {login.Add(72 * time.Hour), false}} {
		if _, err := db.Sweep(ctx, c.sweptBefore, c.sweptBefore, 100); err != nil {
			t.Fatal(err)
		}
		ids, err := db.ClientsOf(ctx, "first")
		if err != nil || slices.Contains(ids, client) != c.found {
			t.Fatalf("after a sweep of what was last seen before %v: clients of the first user %v (%v), want the client: %v", c.sweptBefore, ids, err, c.found)
		}
	}
}
