package redis

import (
	"context"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	goredis "github.com/redis/go-redis/v9"

	"github.com/c0f4626f/caddy-session/sessionstore"
)

// Backend is the shared back end for several Caddy instances, run by
// sessionstore.NewShared. All keys of one
// client share a hash tag, so they live in one cluster slot and one script
// can check and write them atomically:
//
//	<prefix>{<cID>}:c  the object with its version, compact (value.go)
//	<prefix>{<cID>}:r  hash: rows of the client's ended sessions, compact
//	<prefix>{<cID>}:t  tombstone of an erased client
//	<prefix>{<cID>}:u  set: the users the client was bound to, for its
//	                   erasure to leave no user's set naming it (users.go)
//	<prefix>b:<key>    bootstrap window: the client a cookieless browser joined
//	<prefix>u:<user>   set: the clients bound to the user (users.go)
//	<prefix>erased     sorted set: every tombstoned cID, scored by when its
//	                   tombstone ends, for instances to know erasures on the
//	                   paths that do not reach Redis (fallbacks)
//
// A client's current session lives in its object, so a visitor that never
// comes back leaves one key. Keys of earlier versions (:o and :s, JSON) are
// not read: such clients are rebuilt from their cookies, the old keys expire
// by themselves, and erasure removes them.
type Backend struct {
	client goredis.UniversalClient
	prefix string
	// failover follows the nodes through failovers.
	failover failover
	// remembered holds the value this instance last wrote or saw per
	// client, for Update to propose the next one in one round trip.
	remembered remembered
}

// Options configure the connection. Several addresses mean a cluster;
// with MasterName they are Sentinels instead.
type Options struct {
	Addresses  []string
	MasterName string
	Username   string
	Password   string
	DB         int
	KeyPrefix  string
	TLS        bool
	// Remember bounds the clients whose stored value an instance keeps in
	// memory (a few hundred bytes each), so that their next update takes
	// one round trip instead of two; 0 keeps none.
	Remember int
}

// maxUpdateAttempts bounds the optimistic retries of one update; the
// request's deadline bounds them too.
const maxUpdateAttempts = 64

// Open connects and checks the server answers.
func Open(o Options) (*Backend, error) {
	opts := &goredis.UniversalOptions{
		Addrs: o.Addresses, MasterName: o.MasterName, Username: o.Username, Password: o.Password, DB: o.DB,
		MaxRetries: -1, // the store's deadline and breaker decide, not hidden retries
		// RESP2: under RESP3 the client peeks the connection for push
		// notifications before every command, a read that cost 1.6 µs of
		// a one-core Caddy's CPU per round trip; the store uses none.
		Protocol: 2,
	}
	if o.TLS {
		opts.TLSConfig = &tls.Config{MinVersion: tls.VersionTLS12}
	}
	r := &Backend{client: goredis.NewUniversalClient(opts), prefix: o.KeyPrefix, remembered: newRemembered(o.Remember)}
	r.failover.watch(r.client)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := r.client.Ping(ctx).Err(); err != nil {
		r.client.Close()
		return nil, fmt.Errorf("connecting to redis %s: %w", strings.Join(o.Addresses, ","), err)
	}
	return r, nil
}

type redisKeys struct{ object, sessions, tombstone, users, legacyObject, legacySessions string }

func (r *Backend) keys(id uuid.UUID) redisKeys {
	base := r.prefix + "{" + id.String() + "}:"
	return redisKeys{object: base + "c", sessions: base + "r", tombstone: base + "t", users: base + "u",
		legacyObject: base + "o", legacySessions: base + "s"}
}

