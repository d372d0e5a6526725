package redisstore_test

import (
	"context"
	"net"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jwtguard/jwtguard"
	"github.com/jwtguard/jwtguard/redisstore"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// newStore returns a Store on c, closed with t.
func newStore(t testing.TB, c redis.UniversalClient, opts ...redisstore.Option) *redisstore.Store {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), hangGuard)
	defer cancel()
	s, err := redisstore.New(ctx, c, opts...)
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// strictUse is a use of a refresh token now, without a reuse interval:
// every second use is reuse.
func strictUse(tokenUntil, familyUntil time.Time) jwtguard.RefreshUse {
	return jwtguard.RefreshUse{At: time.Now(), TokenUntil: tokenUntil, FamilyUntil: familyUntil}
}

// eventually polls cond every millisecond until it holds, and returns how
// long that took; after hangGuard it fails the test.
func eventually(t testing.TB, cond func() bool, msg string) time.Duration {
	t.Helper()
	start := time.Now()
	for !cond() {
		if time.Since(start) > hangGuard {
			t.Fatalf("not after %v: %s", hangGuard, msg)
		}
		time.Sleep(time.Millisecond)
	}
	return time.Since(start)
}

func TestNewRefusesBadConfiguration(t *testing.T) {
	c := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1"})
	defer c.Close()
	tests := []struct {
		name   string
		client redis.UniversalClient
		opts   []redisstore.Option
		want   string
	}{
		{name: "nil client", want: "nil client"},
		{name: "brace in prefix", client: c, opts: []redisstore.Option{redisstore.WithPrefix("a{b}:")}, want: "brace"},
		{name: "bound too small", client: c, opts: []redisstore.Option{redisstore.WithStalenessBound(time.Millisecond)}, want: "WithStalenessBound"},
		{name: "nil clock", client: c, opts: []redisstore.Option{redisstore.WithClock(nil)}, want: "nil clock"},
		{name: "sweep too small", client: c, opts: []redisstore.Option{redisstore.WithSweepInterval(0)}, want: "WithSweepInterval"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := redisstore.New(context.Background(), tt.client, tt.opts...)
			require.Error(t, err)
			assert.Nil(t, s)
			assert.Contains(t, err.Error(), tt.want)
		})
	}
}

func TestNewFailsWhenRedisIsUnreachable(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close()) // nothing listens there now
	c := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1})
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	before := storeGoroutines()
	s, err := redisstore.New(ctx, c)
	require.Error(t, err)
	assert.Nil(t, s)
	assert.ErrorIs(t, err, context.DeadlineExceeded)
	assert.Contains(t, err.Error(), "refused")
	waitNoStoreGoroutines(t, before)
}

