package sessionstore

import (
	"encoding/hex"
	"testing"
	"time"

	"github.com/google/uuid"
)

// sampleObject is an object with every field set, times in whole
// milliseconds as stored.
func sampleObject() Object {
	now := time.UnixMilli(time.Now().UnixMilli())
	return Object{
		ClientID: NewID(now.Add(-time.Hour)), FirstSeen: now.Add(-time.Hour), LastSeen: now,
		SessionID: NewID(now.Add(-time.Minute)), SessionStarted: now.Add(-time.Minute),
		SessionNumber: 3, EventNumber: 12, TotalEvents: 99, LastEventID: NewID(now),
		LandingPath: "/landing/ü", Attribution: Attribution{ReferrerOrigin: "https://ref.example",
			UTMSource: "news", UTMMedium: "email", UTMCampaign: "spring", UTMTerm: "shoes", UTMContent: "ä", ClickIDParam: "gclid"},
		Geo: Geo{Country: "BR", Continent: "SA", Region: "BR-SP", City: "São Paulo"},
	}
}

// Values written before sessions kept utm values (state version 1, Redis
// rows without the utm part), as that code encoded this object:
// 2024-06-10, session 3, event 12, landing path /landing/ü from
// https://ref.example.
const (
	stateV1Hex = "0180b89e868032a0fabc868032030c63019000000000700080000000000000020190000000007000800000000000" +
		"00030b2f6c616e64696e672fc3bc1368747470733a2f2f7265662e6578616d706c65"
	redisRowV1Hex = "a0fabc868032c087c38680320c0b2f6c616e64696e672fc3bc1368747470733a2f2f7265662e6578616d706c65"
)

// stateV1 is the client and version 1 state of stateV1Hex.
func stateV1(t *testing.T) (uuid.UUID, []byte) {
	t.Helper()
	state, err := hex.DecodeString(stateV1Hex)
	if err != nil {
		t.Fatal(err)
	}
	return uuid.MustParse("01900000-0000-7000-8000-000000000001"), state
}

func TestValuesOfTheFirstVersionStillDecode(t *testing.T) {
	client, state := stateV1(t)
	o, err := decodeState(client, 1718000600000, state)
	want := Object{
		ClientID: client, FirstSeen: time.UnixMilli(1718000000000), LastSeen: time.UnixMilli(1718000600000),
		SessionID: uuid.MustParse("01900000-0000-7000-8000-000000000002"), SessionStarted: time.UnixMilli(1718000500000),
		SessionNumber: 3, EventNumber: 12, TotalEvents: 99, LastEventID: uuid.MustParse("01900000-0000-7000-8000-000000000003"),
		LandingPath: "/landing/ü", Attribution: Attribution{ReferrerOrigin: "https://ref.example"},
	}
	if err != nil || o != want {
		t.Fatalf("version 1 object: %+v (%v), want %+v", o, err, want)
	}
	row, _ := hex.DecodeString(redisRowV1Hex)
	got, err := decodeRedisRow(client, string(want.SessionID[:]), string(row))
	if err != nil || got != want.Session() {
		t.Fatalf("Redis row without utm values: %+v (%v), want %+v", got, err, want.Session())
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
