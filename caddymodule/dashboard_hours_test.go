package caddymodule_test

import (
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/c0f4626f/caddy-session/internal/wait"
)

// The hours are UTC hours; in a zone whose offset is not whole hours each
// is labelled with the local time it starts at (05:30 in Kolkata, 05:45 in
// Kathmandu), in the JSON and on the page, and the visit counts in the hour
// labelled with its own local start.
func TestDashboardHoursInZonesOffByPartOfAnHour(t *testing.T) {
	startSite(t, "")
	_, up := newBrowser(t).get("/")
	eventID := uuid.MustParse(up.Header.Get("X-Session-Event-Id"))
	visitHour := time.Unix(eventID.Time().UnixTime()).UTC().Truncate(time.Hour)
	for _, name := range []string{"Asia/Kolkata", "Asia/Kathmandu", "America/St_Johns", "UTC"} {
		zone, err := time.LoadLocation(name)
		if err != nil {
			t.Fatal(err)
		}
		want := visitHour.In(zone).Format("15:04")
		now, hours := dashboardHours(t, name)
		var labels, wantLabels []string
		for i, p := range hours {
			start := now.Add(time.Duration(i-23) * time.Hour)
			labels = append(labels, p.Label)
			wantLabels = append(wantLabels, start.In(zone).Format("15:04"))
			if start.Equal(visitHour) != (p.Events == 1) {
				t.Errorf("tz=%s: hour %q has %d events; the visit was in the hour starting %s", name, p.Label, p.Events, want)
			}
		}
		if !slices.Equal(labels, wantLabels) {
			t.Errorf("tz=%s: hours labelled %q\nwant %q", name, labels, wantLabels)
		}
		page := dashboardPage(t, name)
		if title := "<title>" + want + ": 1 events</title>"; !strings.Contains(page, title) {
			t.Errorf("tz=%s: the page has no bar %q", name, title)
		}
	}
}

type hourPoint struct {
	Label  string
	Events int64
}

// dashboardHours waits until the visit has reached the aggregates (each
// store hands its counts over every second), then returns the JSON's 24
// hours labelled in zone and the UTC hour they end with (read within one
// hour).
func dashboardHours(t *testing.T, zone string) (last time.Time, hours []hourPoint) {
	t.Helper()
	var report struct{ Hours []hourPoint }
	counted := func() bool {
		last = time.Now().UTC().Truncate(time.Hour)
		getJSON(t, adminURL+"/session/dashboard.json?site=localhost&tz="+url.QueryEscape(zone), &report)
		if !time.Now().UTC().Truncate(time.Hour).Equal(last) {
			return false
		}
		for _, p := range report.Hours {
			if p.Events > 0 {
				return true
			}
		}
		return false
	}
	if !wait.Until(15*time.Second, 200*time.Millisecond, counted) || len(report.Hours) != 24 {
		t.Fatalf("tz=%s: hours %+v, want 24 with the visit", zone, report.Hours)
	}
	return last, report.Hours
}

func dashboardPage(t *testing.T, zone string) string {
	t.Helper()
	res, err := http.Get(adminURL + "/session/dashboard?site=localhost&tz=" + url.QueryEscape(zone))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("dashboard: status %d: %s", res.StatusCode, body)
	}
	return string(body)
}
