package sessionstore

import (
	"context"
	"hash/maphash"
	"time"

	"go.uber.org/zap"
)

// admitted holds the names the back end admitted on the current UTC day:
// its sites, and per site the values of its top tables as hashes (a
// collision only lets a value into a window, where the back end still
// bounds it). The tally counts these under their own names whatever a
// hand-over window holds, so a flood of new names cannot push them under
// OtherSite and OtherKey; it is learned from the back end when the store
// opens, when a day starts and after each hand-over, never on a request's
// path. It holds at most MaxSites sites and MaxTopKeys values per table.
type admitted struct {
	seed   maphash.Seed
	day    int64 // Unix seconds of the UTC midnight
	loaded bool
	sites  map[string]*[TopTables]map[uint64]struct{}
}

func newAdmitted() admitted {
	return admitted{seed: maphash.MakeSeed(), sites: make(map[string]*[TopTables]map[uint64]struct{})}
}

// moveTo starts day's names when it is later than the current day's.
func (a *admitted) moveTo(day int64) {
	if day > a.day {
		a.day, a.loaded = day, false
		clear(a.sites)
	}
}

// site reports whether the back end admitted k's site, and whether k's day
// has no room left for another.
func (a *admitted) site(k dayKey) (known, full bool) {
	if k.day != a.day {
		return false, false
	}
	_, known = a.sites[k.site]
	return known, len(a.sites) >= MaxSites
}

// value reports whether the back end admitted value in k's table, and
// whether the table has no room left for another.
func (a *admitted) value(k dayKey, table int, value string) (known, full bool) {
	tables := a.sites[k.site]
	if k.day != a.day || tables == nil {
		return false, false
	}
	_, known = tables[table][maphash.String(a.seed, value)]
	return known, len(tables[table]) >= MaxTopKeys
}

// adds reports whether the back end may admit a name of c that a does not
// hold: a new site while the day has room, or a new value in a table
// with room. Handing over only known names, nothing can be learned from a
// back end no other instance writes to.
func (a *admitted) adds(c *DayChange) bool {
	k := dayKey{c.Site, c.Date.Unix()}
	if k.day != a.day || k.site == OtherSite {
		return false
	}
	if known, full := a.site(k); !known {
		return !full
	}
	for t := range c.Top {
		for v := range c.Top[t] {
			if known, full := a.value(k, t, v); v != OtherKey && !known && !full {
				return true
			}
		}
	}
	return false
}

// counts are the known names' numbers, for Aggregator.Admitted.
func (a *admitted) counts() (int64, map[string][TopTables]int) {
	known := make(map[string][TopTables]int, len(a.sites))
	for site, tables := range a.sites {
		var n [TopTables]int
		for t := range tables {
			n[t] = len(tables[t])
		}
		known[site] = n
	}
	return a.day, known
}

// learn adds the names the back end reported for day.
func (a *admitted) learn(day int64, names map[string][TopTables][]string) {
	if day != a.day {
		return
	}
	a.loaded = true
	for site, values := range names {
		tables := a.sites[site]
		if tables == nil {
			if site == OtherSite || len(a.sites) >= MaxSites {
				continue
			}
			tables = new([TopTables]map[uint64]struct{})
			a.sites[site] = tables
		}
		for t := range values {
			if tables[t] == nil {
				tables[t] = make(map[uint64]struct{})
			}
			for _, v := range values[t] {
				if v != OtherKey && len(tables[t]) < MaxTopKeys {
					tables[t][maphash.String(a.seed, v)] = struct{}{}
				}
			}
		}
	}
}

// learnAdmitted asks the back end for the names today admitted beyond
// the ones the tally knows.
func (s *Store) learnAdmitted(ctx context.Context, a Aggregator) error {
	t := s.tally
	t.mu.Lock()
	t.known.moveTo(DayStart(time.Now()).Unix())
	day, known := t.known.counts()
	t.mu.Unlock()
	names, err := a.Admitted(ctx, time.Unix(day, 0).UTC(), known)
	if err != nil {
		return err
	}
	t.mu.Lock()
	t.known.learn(day, names)
	t.mu.Unlock()
	return nil
}

// learnAdmittedAtOpen learns the day's names before the store serves, so
// that a restart keeps them too; on failure each hand-over tries again.
func (s *Store) learnAdmittedAtOpen() {
	a, err := s.way.aggregator()
	if err != nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), tallyEvery)
	defer cancel()
	if err := s.learnAdmitted(ctx, a); err != nil {
		s.log.Warn("reading the dashboard's admitted sites failed; will retry", zap.Error(err))
	}
}
