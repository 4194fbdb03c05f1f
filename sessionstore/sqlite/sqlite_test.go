package sqlite

import "testing"

// Durability sync fsyncs every commit (synchronous=FULL); batched leaves it
// to checkpoints (NORMAL).
func TestSyncDurabilityFsyncsEachCommit(t *testing.T) {
	for _, c := range []struct {
		fsync bool
		want  int
	}{{false, 1}, {true, 2}} {
		db, err := Open(t.TempDir()+"/sessions.db", Options{FsyncEachCommit: c.fsync})
		if err != nil {
			t.Fatal(err)
		}
		var got int
		err = db.db.QueryRow(`PRAGMA synchronous`).Scan(&got)
		db.Close()
		if err != nil || got != c.want {
			t.Fatalf("fsync each commit %v: synchronous = %d (%v), want %d", c.fsync, got, err, c.want)
		}
	}
}
