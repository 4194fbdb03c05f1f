package sessionstore

import (
	"context"
	"crypto/tls"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/redis/go-redis/v9"
)

// Redis is the shared back end for several Caddy instances. All keys of one
// client share a hash tag, so they live in one cluster slot and one script
// can check and write them atomically:
//
//	<prefix>{<cID>}:o  hash: v = version, d = the object (JSON); expires after the retention
//	<prefix>{<cID>}:s  hash sID → session row (JSON), expiring with the object
//	<prefix>{<cID>}:t  tombstone of an erased client
//	<prefix>b:<key>    bootstrap window: the client a cookieless browser joined
type Redis struct {
	client redis.UniversalClient
	prefix string
	// failover follows the nodes through failovers.
	failover failover
}

// RedisOptions configure the connection. Several addresses mean a cluster;
// with MasterName they are Sentinels instead.
type RedisOptions struct {
	Addresses  []string
	MasterName string
	Username   string
	Password   string
	DB         int
	KeyPrefix  string
	TLS        bool
}

// maxUpdateAttempts bounds the optimistic retries of one update; the
// request's deadline bounds them too.
const maxUpdateAttempts = 64

// OpenRedis connects and checks the server answers.
func OpenRedis(o RedisOptions) (*Redis, error) {
	opts := &redis.UniversalOptions{
		Addrs: o.Addresses, MasterName: o.MasterName, Username: o.Username, Password: o.Password, DB: o.DB,
		MaxRetries: -1, // the store's deadline and breaker decide, not hidden retries
	}
	if o.TLS {
		opts.TLSConfig = &tls.Config{MinVersion: tls.VersionTLS12}
	}
	r := &Redis{client: redis.NewUniversalClient(opts), prefix: o.KeyPrefix}
	r.failover.watch(r.client)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := r.client.Ping(ctx).Err(); err != nil {
		r.client.Close()
		return nil, fmt.Errorf("connecting to redis %s: %w", strings.Join(o.Addresses, ","), err)
	}
	return r, nil
}

type redisKeys struct{ object, sessions, tombstone string }

func (r *Redis) keys(id uuid.UUID) redisKeys {
	base := r.prefix + "{" + id.String() + "}:"
	return redisKeys{object: base + "o", sessions: base + "s", tombstone: base + "t"}
}

// casScript writes an object only if its version is still the one that was
// read, with its current session row; -1 when the client is erased, 0 when
// another instance wrote first, -2 when it runs after the write deadline
// (the request has given up on it).
//
//	KEYS: object, sessions, tombstone
//	ARGV: version read ("0": absent), object, session ID, session row, TTL ms,
//	      write deadline in µs of the server's clock ("0": none)
var casScript = redis.NewScript(`
local now = redis.call('TIME')
if ARGV[6] ~= '0' and tonumber(now[1]) * 1000000 + tonumber(now[2]) > tonumber(ARGV[6]) then return -2 end
if redis.call('EXISTS', KEYS[3]) == 1 then return -1 end
if (redis.call('HGET', KEYS[1], 'v') or '0') ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'v', tostring(tonumber(ARGV[1]) + 1), 'd', ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[5])
redis.call('HSET', KEYS[2], ARGV[3], ARGV[4])
redis.call('PEXPIRE', KEYS[2], ARGV[5])
return 1`)