func TestStoreContract(t *testing.T) {
	c := newClient(t)
	ctx := context.Background()
	s := newStore(t, c, redisstore.WithPrefix(testPrefix()))
	now := time.Now()
	const iss = "https://auth.test"

	revoked, err := s.IsRevoked(ctx, iss, "j1")
	require.NoError(t, err)
	assert.False(t, revoked)

	require.NoError(t, s.Revoke(ctx, iss, "j1", now.Add(time.Hour)))
	revoked, err = s.IsRevoked(ctx, iss, "j1")
	require.NoError(t, err)
	assert.True(t, revoked, "revoked on the instance that revoked it, on return")
	for _, other := range [][2]string{{iss, "j2"}, {"https://other", "j1"}, {iss + ":j1", ""}, {"", iss + ":j1"}} {
		revoked, err = s.IsRevoked(ctx, other[0], other[1])
		require.NoError(t, err)
		assert.False(t, revoked, "%q", other)
	}
	fam, err := s.IsFamilyRevoked(ctx, iss, "j1")
	require.NoError(t, err)
	assert.False(t, fam, "a token and a family of one name are apart")

	// An end in the past stores nothing.
	require.NoError(t, s.Revoke(ctx, iss, "past", now.Add(-time.Second)))
	revoked, err = s.IsRevoked(ctx, iss, "past")
	require.NoError(t, err)
	assert.False(t, revoked)

	// Rotation: ok once, then reused (the family is revoked), then revoked.
	rot, err := s.Rotate(ctx, iss, "f1", "r1", strictUse(now.Add(time.Hour), now.Add(2*time.Hour)))
	require.NoError(t, err)
	assert.Equal(t, jwtguard.RotationOK, rot)
	rot, err = s.Rotate(ctx, iss, "f1", "r2", strictUse(now.Add(time.Hour), now.Add(2*time.Hour)))
	require.NoError(t, err)
	assert.Equal(t, jwtguard.RotationOK, rot, "the next token of the family")
	rot, err = s.Rotate(ctx, iss, "f1", "r1", strictUse(now.Add(time.Hour), now.Add(2*time.Hour)))
	require.NoError(t, err)
	assert.Equal(t, jwtguard.RotationReused, rot)
	fam, err = s.IsFamilyRevoked(ctx, iss, "f1")
	require.NoError(t, err)
	assert.True(t, fam, "reuse revokes the family")
	rot, err = s.Rotate(ctx, iss, "f1", "r3", strictUse(now.Add(time.Hour), now.Add(2*time.Hour)))
	require.NoError(t, err)
	assert.Equal(t, jwtguard.RotationRevoked, rot)

	// The same jti in another family, or another issuer, is another token.
	rot, err = s.Rotate(ctx, iss, "f2", "r1", strictUse(now.Add(time.Hour), now.Add(2*time.Hour)))
	require.NoError(t, err)
	assert.Equal(t, jwtguard.RotationOK, rot)
	rot, err = s.Rotate(ctx, "https://other", "f1", "r1", strictUse(now.Add(time.Hour), now.Add(2*time.Hour)))
	require.NoError(t, err)
	assert.Equal(t, jwtguard.RotationOK, rot)

	// RevokeFamily, and Rotate on a family revoked that way.
	require.NoError(t, s.RevokeFamily(ctx, iss, "f3", now.Add(time.Hour)))
	fam, err = s.IsFamilyRevoked(ctx, iss, "f3")
	require.NoError(t, err)
	assert.True(t, fam)
	rot, err = s.Rotate(ctx, iss, "f3", "r9", strictUse(now.Add(time.Hour), now.Add(2*time.Hour)))
	require.NoError(t, err)
	assert.Equal(t, jwtguard.RotationRevoked, rot)
}

func TestRevokeNeverShortens(t *testing.T) {
	c := newClient(t)
	ctx := context.Background()
	prefix := testPrefix()
	s := newStore(t, c, redisstore.WithPrefix(prefix))
	now := time.Now()
	require.NoError(t, s.Revoke(ctx, "iss", "j", now.Add(time.Hour)))
	require.NoError(t, s.Revoke(ctx, "iss", "j", now.Add(time.Minute)))
	ttl, err := c.PTTL(ctx, prefix+"jti:iss:j").Result()
	require.NoError(t, err)
	assert.Greater(t, ttl, 59*time.Minute, "the later end is kept")
	require.NoError(t, s.Revoke(ctx, "iss", "j", now.Add(2*time.Hour)))
	ttl, err = c.PTTL(ctx, prefix+"jti:iss:j").Result()
	require.NoError(t, err)
	assert.Greater(t, ttl, 119*time.Minute, "a later end extends")

	require.NoError(t, s.RevokeFamily(ctx, "iss", "f", now.Add(time.Hour)))
	require.NoError(t, s.RevokeFamily(ctx, "iss", "f", now.Add(time.Minute)))
	ttl, err = c.PTTL(ctx, prefix+"fam:{iss:f}").Result()
	require.NoError(t, err)
	assert.Greater(t, ttl, 59*time.Minute)
}

func TestEveryKeyHasATTL(t *testing.T) {
	c := newClient(t)
	ctx := context.Background()
	prefix := testPrefix()
	s := newStore(t, c, redisstore.WithPrefix(prefix))
	now := time.Now()
	require.NoError(t, s.Revoke(ctx, "https://a:b{c}", "j:1", now.Add(time.Minute)))
	require.NoError(t, s.RevokeFamily(ctx, "https://a", "f{1}", now.Add(time.Hour)))
	for _, jti := range []string{"r1", "r2", "r1"} { // ok, ok, reused
		_, err := s.Rotate(ctx, "https://a", "f2", jti, strictUse(now.Add(time.Minute), now.Add(time.Hour)))
		require.NoError(t, err)
	}
	_, err := s.Rotate(ctx, "https://a", "f3", "r1", strictUse(now.Add(time.Minute), now.Add(time.Hour)))
	require.NoError(t, err)

	keys := scanKeys(t, c, prefix)
	// A token, two families, three used refresh tokens.
	assert.Len(t, keys, 6, "%q", keys)
	for _, k := range keys {
		ttl, err := c.PTTL(ctx, k).Result()
		require.NoError(t, err)
		assert.Greater(t, ttl, time.Duration(0), "key %q has no TTL", k)
		assert.LessOrEqual(t, ttl, time.Hour, "key %q", k)
	}
}

