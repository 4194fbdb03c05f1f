package sessionstore_test

import (
	"context"
	"testing"
	"time"

	"github.com/c0f4626f/caddy-session/internal/storetest"

	. "github.com/c0f4626f/caddy-session/sessionstore"
)

// A client idle past the retention is gone everywhere, not only on disk:
// the cached copy does not bring its history back, the admin view does not
// show it, and its return starts from what its cookies prove.
func TestRetentionHoldsForCopiesInMemory(t *testing.T) {
	s, _ := newSQLiteStore(t, Config{Retention: time.Hour})
	ctx := context.Background()
	o := storetest.Opts
	o.PersistImmediately = true
	then := time.Now().Add(-2 * time.Hour)
	first := storetest.Visit(s, then, Claim{}, o)
	last := storetest.Visit(s, then.Add(time.Minute), storetest.Returning(first), o)
	storetest.Flush(t, s)
	if obj, _, err := s.Inspect(ctx, first.ClientID); obj != nil || err != nil {
		t.Fatalf("a client past the retention is still shown: %+v (%v)", obj, err)
	}
	if n, err := s.Sweep(time.Now()); n != 1 || err != nil {
		t.Fatalf("swept %d (%v), want 1", n, err)
	}
	back := storetest.Visit(s, time.Now(), storetest.Returning(last), o)
	if back.ClientID != first.ClientID || back.SessionNumber != 2 {
		t.Fatalf("return after the retention: %+v, want the cookie's client in its second session", back)
	}
	obj, _, err := s.Inspect(ctx, first.ClientID)
	if err != nil || obj == nil || obj.TotalEvents != 2 || !obj.FirstSeen.Equal(IDTime(first.ClientID)) {
		t.Fatalf("after the return: %+v (%v), want 2 events (the cookie's and this one), not the retired history", obj, err)
	}
}
