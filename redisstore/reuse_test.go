package redisstore_test

import (
	"context"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jwtguard/jwtguard"
	"github.com/jwtguard/jwtguard/redisstore"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The tests of this file check the reuse interval of refresh tokens on
// Redis: a replay within it gets a pair of the family, atomically on one
// node, a Cluster and a Ring; a replay after it revokes the family; and a
// refresh or logout answered 503 while Redis stalled succeeds when the
// client retries it.

// testClock is a clock tests move by hand, safe for concurrent use. It
// starts at the current time, so that the keys' TTLs in Redis are sane.
type testClock struct{ now atomic.Int64 }

func newTestClock() *testClock {
	c := &testClock{}
	c.now.Store(time.Now().UnixNano())
	return c
}

func (c *testClock) Now() time.Time          { return time.Unix(0, c.now.Load()) }
func (c *testClock) Advance(d time.Duration) { c.now.Add(int64(d)) }

// clockedFleet returns a fleet whose issuer runs on clock, with the default
// reuse interval, and the store option that puts a store on it.
func clockedFleet(t testing.TB, clock *testClock) (fleet, redisstore.Option) {
	t.Helper()
	issuer, err := jwtguard.NewIssuer(jwtguard.IssuerConfig{
		Key:    jwtguard.Key{ID: "k1", Algorithm: "HS256", Key: testSecret},
		Issuer: testIssuer,
		Clock:  clock.Now,
	})
	require.NoError(t, err)
	return fleet{issuer: issuer}, redisstore.WithClock(clock.Now)
}

// mint issues a pair of a new family.
func (f fleet) mint(t testing.TB, subject string) *jwtguard.TokenPair {
	t.Helper()
	pair, err := f.issuer.Issue(context.Background(), subject, nil)
	require.NoError(t, err)
	return pair
}

func TestRotateReuseInterval(t *testing.T) {
	c := newClient(t)
	ctx := context.Background()
	prefix := testPrefix()
	clock := newTestClock()
	s := newStore(t, c, redisstore.WithPrefix(prefix), redisstore.WithClock(clock.Now))
	now := clock.Now()
	const iss, interval = testIssuer, 10 * time.Second
	use := func(at, d time.Duration) jwtguard.RefreshUse {
		return jwtguard.RefreshUse{At: now.Add(at), ReuseInterval: d, TokenUntil: now.Add(time.Hour), FamilyUntil: now.Add(2 * time.Hour)}
	}
	steps := []struct {
		name    string
		family  string
		jti     string
		use     jwtguard.RefreshUse
		want    jwtguard.Rotation
		revoked bool // family revoked afterwards
	}{
		{"first use", "f1", "r1", use(0, interval), jwtguard.RotationOK, false},
		{"replay at once", "f1", "r1", use(0, interval), jwtguard.RotationReplayed, false},
		{"replay just inside", "f1", "r1", use(interval-time.Millisecond, interval), jwtguard.RotationReplayed, false},
		{"replay from a clock a little behind", "f1", "r1", use(-interval+time.Millisecond, interval), jwtguard.RotationReplayed, false},
		{"next token of the family", "f1", "r2", use(time.Second, interval), jwtguard.RotationOK, false},
		{"replay at the interval's end is reuse", "f1", "r1", use(interval, interval), jwtguard.RotationReused, true},
		{"then a replay within its own interval is refused", "f1", "r2", use(time.Second, interval), jwtguard.RotationRevoked, true},
		{"strict: first use", "f2", "r1", use(0, 0), jwtguard.RotationOK, false},
		{"strict: a second use at once is reuse", "f2", "r1", use(0, 0), jwtguard.RotationReused, true},
		{"first use an hour on", "f3", "r1", use(time.Hour, interval), jwtguard.RotationOK, false},
		{"a use an interval before the first use is reuse", "f3", "r1", use(time.Hour-interval, interval), jwtguard.RotationReused, true},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			got, err := s.Rotate(ctx, iss, st.family, st.jti, st.use)
			require.NoError(t, err)
			assert.Equal(t, st.want, got, got.String())
			revoked, err := s.IsFamilyRevoked(ctx, iss, st.family)
			require.NoError(t, err)
			assert.Equal(t, st.revoked, revoked)
		})
	}

	// The used key holds the first use's time, on the caller's clock, and
	// ends with the token.
	key := usedKey(prefix, iss, "f1", "r1")
	v, err := c.Get(ctx, key).Result()
	require.NoError(t, err)
	assert.Equal(t, "first:"+strconv.FormatInt(now.UnixMilli(), 10), v)
	ttl, err := c.PTTL(ctx, key).Result()
	require.NoError(t, err)
	assert.Greater(t, ttl, time.Duration(0))
	assert.LessOrEqual(t, ttl, time.Hour)

	// A used key written by an older version holds its end, not a first
	// use: any second use is reuse.
	require.NoError(t, c.Set(ctx, usedKey(prefix, iss, "f4", "r1"), strconv.FormatInt(now.UnixMilli(), 10), time.Hour).Err())
	got, err := s.Rotate(ctx, iss, "f4", "r1", use(0, interval))
	require.NoError(t, err)
	assert.Equal(t, jwtguard.RotationReused, got)
}

