package redis

import (
	"context"

	goredis "github.com/redis/go-redis/v9"

	"github.com/c0f4626f/caddy-session/sessionstore"
)

// undoScript puts back the value an update read, only while the stored
// value is still exactly the one the update wrote (its version and last
// event ID included): a later write is never undone. The key keeps the
// lifetime the update gave it; the row of a session the update ended stays
// (Sessions skips the row of the current session).
//
//	KEYS: object
//	ARGV: value written, value read ("": absent)
var undoScript = goredis.NewScript(`
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
if ARGV[2] == '' then
	redis.call('DEL', KEYS[1])
else
	redis.call('SET', KEYS[1], ARGV[2], 'PX', math.max(redis.call('PTTL', KEYS[1]), 1))
end
return 1`)

// undoUpdate returns the undo of an update of key from read to written.
func (r *Backend) undoUpdate(key string, written []byte, read string) sessionstore.UndoFunc {
	return func(ctx context.Context) (bool, error) {
		n, err := undoScript.Run(ctx, r.client, []string{key}, written, read).Int()
		return n == 1, err
	}
}
