package redis

import (
	"context"
	"time"

	"github.com/google/uuid"
	goredis "github.com/redis/go-redis/v9"
)

// The clients bound to a user are a set, <prefix>u:<user>, beside their
// objects: in a cluster it lives in another slot than each client's keys,
// so no script can change both. sessionstore adds a client to the set
// before it binds the object, so the set never lacks a bound client (it
// may hold one whose binding failed, or was replaced by a later login on
// the same browser: that client keeps sessions of the user, so erasing the
// user erases it too). Each binding and the first event of each day of a
// bound client extend the set's lifetime (sessionstore/user_index.go), so
// it outlives every bound client's object; erasure removes the clients it
// erased.

func (r *Backend) userKey(userID string) string { return r.prefix + "u:" + userID }

// IndexUser implements sessionstore.UserIndex: one transaction on the
// user's key.
func (r *Backend) IndexUser(ctx context.Context, userID string, clientID uuid.UUID, ttl time.Duration) error {
	key := r.userKey(userID)
	_, err := r.client.TxPipelined(ctx, func(p goredis.Pipeliner) error {
		p.SAdd(ctx, key, clientID.String())
		p.PExpire(ctx, key, ttl)
		return nil
	})
	return err
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