// requireSiblings sends n refreshes with pair's refresh token at once,
// spread over ins, while the clock stands still: every one gets 200 and a
// pair of pair's family. A logout on one instance with one of those pairs
// then ends every pair handed out, on every instance, each within the
// given time.
func requireSiblings(t testing.TB, ins []*instance, pair *jwtguard.TokenPair, n int, within time.Duration) {
	t.Helper()
	type result struct {
		status int
		tok    tokens
		err    error
	}
	results := make([]result, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			<-start
			status, tok, err := ins[i%len(ins)].refresh(pair.RefreshToken)
			results[i] = result{status, tok, err}
		})
	}
	close(start)
	wg.Wait()

	_, fid := claimIDs(t, pair.RefreshToken)
	for i, r := range results {
		require.NoError(t, r.err, "refresh %d", i)
		require.Equal(t, http.StatusOK, r.status, "refresh %d on %s (503 reason: %q)", i, ins[i%len(ins)].name, ins[i%len(ins)].reason())
		_, got := claimIDs(t, r.tok.RefreshToken)
		require.Equal(t, fid, got, "refresh %d: one family", i)
	}

	require.Equal(t, http.StatusNoContent, ins[0].logout(t, results[n/2].tok.AccessToken))
	for _, in := range ins {
		waitStatus(t, in, pair.AccessToken, http.StatusUnauthorized, within)
		for _, r := range results {
			waitStatus(t, in, r.tok.AccessToken, http.StatusUnauthorized, within)
		}
	}
	for i, r := range results {
		in := ins[i%len(ins)]
		status, _, err := in.refresh(r.tok.RefreshToken)
		require.NoError(t, err)
		assert.Equal(t, http.StatusUnauthorized, status, "refresh token %d on %s", i, in.name)
	}
}

// requireReuseAfterInterval refreshes pair's refresh token on one
// instance, moves clock past the reuse interval and replays it on another:
// reuse, which revokes the family on every instance within the given
// time.
func requireReuseAfterInterval(t testing.TB, ins []*instance, clock *testClock, pair *jwtguard.TokenPair, within time.Duration) {
	t.Helper()
	status, won, err := ins[0].refresh(pair.RefreshToken)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, status)
	clock.Advance(jwtguard.DefaultReuseInterval)
	replayOn := ins[len(ins)-1]
	status, _, err = replayOn.refresh(pair.RefreshToken)
	require.NoError(t, err)
	require.Equal(t, http.StatusUnauthorized, status, "a replay after the interval on %s", replayOn.name)
	requireReuseRevokedEverywhere(t, ins, pair, won, within)
}

