package sessionstore

import (
	"testing"
	"time"
)

// sampleObject is an object with every field set, times in whole
// milliseconds as stored.
func sampleObject() Object {
	now := time.UnixMilli(time.Now().UnixMilli())
	return Object{
		ClientID: NewID(now.Add(-time.Hour)), FirstSeen: now.Add(-time.Hour), LastSeen: now,
		SessionID: NewID(now.Add(-time.Minute)), SessionStarted: now.Add(-time.Minute),
		SessionNumber: 3, EventNumber: 12, TotalEvents: 99, LastEventID: NewID(now),
		LandingPath: "/landing/ü", ReferrerOrigin: "https://ref.example",
	}
}

func TestStateRoundTrip(t *testing.T) {
	o := sampleObject()
	got, err := decodeState(o.ClientID, o.LastSeen.UnixMilli(), encodeState(&o))
	if err != nil || got != o {
		t.Fatalf("round trip: %+v (%v), want %+v", got, err, o)
	}
	b := encodeState(&o)
	for n := range len(b) {
		if _, err := decodeState(o.ClientID, 0, b[:n]); err == nil {
			t.Fatalf("a state cut to %d of %d bytes decoded", n, len(b))
		}
	}
}

func TestKeptTextCutsOnACharacterBoundary(t *testing.T) {
	for _, c := range []struct {
		in    string
		limit int
		want  string
	}{{"/abc", 8, "/abc"}, {"/abcdef", 4, "/abc"}, {"/äö", 4, "/ä"}, {"/ä", 2, "/"}, {"€", 2, ""}} {
		if got := keptText(c.in, c.limit); got != c.want {
			t.Errorf("keptText(%q, %d) = %q, want %q", c.in, c.limit, got, c.want)
		}
	}
}
