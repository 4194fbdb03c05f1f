package caddymodule_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	"golang.org/x/crypto/bcrypt"

	"github.com/c0f4626f/caddy-session/internal/testgeo"
	"github.com/c0f4626f/caddy-session/internal/testredis"
	"github.com/c0f4626f/caddy-session/internal/wait"
)

// The dashboard tests drive visitors with known totals through Caddy and
// read the numbers back from the page in Chromium and from the JSON.

const (
	dashboardPath = "/session/dashboard?site=localhost"
	// dashboardSite is the README's recipe: the dashboard behind basic_auth
	// on a site of its own, proxied to the admin endpoint; only GETs of the
	// dashboard pass. The admin endpoint refuses a browser's requests that
	// carry no Origin or Referer of its own (Sec-Fetch-Mode tells them), so
	// the proxy drops those headers and sets the Host the admin expects.
	dashboardSite = `
%s {
	basic_auth {
		%s %s
	}
	@dashboard {
		method GET
		path /session/dashboard /session/dashboard.json
	}
	handle @dashboard {
		reverse_proxy localhost:2999 {
			header_up Host {upstream_hostport}
			header_up -Origin
			header_up -Referer
			header_up -Sec-Fetch-*
		}
	}
	respond 404
}
`
	dashboardUser, dashboardPassword = "owner", "dashboard-password"
	// screenshotEnv names a file for the page's screenshot (make the
	// README's with DASHBOARD_SCREENSHOT=$PWD/docs/dashboard.png); without
	// it the screenshot goes to the test's temp dir.
	screenshotEnv = "DASHBOARD_SCREENSHOT"
)

// shownTotals are the dashboard's numbers as the page shows them.
type shownTotals struct {
	Visitors, NewClients, Sessions, Events, Bounces, BounceRate string
	Top                                                         map[string][][2]string
}

// dashboardTruth is what dashboardTraffic does: four visitors, one crawler
// (not counted); one landing page twice, one each for two others.
var dashboardTruth = shownTotals{
	Visitors: "4", NewClients: "4", Sessions: "4", Events: "7", Bounces: "2", BounceRate: "50%",
	Top: map[string][][2]string{
		"landing_paths": {{"/pricing", "2"}, {"/", "1"}, {"/blog", "1"}},
		"referrers":     {{"https://ref.example", "1"}, {"https://search.example", "1"}},
		"utm_sources":   {{"mail", "1"}, {"news", "1"}},
		"utm_campaigns": {{"spring", "2"}},
	},
}

// dashboardTraffic sends the visits of dashboardTruth, each request to the
// next of bases (instances sharing a store).
func dashboardTraffic(t *testing.T, bases ...string) {
	n := 0
	visitor := func(name string, visits ...[2]string) {
		b := newBrowser(t)
		b.ua += " " + name
		for _, v := range visits {
			b.base = bases[n%len(bases)]
			n++
			if v[1] != "" {
				b.get(v[0], "Referer", v[1])
			} else {
				b.get(v[0])
			}
		}
	}
	visitor("a", [2]string{"/?utm_source=news&utm_campaign=spring", "https://ref.example/post"})
	visitor("b", [2]string{"/pricing", "https://search.example/q?x=1"}, [2]string{"/signup", ""}, [2]string{"/thanks", ""})
	visitor("c", [2]string{"/pricing", ""})
	visitor("d", [2]string{"/blog?utm_source=mail&utm_campaign=spring", ""}, [2]string{"/blog/2", ""})
	crawler := newBrowser(t)
	crawler.ua = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"
	crawler.get("/crawled")
}

// TestDashboardShowsTrafficInBrowser runs with geoip: every test visitor
// comes from localhost, which the test database places in Brazil.
func TestDashboardShowsTrafficInBrowser(t *testing.T) {
	options := "bootstrap_window off\n\t\tgeoip " + writeGeoDB(t, testgeo.City, saoPaulo)
	s := startSite(t, options)
	s.tester.InitServer(s.caddyfile(options)+dashboardSiteBlock(t), "caddyfile")
	dashboardTraffic(t, siteURL)
	want := dashboardTruth
	want.Top = maps.Clone(want.Top)
	want.Top["countries"] = [][2]string{{"BR", "4"}}
	expectDashboardJSON(t, adminURL, want)
	expectDashboardPage(t, want, true)
}

