package sessionstore_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/c0f4626f/caddy-session/internal/storetest"
	. "github.com/c0f4626f/caddy-session/sessionstore"
	"github.com/c0f4626f/caddy-session/sessionstore/sqlite"
)

// A backup from before an erasure restored under a running store that has
// nothing to write before it closes (its new clients wait in memory, its
// tombstones answer the erased cookie) still gets the erasure: the store
// notices the file on closing, and on a flush, without waiting for a write.
func TestReplacedFileGetsTheErasureWithoutAWrite(t *testing.T) {
	for name, settle := range map[string]func(t *testing.T, s *Store, path string, id uuid.UUID){
		"close": func(t *testing.T, s *Store, path string, id uuid.UUID) {
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			assertErasedIn(t, copyAlone(t, path), id)
		},
		"flush": func(t *testing.T, s *Store, path string, id uuid.UUID) {
			if err := s.Flush(context.Background()); err != nil {
				t.Fatal(err)
			}
			assertErasedIn(t, path, id) // read beside the running store
		},
	} {
		t.Run(name, func(t *testing.T) {
			s, path, o, ev := storeWithOneClient(t)
			backup := path + ".backup"
			if err := vacuumInto(path, backup); err != nil {
				t.Fatal(err)
			}
			if _, err := s.Erase(context.Background(), ev.ClientID, time.Now().Add(time.Hour)); err != nil {
				t.Fatal(err)
			}
			if err := os.Rename(backup, path); err != nil { // the operator restores the backup
				t.Fatal(err)
			}
			storetest.Visit(s, time.Now(), Claim{}, storetest.Opts) // a new client: pending, no write
			if got := storetest.Visit(s, time.Now(), storetest.Returning(ev), storetest.Opts); got.ClientID == ev.ClientID {
				t.Fatalf("the running store gave the erased client back: %+v", got)
			}
			settle(t, s, path, ev.ClientID)
			s.Close()
			again := NewWriteBehind(Config{}, openSQLite(path))
			defer again.Close()
			if got := storetest.Visit(again, time.Now(), storetest.Returning(ev), o); got.ClientID == ev.ClientID {
				t.Fatalf("after a restart on the restored file, the erased client came back: %+v", got)
			}
		})
	}
}

// copyAlone copies a closed database file, so that no journal left at the
// path's journal name is replayed into it when it is read.
func copyAlone(t *testing.T, path string) string {
	t.Helper()
	alone := filepath.Join(t.TempDir(), "alone.db")
	if data, err := os.ReadFile(path); err != nil || os.WriteFile(alone, data, 0o600) != nil {
		t.Fatal(err)
	}
	return alone
}

// assertErasedIn checks that the database file at path holds the client's
// tombstone and not the client.
func assertErasedIn(t *testing.T, path string, id uuid.UUID) {
	t.Helper()
	db, err := sqlite.OpenReadOnly(path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	tombs, err := db.Tombstones(ctx, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := tombs[id]; !ok {
		t.Errorf("the file at %s has no tombstone for the erased client (it holds %v)", path, tombs)
	}
	if obj, err := db.Load(ctx, id); obj != nil || err != nil {
		t.Errorf("the file at %s still holds the erased client: %+v, %v", path, obj, err)
	}
}