// casScript writes an object only if the stored value is still the one
// the update was computed from, and the row of the session it ended, if
// any, trimming the rows (rows.go). It answers 1 when written, -1 when the
// client is erased, -2 when it runs after the write deadline (the request
// has given up on it), and otherwise the value stored now (false: absent),
// for the update to be computed again from it. The object keeps the longer
// of its remaining lifetime and the TTL; both keys expire together.
//
//	KEYS: object, session rows, tombstone
//	ARGV: value expected ("": absent), object, TTL ms, ended session ID, its row ("": none),
//	      write deadline in µs of the server's clock ("0": none), rows kept at most
var casScript = goredis.NewScript(trimRowsLua + `
local now = redis.call('TIME')
if ARGV[6] ~= '0' and tonumber(now[1]) * 1000000 + tonumber(now[2]) > tonumber(ARGV[6]) then return -2 end
if redis.call('EXISTS', KEYS[3]) == 1 then return -1 end
local current = redis.call('GET', KEYS[1])
if (current or '') ~= ARGV[1] then return {current} end
local ttl = math.max(tonumber(ARGV[3]), redis.call('PTTL', KEYS[1]))
redis.call('SET', KEYS[1], ARGV[2], 'PX', ttl)
if ARGV[5] ~= '' then
	redis.call('HSET', KEYS[2], ARGV[4], ARGV[5])
	trim_rows(KEYS[2], tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000) - tonumber(ARGV[3]), tonumber(ARGV[7]))
end
redis.call('PEXPIRE', KEYS[2], ttl)
return 1`)

// Update implements sessionstore.Shared in one round trip when this
// instance remembers the client's stored value: the next object is computed
// from it and written if Redis still holds exactly that value. Otherwise
// (first visit here, or another instance wrote since) the script answers
// the value it holds, and the update is computed again from it: a second
// round trip.
func (r *Backend) Update(ctx context.Context, id uuid.UUID, ttl time.Duration, fn func(prev *sessionstore.Object) sessionstore.Object) error {
	k := r.keys(id)
	keys := []string{k.object, k.sessions, k.tombstone}
	deadline, err := r.writeDeadline(ctx, k.object)
	if err != nil {
		return err
	}
	expected, _ := r.remembered.Get(id)
	for range maxUpdateAttempts {
		version, prev, err := decodeStored(id, expected)
		if err != nil {
			r.remembered.Remove(id)
			return err
		}
		next := fn(prev)
		endedID, endedRow := endedSession(prev, &next)
		written := encodeObject(nextVersion(version), &next)
		sessionstore.NoteUndo(ctx, r.undoUpdate(k.object, written, expected))
		res, err := casScript.Run(ctx, r.client, keys, expected, written,
			ttl.Milliseconds(), endedID, endedRow, deadline, maxRedisSessionRows).Result()
		if err != nil {
			return err
		}
		switch res := res.(type) {
		case int64:
			return r.answered(id, res, string(written))
		case []any:
			expected = ""
			if len(res) > 0 {
				expected, _ = res[0].(string)
			}
		default:
			return fmt.Errorf("client %s: unexpected update reply %v", id, res)
		}
	}
	r.remembered.Remove(id)
	return fmt.Errorf("client %s: gave up after %d conflicting updates", id, maxUpdateAttempts)
}

// answered acts on the script's numeric answer to the write of written.
func (r *Backend) answered(id uuid.UUID, res int64, written string) error {
	switch res {
	case 1:
		r.remembered.Add(id, written)
		return nil
	case -1:
		r.remembered.Remove(id)
		return sessionstore.ErrErased
	case -2:
		return errLateWrite
	}
	return fmt.Errorf("client %s: unexpected update answer %d", id, res)
}

// decodeStored reads a stored object value: its version and the object, or
// "" and nil when absent ("").
func decodeStored(id uuid.UUID, value string) (string, *sessionstore.Object, error) {
	if value == "" {
		return "", nil, nil
	}
	version, o, err := decodeObject(id, value)
	if err != nil {
		return "", nil, fmt.Errorf("stored object of client %s: %w", id, err)
	}
	return version, o, nil
}

