package storetest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/c0f4626f/caddy-session/sessionstore"
)

// Flood sizes: more hosts than a day keeps sites, and on one host more
// distinct landing paths, referrers and UTM values than a table keeps.
const (
	FloodHosts    = 2 * sessionstore.MaxSites
	FloodSessions = 10 * sessionstore.MaxTopKeys
	FloodSite     = "flood.example"
)

// PlayFlood sends, at now, FloodSessions new clients to FloodSite, each
// with a landing path, referrer and UTM values of its own, then one new
// client to each of FloodHosts other hosts; the stores take turns.
func PlayFlood(stores []*sessionstore.Store, now time.Time) {
	visit := func(i int, host, query, referer string) {
		s := stores[i%len(stores)]
		s.Visit(context.Background(), sessionstore.Visit{
			EventID: sessionstore.NewID(now), Now: now, Path: fmt.Sprintf("/p%d", i),
			Landing: sessionstore.Landing{Host: host, Query: query, Referer: referer},
		}, Opts)
	}
	for i := range FloodSessions {
		visit(i, FloodSite, fmt.Sprintf("utm_source=s%d&utm_campaign=c%d", i, i), fmt.Sprintf("https://r%d.example/", i))
	}
	for i := range FloodHosts {
		visit(i, fmt.Sprintf("h%d.example", i), "", "")
	}
}

// ExpectFloodBounded checks what s reads after PlayFlood at now: MaxSites
// sites and OtherSite, the flooded site's tables full with the rest under
// OtherKey, and no session lost.
func ExpectFloodBounded(t *testing.T, s *sessionstore.Store, now time.Time) {
	t.Helper()
	ctx := context.Background()
	sites, err := s.Sites(ctx, now, now)
	if err != nil {
		t.Fatal(err)
	}
	if len(sites) != sessionstore.MaxSites+1 {
		t.Errorf("%d sites stored, want %d and %q", len(sites), sessionstore.MaxSites, sessionstore.OtherSite)
	}
	var sessions int64
	for _, site := range sites {
		days, err := s.Days(ctx, site, now, now)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range days {
			sessions += d.Sessions
			expectTablesBounded(t, d)
		}
	}
	if want := int64(FloodSessions + FloodHosts); sessions != want {
		t.Errorf("%d sessions over all sites, want %d", sessions, want)
	}
}

func expectTablesBounded(t *testing.T, d sessionstore.Day) {
	t.Helper()
	for i, table := range d.Top[:sessionstore.TopCountry] {
		if d.Site != FloodSite {
			continue
		}
		if len(table) != sessionstore.MaxTopKeys+1 || table[sessionstore.OtherKey] != FloodSessions-sessionstore.MaxTopKeys {
			t.Errorf("%s table %s has %d values, other = %d; want %d and %d", d.Site, sessionstore.TopNames[i],
				len(table), table[sessionstore.OtherKey], sessionstore.MaxTopKeys+1, FloodSessions-sessionstore.MaxTopKeys)
		}
	}
}