// Update implements Shared: read the object and its version (one round
// trip), apply fn, write with the version check in a script (one more);
// when another instance wrote first, read again.
func (r *Redis) Update(ctx context.Context, id uuid.UUID, ttl time.Duration, fn func(prev *Object) Object) error {
	k := r.keys(id)
	keys := []string{k.object, k.sessions, k.tombstone}
	deadline, err := r.writeDeadline(ctx, k.object)
	if err != nil {
		return err
	}
	for range maxUpdateAttempts {
		var fields *redis.SliceCmd
		var erased *redis.IntCmd
		var remaining *redis.DurationCmd
		_, err := r.client.Pipelined(ctx, func(p redis.Pipeliner) error {
			fields, erased, remaining = p.HMGet(ctx, k.object, "v", "d"), p.Exists(ctx, k.tombstone), p.PTTL(ctx, k.object)
			return nil
		})
		if err != nil {
			return err
		}
		if erased.Val() > 0 {
			return ErrErased
		}
		version, prev, err := decodeVersioned(fields.Val())
		if err != nil {
			return err
		}
		next := fn(prev)
		keep := max(ttl, remaining.Val())
		res, err := casScript.Run(ctx, r.client, keys, version, encode(redisObjectOf(next)),
			next.SessionID.String(), encode(redisSessionOf(next.Session())), keep.Milliseconds(), deadline).Int()
		switch {
		case err != nil:
			return err
		case res == -2:
			return errLateWrite
		case res == -1:
			return ErrErased
		case res == 1:
			return nil
		}
	}
	return fmt.Errorf("client %s: gave up after %d conflicting updates", id, maxUpdateAttempts)
}

// decodeVersioned reads HMGET v d: the version ("0" when absent) and the
// object (nil when absent).
func decodeVersioned(fields []any) (string, *Object, error) {
	version, _ := fields[0].(string)
	data, _ := fields[1].(string)
	if version == "" || data == "" {
		return "0", nil, nil
	}
	o, err := decodeObject([]byte(data))
	return version, o, err
}

// Discard implements Shared.
func (r *Redis) Discard(ctx context.Context, id uuid.UUID) error {
	k := r.keys(id)
	return r.client.Del(ctx, k.object, k.sessions).Err()
}

// Bootstrap implements Shared with SET NX PX.
func (r *Redis) Bootstrap(ctx context.Context, key BootstrapKey, client uuid.UUID, window time.Duration) (uuid.UUID, error) {
	k := r.bootstrapKey(key)
	for range 3 { // the holder's key can expire between SET NX and GET
		ok, err := r.client.SetNX(ctx, k, client.String(), window).Result()
		if err != nil {
			return uuid.Nil, err
		}
		if ok {
			return client, nil
		}
		holder, err := r.client.Get(ctx, k).Result()
		if errors.Is(err, redis.Nil) {
			continue
		}
		if err != nil {
			return uuid.Nil, err
		}
		return uuid.Parse(holder)
	}
	return client, nil
}

func (r *Redis) bootstrapKey(key BootstrapKey) string {
	return r.prefix + "b:" + hex.EncodeToString(key[:])
}

// Load implements Backend.
func (r *Redis) Load(ctx context.Context, id uuid.UUID) (*Object, error) {
	data, err := r.client.HGet(ctx, r.keys(id).object, "d").Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return decodeObject(data)
}

// Sessions implements Backend.
func (r *Redis) Sessions(ctx context.Context, id uuid.UUID, limit int) ([]SessionRow, error) {
	all, err := r.client.HGetAll(ctx, r.keys(id).sessions).Result()
	if err != nil {
		return nil, err
	}
	rows := make([]SessionRow, 0, len(all))
	for _, v := range all {
		var rs redisSession
		if err := json.Unmarshal([]byte(v), &rs); err != nil {
			return nil, err
		}
		rows = append(rows, rs.row(id))
	}
	sort.Slice(rows, func(i, j int) bool { return rows[i].Started.After(rows[j].Started) })
	return rows[:min(limit, len(rows))], nil
}

// Erase implements Backend.
func (r *Redis) Erase(ctx context.Context, id uuid.UUID, until time.Time) (bool, error) {
	k := r.keys(id)
	var deleted *redis.IntCmd
	_, err := r.client.TxPipelined(ctx, func(p redis.Pipeliner) error {
		deleted = p.Del(ctx, k.object)
		p.Del(ctx, k.sessions)
		p.Set(ctx, k.tombstone, "1", time.Until(until))
		return nil
	})
	return deleted.Val() > 0, err
}

// Tombstones implements Backend. Redis checks tombstones inside each update,
// so no process needs a copy.
func (r *Redis) Tombstones(context.Context, time.Time) (map[uuid.UUID]time.Time, error) {
	return map[uuid.UUID]time.Time{}, nil
}