// decodeValue reads a GET of an object: its version and the object, or ""
// and nil when absent.
func decodeValue(id uuid.UUID, value *goredis.StringCmd) (string, *sessionstore.Object, error) {
	if errors.Is(value.Err(), goredis.Nil) {
		return "", nil, nil
	}
	if value.Err() != nil {
		return "", nil, value.Err()
	}
	return decodeStored(id, value.Val())
}

// endedSession returns the session ID and compact row of the session that
// next ended, in its binary form, or empty strings when next continues prev's session.
func endedSession(prev, next *sessionstore.Object) (string, string) {
	if prev == nil || prev.SessionID == uuid.Nil || prev.SessionID == next.SessionID {
		return "", ""
	}
	row := prev.Session()
	form, _ := row.MarshalBinary()
	return string(prev.SessionID[:]), string(form)
}

// Discard implements sessionstore.Shared.
func (r *Backend) Discard(ctx context.Context, id uuid.UUID) error {
	k := r.keys(id)
	return r.client.Del(ctx, k.object, k.sessions).Err()
}

// contestedWindow is the value of a contested bootstrap key.
const contestedWindow = ""

// Bootstrap implements sessionstore.Shared with SET NX PX; a contest
// overwrites a held key with SET XX KEEPTTL GET, so that the window still
// ends when it would have.
func (r *Backend) Bootstrap(ctx context.Context, key sessionstore.BootstrapKey, client uuid.UUID, window time.Duration, contest bool) (uuid.UUID, error) {
	k := r.bootstrapKey(key)
	for range 3 { // the held key can expire between SET NX and what follows
		ok, err := r.client.SetNX(ctx, k, client.String(), window).Result()
		if err != nil {
			return uuid.Nil, err
		}
		if ok {
			return client, nil
		}
		var held string
		if contest {
			held, err = r.client.SetArgs(ctx, k, contestedWindow, goredis.SetArgs{Mode: "XX", KeepTTL: true, Get: true}).Result()
		} else {
			held, err = r.client.Get(ctx, k).Result()
		}
		switch {
		case errors.Is(err, goredis.Nil):
			continue
		case err != nil:
			return uuid.Nil, err
		case held == contestedWindow:
			return uuid.Nil, nil
		}
		return uuid.Parse(held)
	}
	return client, nil
}

func (r *Backend) bootstrapKey(key sessionstore.BootstrapKey) string {
	return r.prefix + "b:" + hex.EncodeToString(key[:])
}

// Load implements sessionstore.Loader.
func (r *Backend) Load(ctx context.Context, id uuid.UUID) (*sessionstore.Object, error) {
	_, o, err := decodeValue(id, r.client.Get(ctx, r.keys(id).object))
	return o, err
}

// Sessions implements sessionstore.SessionLister: the current session from the object, the
// ended ones from their hash.
func (r *Backend) Sessions(ctx context.Context, id uuid.UUID, limit int) ([]sessionstore.SessionRow, error) {
	k := r.keys(id)
	var value *goredis.StringCmd
	var ended *goredis.MapStringStringCmd
	r.client.Pipelined(ctx, func(p goredis.Pipeliner) error {
		value, ended = p.Get(ctx, k.object), p.HGetAll(ctx, k.sessions)
		return nil
	})
	if err := ended.Err(); err != nil {
		return nil, err
	}
	_, o, err := decodeValue(id, value)
	if err != nil {
		return nil, err
	}
	rows := make([]sessionstore.SessionRow, 0, len(ended.Val())+1)
	if o != nil {
		rows = append(rows, o.Session())
	}
	for field, v := range ended.Val() {
		row, err := decodeRow(id, field, v)
		if err != nil {
			return nil, fmt.Errorf("stored session of client %s: %w", id, err)
		}
		if o == nil || row.SessionID != o.SessionID {
			rows = append(rows, row)
		}
	}
	sort.Slice(rows, func(i, j int) bool { return rows[i].Started.After(rows[j].Started) })
	return rows[:min(limit, len(rows))], nil
}

