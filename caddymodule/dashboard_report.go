package caddymodule

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"sort"
	"time"

	"github.com/c0f4626f/caddy-session/sessionstore"
)

// dashboardReport is what the dashboard shows, and its JSON twin says: one
// site's numbers over a range of UTC days, from the stores' aggregates.
type dashboardReport struct {
	Site     string   `json:"site"`
	Sites    []string `json:"sites"`
	From     string   `json:"from"`
	To       string   `json:"to"`
	TimeZone string   `json:"time_zone"`
	Totals   totals   `json:"totals"`
	// Days has every day of the range, oldest first; Hours the last 24
	// UTC hours, oldest first, each labelled with the local time in
	// TimeZone it starts at (05:30 in Asia/Kolkata).
	Days      []seriesPoint         `json:"days"`
	Hours     []seriesPoint         `json:"hours"`
	Durations []durationCount       `json:"durations"`
	Top       map[string][]topValue `json:"top"`
}

type totals struct {
	// Visitors are distinct clients: per day, summed over the range, or
	// over the whole range where the store counts them itself (Redis).
	Visitors       int64   `json:"visitors"`
	NewClients     int64   `json:"new_clients"`
	Sessions       int64   `json:"sessions"`
	Events         int64   `json:"events"`
	Bounces        int64   `json:"bounces"`
	BounceRate     float64 `json:"bounce_rate"`
	MedianDuration string  `json:"median_duration"`
}

type seriesPoint struct {
	Label    string `json:"label"`
	Visitors int64  `json:"visitors"`
	Sessions int64  `json:"sessions"`
	Events   int64  `json:"events"`
}

type durationCount struct {
	Duration string `json:"duration"`
	Sessions int64  `json:"sessions"`
}

type topValue struct {
	Value string `json:"value"`
	Count int64  `json:"count"`
}

// Limits of a dashboard request.
const (
	dashboardDefaultDays = 30
	dashboardMaxDays     = 366
	dashboardTopShown    = 10
)

// durationLabels name the buckets of sessionstore.DurationBounds.
var durationLabels = [sessionstore.DurationBuckets]string{
	"0 s (1 event)", "< 10 s", "10–30 s", "30 s–1 min", "1–3 min", "3–10 min", "10–30 min", "≥ 30 min",
}

// dashboardQuery is a dashboard request's parameters: site, from and to
// (YYYY-MM-DD, UTC days; default the last 30 days) and tz (an IANA zone
// for the hours' labels; default UTC).
type dashboardQuery struct {
	site     string
	from, to time.Time
	zone     *time.Location
}

func parseDashboardQuery(q url.Values, now time.Time) (dashboardQuery, error) {
	today := sessionstore.DayStart(now)
	d := dashboardQuery{site: q.Get("site"), to: today, from: today.AddDate(0, 0, 1-dashboardDefaultDays), zone: time.UTC}
	var err error
	if s := q.Get("to"); s != "" {
		if d.to, err = time.Parse(time.DateOnly, s); err != nil {
			return d, fmt.Errorf("to: %v", err)
		}
		d.from = d.to.AddDate(0, 0, 1-dashboardDefaultDays)
	}
	if s := q.Get("from"); s != "" {
		if d.from, err = time.Parse(time.DateOnly, s); err != nil {
			return d, fmt.Errorf("from: %v", err)
		}
	}
	if d.from.After(d.to) || d.to.Sub(d.from) >= dashboardMaxDays*24*time.Hour {
		return d, fmt.Errorf("from must be on or before to, at most %d days apart", dashboardMaxDays)
	}
	if s := q.Get("tz"); s != "" {
		if s == "Local" { // LoadLocation's name for the server's zone, not an IANA one
			return d, fmt.Errorf("tz: unknown time zone %s", s)
		}
		if d.zone, err = time.LoadLocation(s); err != nil {
			return d, fmt.Errorf("tz: %v", err)
		}
	}
	return d, nil
}

// buildReport reads the aggregates of every store that keeps them.
func buildReport(ctx context.Context, stores []namedStore, q dashboardQuery, now time.Time) (*dashboardReport, error) {
	r := &dashboardReport{From: q.from.Format(time.DateOnly), To: q.to.Format(time.DateOnly), TimeZone: q.zone.String(),
		Sites: []string{}, Top: map[string][]topValue{}}
	keeping, err := storesWithAggregates(ctx, stores, q, r)
	if err != nil {
		return nil, err
	}
	r.Site = q.site
	for _, site := range r.Sites {
		if r.Site == "" && site != sessionstore.OtherSite {
			r.Site = site
		}
	}
	days, err := readDays(ctx, keeping, r.Site, q.from, q.to)
	if err != nil {
		return nil, err
	}
	lastTwo, err := readDays(ctx, keeping, r.Site, now.Add(-24*time.Hour), now)
	if err != nil {
		return nil, err
	}
	r.fill(days, q)
	r.Hours = lastHours(lastTwo, now, q.zone)
	if v, ok := uniqueClients(ctx, keeping, r.Site, q); ok {
		r.Totals.Visitors = v
	}
	return r, nil
}

