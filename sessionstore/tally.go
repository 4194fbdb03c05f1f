package sessionstore

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"go.uber.org/zap"

	"github.com/c0f4626f/caddy-session/internal/clienttext"
)

// tally gathers the dashboard's aggregates in memory as visits happen and
// hands them to the back end every tallyEvery, off the request path (on
// the writer's goroutine for a write-behind store, between group commits):
// a visit only adds to counters under a lock. Everything is worked out from
// the visit's event: the IDs are UUIDv7, so the previous event's ID tells
// when the client was last seen and the session ID when the session
// started. A session's bounce and duration bucket are corrected by its
// later events, on the day it started.
type tally struct {
	mu   sync.Mutex
	days map[dayKey]*tallyDay
	// fresh counts by day the sites the window took in that the back end
	// had not admitted: at most MaxSites, whatever clients send.
	fresh map[int64]int
	// known are the names the back end admitted today.
	known admitted
	// shared: other instances add to the back end's days too, so their
	// names are learned at every hand-over.
	shared bool
	// seen holds the clients of each day, for a back end that counts
	// unique clients itself (ClientCounter); nil otherwise.
	seen    map[dayKey]map[uuid.UUID]struct{}
	seenLen int
	// dropped counts the parts of visits that the bounds turned away.
	dropped atomic.Uint64
}

// tallyDay is a site's day in the window, with its new values per top
// table (ones the back end had not admitted): at most MaxTopKeys each.
type tallyDay struct {
	Day
	fresh [TopTables]int
}

type dayKey struct {
	site string
	day  int64 // Unix seconds of the UTC midnight
}

// Bounds of what a tally holds between two hand-overs: days (sites times
// the days that sessions under way started on) and clients seen.
const (
	tallyMaxDays  = 4 * MaxSites
	tallyMaxSeen  = 100_000
	tallyEvery    = time.Second
	tallyFlushMax = 10 * time.Second
)

// hit is what the aggregates learn from one visit.
type hit struct {
	site string
	ev   Event // a copy: a pointer would move the visit's event to the heap
	now  time.Time
	// path is the visit's path (through clienttext.Clean): the landing path
	// when the visit starts a session.
	path string
	// country is where the visit came from (empty without geoip): the
	// session's country when the visit starts one.
	country string
}

func newTally(shared bool) *tally {
	t := &tally{days: make(map[dayKey]*tallyDay), fresh: make(map[int64]int), known: newAdmitted(), shared: shared}
	if shared {
		t.seen = make(map[dayKey]map[uuid.UUID]struct{})
	}
	return t
}

// add counts one visit. A fallback event is not counted: the store did not
// see it, so it cannot tell a new client or session from a returning one.
func (t *tally) add(h hit) {
	ev := &h.ev
	if ev.Fallback {
		return
	}
	now := h.now.UTC()
	today := DayStart(now)
	hour := now.Hour()
	var last time.Time // zero: no earlier event
	if ev.PreviousEventID != uuid.Nil {
		last = idTime(ev.PreviousEventID)
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.known.moveTo(today.Unix())
	key := t.admit(h.site, today.Unix())
	d := t.day(key)
	if d == nil {
		return
	}
	countEvent(&d.Day, ev, hour, last.Before(today), last.Before(now.Truncate(time.Hour)))
	t.see(key, ev.ClientID)
	if ev.NewSession {
		t.countSession(key, d, &h, hour)
		return
	}
	started := idTime(ev.SessionID)
	if s := t.day(dayKey{key.site, DayStart(started).Unix()}); s != nil {
		extendSession(&s.Day, ev.EventNumber, last.Sub(started), now.Sub(started))
	}
}

// countEvent counts an event, of a visitor's first of the day or hour.
func countEvent(d *Day, ev *Event, hour int, firstOfDay, firstOfHour bool) {
	d.Events++
	d.Hours[hour].Events++
	if firstOfDay {
		d.Visitors++
	}
	if firstOfHour {
		d.Hours[hour].Visitors++
	}
	if ev.NewClient {
		d.NewClients++
	}
}

// countSession counts a session that starts: one event so far, a bounce.
// Under t.mu.
func (t *tally) countSession(k dayKey, d *tallyDay, h *hit, hour int) {
	d.Sessions++
	d.Hours[hour].Sessions++
	d.Bounces++
	d.Durations[0]++
	a := &h.ev.Attribution
	for table, value := range [TopTables]string{
		TopLanding: h.path, TopReferrer: a.ReferrerOrigin,
		TopUTMSource: a.UTMSource, TopUTMCampaign: a.UTMCampaign, TopCountry: h.country,
	} {
		if value != "" {
			t.count(k, d, table, value, 1)
		}
	}
}

// extendSession moves a session that reached its events-th event from the
// duration bucket it was in (lasting before) to the one it is in now
// (lasting after); its second event ends its bounce.
func extendSession(d *Day, events int64, before, after time.Duration) {
	if events == 2 {
		d.Bounces--
	}
	from, to := durationBucket(events-1, before), durationBucket(events, after)
	if from != to {
		d.Durations[from]--
		d.Durations[to]++
	}
}

// admit names the site's day: the site itself when the window or the back
// end has it, or while the day and the window have room for a new one;
// OtherSite otherwise. Under t.mu.
func (t *tally) admit(site string, day int64) dayKey {
	k := dayKey{site, day}
	if _, ok := t.days[k]; ok || site == OtherSite {
		return k
	}
	known, full := t.known.site(k)
	if known {
		return k
	}
	if full || t.fresh[day] >= MaxSites {
		return dayKey{OtherSite, day}
	}
	t.fresh[day]++
	return k
}

// count adds n to value of top table table of k's day d: under its own
// name when d or the back end has it, or while the table and the window
// have room for a new one; under OtherKey otherwise. Under t.mu.
func (t *tally) count(k dayKey, d *tallyDay, table int, value string, n int64) {
	if _, ok := d.Top[table][value]; !ok && value != OtherKey {
		known, full := t.known.value(k, table, value)
		switch {
		case known:
		case full || d.fresh[table] >= MaxTopKeys:
			value = OtherKey
		default:
			d.fresh[table]++
		}
	}
	d.put(table, value, n)
}

// day returns the aggregate of k, nil when the tally is full. Under t.mu.
func (t *tally) day(k dayKey) *tallyDay {
	if d, ok := t.days[k]; ok {
		return d
	}
	if len(t.days) >= tallyMaxDays {
		t.dropped.Add(1)
		return nil
	}
	return t.newDay(k)
}

func (t *tally) newDay(k dayKey) *tallyDay {
	k.site = strings.Clone(k.site) // kept: not a slice of the request
	d := &tallyDay{Day: Day{Site: k.site, Date: time.Unix(k.day, 0).UTC()}}
	t.days[k] = d
	return d
}

// see notes the client for a back end that counts unique clients. Under
// t.mu.
func (t *tally) see(k dayKey, id uuid.UUID) {
	if t.seen == nil {
		return
	}
	ids := t.seen[k]
	if ids == nil {
		ids = make(map[uuid.UUID]struct{})
		t.seen[k] = ids
	}
	if _, ok := ids[id]; ok {
		return
	}
	if t.seenLen >= tallyMaxSeen {
		t.dropped.Add(1)
		return
	}
	ids[id] = struct{}{}
	t.seenLen++
}

// take empties the tally and returns what it held.
func (t *tally) take() []DayChange {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make([]DayChange, 0, len(t.days))
	for k, d := range t.days {
		c := DayChange{Day: d.Day}
		for id := range t.seen[k] {
			c.Clients = append(c.Clients, id)
		}
		out = append(out, c)
	}
	clear(t.days)
	clear(t.fresh)
	if t.seen != nil {
		clear(t.seen)
		t.seenLen = 0
	}
	return out
}

// giveBack returns changes the back end did not take, to be handed over
// again with the next ones, admitted again as the window's own visits are.
func (t *tally) giveBack(changes []DayChange) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for i := range changes {
		c := &changes[i]
		k := t.admit(c.Site, c.Date.Unix())
		d, ok := t.days[k]
		if !ok {
			d = t.newDay(k)
		}
		d.DayCounts.add(&c.DayCounts)
		for table := range c.Top {
			for _, v := range sortedKeys(c.Top[table]) {
				t.count(k, d, table, v, c.Top[table][v])
			}
		}
		for _, id := range c.Clients {
			t.see(k, id)
		}
	}
}

