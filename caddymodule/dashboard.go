package caddymodule

import (
	_ "embed"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"time"

	"github.com/caddyserver/caddy/v2"

	"github.com/c0f4626f/caddy-session/sessionstore"
)

// The dashboard: GET /session/dashboard (HTML: inline CSS and SVG, no
// script, nothing fetched from elsewhere) and GET /session/dashboard.json
// (the same numbers), on Caddy's admin endpoint.

//go:embed dashboard.html
var dashboardHTML string

var dashboardPage = template.Must(template.New("dashboard").Funcs(template.FuncMap{
	"add":     func(a, b int) int { return a + b },
	"percent": func(f float64) string { return fmt.Sprintf("%.0f%%", 100*f) },
}).Parse(dashboardHTML))

func (adminAPI) dashboardJSON(w http.ResponseWriter, r *http.Request) error {
	report, err := dashboardFor(r)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, report)
}

func (adminAPI) dashboard(w http.ResponseWriter, r *http.Request) error {
	report, err := dashboardFor(r)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; img-src data:; form-action 'self'")
	return dashboardPage.Execute(w, newDashboardView(report, r.URL.Query()))
}

// dashboardFor reads the report a dashboard request asks for.
func dashboardFor(r *http.Request) (*dashboardReport, error) {
	if r.Method != http.MethodGet {
		return nil, methodNotAllowed(r)
	}
	now := time.Now()
	q, err := parseDashboardQuery(r.URL.Query(), now)
	if err != nil {
		return nil, caddy.APIError{HTTPStatus: http.StatusBadRequest, Err: err}
	}
	report, err := buildReport(r.Context(), pooledStores(), q, now)
	if err != nil {
		return nil, storeError(err)
	}
	return report, nil
}

// dashboardView is the report with what only the page needs.
type dashboardView struct {
	*dashboardReport
	DaysChart, HoursChart svgChart
	Tables                []tableView
	Ranges                []rangeLink
}

type tableView struct {
	ID, Title, Empty string
	Values           []topValue
}

type rangeLink struct{ Name, Href string }

// tableTitles are the top tables' headings and what an empty one says, by
// sessionstore.TopNames.
var tableTitles = map[string][2]string{
	"landing_paths": {"Landing pages", "No sessions."},
	"referrers":     {"Referrers", "No referrers: direct visits only."},
	"utm_sources":   {"UTM sources", "No utm_source."},
	"utm_campaigns": {"UTM campaigns", "No utm_campaign."},
	"countries":     {"Countries", "None yet: countries need geoip."},
}

func newDashboardView(r *dashboardReport, q url.Values) dashboardView {
	v := dashboardView{dashboardReport: r, DaysChart: barChart(r.Days), HoursChart: barChart(r.Hours)}
	for _, name := range sessionstore.TopNames {
		t := tableTitles[name]
		v.Tables = append(v.Tables, tableView{ID: name, Title: t[0], Empty: t[1], Values: r.Top[name]})
	}
	today := time.Now().UTC().Format(time.DateOnly)
	for _, days := range []int{1, 7, 30, 90} {
		link := url.Values{"site": {r.Site}, "tz": {q.Get("tz")}, "to": {today},
			"from": {time.Now().UTC().AddDate(0, 0, 1-days).Format(time.DateOnly)}}
		name := fmt.Sprintf("last %d days", days)
		if days == 1 {
			name = "today"
		}
		v.Ranges = append(v.Ranges, rangeLink{name, "?" + link.Encode()})
	}
	return v
}
