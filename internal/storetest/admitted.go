package storetest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/c0f4626f/caddy-session/sessionstore"
)

// A site and values the day admitted before a flood, and the flood that
// follows each hand-over: more new hosts, and on the site more new
// landing paths and UTM sources, than one hand-over window has room for.
const (
	AdmittedSite   = "victim.example"
	AdmittedPath   = "/keep"
	AdmittedSource = "keep"
	FloodPerRound  = 3 * sessionstore.MaxSites / 2
)

// VisitAdmitted sends one new client to AdmittedSite at now, landing on
// AdmittedPath from AdmittedSource.
func VisitAdmitted(s *sessionstore.Store, now time.Time) {
	landing(s, now, AdmittedSite, AdmittedPath, "utm_source="+AdmittedSource)
}

// PlayFloodRound sends at now FloodPerRound new clients each to a host of its own, FloodPerRound new clients to
// AdmittedSite each landing on a path and from a source of its own, and
// one new client of AdmittedSite like the first (VisitAdmitted).
func PlayFloodRound(s *sessionstore.Store, now time.Time, round int) {
	for i := range FloodPerRound {
		landing(s, now, fmt.Sprintf("w%d-%d.flood", round, i), "/", "")
	}
	for i := range FloodPerRound {
		landing(s, now, AdmittedSite, fmt.Sprintf("/w%d-%d", round, i), fmt.Sprintf("utm_source=w%d-%d", round, i))
	}
	VisitAdmitted(s, now)
}

func landing(s *sessionstore.Store, now time.Time, host, path, query string) {
	s.Visit(context.Background(), sessionstore.Visit{
		EventID: sessionstore.NewID(now), Now: now, Path: path,
		Landing: sessionstore.Landing{Host: host, Query: query},
	}, Opts)
}

// ExpectAdmittedKept checks what s reads of now's day after VisitAdmitted
// and rounds of PlayFloodRound: every session of AdmittedSite under its
// own name, AdmittedPath and AdmittedSource counted under their own names
// each time, and the day within its bounds.
func ExpectAdmittedKept(t *testing.T, s *sessionstore.Store, now time.Time, rounds int) {
	t.Helper()
	ctx := context.Background()
	days, err := s.Days(ctx, AdmittedSite, now, now)
	if err != nil || len(days) != 1 {
		t.Fatalf("days of %s: %v, %v", AdmittedSite, days, err)
	}
	d := days[0]
	want := int64(1 + rounds*(FloodPerRound+1))
	keep := int64(1 + rounds)
	t.Logf("%s: %d sessions, %s %d, utm_source %s %d, (other) landing paths %d",
		AdmittedSite, d.Sessions, AdmittedPath, d.Top[sessionstore.TopLanding][AdmittedPath],
		AdmittedSource, d.Top[sessionstore.TopUTMSource][AdmittedSource], d.Top[sessionstore.TopLanding][sessionstore.OtherKey])
	if d.Sessions != want {
		t.Errorf("%s has %d sessions, want %d", AdmittedSite, d.Sessions, want)
	}
	if n := d.Top[sessionstore.TopLanding][AdmittedPath]; n != keep {
		t.Errorf("landing path %s counted %d times, want %d", AdmittedPath, n, keep)
	}
	if n := d.Top[sessionstore.TopUTMSource][AdmittedSource]; n != keep {
		t.Errorf("utm_source %s counted %d times, want %d", AdmittedSource, n, keep)
	}
	for _, table := range []int{sessionstore.TopLanding, sessionstore.TopUTMSource} {
		if n := len(d.Top[table]); n != sessionstore.MaxTopKeys+1 {
			t.Errorf("table %s holds %d values, want %d", sessionstore.TopNames[table], n, sessionstore.MaxTopKeys+1)
		}
	}
	sites, err := s.Sites(ctx, now, now)
	if err != nil {
		t.Fatal(err)
	}
	if len(sites) != sessionstore.MaxSites+1 {
		t.Errorf("%d sites stored, want %d and %q", len(sites), sessionstore.MaxSites, sessionstore.OtherSite)
	}
}