// siteOf names a request's site: its host, lower case, without the port
// and the brackets of an IPv6 address, through clienttext.Clean.
func siteOf(host string) string {
	if i := strings.LastIndexByte(host, ':'); i >= 0 && !strings.Contains(host[i:], "]") {
		host = host[:i]
	}
	host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	if plainLower(host) {
		return host[:min(len(host), maxSite)] // ASCII: any cut is on a character boundary
	}
	return clienttext.Clean(lowerASCII(host), maxSite)
}

// lowerASCII is s with its ASCII letters in lower case and every other
// byte as it was (strings.ToLower would make an invalid byte U+FFFD before
// clienttext.Clean could escape it). A host's case is ASCII's: browsers send
// international names in their xn-- form.
func lowerASCII(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

// plainLower reports whether s is printable ASCII without upper case, as
// nearly every Host is: nothing to escape or lower.
func plainLower(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c <= ' ' || c >= 0x7f || 'A' <= c && c <= 'Z' {
			return false
		}
	}
	return true
}

// maxSite bounds a site's name (a DNS name has at most 253 bytes).
const maxSite = 253

// handOver gives what the tally holds to the back end, when it keeps
// aggregates; what it does not take is kept for the next time. Then it
// learns the names the day admitted, when there may be new ones.
func (s *Store) handOver(ctx context.Context) error {
	a, err := s.way.aggregator()
	if errors.Is(err, ErrUnsupported) {
		s.tally.take() // nowhere to keep them
	}
	if err != nil {
		return err
	}
	changes := s.tally.take()
	if len(changes) > 0 {
		err = s.way.write(ctx, func() error { return a.AddDays(ctx, changes, s.cfg.Retention) })
		if err != nil {
			s.tally.giveBack(changes)
			return err
		}
	}
	if s.tally.mayLearn(changes) {
		return s.learnAdmitted(ctx, a)
	}
	return nil
}

// mayLearn reports whether the back end may have admitted names the tally
// does not know since it last asked: the day's names are not loaded, the
// back end is shared, or the changes handed over may have added some.
func (t *tally) mayLearn(changes []DayChange) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.shared || !t.known.loaded || t.known.day != DayStart(time.Now()).Unix() {
		return true
	}
	for i := range changes {
		if t.known.adds(&changes[i]) {
			return true
		}
	}
	return false
}

// handOverEvery hands the tally over every interval until stop closes,
// then once more.
func (s *Store) handOverEvery(interval time.Duration, stop <-chan struct{}, done chan<- struct{}) {
	defer close(done)
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-stop:
			s.handOverLogged()
			return
		case <-t.C:
			s.handOverLogged()
		}
	}
}

func (s *Store) handOverLogged() {
	ctx, cancel := context.WithTimeout(context.Background(), tallyFlushMax)
	defer cancel()
	if err := s.handOver(ctx); err != nil && !errors.Is(err, ErrUnsupported) {
		s.log.Warn("writing the dashboard's aggregates failed; will retry", zap.Error(err))
	}
}
