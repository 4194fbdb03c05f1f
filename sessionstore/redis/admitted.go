package redis

import (
	"context"
	"strconv"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/c0f4626f/caddy-session/sessionstore"
)

// admittedScript returns the names a day admitted beyond the ones an
// instance knows, in one step under the {dash} tag: each site of the
// sites set besides OtherSite that it does not know, or whose tables hold
// more fields besides OtherKey than it counts, with those tables' fields.
// Unchanged, it costs a few HLENs per known site.
//
//	KEYS: the day's sites set
//	ARGV: the day's key prefix, OtherSite, OtherKey, then per known site:
//	      site and its five counts
//	returns: site, its five tables (empty when not grown), site, ...
var admittedScript = goredis.NewScript(`
local prefix, other, otherKey = ARGV[1], ARGV[2], ARGV[3]
local known = {}
for i = 4, #ARGV, 6 do
	known[ARGV[i]] = {tonumber(ARGV[i + 1]), tonumber(ARGV[i + 2]), tonumber(ARGV[i + 3]),
		tonumber(ARGV[i + 4]), tonumber(ARGV[i + 5])}
end
local out = {}
for _, site in ipairs(redis.call('SMEMBERS', KEYS[1])) do
	if site ~= other then
		local counts, grown, tables = known[site], known[site] == nil, {}
		for t = 0, 4 do
			local key = prefix .. 't' .. t .. ':' .. site
			local fields = {}
			if redis.call('HLEN', key) - redis.call('HEXISTS', key, otherKey) > (counts and counts[t + 1] or 0) then
				grown = true
				for _, f in ipairs(redis.call('HKEYS', key)) do
					if f ~= otherKey then fields[#fields + 1] = f end
				end
			end
			tables[t + 1] = fields
		end
		if grown then
			out[#out + 1] = site
			out[#out + 1] = tables
		end
	end
end
return out`)

// Admitted implements sessionstore.Aggregator.
func (r *Backend) Admitted(ctx context.Context, day time.Time, known map[string][sessionstore.TopTables]int) (map[string][sessionstore.TopTables][]string, error) {
	args := []any{r.dayKey(day), sessionstore.OtherSite, sessionstore.OtherKey}
	for site, counts := range known {
		args = append(args, site)
		for _, n := range counts {
			args = append(args, strconv.Itoa(n))
		}
	}
	reply, err := admittedScript.Run(ctx, r.client, []string{r.dayKey(day) + "sites"}, args...).Slice()
	if err != nil {
		return nil, err
	}
	names := map[string][sessionstore.TopTables][]string{}
	for i := 0; i+1 < len(reply); i += 2 {
		site, _ := reply[i].(string)
		tables, _ := reply[i+1].([]any)
		var values [sessionstore.TopTables][]string
		for t := 0; t < len(tables) && t < sessionstore.TopTables; t++ {
			fields, _ := tables[t].([]any)
			for _, f := range fields {
				if v, ok := f.(string); ok {
					values[t] = append(values[t], v)
				}
			}
		}
		names[site] = values
	}
	return names, nil
}
