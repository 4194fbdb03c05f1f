package redis

// The hash of a client's ended sessions (<prefix>{<cID>}:r) lives as long
// as the client keeps coming back, so rows are trimmed when a session ends:
// rows last seen before the lifetime the write gives the client (the
// retention, for a client that comes back), then the oldest beyond
// maxRedisSessionRows. Each trim reads at most maxRedisSessionRows+1 rows,
// once the first trim of a hash from before the cap is done.

// maxRedisSessionRows caps the ended sessions kept per client in Redis.
const maxRedisSessionRows = 100

// trimRowsLua defines trim_rows(key, horizon_ms, cap) for the scripts that
// end a session. A row starts with the uvarints started and last_seen
// (value.go); a row that does not decode is dropped.
const trimRowsLua = `
local function last_seen(row)
	local pos, value = 1, 0
	for _ = 1, 2 do
		value = 0
		local scale = 1
		repeat
			local b = string.byte(row, pos)
			if not b then return nil end
			pos = pos + 1
			value = value + (b % 128) * scale
			scale = scale * 128
		until b < 128
	end
	return value
end
local function trim_rows(key, horizon, cap)
	local all = redis.call('HGETALL', key)
	local kept = {}
	for i = 1, #all, 2 do
		local seen = last_seen(all[i + 1])
		if seen == nil or seen < horizon then
			redis.call('HDEL', key, all[i])
		else
			kept[#kept + 1] = {all[i], seen}
		end
	end
	if #kept > cap then
		table.sort(kept, function(a, b) return a[2] < b[2] end)
		for i = 1, #kept - cap do redis.call('HDEL', key, kept[i][1]) end
	end
end
`
