package redis

import (
	"context"
	"errors"
	"time"

	"github.com/google/uuid"
	goredis "github.com/redis/go-redis/v9"

	"github.com/c0f4626f/caddy-session/sessionstore"
)

// The clients bound to a user are a set, <prefix>u:<user>, beside their
// objects: in a cluster it lives in another slot than each client's keys,
// so no script can change both. sessionstore adds a client to the set
// before it binds the object, so the set never lacks a bound client (it
// may hold one whose binding failed, or was replaced by a later login on
// the same browser: that client keeps sessions of the user, so erasing the
// user erases it too). Each binding and the first event of each day of a
// bound client extend the set's lifetime (sessionstore/user_index.go), so
// it outlives every bound client's object.
//
// Each client also keeps the users it was bound to, <prefix>{<cID>}:u, in
// its own slot, so that its erasure removes it from every user's set, not
// only its current user's: a set naming an erased client would still tie
// the user to that browser. A binding and an erasure may run at once on
// two instances; each side works so that whichever comes last cleans up:
//
//   - a binding adds the user to the client's users only while the client
//     has no tombstone (one script in the client's slot), then adds the
//     client to the user's set, then looks at the tombstone again and, if
//     an erasure came in between, removes the client from the set itself;
//   - an erasure sets the tombstone and takes the client's users in one
//     transaction, then removes the client from each of their sets.

func (r *Backend) userKey(userID string) string { return r.prefix + "u:" + userID }

// addClientUser adds the user to the client's users (KEYS[1]) unless the
// client is erased (KEYS[2]): 0 then, else 1.
var addClientUser = goredis.NewScript(`
if redis.call('EXISTS', KEYS[2]) == 1 then return 0 end
redis.call('SADD', KEYS[1], ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1`)

// IndexUser implements sessionstore.UserIndex: the client's users, then
// one transaction on the user's key, then the check for an erasure that
// ran in between. It returns sessionstore.ErrErased for an erased client.
func (r *Backend) IndexUser(ctx context.Context, userID string, clientID uuid.UUID, ttl time.Duration) error {
	k := r.keys(clientID)
	added, err := addClientUser.Run(ctx, r.client, []string{k.users, k.tombstone}, userID, ttl.Milliseconds()).Int()
	if err != nil {
		return err
	}
	if added == 0 {
		return sessionstore.ErrErased
	}
	key := r.userKey(userID)
	_, err = r.client.TxPipelined(ctx, func(p goredis.Pipeliner) error {
		p.SAdd(ctx, key, clientID.String())
		p.PExpire(ctx, key, ttl)
		return nil
	})
	if err != nil {
		return err
	}
	erased, err := r.client.Exists(ctx, k.tombstone).Result()
	if err != nil || erased == 0 {
		return err
	}
	if err := r.leaveUsers(ctx, clientID, []string{userID}); err != nil {
		return err
	}
	return sessionstore.ErrErased
}

// boundUsers are the users an erased client was bound to: its users' set,
// and the user its object names (a client bound before the set was kept).
func boundUsers(id uuid.UUID, object *goredis.StringCmd, users []string) []string {
	if _, o, err := decodeValue(id, object); err == nil && o != nil && o.UserID != "" {
		users = append(users, o.UserID)
	}
	return users
}

// leaveUsers removes the client from the sets of the users.
func (r *Backend) leaveUsers(ctx context.Context, clientID uuid.UUID, users []string) error {
	var errs []error
	for _, u := range users {
		errs = append(errs, r.client.SRem(ctx, r.userKey(u), clientID.String()).Err())
	}
	return errors.Join(errs...)
}

// ClientsOf implements sessionstore.UserFinder.
func (r *Backend) ClientsOf(ctx context.Context, userID string) ([]uuid.UUID, error) {
	members, err := r.client.SMembers(ctx, r.userKey(userID)).Result()
	if err != nil {
		return nil, err
	}
	ids := make([]uuid.UUID, 0, len(members))
	for _, m := range members {
		if id, err := uuid.Parse(m); err == nil {
			ids = append(ids, id)
		}
	}
	return ids, nil
}

// ForgetUser implements sessionstore.UserIndex. Only the erased clients
// are removed: one bound while the erasure ran stays.
func (r *Backend) ForgetUser(ctx context.Context, userID string, clientIDs []uuid.UUID) error {
	members := make([]any, len(clientIDs))
	for i, id := range clientIDs {
		members[i] = id.String()
	}
	return r.client.SRem(ctx, r.userKey(userID), members...).Err()
}
