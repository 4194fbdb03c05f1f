package storetest

import (
	"encoding/hex"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/c0f4626f/caddy-session/sessionstore"
)

// SampleObject is an object with every field set, times in whole
// milliseconds as stored.
func SampleObject() sessionstore.Object {
	now := time.UnixMilli(time.Now().UnixMilli())
	return sessionstore.Object{
		ClientID: sessionstore.NewID(now.Add(-time.Hour)), FirstSeen: now.Add(-time.Hour), LastSeen: now,
		SessionID: sessionstore.NewID(now.Add(-time.Minute)), SessionStarted: now.Add(-time.Minute),
		SessionNumber: 3, EventNumber: 12, TotalEvents: 99, LastEventID: sessionstore.NewID(now),
		LandingPath: "/landing/ü", Attribution: sessionstore.Attribution{ReferrerOrigin: "https://ref.example",
			UTMSource: "news", UTMMedium: "email", UTMCampaign: "spring", UTMTerm: "shoes", UTMContent: "ä", ClickIDParam: "gclid"},
		Geo: sessionstore.Geo{Country: "BR", Continent: "SA", Region: "BR-SP", City: "São Paulo"},
	}
}

// EarlierObject is the object whose earlier forms EarlierForm reads, as
// testdata/forms/README describes it.
func EarlierObject() sessionstore.Object {
	return sessionstore.Object{
		ClientID: uuid.MustParse("01900000-0000-7000-8000-000000000001"), FirstSeen: time.UnixMilli(1718000000000),
		LastSeen: time.UnixMilli(1718000600000), SessionStarted: time.UnixMilli(1718000500000),
		SessionID:     uuid.MustParse("01900000-0000-7000-8000-000000000002"),
		SessionNumber: 3, EventNumber: 12, TotalEvents: 99, LastEventID: uuid.MustParse("01900000-0000-7000-8000-000000000003"),
		LandingPath: "/landing/ü", Attribution: sessionstore.Attribution{ReferrerOrigin: "https://ref.example",
			UTMSource: "news", UTMMedium: "email", UTMCampaign: "spring", UTMTerm: "shoes", UTMContent: "ä", ClickIDParam: "gclid"},
	}
}

// EarlierForm reads testdata/forms/<name>.hex of this package: the binary
// form of EarlierObject or its session row as an earlier version wrote it.
func EarlierForm(t *testing.T, name string) []byte {
	t.Helper()
	text, err := os.ReadFile(filepath.Join(here(), "testdata", "forms", name+".hex"))
	if err != nil {
		t.Fatal(err)
	}
	b, err := hex.DecodeString(strings.TrimSpace(string(text)))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// here is the directory of this file, whichever package's test runs.
func here() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Dir(file)
}