// dashboardSiteBlock is dashboardSite on otherSiteURL.
func dashboardSiteBlock(t *testing.T) string {
	hash, err := bcrypt.GenerateFromPassword([]byte(dashboardPassword), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf(dashboardSite, otherSiteURL, dashboardUser, hash)
}

// TestDashboardSameWithRedisAndTwoInstances sends the traffic in turn to
// this process and the built binary, sharing a redis-server: the page of
// either instance shows the same numbers.
func TestDashboardSameWithRedisAndTwoInstances(t *testing.T) {
	noteSkip(t)
	r := testredis.Start(t)
	s := redisSite(t, r.Addr(), "bootstrap_window off")
	s.tester.InitServer(s.caddyfile("bootstrap_window off")+dashboardSiteBlock(t), "caddyfile")
	bin, dir := caddyBinary(t), t.TempDir()
	startCaddy(t, bin, dir, procConfigWith(dir, "secret "+testKey+"\n\t\tbootstrap_window off\n\t\t"+redisBlock(r.Addr())))
	dashboardTraffic(t, siteURL, procURL)
	expectDashboardJSON(t, "http://"+procAdmin, dashboardTruth)
	expectDashboardPage(t, dashboardTruth, false)
}

// expectDashboardJSON waits (the instances hand their counts over every
// second) until the JSON of the admin endpoint at admin has the truth.
func expectDashboardJSON(t *testing.T, admin string, want shownTotals) {
	t.Helper()
	var got shownTotals
	ok := wait.Until(15*time.Second, 200*time.Millisecond, func() bool {
		got = dashboardJSON(t, admin)
		return reflect.DeepEqual(got, want)
	})
	if !ok {
		t.Fatalf("dashboard.json shows %+v\nwant %+v", got, want)
	}
}

func dashboardJSON(t *testing.T, admin string) shownTotals {
	t.Helper()
	res, err := http.Get(admin + "/session/dashboard.json?site=localhost")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var report struct {
		Totals struct {
			Visitors, Sessions, Events, Bounces int64
			NewClients                          int64   `json:"new_clients"`
			BounceRate                          float64 `json:"bounce_rate"`
		}
		Top map[string][]struct {
			Value string
			Count int64
		}
	}
	if err := json.NewDecoder(res.Body).Decode(&report); err != nil || res.StatusCode != http.StatusOK {
		t.Fatalf("dashboard.json: status %d, %v", res.StatusCode, err)
	}
	tt := report.Totals
	got := shownTotals{
		Visitors: fmt.Sprint(tt.Visitors), NewClients: fmt.Sprint(tt.NewClients), Sessions: fmt.Sprint(tt.Sessions),
		Events: fmt.Sprint(tt.Events), Bounces: fmt.Sprint(tt.Bounces), BounceRate: fmt.Sprintf("%.0f%%", 100*tt.BounceRate),
		Top: map[string][][2]string{},
	}
	for name, values := range report.Top {
		for _, v := range values {
			got.Top[name] = append(got.Top[name], [2]string{v.Value, fmt.Sprint(v.Count)})
		}
	}
	return got
}

// expectDashboardPage opens the dashboard in Chromium through
// dashboardSite, checks the numbers in its DOM, saves a screenshot if
// asked, and checks that the page fits a phone's width.
func expectDashboardPage(t *testing.T, want shownTotals, screenshot bool) {
	t.Helper()
	ctx := newChromium(t)
	credentials := base64.StdEncoding.EncodeToString([]byte(dashboardUser + ":" + dashboardPassword))
	if _, err := chromedp.Call(ctx, network.SetExtraHTTPHeaders, network.SetExtraHTTPHeadersParams{
		Headers: network.Headers{"Authorization": "Basic " + credentials},
	}); err != nil {
		t.Fatalf("set the credentials: %v", err)
	}
	run(ctx, t, chromedp.EmulateViewport(1100, 900))
	run(ctx, t, chromedp.Navigate(otherSiteURL+dashboardPath))
	got := shownTotals{
		Visitors: pageText(ctx, t, "visitors"), NewClients: pageText(ctx, t, "new-clients"),
		Sessions: pageText(ctx, t, "sessions"), Events: pageText(ctx, t, "events"),
		Bounces: pageText(ctx, t, "bounces"), BounceRate: pageText(ctx, t, "bounce-rate"),
		Top: map[string][][2]string{},
	}
	for _, name := range []string{"landing_paths", "referrers", "utm_sources", "utm_campaigns", "countries"} {
		if rows := tableRows(ctx, t, name); len(rows) > 0 {
			got.Top[name] = rows
		}
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("the page shows %+v\nwant %+v", got, want)
	}
	if screenshot {
		saveScreenshot(ctx, t)
	}
	run(ctx, t, chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile))
	run(ctx, t, chromedp.Reload())
	if w := run(ctx, t, chromedp.Evaluate[int](`document.documentElement.scrollWidth`)); w > 390 {
		t.Errorf("on a 390px wide phone the page is %dpx wide", w)
	}
}

// tableRows reads a top table's rows as (value, count).
func tableRows(ctx context.Context, t *testing.T, id string) [][2]string {
	t.Helper()
	return run(ctx, t, chromedp.Evaluate[[][2]string](fmt.Sprintf(
		`Array.from(document.querySelectorAll('table#%s tr'), r => [r.cells[0].textContent, r.cells[1].textContent])`, id)))
}

func saveScreenshot(ctx context.Context, t *testing.T) {
	t.Helper()
	png := run(ctx, t, chromedp.FullScreenshot(100))
	path := os.Getenv(screenshotEnv)
	if path == "" {
		path = filepath.Join(t.TempDir(), "dashboard.png")
	}
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s", path)
}

// A malformed parameter answers 400 and a method other than GET 405, with
// the reason; the page never fails with a 5xx.
func TestDashboardRefusesBadParameters(t *testing.T) {
	startSite(t, "")
	for _, c := range []struct {
		method, query string
		status        int
	}{
		{http.MethodGet, "from=yesterday", http.StatusBadRequest},
		{http.MethodGet, "to=2026-13-01", http.StatusBadRequest},
		{http.MethodGet, "from=2026-11-02&to=2026-11-01", http.StatusBadRequest},
		{http.MethodGet, "from=2020-01-01&to=2026-01-01", http.StatusBadRequest},
		{http.MethodGet, "tz=Nowhere/Special", http.StatusBadRequest},
		{http.MethodGet, "tz=Local", http.StatusBadRequest},
		{http.MethodPost, "", http.StatusMethodNotAllowed},
		{http.MethodGet, "site=%3Cscript%3E&tz=Asia/Tokyo", http.StatusOK},
	} {
		for _, path := range []string{"/session/dashboard", "/session/dashboard.json"} {
			req, _ := http.NewRequest(c.method, adminURL+path+"?"+c.query, nil)
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			if res.StatusCode != c.status {
				t.Errorf("%s %s?%s: status %d, want %d", c.method, path, c.query, res.StatusCode, c.status)
			}
		}
	}
}
