package storetest

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/c0f4626f/caddy-session/sessionstore"
)

// DashboardStart is the moment the dashboard scenario starts: 01:00 UTC
// yesterday, so that every visit of it lies in one past UTC day.
func DashboardStart() time.Time {
	return sessionstore.DayStart(time.Now()).Add(-23 * time.Hour)
}

// PlayDashboardScenario visits the stores in turn (one, or instances
// sharing a back end) from start with two clients: A bounces once, landing
// from a referrer with UTM tags; B has a three-event session of two
// minutes, and an hour later a bounce.
func PlayDashboardScenario(stores []*sessionstore.Store, start time.Time) {
	n := 0
	visit := func(c sessionstore.Claim, at time.Duration, path, country string, landing sessionstore.Landing) sessionstore.Event {
		s := stores[n%len(stores)]
		n++
		now := start.Add(at)
		landing.Host = "Example.COM:8443"
		return s.Visit(context.Background(), sessionstore.Visit{
			Claim: c, EventID: sessionstore.NewID(now), Now: now, Path: path, Landing: landing,
			Geo: sessionstore.Geo{Country: country},
		}, Opts)
	}
	visit(sessionstore.Claim{}, 0, "/a", "FR", sessionstore.Landing{
		Referer: "https://ref.example/post?id=1", Query: "utm_source=news&utm_campaign=spring",
	})
	b := visit(sessionstore.Claim{}, time.Second, "/b", "JP", sessionstore.Landing{})
	b = visit(Returning(b), 31*time.Second, "/b2", "FR", sessionstore.Landing{}) // a session keeps the country it started in
	b = visit(Returning(b), 2*time.Minute+time.Second, "/b3", "JP", sessionstore.Landing{})
	visit(Returning(b), time.Hour+5*time.Minute, "/c", "JP", sessionstore.Landing{})
}

// DashboardScenarioDay is the day PlayDashboardScenario makes, for site
// example.com (the host without port, in lower case).
func DashboardScenarioDay(start time.Time) sessionstore.Day {
	want := sessionstore.Day{Site: "example.com", Date: sessionstore.DayStart(start)}
	want.Visitors, want.NewClients, want.Sessions, want.Events, want.Bounces = 2, 2, 3, 5, 2
	want.Durations[0] = 2 // the bounces
	want.Durations[4] = 1 // two minutes: under 3 minutes
	h := start.UTC().Hour()
	want.Hours[h] = sessionstore.HourCounts{Visitors: 2, Sessions: 2, Events: 4}
	want.Hours[h+1] = sessionstore.HourCounts{Visitors: 1, Sessions: 1, Events: 1}
	want.Top[sessionstore.TopLanding] = map[string]int64{"/a": 1, "/b": 1, "/c": 1}
	want.Top[sessionstore.TopReferrer] = map[string]int64{"https://ref.example": 1}
	want.Top[sessionstore.TopUTMSource] = map[string]int64{"news": 1}
	want.Top[sessionstore.TopUTMCampaign] = map[string]int64{"spring": 1}
	want.Top[sessionstore.TopCountry] = map[string]int64{"FR": 1, "JP": 2}
	return want
}

// ExpectDashboardScenario checks that s reads the scenario's day as
// DashboardScenarioDay.
func ExpectDashboardScenario(t *testing.T, s *sessionstore.Store, start time.Time) {
	t.Helper()
	days, err := s.Days(context.Background(), "example.com", start, start)
	if err != nil {
		t.Fatalf("days: %v", err)
	}
	want := DashboardScenarioDay(start)
	if len(days) != 1 || !reflect.DeepEqual(days[0], want) {
		t.Fatalf("days = %+v\nwant [%+v]", days, want)
	}
}