// Count implements Backend by scanning the object keys (on every master of
// a cluster): for operators, not for the request path.
func (r *Redis) Count(ctx context.Context) (int64, error) {
	count := func(ctx context.Context, c redis.UniversalClient) (int64, error) {
		var n int64
		iter := c.Scan(ctx, 0, r.prefix+"{*}:o", 1000).Iterator()
		for iter.Next(ctx) {
			n++
		}
		return n, iter.Err()
	}
	cluster, ok := r.client.(*redis.ClusterClient)
	if !ok {
		return count(ctx, r.client)
	}
	var total atomicSum
	err := cluster.ForEachMaster(ctx, func(ctx context.Context, c *redis.Client) error {
		n, err := count(ctx, c)
		total.add(n)
		return err
	})
	return total.load(), err
}

// Close implements Backend.
func (r *Redis) Close() error { return r.client.Close() }

// redisObject is the stored form of an Object: times in Unix milliseconds.
type redisObject struct {
	FirstSeen      int64     `json:"fs"`
	LastSeen       int64     `json:"ls"`
	SessionID      uuid.UUID `json:"sid"`
	SessionStarted int64     `json:"ss"`
	SessionNumber  int64     `json:"sn"`
	EventNumber    int64     `json:"en"`
	TotalEvents    int64     `json:"te"`
	LastEventID    uuid.UUID `json:"eid"`
	LandingPath    string    `json:"lp,omitempty"`
	ReferrerOrigin string    `json:"ro,omitempty"`
	ClientID       uuid.UUID `json:"cid"`
}

func redisObjectOf(o Object) redisObject {
	return redisObject{
		ClientID: o.ClientID, FirstSeen: o.FirstSeen.UnixMilli(), LastSeen: o.LastSeen.UnixMilli(),
		SessionID: o.SessionID, SessionStarted: o.SessionStarted.UnixMilli(), SessionNumber: o.SessionNumber,
		EventNumber: o.EventNumber, TotalEvents: o.TotalEvents, LastEventID: o.LastEventID,
		LandingPath: o.LandingPath, ReferrerOrigin: o.ReferrerOrigin,
	}
}

func (ro redisObject) object() Object {
	return Object{
		ClientID: ro.ClientID, FirstSeen: time.UnixMilli(ro.FirstSeen), LastSeen: time.UnixMilli(ro.LastSeen),
		SessionID: ro.SessionID, SessionStarted: time.UnixMilli(ro.SessionStarted), SessionNumber: ro.SessionNumber,
		EventNumber: ro.EventNumber, TotalEvents: ro.TotalEvents, LastEventID: ro.LastEventID,
		LandingPath: ro.LandingPath, ReferrerOrigin: ro.ReferrerOrigin,
	}
}

type redisSession struct {
	SessionID      uuid.UUID `json:"sid"`
	Started        int64     `json:"st"`
	LastSeen       int64     `json:"ls"`
	Events         int64     `json:"ev"`
	LandingPath    string    `json:"lp,omitempty"`
	ReferrerOrigin string    `json:"ro,omitempty"`
}

func redisSessionOf(s SessionRow) redisSession {
	return redisSession{SessionID: s.SessionID, Started: s.Started.UnixMilli(), LastSeen: s.LastSeen.UnixMilli(),
		Events: s.Events, LandingPath: s.LandingPath, ReferrerOrigin: s.ReferrerOrigin}
}

func (rs redisSession) row(client uuid.UUID) SessionRow {
	return SessionRow{SessionID: rs.SessionID, ClientID: client, Started: time.UnixMilli(rs.Started),
		LastSeen: time.UnixMilli(rs.LastSeen), Events: rs.Events, LandingPath: rs.LandingPath, ReferrerOrigin: rs.ReferrerOrigin}
}

func encode(v any) []byte {
	b, _ := json.Marshal(v) // plain structs of numbers, strings and UUIDs: cannot fail
	return b
}

// decodeObject reads a stored object.
func decodeObject(b []byte) (*Object, error) {
	var ro redisObject
	if err := json.Unmarshal(b, &ro); err != nil {
		return nil, fmt.Errorf("stored object: %w", err)
	}
	o := ro.object()
	return &o, nil
}
