package sessionstore

import (
	"testing"
	"time"

	"github.com/google/uuid"
)

// FuzzAdvance: whatever the claim and the stored object say (any IDs, any
// times, any counters), a visit yields a sane event and object.
func FuzzAdvance(f *testing.F) {
	f.Add(int64(0), int64(0), int64(0), int64(0), int64(3), int64(7), int64(40), true, int64(30), int64(0))
	f.Add(int64(-3600000), int64(-60000), int64(-60000), int64(-1000), int64(1), int64(1), int64(1), false, int64(30), int64(240))
	f.Add(int64(600000), int64(-9e15), int64(9e15), int64(0), int64(-1), int64(0), int64(0), true, int64(0), int64(-5))
	now := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, cidAt, sidAt, eidAt, lastSeen, sessionNo, eventNo, total int64, stored bool, timeoutMin, maxMin int64) {
		at := func(ms int64) time.Time { return now.Add(time.Duration(ms) * time.Millisecond) }
		claim := Claim{ClientID: NewID(at(cidAt)), SessionID: NewID(at(sidAt)), EventID: NewID(at(eidAt)), FromCookie: true}
		p := Policy{SessionTimeout: time.Duration(timeoutMin) * time.Minute, MaxDuration: time.Duration(maxMin) * time.Minute}
		v := Visit{Claim: claim.sanitize(now), EventID: NewID(now), Now: now}
		var prev *Object
		if stored {
			prev = &Object{ClientID: claim.ClientID, SessionID: claim.SessionID, SessionStarted: at(sidAt),
				LastSeen: at(lastSeen), SessionNumber: sessionNo, EventNumber: eventNo, TotalEvents: total, LastEventID: claim.EventID}
		} else {
			prev = rehydrate(v.Claim)
		}
		next, ev := applyVisit(prev, v, p)
		checkEvent(t, prev, next, ev, v)
		fb := Fallback(v, p, ReasonError)
		if !fb.Fallback || fb.EventID != v.EventID || fb.ClientID == uuid.Nil {
			t.Fatalf("fallback %+v", fb)
		}
	})
}

func checkEvent(t *testing.T, prev *Object, next Object, ev Event, v Visit) {
	t.Helper()
	if ev.EventID != v.EventID || next.LastEventID != v.EventID || !next.LastSeen.Equal(v.Now) {
		t.Fatalf("event not recorded: %+v %+v", ev, next)
	}
	if ev.ClientID == uuid.Nil || ev.SessionID == uuid.Nil || ev.ClientID != next.ClientID {
		t.Fatalf("missing IDs: %+v", ev)
	}
	if ev.NewSession && (ev.SessionID != v.EventID || ev.EventNumber != 1) {
		t.Fatalf("new session must start at this event: %+v", ev)
	}
	if prev == nil {
		if !ev.NewClient || ev.ClientID != v.EventID {
			t.Fatalf("new client: %+v", ev)
		}
		return
	}
	if ev.NewClient || ev.ClientID != prev.ClientID || ev.PreviousEventID != prev.LastEventID {
		t.Fatalf("returning client changed identity: %+v from %+v", ev, prev)
	}
	if !ev.NewSession && (ev.SessionID != prev.SessionID || ev.EventNumber != prev.EventNumber+1) {
		t.Fatalf("continued session: %+v from %+v", ev, prev)
	}
	if next.TotalEvents != prev.TotalEvents+1 {
		t.Fatalf("total events %d after %d", next.TotalEvents, prev.TotalEvents)
	}
}