// scanKeys lists every key under prefix.
func scanKeys(t testing.TB, c *redis.Client, prefix string) []string {
	t.Helper()
	var out []string
	iter := c.Scan(context.Background(), 0, prefix+"*", 1000).Iterator()
	for iter.Next(context.Background()) {
		out = append(out, iter.Val())
	}
	require.NoError(t, iter.Err())
	return out
}

// TestFamilyKeysShareAHashSlot runs on the Redis Cluster: the keys of one
// family must share a hash slot, whatever the issuer and family ids hold,
// or the scripts that touch several of them fail with CROSSSLOT.
func TestFamilyKeysShareAHashSlot(t *testing.T) {
	c := newClusterClient(t, needCluster(t))
	ctx := context.Background()
	prefix := testPrefix()
	s := newStore(t, c, redisstore.WithPrefix(prefix))
	now := time.Now()
	for _, iss := range []string{"https://auth.test", "a}b", "{x}", "%3A:"} {
		_, err := s.Rotate(ctx, iss, "fam:{1}", "jti}{", strictUse(now.Add(time.Minute), now.Add(time.Hour)))
		require.NoError(t, err)
		_, err = s.Rotate(ctx, iss, "fam:{1}", "jti}{", strictUse(now.Add(time.Minute), now.Add(time.Hour)))
		require.NoError(t, err)
	}
	var mu sync.Mutex
	var keys []string
	require.NoError(t, c.ForEachMaster(ctx, func(ctx context.Context, node *redis.Client) error {
		found, err := node.Keys(ctx, prefix+"*").Result()
		mu.Lock()
		keys = append(keys, found...)
		mu.Unlock()
		return err
	}))
	require.Len(t, keys, 8)
	slots := map[string]int64{}
	for _, k := range keys {
		slot, err := c.ClusterKeySlot(ctx, k).Result()
		require.NoError(t, err)
		tag := k[strings.Index(k, "{")+1 : strings.Index(k, "}")]
		if old, ok := slots[tag]; ok {
			assert.Equal(t, old, slot, "keys of the family %q", tag)
		}
		slots[tag] = slot
	}
	assert.Len(t, slots, 4, "one tag per family")
}

func TestEscapeIsInjective(t *testing.T) {
	for _, s := range []string{"", "a", "%", ":", "{", "}", "%3A", "a:b{c}d%e", "%25%3A"} {
		e := redisstore.Escape(s)
		assert.NotContains(t, e, ":")
		assert.NotContains(t, e, "{")
		assert.NotContains(t, e, "}")
		back, ok := redisstore.Unescape(e)
		assert.True(t, ok)
		assert.Equal(t, s, back)
	}
	for _, bad := range []string{"%", "%2", "%zz", "a%3"} {
		_, ok := redisstore.Unescape(bad)
		assert.False(t, ok, "%q", bad)
	}
}

func TestFillSeesEarlierRevocations(t *testing.T) {
	c := newClient(t)
	ctx := context.Background()
	prefix := testPrefix()
	a := newStore(t, c, redisstore.WithPrefix(prefix))
	now := time.Now()
	iss := "https://a:b{c}%"
	require.NoError(t, a.Revoke(ctx, iss, "j:1", now.Add(time.Hour)))
	require.NoError(t, a.RevokeFamily(ctx, iss, "f}1", now.Add(time.Hour)))
	_, err := a.Rotate(ctx, iss, "f2", "r", strictUse(now.Add(time.Hour), now.Add(time.Hour)))
	require.NoError(t, err)
	_, err = a.Rotate(ctx, iss, "f2", "r", strictUse(now.Add(time.Hour), now.Add(time.Hour)))
	require.NoError(t, err)

	b := newStore(t, c, redisstore.WithPrefix(prefix))
	for _, check := range []func() (bool, error){
		func() (bool, error) { return b.IsRevoked(ctx, iss, "j:1") },
		func() (bool, error) { return b.IsFamilyRevoked(ctx, iss, "f}1") },
		func() (bool, error) { return b.IsFamilyRevoked(ctx, iss, "f2") },
	} {
		revoked, err := check()
		require.NoError(t, err)
		assert.True(t, revoked)
	}
	assert.Equal(t, 3, b.MirrorLen(), "used refresh tokens stay out of the mirror")

	other := newStore(t, c, redisstore.WithPrefix(testPrefix()))
	revoked, err := other.IsRevoked(ctx, iss, "j:1")
	require.NoError(t, err)
	assert.False(t, revoked, "another prefix sees nothing")
}

