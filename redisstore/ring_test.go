package redisstore_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/jwtguard/jwtguard/redisstore"
)

// TestRingFollowsEveryShard runs two stores on a Ring of two redis-servers
// of its own. A revocation is announced by the shard that stores it, and a
// Ring's shards share nothing: a store subscribed on one shard only (the
// channel's) never heard the revocations stored on the other, while its
// heartbeats kept the mirror "fresh". Every store must subscribe on every
// shard, see revocations on both within the staleness bound, and a store
// started afterwards must find them all in its fill.
func TestRingFollowsEveryShard(t *testing.T) {
	newRing, addrs := startRing(t)
	prefix := testPrefix()
	ctx := context.Background()
	a := newStore(t, newRing(), redisstore.WithPrefix(prefix))
	b := newStore(t, newRing(), redisstore.WithPrefix(prefix))
	for _, addr := range addrs {
		requireSubscribers(t, addr, prefix, 2)
	}

	// Enough identifiers that both shards store some; checked below.
	const n = 16
	until := time.Now().Add(time.Hour)
	for i := range n {
		require.NoError(t, a.Revoke(ctx, testIssuer, "ring-"+strconv.Itoa(i), until))
	}
	for name, addr := range addrs {
		keys, err := newNodeClient(t, addr).Keys(ctx, prefix+"*").Result()
		require.NoError(t, err)
		require.NotEmpty(t, keys, "%s stores none of the %d revocations", name, n)
	}
	for i := range n {
		jti := "ring-" + strconv.Itoa(i)
		waitRevoked(t, redisstore.DefaultStalenessBound, func() (bool, error) {
			return b.IsRevoked(ctx, testIssuer, jti)
		}, "store B, "+jti)
	}
	c := newStore(t, newRing(), redisstore.WithPrefix(prefix))
	for i := range n {
		revoked, err := c.IsRevoked(ctx, testIssuer, "ring-"+strconv.Itoa(i))
		require.NoError(t, err)
		require.True(t, revoked, "a store started afterwards fills ring-%d", i)
	}
	require.Equal(t, n, c.MirrorLen())
}

// startRing starts two redis-servers of its own, stopped with t, and
// returns a function that makes a Ring client of them (closed with t), and
// their addresses by shard name. It skips t when it cannot start them.
func startRing(t *testing.T) (newRing func() *redis.Ring, addrs map[string]string) {
	t.Helper()
	needRedis(t)
	if externalRedis {
		t.Skip("REDIS_ADDR is set: this test starts redis-servers of its own, and may not find redis-server")
	}
	addrs = map[string]string{}
	for _, name := range []string{"shard-a", "shard-b"} {
		srv, err := startRedis(t.TempDir(), 0, false)
		require.NoError(t, err)
		t.Cleanup(srv.stop)
		addrs[name] = srv.addr
	}
	newRing = func() *redis.Ring {
		c := redis.NewRing(&redis.RingOptions{Addrs: map[string]string{"shard-a": addrs["shard-a"], "shard-b": addrs["shard-b"]}})
		t.Cleanup(func() { _ = c.Close() })
		return c
	}
	return newRing, addrs
}