func TestReuseIntervalOverThreeInstances(t *testing.T) {
	needRedis(t)
	clock := newTestClock()
	f, onClock := clockedFleet(t, clock)
	ins := newInstancesWith(t, singleNode(redis.Options{Addr: redisAddr}), testPrefix(), 3, f, onClock)
	requireSiblings(t, ins, f.mint(t, "alice"), 200, enforceWithin)
	requireReuseAfterInterval(t, ins, clock, f.mint(t, "bob"), enforceWithin)
}

func TestClusterReuseIntervalOverThreeInstances(t *testing.T) {
	prefix := testPrefix()
	clock := newTestClock()
	f, onClock := clockedFleet(t, clock)
	// One family per master, whose keys land there.
	familyOn := func(p *jwtguard.TokenPair) string {
		_, fid := claimIDs(t, p.RefreshToken)
		return familyKey(prefix, testIssuer, fid)
	}
	ins, masters, pairs := instancesOnCluster(t, prefix, f, familyOn, onClock)
	c := newClusterClient(t, needCluster(t))
	l, _ := layoutOf(t, c)
	later := pairsOnEveryMaster(t, c, l, f.issuer, familyOn)
	for _, m := range masters {
		t.Run("family on "+m, func(t *testing.T) {
			requireSiblings(t, ins, pairs[m], 200, clusterEnforceWithin)
			jti, fid := claimIDs(t, pairs[m].RefreshToken)
			requireKeyOn(t, m, usedKey(prefix, testIssuer, fid, jti))
			requireReuseAfterInterval(t, ins, clock, later[m], clusterEnforceWithin)
			requireKeyOn(t, m, familyKey(prefix, testIssuer, fid))
		})
	}
}

func TestRingReuseIntervalOverThreeInstances(t *testing.T) {
	newRing, _ := startRing(t)
	clock := newTestClock()
	f, onClock := clockedFleet(t, clock)
	dial := func() redis.UniversalClient { return newRing() }
	ins := newInstancesWith(t, dial, testPrefix(), 3, f, onClock)
	requireSiblings(t, ins, f.mint(t, "alice"), 200, enforceWithin)
	requireReuseAfterInterval(t, ins, clock, f.mint(t, "bob"), enforceWithin)
}

// stalledRedis is a redis-server of the test's own, with one instance on it
// whose client gives up on a command after a short read timeout (retrying
// it, as go-redis does by default), and a client of its own to look at the
// keys.
type stalledRedis struct {
	srv    *redisServer
	in     *instance
	f      fleet
	clock  *testClock
	prefix string
	peek   *redis.Client
	mu     sync.Mutex
	frozen bool
}

func newStalledRedis(t *testing.T) *stalledRedis {
	t.Helper()
	needRedis(t)
	if externalRedis {
		t.Skip("!!! SKIPPED: REDIS_ADDR is set; this test stops a redis-server of its own")
	}
	srv, err := startRedis(t.TempDir(), 0, false)
	require.NoError(t, err)
	s := &stalledRedis{srv: srv, clock: newTestClock(), prefix: testPrefix()}
	t.Cleanup(func() {
		s.stall(false)
		srv.stop()
	})
	var onClock redisstore.Option
	s.f, onClock = clockedFleet(t, s.clock)
	// A stalled Redis makes commands time out: after a second, far more
	// than a command to a running Redis takes even on a loaded machine.
	copts := redis.Options{Addr: srv.addr, ReadTimeout: time.Second, WriteTimeout: time.Second}
	s.in = newInstancesWith(t, singleNode(copts), s.prefix, 1, s.f, onClock)[0]
	s.peek = newNodeClient(t, srv.addr)

	// A refresh and a logout before the stall load the scripts into Redis
	// and leave a connection in the pool, as on a service that runs.
	status, _, err := s.in.refresh(s.f.mint(t, "warm-up").RefreshToken)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, status)
	require.Equal(t, http.StatusNoContent, s.in.logout(t, s.f.mint(t, "warm-up").AccessToken))
	return s
}

// stall stops (SIGSTOP) or resumes (SIGCONT) the redis-server: stopped, it
// keeps its connections open and queues what clients send.
func (s *stalledRedis) stall(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.frozen == on {
		return
	}
	sig := syscall.SIGCONT
	if on {
		sig = syscall.SIGSTOP
	}
	if err := s.srv.cmd.Process.Signal(sig); err == nil {
		s.frozen = on
	}
}