func TestExpiredEntriesLeaveTheMirror(t *testing.T) {
	c := newClient(t)
	ctx := context.Background()
	prefix := testPrefix()
	// The stores' clock stands still until the test moves it: no entry
	// ends in the mirrors before b has them all, however slow the
	// revocations. Redis counts the keys' TTLs (300 ms) in real time.
	var skew atomic.Int64
	start := time.Now()
	clock := func() time.Time { return start.Add(time.Duration(skew.Load())) }
	opts := []redisstore.Option{redisstore.WithPrefix(prefix), redisstore.WithSweepInterval(10 * time.Millisecond), redisstore.WithClock(clock)}
	a := newStore(t, c, opts...)
	b := newStore(t, c, opts...)
	for i := range 100 {
		require.NoError(t, a.Revoke(ctx, "iss", "j"+string(rune('a'+i%26))+strings.Repeat("x", i), clock().Add(300*time.Millisecond)))
	}
	eventually(t, func() bool { return b.MirrorLen() == 100 }, "b mirrors a's revocations")
	skew.Store(int64(time.Second))
	eventually(t, func() bool { return a.MirrorLen() == 0 && b.MirrorLen() == 0 }, "expired entries are swept")
	eventually(t, func() bool { return len(scanKeys(t, c, prefix)) == 0 }, "Redis expired them too")
}

func TestClosedStoreFails(t *testing.T) {
	c := newClient(t)
	ctx := context.Background()
	s := newStore(t, c, redisstore.WithPrefix(testPrefix()))
	require.NoError(t, s.Close())
	require.NoError(t, s.Close())
	_, err := s.IsRevoked(ctx, "iss", "j")
	assert.ErrorIs(t, err, redisstore.ErrClosed)
	assert.ErrorIs(t, err, jwtguard.ErrUnavailable)
	_, err = s.IsFamilyRevoked(ctx, "iss", "f")
	assert.ErrorIs(t, err, redisstore.ErrClosed)
	assert.ErrorIs(t, s.Revoke(ctx, "iss", "j", time.Now().Add(time.Hour)), redisstore.ErrClosed)
	assert.ErrorIs(t, s.RevokeFamily(ctx, "iss", "f", time.Now().Add(time.Hour)), redisstore.ErrClosed)
	_, err = s.Rotate(ctx, "iss", "f", "j", strictUse(time.Now().Add(time.Hour), time.Now().Add(time.Hour)))
	assert.ErrorIs(t, err, redisstore.ErrClosed)
	assert.ErrorIs(t, s.Ready(), redisstore.ErrClosed)
}

func TestCloseStopsEveryGoroutine(t *testing.T) {
	c := newClient(t)
	before := storeGoroutines()
	var stores []*redisstore.Store
	for range 3 {
		stores = append(stores, newStore(t, c, redisstore.WithPrefix(testPrefix())))
	}
	assert.Greater(t, storeGoroutines(), before)
	for _, s := range stores {
		require.NoError(t, s.Close())
	}
	waitNoStoreGoroutines(t, before)
}

// storeGoroutines counts the goroutines running code of this package.
func storeGoroutines() int {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	count := 0
	for _, g := range strings.Split(string(buf), "\n\n") {
		if strings.Contains(g, "jwtguard/redisstore.(*Store)") {
			count++
		}
	}
	return count
}

// waitNoStoreGoroutines polls until no more goroutines of the package run
// than before, for hangGuard at most.
func waitNoStoreGoroutines(t testing.TB, before int) {
	t.Helper()
	deadline := time.Now().Add(hangGuard)
	for storeGoroutines() > before {
		if time.Now().After(deadline) {
			t.Fatalf("%d goroutines of redisstore left, %d before", storeGoroutines(), before)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
