package redis

import (
	"context"
	"maps"
	"slices"
	"sort"
	"strconv"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/c0f4626f/caddy-session/sessionstore"
)

// The dashboard's aggregates live under one hash tag, {dash}: they are
// small and bounded, and one slot lets PFCOUNT unite days on a cluster too.
//
//	<prefix>{dash}:<date>:sites       set: the day's sites (at most MaxSites and OtherSite)
//	<prefix>{dash}:<date>:n:<site>    hash: the day's counts (countFields)
//	<prefix>{dash}:<date>:u:<site>    HyperLogLog of the day's clients
//	<prefix>{dash}:<date>:t<i>:<site> hash: top table i, value -> count
//
// Each key expires when the day has ended retention ago.

// addDayScript adds one instance's change to a site's day: it admits the
// site (or counts it under OtherSite), adds the counts, admits each top
// value (or counts it under OtherKey) and adds the clients to the
// HyperLogLog, all in one atomic step, so that instances flushing at the
// same time keep the bounds.
//
//	KEYS: sites, then counts, clients, tables 0..4 of the site, then the same of OtherSite
//	ARGV: site, OtherSite, OtherKey, MaxSites, MaxTopKeys, expire at (Unix s),
//	      count of count pairs, pairs (field, increment),
//	      per table: count of pairs, pairs (value, increment),
//	      then the clients
var addDayScript = goredis.NewScript(`
local site, other, otherKey = ARGV[1], ARGV[2], ARGV[3]
local maxSites, maxTop, expireAt = tonumber(ARGV[4]), tonumber(ARGV[5]), ARGV[6]
local base = 1
if site ~= other and redis.call('SISMEMBER', KEYS[1], site) == 0 and
	redis.call('SCARD', KEYS[1]) - redis.call('SISMEMBER', KEYS[1], other) >= maxSites then
	base = 8
end
redis.call('SADD', KEYS[1], base == 1 and site or other)
redis.call('EXPIREAT', KEYS[1], expireAt)
local i = 7
local function pairs_into(key, bounded)
	local n = tonumber(ARGV[i])
	i = i + 1
	for _ = 1, n do
		local field = ARGV[i]
		if bounded and field ~= otherKey and redis.call('HEXISTS', key, field) == 0 and
			redis.call('HLEN', key) - redis.call('HEXISTS', key, otherKey) >= maxTop then
			field = otherKey
		end
		redis.call('HINCRBY', key, field, ARGV[i + 1])
		i = i + 2
	end
	if n > 0 then redis.call('EXPIREAT', key, expireAt) end
end
pairs_into(KEYS[base + 1], false)
for t = 0, 4 do pairs_into(KEYS[base + 3 + t], true) end
while i <= #ARGV do
	local last = math.min(i + 999, #ARGV)
	redis.call('PFADD', KEYS[base + 2], unpack(ARGV, i, last))
	i = last + 1
end
redis.call('EXPIREAT', KEYS[base + 2], expireAt)
return 1`)

func (r *Backend) dayKey(date time.Time) string {
	return r.prefix + "{dash}:" + date.UTC().Format(time.DateOnly) + ":"
}

// siteKeys are the keys of a site's day: counts, clients, top tables.
func (r *Backend) siteKeys(date time.Time, site string) []string {
	day := r.dayKey(date)
	keys := []string{day + "n:" + site, day + "u:" + site}
	for t := range sessionstore.TopTables {
		keys = append(keys, day+"t"+strconv.Itoa(t)+":"+site)
	}
	return keys
}

// AddDays implements sessionstore.Aggregator: one script per change, all
// in one pipeline.
func (r *Backend) AddDays(ctx context.Context, changes []sessionstore.DayChange, keep time.Duration) error {
	pipe := r.client.Pipeline()
	for i := range changes {
		c := &changes[i]
		keys := append([]string{r.dayKey(c.Date) + "sites"}, r.siteKeys(c.Date, c.Site)...)
		keys = append(keys, r.siteKeys(c.Date, sessionstore.OtherSite)...)
		addDayScript.Eval(ctx, pipe, keys, dayArgs(c, keep)...)
	}
	_, err := pipe.Exec(ctx)
	return err
}