// storesWithAggregates returns the stores that keep aggregates, adding
// their sites to r.
func storesWithAggregates(ctx context.Context, stores []namedStore, q dashboardQuery, r *dashboardReport) ([]namedStore, error) {
	var keeping []namedStore
	for _, s := range stores {
		sites, err := s.Sites(ctx, q.from, q.to)
		if errors.Is(err, sessionstore.ErrUnsupported) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("store %s: %w", s.key, err)
		}
		keeping = append(keeping, s)
		for _, site := range sites {
			if !slices.Contains(r.Sites, site) {
				r.Sites = append(r.Sites, site)
			}
		}
	}
	sort.Strings(r.Sites)
	return keeping, nil
}

// readDays reads site's days from every store, adding up a day that
// several stores have, by its start.
func readDays(ctx context.Context, stores []namedStore, site string, from, to time.Time) (map[int64]*sessionstore.Day, error) {
	out := map[int64]*sessionstore.Day{}
	for _, s := range stores {
		days, err := s.Days(ctx, site, from, to)
		if err != nil {
			return nil, fmt.Errorf("store %s: %w", s.key, err)
		}
		for i := range days {
			d := &days[i]
			if sum, ok := out[d.Date.Unix()]; ok {
				sum.Add(d)
			} else {
				out[d.Date.Unix()] = d
			}
		}
	}
	return out, nil
}

// uniqueClients counts the range's distinct clients when one store holds
// the site's aggregates and counts clients itself.
func uniqueClients(ctx context.Context, stores []namedStore, site string, q dashboardQuery) (int64, bool) {
	if len(stores) != 1 {
		return 0, false
	}
	n, err := stores[0].UniqueClients(ctx, site, q.from, q.to)
	return n, err == nil
}

// fill sums the range's days into r: totals, the daily series, durations
// and top tables.
func (r *dashboardReport) fill(days map[int64]*sessionstore.Day, q dashboardQuery) {
	var sum sessionstore.Day
	for d := q.from; !d.After(q.to); d = d.AddDate(0, 0, 1) {
		p := seriesPoint{Label: d.Format(time.DateOnly)}
		if day, ok := days[d.Unix()]; ok {
			sum.Add(day)
			p.Visitors, p.Sessions, p.Events = day.Visitors, day.Sessions, day.Events
		}
		r.Days = append(r.Days, p)
	}
	r.Totals = totals{Visitors: sum.Visitors, NewClients: sum.NewClients, Sessions: sum.Sessions, Events: sum.Events,
		Bounces: sum.Bounces, MedianDuration: medianDuration(sum.Durations)}
	if sum.Sessions > 0 {
		r.Totals.BounceRate = float64(sum.Bounces) / float64(sum.Sessions)
	}
	for i, n := range sum.Durations {
		r.Durations = append(r.Durations, durationCount{durationLabels[i], n})
	}
	for t, name := range sessionstore.TopNames {
		r.Top[name] = topValues(sum.Top[t])
	}
}

// medianDuration names the bucket of the median session; "" without
// sessions.
func medianDuration(buckets [sessionstore.DurationBuckets]int64) string {
	var total, seen int64
	for _, n := range buckets {
		total += n
	}
	for i, n := range buckets {
		seen += n
		if total > 0 && 2*seen >= total {
			return durationLabels[i]
		}
	}
	return ""
}

// topValues lists a table's most frequent values, OtherKey last with the
// values not shown added to it.
func topValues(m map[string]int64) []topValue {
	out := []topValue{}
	var other int64
	for v, n := range m {
		if v == sessionstore.OtherKey {
			other += n
			continue
		}
		out = append(out, topValue{v, n})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Count != out[j].Count {
			return out[i].Count > out[j].Count
		}
		return out[i].Value < out[j].Value
	})
	if len(out) > dashboardTopShown {
		for _, v := range out[dashboardTopShown:] {
			other += v.Count
		}
		out = out[:dashboardTopShown]
	}
	if other > 0 {
		out = append(out, topValue{sessionstore.OtherKey, other})
	}
	return out
}

// lastHours is the series of the 24 hours up to now's, from the UTC days
// that hold them, each labelled with the local time in zone it starts at:
// the aggregates count UTC hours, so in a zone whose offset is not whole
// hours an hour runs from 05:30 to 06:30 (Asia/Kolkata) and says so.
func lastHours(days map[int64]*sessionstore.Day, now time.Time, zone *time.Location) []seriesPoint {
	var out []seriesPoint
	current := now.UTC().Truncate(time.Hour)
	for h := current.Add(-23 * time.Hour); !h.After(current); h = h.Add(time.Hour) {
		p := seriesPoint{Label: h.In(zone).Format("15:04")}
		if day, ok := days[sessionstore.DayStart(h).Unix()]; ok {
			c := day.Hours[h.Hour()]
			p.Visitors, p.Sessions, p.Events = c.Visitors, c.Sessions, c.Events
		}
		out = append(out, p)
	}
	return out
}
