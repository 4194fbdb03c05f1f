package redis

import (
	"testing"

	"github.com/c0f4626f/caddy-session/internal/citest"
	"github.com/c0f4626f/caddy-session/internal/storetest"
	"github.com/c0f4626f/caddy-session/internal/testredis"
)

func TestRedisUserBindingAndErasure(t *testing.T) {
	r := storetest.StartRedis(t)
	storetest.ExpectUserBinding(t, newRedisStore(t, r), newRedisStore(t, r))
}

// On a cluster the user's index is in another slot than the clients' keys.
func TestRedisClusterUserBindingAndErasure(t *testing.T) {
	citest.NoteSkip(t)
	addrs := testredis.StartCluster(t, 3)
	storetest.ExpectUserBinding(t, newRedisStoreAt(t, addrs...), newRedisStoreAt(t, addrs...))
}
