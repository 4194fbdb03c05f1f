package sessionstore

import (
	"context"
	"path/filepath"
	"testing"
	"time"
)

func TestEraseRemovesClientAndTombstonesItsID(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sessions.db")
	cfg := Config{Open: func() (Backend, error) { return OpenSQLite(path) }}
	s := New(cfg)
	ctx := context.Background()
	now := time.Now()
	first := visit(s, now, Claim{}, opts)
	ev := visit(s, now.Add(time.Second), returning(first), opts)
	obj, sessions, err := s.Inspect(ctx, ev.ClientID)
	if err != nil || obj == nil || obj.TotalEvents != 2 || len(sessions) != 1 || sessions[0].Events != 2 {
		t.Fatalf("inspect before erase: %+v %+v %v", obj, sessions, err)
	}
	found, err := s.Erase(ctx, ev.ClientID, now.Add(time.Hour))
	if err != nil || !found {
		t.Fatalf("erase: found %v err %v", found, err)
	}
	if obj, _, _ := s.Inspect(ctx, ev.ClientID); obj != nil {
		t.Fatalf("erased client still there: %+v", obj)
	}
	if rows(t, path, "clients") != 0 || rows(t, path, "sessions") != 0 {
		t.Fatal("erased rows left in the database")
	}
	after := visit(s, now.Add(2*time.Second), returning(ev), opts)
	if after.ClientID == ev.ClientID || !after.NewClient {
		t.Fatalf("the erased cID came back: %+v", after)
	}
	s.Close()

	s = New(cfg) // tombstones survive a restart
	defer s.Close()
	again := visit(s, now.Add(3*time.Second), returning(ev), opts)
	if again.ClientID == ev.ClientID || !again.NewClient {
		t.Fatalf("after restart the erased cID came back: %+v", again)
	}
	if found, _ := s.Erase(ctx, NewID(now), now.Add(time.Hour)); found {
		t.Fatal("erasing an unknown client reported found")
	}
}

func TestErasePendingClient(t *testing.T) {
	s, _ := newSQLiteStore(t, Config{})
	ev := visit(s, time.Now(), Claim{}, opts)
	if found, err := s.Erase(context.Background(), ev.ClientID, time.Now().Add(time.Hour)); !found || err != nil {
		t.Fatalf("erase of an in-memory client: %v %v", found, err)
	}
	if st := s.Stats(); st.PendingClients != 0 {
		t.Fatalf("pending after erase: %d", st.PendingClients)
	}
}

// An erasure that meets a commit under way still removes everything.
func TestEraseDuringCommit(t *testing.T) {
	// each write first stalls for a second
	s, fb, path := newFaultyStore(t, "hang", Config{FlushInterval: 10 * time.Millisecond})
	o := opts
	o.PersistImmediately = true
	ev := visit(s, time.Now(), Claim{}, o)
	time.Sleep(200 * time.Millisecond) // the commit carrying ev is now stalled
	found, err := s.Erase(context.Background(), ev.ClientID, time.Now().Add(time.Hour))
	if err != nil || !found {
		t.Fatalf("erase during a commit: found %v, %v", found, err)
	}
	fb.mode.Store("")
	flush(t, s)
	if obj, _, _ := s.Inspect(context.Background(), ev.ClientID); obj != nil || rows(t, path, "clients") != 0 {
		t.Fatalf("the commit under way wrote the erased client back: %+v", obj)
	}
}
