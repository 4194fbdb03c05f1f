package sessionstore

import (
	"sort"
	"strings"
	"time"
)

// The dashboard reads per-site, per-day aggregates that the store keeps as
// visits happen (tally.go). Every part of a day's aggregate is bounded, so
// that a flood of distinct hosts, paths or referrers cannot grow memory or
// disk without limit:
//
//   - at most MaxSites sites per day; later ones are counted under OtherSite;
//   - each top table keeps the first MaxTopKeys distinct values of the day
//     exactly; later values are counted under OtherKey. First-come is chosen
//     over a heavy-hitter sketch (space-saving) because it merges exactly
//     across instances and back ends with plain increments: a key, once
//     admitted, is counted exactly for the rest of the day, and the bound
//     holds in one atomic step where the day is stored.

// Bounds of one day's aggregates.
const (
	MaxSites   = 100
	MaxTopKeys = 100
)

// OtherSite and OtherKey collect what the bounds turned away.
const (
	OtherSite = "(other sites)"
	OtherKey  = "(other)"
)

// Top tables of a day, by index into Day.Top.
const (
	TopLanding = iota
	TopReferrer
	TopUTMSource
	TopUTMCampaign
	TopCountry
	TopTables
)

// TopNames names the top tables, by index.
var TopNames = [TopTables]string{"landing_paths", "referrers", "utm_sources", "utm_campaigns", "countries"}

// DurationBounds are the upper bounds of the session duration buckets. The
// first bucket holds the sessions of one event (bounces), the next ones
// sessions shorter than each bound, the last the longer ones.
var DurationBounds = [...]time.Duration{10 * time.Second, 30 * time.Second, time.Minute,
	3 * time.Minute, 10 * time.Minute, 30 * time.Minute}

// DurationBuckets is the number of duration buckets.
const DurationBuckets = len(DurationBounds) + 2

// HourCounts are one UTC hour's numbers.
type HourCounts struct {
	// Visitors are the clients whose first event of the hour it was.
	Visitors, Sessions, Events int64
}

// DayCounts are the numbers of one site's UTC day.
type DayCounts struct {
	// Visitors are the clients whose first event of the day it was (exact
	// per client ID); a back end with its own unique count replaces it.
	Visitors   int64
	NewClients int64
	Sessions   int64
	Events     int64
	// Bounces are the sessions that started that day and have one event.
	Bounces int64
	// Durations counts the sessions that started that day by duration
	// bucket (DurationBounds).
	Durations [DurationBuckets]int64
	// Hours are indexed by UTC hour.
	Hours [24]HourCounts
}

// Day is one site's aggregate of one UTC day: what a back end stores, or
// the change to add to it.
type Day struct {
	Site string
	// Date is the UTC midnight that starts the day.
	Date time.Time
	DayCounts
	// Top holds the top tables' counts by value (nil maps are empty).
	Top [TopTables]map[string]int64
}

// add adds o's counts to c.
func (c *DayCounts) add(o *DayCounts) {
	c.Visitors += o.Visitors
	c.NewClients += o.NewClients
	c.Sessions += o.Sessions
	c.Events += o.Events
	c.Bounces += o.Bounces
	for i := range c.Durations {
		c.Durations[i] += o.Durations[i]
	}
	for i := range c.Hours {
		c.Hours[i].Visitors += o.Hours[i].Visitors
		c.Hours[i].Sessions += o.Hours[i].Sessions
		c.Hours[i].Events += o.Hours[i].Events
	}
}

// Add adds the change o into d, keeping each top table within MaxTopKeys
// values besides OtherKey. A back end that stores days whole merges with it.
func (d *Day) Add(o *Day) {
	d.DayCounts.add(&o.DayCounts)
	for t := range d.Top {
		for _, k := range sortedKeys(o.Top[t]) {
			d.count(t, k, o.Top[t][k])
		}
	}
}

// count adds n to value k of top table t, or to OtherKey when the table is
// full.
func (d *Day) count(t int, k string, n int64) {
	m := d.Top[t]
	if _, kept := m[k]; !kept && k != OtherKey && len(m)-otherIn(m) >= MaxTopKeys {
		k = OtherKey
	}
	d.put(t, k, n)
}

// put adds n to value k of top table t, unbounded.
func (d *Day) put(t int, k string, n int64) {
	m := d.Top[t]
	if m == nil {
		m = make(map[string]int64)
		d.Top[t] = m
	}
	if _, kept := m[k]; !kept {
		k = strings.Clone(k) // kept: not a slice of the request
	}
	m[k] += n
}

func otherIn(m map[string]int64) int {
	if _, ok := m[OtherKey]; ok {
		return 1
	}
	return 0
}

// sortedKeys orders a change's values so that the ones a full table admits
// do not depend on map order.
func sortedKeys(m map[string]int64) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// durationBucket is the bucket of a session that lasted d over events.
func durationBucket(events int64, d time.Duration) int {
	if events <= 1 {
		return 0
	}
	for i, bound := range DurationBounds {
		if d < bound {
			return i + 1
		}
	}
	return len(DurationBounds) + 1
}

// DayStart is the UTC midnight that starts t's day.
func DayStart(t time.Time) time.Time {
	return t.UTC().Truncate(24 * time.Hour)
}