// Erase implements sessionstore.Eraser: the client's keys go and its
// tombstone is set in one transaction, which also reads the users it was
// bound to; it then leaves their sets (users.go).
func (r *Backend) Erase(ctx context.Context, id uuid.UUID, until time.Time) (bool, error) {
	k := r.keys(id)
	var deleted *goredis.IntCmd
	var object *goredis.StringCmd
	var users *goredis.StringSliceCmd
	_, err := r.client.TxPipelined(ctx, func(p goredis.Pipeliner) error {
		object = p.Get(ctx, k.object)
		users = p.SMembers(ctx, k.users)
		deleted = p.Del(ctx, k.object, k.legacyObject)
		p.Del(ctx, k.sessions, k.legacySessions, k.users)
		p.Set(ctx, k.tombstone, "1", time.Until(until))
		return nil
	})
	if err != nil && !errors.Is(err, goredis.Nil) { // Nil: no object
		return false, err
	}
	// Another slot in a cluster: not in the transaction. The client's own
	// tombstone already refuses it in every update.
	err = r.client.ZAdd(ctx, r.erasedKey(), goredis.Z{Score: float64(until.UnixMilli()), Member: id.String()}).Err()
	if err != nil {
		return false, err
	}
	return deleted.Val() > 0, r.leaveUsers(ctx, id, boundUsers(id, object, users.Val()))
}

func (r *Backend) erasedKey() string { return r.prefix + "erased" }

// Tombstones implements sessionstore.Eraser: the index of erasures, expired ones
// dropped from it on the way.
func (r *Backend) Tombstones(ctx context.Context, now time.Time) (map[uuid.UUID]time.Time, error) {
	key, at := r.erasedKey(), strconv.FormatInt(now.UnixMilli(), 10)
	if err := r.client.ZRemRangeByScore(ctx, key, "-inf", at).Err(); err != nil {
		return nil, err
	}
	live, err := r.client.ZRangeByScoreWithScores(ctx, key, &goredis.ZRangeBy{Min: "(" + at, Max: "+inf"}).Result()
	if err != nil {
		return nil, err
	}
	out := make(map[uuid.UUID]time.Time, len(live))
	for _, z := range live {
		member, _ := z.Member.(string)
		if id, err := uuid.Parse(member); err == nil {
			out[id] = time.UnixMilli(int64(z.Score))
		}
	}
	return out, nil
}

// Count implements sessionstore.Counter by scanning the object keys (on every master of
// a cluster): for operators, not for the request path.
func (r *Backend) Count(ctx context.Context) (int64, error) {
	count := func(ctx context.Context, c goredis.UniversalClient) (int64, error) {
		var n int64
		iter := c.Scan(ctx, 0, r.prefix+"{*}:c", 1000).Iterator()
		for iter.Next(ctx) {
			n++
		}
		return n, iter.Err()
	}
	cluster, ok := r.client.(*goredis.ClusterClient)
	if !ok {
		return count(ctx, r.client)
	}
	var total atomic.Int64 // masters are counted concurrently
	err := cluster.ForEachMaster(ctx, func(ctx context.Context, c *goredis.Client) error {
		n, err := count(ctx, c)
		total.Add(n)
		return err
	})
	return total.Load(), err
}

// Close implements sessionstore.Shared.
func (r *Backend) Close() error { return r.client.Close() }

var (
	_ sessionstore.Shared        = (*Backend)(nil)
	_ sessionstore.Sharded       = (*Backend)(nil)
	_ sessionstore.Loader        = (*Backend)(nil)
	_ sessionstore.SessionLister = (*Backend)(nil)
	_ sessionstore.Eraser        = (*Backend)(nil)
	_ sessionstore.Counter       = (*Backend)(nil)
	_ sessionstore.UserIndex     = (*Backend)(nil)
)
