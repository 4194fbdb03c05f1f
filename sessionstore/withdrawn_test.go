package sessionstore_test

import (
	"sync"
	"testing"
	"time"

	"github.com/c0f4626f/caddy-session/internal/storetest"

	. "github.com/c0f4626f/caddy-session/sessionstore"
)

// A withdrawal while the store fails (its writes do) tombstones the client
// at once and erases it in the back end once the store works again; a
// burst of withdrawals of one client, and later ones, erase it once.
func TestWithdrawalWaitsForAFailingStoreAndErasesOnce(t *testing.T) {
	s, fb, path := newFaultyStore(t, "", Config{})
	now := time.Now()
	ev := storetest.Visit(s, now, Claim{}, storetest.Opts)
	ev = storetest.Visit(s, now.Add(time.Second), storetest.Returning(ev), storetest.Opts)
	storetest.Flush(t, s)

	fb.mode.Store("save error")
	var burst sync.WaitGroup
	for range 50 {
		burst.Go(func() { s.Withdraw(ev.ClientID, now.Add(time.Hour)) })
	}
	burst.Wait()
	if back := storetest.Visit(s, now.Add(2*time.Second), storetest.Returning(ev), storetest.Opts); back.ClientID == ev.ClientID {
		t.Fatalf("a withdrawn client came back while the store failed: %+v", back)
	}
	if n := s.Stats().WithdrawalsWaiting; n != 1 || fb.erasures.Load() != 0 {
		t.Fatalf("while the store fails: %d withdrawals waiting, %d erasures made; want 1 and 0", n, fb.erasures.Load())
	}

	fb.mode.Store("")
	storetest.Flush(t, s)
	s.Withdraw(ev.ClientID, now.Add(time.Hour)) // tombstoned already
	storetest.Flush(t, s)
	if n := s.Stats().WithdrawalsWaiting; n != 0 || fb.erasures.Load() != 1 {
		t.Fatalf("once the store works: %d withdrawals waiting, %d erasures made; want 0 and 1", n, fb.erasures.Load())
	}
	if obj, err := fb.Backend.Load(t.Context(), ev.ClientID); obj != nil || err != nil {
		t.Fatalf("the withdrawn client is still stored: %+v (%v)", obj, err)
	}
	if n := rows(t, path, "tombstones"); n != 1 {
		t.Fatalf("%d tombstones stored, want 1", n)
	}
}
