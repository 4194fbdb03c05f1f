package sessionstore

import (
	"testing"
	"time"

	"github.com/google/uuid"
)

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func at(d time.Duration) time.Time { return t0.Add(d) }

func visitAt(now time.Time, c Claim) Visit {
	return Visit{Claim: c, EventID: NewID(now), Now: now, Path: "/p"}
}

func TestAdvance(t *testing.T) {
	p := Policy{SessionTimeout: 30 * time.Minute, MaxDuration: 4 * time.Hour}
	stored := func(lastSeen, started time.Duration) *Object {
		return &Object{
			ClientID: NewID(at(-time.Hour * 24)), FirstSeen: at(-24 * time.Hour),
			SessionID: NewID(at(started)), SessionStarted: at(started), LastSeen: at(lastSeen),
			SessionNumber: 3, EventNumber: 7, TotalEvents: 40, LastEventID: NewID(at(lastSeen)),
		}
	}
	tests := []struct {
		name              string
		prev              *Object
		now               time.Duration
		newClient, newSes bool
		sessionNo, evNo   int64
	}{
		{"first visit", nil, 0, true, true, 1, 1},
		{"continue within timeout", stored(-10*time.Minute, -time.Hour), 0, false, false, 3, 8},
		{"exactly at timeout continues", stored(-30*time.Minute, -time.Hour), 0, false, false, 3, 8},
		{"inactivity rotates", stored(-31*time.Minute, -time.Hour), 0, false, true, 4, 1},
		{"max duration rotates", stored(-time.Minute, -4*time.Hour-time.Second), 0, false, true, 4, 1},
		{"no session rotates", &Object{ClientID: NewID(at(-time.Hour)), LastSeen: at(-time.Minute)}, 0, false, true, 1, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := visitAt(at(tt.now), Claim{})
			next, ev := applyVisit(tt.prev, v, p)
			if ev.NewClient != tt.newClient || ev.NewSession != tt.newSes {
				t.Fatalf("new client/session = %v/%v, want %v/%v", ev.NewClient, ev.NewSession, tt.newClient, tt.newSes)
			}
			if ev.SessionNumber != tt.sessionNo || ev.EventNumber != tt.evNo {
				t.Fatalf("session/event number = %d/%d, want %d/%d", ev.SessionNumber, ev.EventNumber, tt.sessionNo, tt.evNo)
			}
			if next.LastEventID != v.EventID || next.LastSeen != v.Now || ev.EventID != v.EventID {
				t.Fatalf("object not advanced to the event: %+v", next)
			}
			if tt.prev == nil {
				if ev.ClientID != v.EventID || ev.SessionID != v.EventID {
					t.Fatalf("first visit: cID %s sID %s, want both = eID %s", ev.ClientID, ev.SessionID, v.EventID)
				}
				return
			}
			if ev.PreviousEventID != tt.prev.LastEventID || next.TotalEvents != tt.prev.TotalEvents+1 {
				t.Fatalf("previous %s total %d", ev.PreviousEventID, next.TotalEvents)
			}
			if tt.newSes && (ev.SessionID != v.EventID || next.LandingPath != "/p") {
				t.Fatalf("new session: sID %s landing %q", ev.SessionID, next.LandingPath)
			}
			if !tt.newSes && ev.SessionID != tt.prev.SessionID {
				t.Fatalf("continued session changed sID")
			}
		})
	}
}

func TestSanitizeDropsFutureAndForeignIDs(t *testing.T) {
	now := at(0)
	ok := NewID(now.Add(4 * time.Minute))
	future := NewID(now.Add(6 * time.Minute))
	v4 := uuid.New()
	tests := []struct {
		name string
		in   Claim
		want Claim
	}{
		{"valid kept", Claim{ClientID: ok, SessionID: ok, EventID: ok}, Claim{ClientID: ok, SessionID: ok, EventID: ok}},
		{"future client drops all", Claim{ClientID: future, SessionID: ok}, Claim{}},
		{"future session dropped", Claim{ClientID: ok, SessionID: future, EventID: ok}, Claim{ClientID: ok, EventID: ok}},
		{"future event dropped", Claim{ClientID: ok, SessionID: ok, EventID: future}, Claim{ClientID: ok, SessionID: ok}},
		{"uuid v4 is not an ID", Claim{ClientID: v4}, Claim{}},
	}
	for _, tt := range tests {
		if got := tt.in.sanitize(now); got != tt.want {
			t.Errorf("%s: got %+v, want %+v", tt.name, got, tt.want)
		}
	}
}

func TestRehydrateAndFallback(t *testing.T) {
	p := Policy{SessionTimeout: 30 * time.Minute}
	cid, sid := NewID(at(-48*time.Hour)), NewID(at(-20*time.Minute))
	tests := []struct {
		name       string
		claim      Claim
		newSession bool
		lastSeen   time.Time
	}{
		{"eID decides activity", Claim{ClientID: cid, SessionID: sid, EventID: NewID(at(-time.Minute))}, false, at(-time.Minute)},
		{"old eID rotates", Claim{ClientID: cid, SessionID: sid, EventID: NewID(at(-31 * time.Minute))}, true, at(-31 * time.Minute)},
		{"sID without eID", Claim{ClientID: cid, SessionID: sid}, false, at(-20 * time.Minute)},
		{"cID alone starts a session", Claim{ClientID: cid}, true, at(-48 * time.Hour)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := rehydrate(tt.claim)
			if o.ClientID != cid || !o.LastSeen.Equal(tt.lastSeen) || !o.FirstSeen.Equal(idTime(cid)) {
				t.Fatalf("rehydrated %+v", o)
			}
			ev := Fallback(visitAt(at(0), tt.claim), p, ReasonTimeout)
			if !ev.Fallback || ev.FallbackReason != ReasonTimeout || ev.ClientID != cid || ev.NewClient {
				t.Fatalf("fallback event %+v", ev)
			}
			if ev.NewSession != tt.newSession || ev.SessionNumber != 0 {
				t.Fatalf("new session %v number %d", ev.NewSession, ev.SessionNumber)
			}
			if (ev.EventNumber == 1) != tt.newSession || (!tt.newSession && ev.SessionID != sid) {
				t.Fatalf("event number %d, sID %s", ev.EventNumber, ev.SessionID)
			}
		})
	}
	if rehydrate(Claim{}) != nil {
		t.Fatal("empty claim rehydrated")
	}
	ev := Fallback(visitAt(at(0), Claim{}), p, ReasonError)
	if !ev.NewClient || ev.SessionNumber != 1 || ev.EventNumber != 1 || ev.ClientID != ev.EventID {
		t.Fatalf("fallback for a new client: %+v", ev)
	}
}

func TestIDTimeRoundTrip(t *testing.T) {
	id := NewID(t0)
	if !idTime(id).Equal(t0) || id.Version() != 7 {
		t.Fatalf("id %s time %v version %d", id, idTime(id), id.Version())
	}
	if NewID(t0) == id {
		t.Fatal("two IDs at the same instant are equal")
	}
}