func dayArgs(c *sessionstore.DayChange, keep time.Duration) []any {
	expireAt := c.Date.Add(24*time.Hour + keep).Unix()
	args := []any{c.Site, sessionstore.OtherSite, sessionstore.OtherKey, sessionstore.MaxSites,
		sessionstore.MaxTopKeys, expireAt}
	counts := []any{}
	for _, f := range countFields(&c.DayCounts) {
		if *f.value != 0 {
			counts = append(counts, f.name, *f.value)
		}
	}
	args = append(append(args, len(counts)/2), counts...)
	for t := range c.Top {
		args = append(args, len(c.Top[t]))
		for _, value := range slices.Sorted(maps.Keys(c.Top[t])) { // admitted in the order SQLite admits them
			args = append(args, value, c.Top[t][value])
		}
	}
	for _, id := range c.Clients {
		args = append(args, string(id[:]))
	}
	return args
}

// countField names one number of a day's counts in its hash.
type countField struct {
	name  string
	value *int64
}

// countFields lists the numbers of c by their names in the counts hash.
// Visitors is not among them: the HyperLogLog counts them.
func countFields(c *sessionstore.DayCounts) []countField {
	fields := []countField{
		{"new_clients", &c.NewClients}, {"sessions", &c.Sessions}, {"events", &c.Events}, {"bounces", &c.Bounces},
	}
	for i := range c.Durations {
		fields = append(fields, countField{"d" + strconv.Itoa(i), &c.Durations[i]})
	}
	for h := range c.Hours {
		hour := "h" + strconv.Itoa(h)
		fields = append(fields, countField{hour + "v", &c.Hours[h].Visitors},
			countField{hour + "s", &c.Hours[h].Sessions}, countField{hour + "e", &c.Hours[h].Events})
	}
	return fields
}

// Days implements sessionstore.Aggregator: one pipeline over the range.
func (r *Backend) Days(ctx context.Context, site string, from, to time.Time) ([]sessionstore.Day, error) {
	type read struct {
		counts  *goredis.MapStringStringCmd
		clients *goredis.IntCmd
		top     []*goredis.MapStringStringCmd
	}
	var reads []read
	pipe := r.client.Pipeline()
	for d := from; !d.After(to); d = d.Add(24 * time.Hour) {
		keys := r.siteKeys(d, site)
		rd := read{counts: pipe.HGetAll(ctx, keys[0]), clients: pipe.PFCount(ctx, keys[1])}
		for _, k := range keys[2:] {
			rd.top = append(rd.top, pipe.HGetAll(ctx, k))
		}
		reads = append(reads, rd)
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return nil, err
	}
	var days []sessionstore.Day
	for i, rd := range reads {
		if len(rd.counts.Val()) == 0 {
			continue
		}
		d := sessionstore.Day{Site: site, Date: from.Add(time.Duration(i) * 24 * time.Hour)}
		d.Visitors = rd.clients.Val()
		for _, f := range countFields(&d.DayCounts) {
			*f.value, _ = strconv.ParseInt(rd.counts.Val()[f.name], 10, 64)
		}
		for t, cmd := range rd.top {
			d.Top[t] = parseCounts(cmd.Val())
		}
		days = append(days, d)
	}
	return days, nil
}

func parseCounts(m map[string]string) map[string]int64 {
	if len(m) == 0 {
		return nil
	}
	out := make(map[string]int64, len(m))
	for k, v := range m {
		out[k], _ = strconv.ParseInt(v, 10, 64)
	}
	return out
}

// Sites implements sessionstore.Aggregator.
func (r *Backend) Sites(ctx context.Context, from, to time.Time) ([]string, error) {
	pipe := r.client.Pipeline()
	var reads []*goredis.StringSliceCmd
	for d := from; !d.After(to); d = d.Add(24 * time.Hour) {
		reads = append(reads, pipe.SMembers(ctx, r.dayKey(d)+"sites"))
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	var sites []string
	for _, cmd := range reads {
		for _, s := range cmd.Val() {
			if !seen[s] {
				seen[s] = true
				sites = append(sites, s)
			}
		}
	}
	sort.Strings(sites)
	return sites, nil
}

// UniqueClients implements sessionstore.ClientCounter: PFCOUNT unites the
// days' HyperLogLogs.
func (r *Backend) UniqueClients(ctx context.Context, site string, from, to time.Time) (int64, error) {
	var keys []string
	for d := from; !d.After(to); d = d.Add(24 * time.Hour) {
		keys = append(keys, r.siteKeys(d, site)[1])
	}
	return r.client.PFCount(ctx, keys...).Result()
}