// waitKey waits until key exists: a command queued during the stall was
// applied.
func (s *stalledRedis) waitKey(t *testing.T, key, what string) {
	t.Helper()
	eventually(t, func() bool {
		n, err := s.peek.Exists(context.Background(), key).Result()
		return err == nil && n == 1
	}, what)
}

// waitReady waits until the instance's mirror is confirmed again after the
// stall.
func (s *stalledRedis) waitReady(t *testing.T) {
	t.Helper()
	eventually(t, func() bool { return s.in.store.Ready() == nil }, "mirror confirmed after the stall")
}

// TestStalledRedisRefreshRetry: Redis stops while a refresh is in flight.
// The handler answers 503 once the client's read timeout has passed (and
// its retries), while the rotation waits in Redis's socket buffer; Redis
// resumes and applies it. The client retries with the same refresh token,
// within the reuse interval: 200, and the access token it held still
// works.
func TestStalledRedisRefreshRetry(t *testing.T) {
	s := newStalledRedis(t)
	pair := s.f.mint(t, "alice")
	jti, fid := claimIDs(t, pair.RefreshToken)

	s.stall(true)
	status, _, err := s.in.refresh(pair.RefreshToken)
	require.NoError(t, err)
	require.Equal(t, http.StatusServiceUnavailable, status, "Redis is stopped")
	s.stall(false)
	s.waitKey(t, usedKey(s.prefix, testIssuer, fid, jti), "the rotation queued during the stall")

	// The client waits a little before it retries. A stall longer than the
	// staleness bound (a slow machine makes it so) leaves the mirror stale
	// until the store has confirmed it again, and a retry before that gets
	// 503 once more: retry once it is.
	s.clock.Advance(time.Second)
	s.waitReady(t)
	status, next, err := s.in.refresh(pair.RefreshToken)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, status, "the retry within the reuse interval")
	_, nextFID := claimIDs(t, next.RefreshToken)
	assert.Equal(t, fid, nextFID)
	assert.Equal(t, http.StatusOK, s.in.me(t, pair.AccessToken), "the original access token")
	assert.Equal(t, http.StatusOK, s.in.me(t, next.AccessToken))
	status, _, err = s.in.refresh(next.RefreshToken)
	require.NoError(t, err)
	assert.Equal(t, http.StatusOK, status, "the new refresh token rotates")
}

// TestStalledRedisLogoutRetry: Redis stops while a logout is in flight;
// the handler answers 503, the family's revocation waits in Redis's socket
// buffer and is applied when Redis resumes. The client retries the logout
// with the same token: 204, and everything is revoked.
func TestStalledRedisLogoutRetry(t *testing.T) {
	s := newStalledRedis(t)
	pair := s.f.mint(t, "alice")
	accessJTI, fid := claimIDs(t, pair.AccessToken)

	s.stall(true)
	require.Equal(t, http.StatusServiceUnavailable, s.in.logout(t, pair.AccessToken), "Redis is stopped")
	s.stall(false)
	s.waitKey(t, familyKey(s.prefix, testIssuer, fid), "the family's revocation, sent first, queued during the stall")

	s.clock.Advance(time.Second)
	s.waitReady(t) // as in TestStalledRedisRefreshRetry
	require.Equal(t, http.StatusNoContent, s.in.logout(t, pair.AccessToken), "the retry")
	n, err := s.peek.Exists(context.Background(), tokenKey(s.prefix, testIssuer, accessJTI), familyKey(s.prefix, testIssuer, fid)).Result()
	require.NoError(t, err)
	assert.EqualValues(t, 2, n, "the access token and its family are revoked")
	assert.Equal(t, http.StatusUnauthorized, s.in.me(t, pair.AccessToken))
	status, _, err := s.in.refresh(pair.RefreshToken)
	require.NoError(t, err)
	assert.Equal(t, http.StatusUnauthorized, status)
}
