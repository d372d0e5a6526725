package jwtguard_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/jwtguard/jwtguard"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// cacheCounts counts the events of a cache through its hooks.
type cacheCounts struct{ hits, misses, evictions atomic.Int64 }

func (c *cacheCounts) hooks() jwtguard.CacheOption {
	return jwtguard.CacheWithHooks(jwtguard.CacheHooks{
		OnHit:   func() { c.hits.Add(1) },
		OnMiss:  func() { c.misses.Add(1) },
		OnEvict: func() { c.evictions.Add(1) },
	})
}

func (c *cacheCounts) get() [3]int64 {
	return [3]int64{c.hits.Load(), c.misses.Load(), c.evictions.Load()}
}

// cachedVerifier is an HS256 verifier with a cache of n entries, on clock.
func cachedVerifier(t *testing.T, n int, clock func() time.Time, counts *cacheCounts, opts ...jwtguard.Option) *jwtguard.Middleware {
	t.Helper()
	cacheOpts := []jwtguard.CacheOption{}
	if counts != nil {
		cacheOpts = append(cacheOpts, counts.hooks())
	}
	all := append([]jwtguard.Option{jwtguard.WithKey("HS256", secret256), jwtguard.WithClock(clock),
		jwtguard.WithCache(n, cacheOpts...)}, opts...)
	mw, err := jwtguard.New(all...)
	require.NoError(t, err)
	return mw
}

func TestCacheServesRepeatedTokenWithTheSameClaims(t *testing.T) {
	var counts cacheCounts
	mw := cachedVerifier(t, 64, fixedClock, &counts)
	plain := newVerifier(t, hsOpts()...)
	token := hs256(t, validClaims())

	want, err := plain.Verify(t.Context(), token)
	require.NoError(t, err)
	for i := range 3 {
		got, err := mw.Verify(t.Context(), token)
		require.NoError(t, err, "request %d", i)
		assert.Equal(t, want, got, "request %d", i)
	}
	assert.Equal(t, [3]int64{2, 1, 0}, counts.get(), "hits, misses, evictions")
	assert.Equal(t, jwtguard.CacheStats{Entries: 1, Capacity: 64}, mw.CacheStats())
	assert.Equal(t, jwtguard.CacheStats{}, plain.CacheStats())
}

func TestCacheRefusesAfterExpiry(t *testing.T) {
	exp := testNow.Add(30 * time.Minute)
	cases := []struct {
		name    string
		leeway  time.Duration
		cacheAt time.Time // first, cached, verification
		okAt    time.Time // still served from the cache
		failAt  time.Time // refused
	}{
		{name: "a second before exp", cacheAt: exp.Add(-time.Second), okAt: exp.Add(-time.Millisecond), failAt: exp},
		{name: "long before exp", cacheAt: testNow, okAt: exp.Add(-time.Second), failAt: exp.Add(time.Second)},
		{name: "within the leeway", leeway: time.Minute, cacheAt: exp.Add(-time.Second),
			okAt: exp.Add(59 * time.Second), failAt: exp.Add(time.Minute)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			clock := &testClock{now: tc.cacheAt}
			var counts cacheCounts
			mw := cachedVerifier(t, 16, clock.Now, &counts, jwtguard.WithLeeway(tc.leeway))
			token := hs256(t, validClaims())

			_, err := mw.Verify(t.Context(), token)
			require.NoError(t, err)
			clock.Advance(tc.okAt.Sub(tc.cacheAt))
			_, err = mw.Verify(t.Context(), token)
			require.NoError(t, err)
			assert.Equal(t, int64(1), counts.hits.Load())

			clock.Advance(tc.failAt.Sub(tc.okAt))
			claims, err := mw.Verify(t.Context(), token)
			assertVerdict(t, token, claims, err, isExpired)
			assert.Equal(t, 0, mw.CacheStats().Entries, "an expired entry is dropped")
			assert.Equal(t, int64(1), counts.evictions.Load())
			claims, err = mw.Verify(t.Context(), token)
			assertVerdict(t, token, claims, err, isExpired)
		})
	}
}

func TestCacheRechecksNotBeforeWhenTheClockGoesBack(t *testing.T) {
	clock := newTestClock()
	mw := cachedVerifier(t, 16, clock.Now, nil)
	token := hs256(t, validClaims()) // nbf and iat one minute before testNow
	_, err := mw.Verify(t.Context(), token)
	require.NoError(t, err)
	clock.Advance(-2 * time.Minute)
	claims, err := mw.Verify(t.Context(), token)
	assertVerdict(t, token, claims, err, isNotYetValid)
}

func TestCacheRechecksRevocation(t *testing.T) {
	withFamily := validClaims()
	withFamily["fid"] = "family-1"
	cases := []struct {
		name   string
		claims jwt.MapClaims
		revoke func(t *testing.T, s jwtguard.Store)
	}{
		{name: "token revoked", claims: validClaims(), revoke: func(t *testing.T, s jwtguard.Store) {
			require.NoError(t, s.Revoke(t.Context(), "https://issuer.test", "jti-1", testNow.Add(time.Hour)))
		}},
		{name: "family revoked", claims: withFamily, revoke: func(t *testing.T, s jwtguard.Store) {
			require.NoError(t, s.RevokeFamily(t.Context(), "https://issuer.test", "family-1", testNow.Add(time.Hour)))
		}},
		{name: "subject revoked", claims: validClaims(), revoke: func(t *testing.T, s jwtguard.Store) {
			// iat is a minute before testNow.
			require.NoError(t, s.RevokeSubject(t.Context(), "https://issuer.test", "user-1", testNow, testNow.Add(time.Hour)))
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			store, err := jwtguard.NewMemoryStore(jwtguard.MemoryStoreClock(fixedClock))
			require.NoError(t, err)
			t.Cleanup(func() { _ = store.Close() })
			var counts cacheCounts
			mw := cachedVerifier(t, 16, fixedClock, &counts, jwtguard.WithStore(store))
			token := hs256(t, tc.claims)

			for range 2 {
				_, err = mw.Verify(t.Context(), token)
				require.NoError(t, err)
			}
			tc.revoke(t, store)
			_, err = mw.Verify(t.Context(), token)
			require.ErrorIs(t, err, jwtguard.ErrRevoked)
			assert.Equal(t, [3]int64{2, 1, 0}, counts.get(), "refused on a hit")
		})
	}
}

func TestCacheRechecksStoreFailure(t *testing.T) {
	mw := cachedVerifier(t, 16, fixedClock, nil)
	token := hs256(t, validClaims())
	_, err := mw.Verify(t.Context(), token)
	require.NoError(t, err)
	// With a failing store nothing is cached: every request fails closed.
	failing := cachedVerifier(t, 16, fixedClock, nil, jwtguard.WithStore(failingStore{}))
	for range 2 {
		_, err = failing.Verify(t.Context(), token)
		require.ErrorIs(t, err, jwtguard.ErrUnavailable)
	}
}

func TestCacheDropsResultsOfRemovedKeys(t *testing.T) {
	k1, k2, k3 := ecKey(t, "k1"), ecKey(t, "k2"), ecKey(t, "k3")
	ks, err := jwtguard.NewKeySet(k1, k2)
	require.NoError(t, err)
	var counts cacheCounts
	mw, err := jwtguard.New(jwtguard.WithKeySet(ks), jwtguard.WithClock(fixedClock),
		jwtguard.WithCache(16, counts.hooks()))
	require.NoError(t, err)
	tok1, tok2 := tokenFor(t, k1), tokenFor(t, k2)
	verify := func(token string) error { _, err := mw.Verify(t.Context(), token); return err }

	require.NoError(t, verify(tok1))
	require.NoError(t, verify(tok2))
	require.Equal(t, [3]int64{0, 2, 0}, counts.get())

	// Adding or rotating keys keeps every result.
	require.NoError(t, ks.Add(k3))
	require.NoError(t, ks.Rotate(k3))
	require.NoError(t, verify(tok1))
	require.NoError(t, verify(tok2))
	assert.Equal(t, [3]int64{2, 2, 0}, counts.get(), "served from the cache")

	// Removing k2 takes its result with it, and only its.
	require.NoError(t, ks.Remove("k2"))
	require.NoError(t, verify(tok1))
	require.ErrorIs(t, verify(tok2), jwtguard.ErrUnknownKey)
	assert.Equal(t, [3]int64{3, 3, 1}, counts.get())

	// A key that comes back under the same kid with other material does
	// not verify what the old one did.
	require.NoError(t, ks.Remove("k1"))
	other := ecKey(t, "k1")
	require.NoError(t, ks.Add(other))
	require.ErrorIs(t, verify(tok1), jwtguard.ErrSignature)
	require.NoError(t, verify(tokenFor(t, other)))
}

func TestCacheDropsResultsOfKeysGoneFromJWKS(t *testing.T) {
	k1, k2 := ecKey(t, "k1"), ecKey(t, "k2")
	var doc atomic.Pointer[[]byte]
	set := func(keys ...jwtguard.Key) { d := jwksDoc(t, keys...); doc.Store(&d) }
	set(k1, k2)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(*doc.Load())
	}))
	t.Cleanup(srv.Close)
	jwks, err := jwtguard.NewJWKS(t.Context(), srv.URL, []string{"ES256"}, jwtguard.WithJWKSInsecureHTTP(),
		jwtguard.WithJWKSRefetchInterval(time.Hour))
	require.NoError(t, err)
	t.Cleanup(func() { _ = jwks.Close() })
	require.NoError(t, jwks.Refresh(t.Context()))
	var counts cacheCounts
	mw, err := jwtguard.New(jwtguard.WithJWKS(jwks), jwtguard.WithClock(fixedClock),
		jwtguard.WithCache(16, counts.hooks()))
	require.NoError(t, err)
	tok1, tok2 := tokenFor(t, k1), tokenFor(t, k2)
	for _, tok := range []string{tok1, tok2, tok1, tok2} {
		_, err := mw.Verify(t.Context(), tok)
		require.NoError(t, err)
	}
	require.Equal(t, [3]int64{2, 2, 0}, counts.get())

	set(k1)
	require.NoError(t, jwks.Refresh(t.Context()))
	require.False(t, jwks.Contains("k2"))
	_, err = mw.Verify(t.Context(), tok1)
	require.NoError(t, err)
	_, err = mw.Verify(t.Context(), tok2)
	require.ErrorIs(t, err, jwtguard.ErrUnknownKey)
	assert.Equal(t, [3]int64{3, 3, 1}, counts.get())
}

func TestCacheStaysWithinItsBoundUnderAFlood(t *testing.T) {
	cases := []struct {
		name     string
		entries  int
		capacity int
	}{
		{name: "64 entries", entries: 64, capacity: 64},
		{name: "100 entries round down", entries: 100, capacity: 96},
		{name: "5 entries, one set", entries: 5, capacity: 5},
		{name: "1 entry", entries: 1, capacity: 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var counts cacheCounts
			mw := cachedVerifier(t, tc.entries, fixedClock, &counts)
			const n = 2000
			for i := range n {
				c := validClaims()
				c["jti"] = fmt.Sprintf("flood-%d", i)
				_, err := mw.Verify(t.Context(), hs256(t, c))
				require.NoError(t, err)
				if i%100 == 0 {
					require.LessOrEqual(t, mw.CacheStats().Entries, tc.capacity)
				}
			}
			st := mw.CacheStats()
			assert.Equal(t, tc.capacity, st.Capacity)
			assert.LessOrEqual(t, st.Entries, tc.capacity)
			assert.Greater(t, st.Entries, 0)
			got := counts.get()
			assert.Equal(t, int64(n), got[1], "every distinct token misses")
			assert.Equal(t, int64(n)-int64(st.Entries), got[2], "what is not held was evicted")
		})
	}
}

func TestCacheKeepsRecentlyUsedTokens(t *testing.T) {
	// One set of 8: a token used between insertions survives a flood of
	// tokens seen once, thanks to its second chance.
	var counts cacheCounts
	mw := cachedVerifier(t, 8, fixedClock, &counts)
	hot := hs256(t, validClaims())
	for i := range 100 {
		_, err := mw.Verify(t.Context(), hot)
		require.NoError(t, err)
		c := validClaims()
		c["jti"] = fmt.Sprintf("cold-%d", i)
		_, err = mw.Verify(t.Context(), hs256(t, c))
		require.NoError(t, err)
	}
	assert.Equal(t, int64(99), counts.hits.Load(), "the hot token missed only once")
}

func TestCacheSkipsLargeTokens(t *testing.T) {
	var counts cacheCounts
	mw, err := jwtguard.New(jwtguard.WithKey("HS256", secret256), jwtguard.WithClock(fixedClock),
		jwtguard.WithCache(16, jwtguard.CacheMaxTokenSize(300), counts.hooks()))
	require.NoError(t, err)
	c := validClaims()
	c["pad"] = string(make([]byte, 300))
	big := hs256(t, c)
	require.Greater(t, len(big), 300)
	for range 3 {
		_, err := mw.Verify(t.Context(), big)
		require.NoError(t, err)
	}
	assert.Equal(t, [3]int64{0, 3, 0}, counts.get())
	assert.Zero(t, mw.CacheStats().Entries)
}

func TestCacheHandsOutClaimsOfTheirOwn(t *testing.T) {
	c := validClaims()
	c["aud"] = []string{"api.test", "other"}
	c["roles"] = []string{"reader", "writer"}
	token := hs256(t, c)
	mw := cachedVerifier(t, 16, fixedClock, nil)

	var first *jwtguard.Claims
	for i := range 3 {
		got, err := mw.Verify(t.Context(), token)
		require.NoError(t, err)
		claims := got.(*jwtguard.Claims)
		require.Equal(t, "user-1", claims.Subject, "request %d", i)
		require.Equal(t, []string{"reader", "writer"}, claims.Roles, "request %d", i)
		require.Equal(t, jwt.ClaimStrings{"api.test", "other"}, claims.Audience, "request %d", i)
		require.Equal(t, testNow.Add(30*time.Minute).Unix(), claims.ExpiresAt.Unix(), "request %d", i)
		if first != nil {
			assert.NotSame(t, first, claims)
		}
		first = claims
		// Every mutation a handler could make.
		claims.Subject = "mallory"
		claims.Roles[0] = "admin"
		claims.Roles = append(claims.Roles, "root")
		claims.Audience[1] = "changed"
		claims.Audience = append(claims.Audience, "more")
		claims.ExpiresAt.Time = claims.ExpiresAt.Add(24 * time.Hour)
		claims.IssuedAt = nil
	}
}

// claimsWithClone has a Clone method, which the cache uses.
type claimsWithClone struct {
	jwtguard.Claims
	Extra []string `json:"extra"`
}

var clones atomic.Int64

func (c *claimsWithClone) Clone() *claimsWithClone {
	clones.Add(1)
	return &claimsWithClone{Claims: *c.Claims.Clone(), Extra: append([]string(nil), c.Extra...)}
}

// claimsNoClone has none: the cache decodes it again on each hit.
type claimsNoClone struct {
	jwtguard.Claims
	Extra map[string]string `json:"extra_map"`
}

func TestCacheHandsOutCustomClaimsOfTheirOwn(t *testing.T) {
	c := validClaims()
	c["extra"] = []string{"a", "b"}
	c["extra_map"] = map[string]string{"k": "v"}
	token := hs256(t, c)

	t.Run("with Clone", func(t *testing.T) {
		mw := cachedVerifier(t, 16, fixedClock, nil, jwtguard.WithClaimsType[claimsWithClone]())
		before := clones.Load()
		for i := range 3 {
			got, err := mw.Verify(t.Context(), token)
			require.NoError(t, err)
			claims := got.(*claimsWithClone)
			require.Equal(t, []string{"a", "b"}, claims.Extra, "request %d", i)
			require.Equal(t, []string{"reader"}, claims.Roles, "request %d", i)
			claims.Extra[0] = "changed"
			claims.Roles[0] = "admin"
		}
		assert.Equal(t, int64(3), clones.Load()-before, "one copy to keep, then one per hit")
	})
	t.Run("without Clone", func(t *testing.T) {
		mw := cachedVerifier(t, 16, fixedClock, nil, jwtguard.WithClaimsType[claimsNoClone]())
		for i := range 3 {
			got, err := mw.Verify(t.Context(), token)
			require.NoError(t, err)
			claims := got.(*claimsNoClone)
			require.Equal(t, map[string]string{"k": "v"}, claims.Extra, "request %d", i)
			claims.Extra["k"] = "changed"
		}
	})
}

func TestClaimsClone(t *testing.T) {
	exp := jwt.NewNumericDate(testNow)
	c := &jwtguard.Claims{RegisteredClaims: jwt.RegisteredClaims{Subject: "s", Audience: jwt.ClaimStrings{"a"},
		ExpiresAt: exp}, Roles: []string{"r"}, Scope: "x"}
	d := c.Clone()
	require.Equal(t, c, d)
	d.Roles[0], d.Audience[0] = "changed", "changed"
	d.ExpiresAt.Time = time.Time{}
	assert.Equal(t, "r", c.Roles[0])
	assert.Equal(t, "a", c.Audience[0])
	assert.Equal(t, testNow, c.ExpiresAt.Time)
	assert.Nil(t, (*jwtguard.Claims)(nil).Clone())
	empty := (&jwtguard.Claims{Roles: []string{}}).Clone()
	assert.NotNil(t, empty.Roles, "an empty list stays empty, not nil")
	assert.Nil(t, empty.Audience)
}

func TestCacheStillAppliesCSRFAndRouteRequirements(t *testing.T) {
	mw := cachedVerifier(t, 16, fixedClock, nil, jwtguard.WithExtractors(jwtguard.Cookie("token")))
	token := hs256(t, validClaims())
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) })
	h := mw.Handler(ok)
	admin := mw.RequireRole("admin")(ok)
	request := func(method string, crossSite bool) *http.Request {
		r := httptest.NewRequest(method, "http://api.test/", nil)
		r.AddCookie(&http.Cookie{Name: "token", Value: token})
		r.Header.Set("X-Requested-With", "fetch")
		if crossSite {
			r.Header.Set("Sec-Fetch-Site", "cross-site")
		}
		return r
	}
	for i := range 2 { // the second round is served from the cache
		w := httptest.NewRecorder()
		h.ServeHTTP(w, request(http.MethodPost, false))
		assert.Equal(t, http.StatusNoContent, w.Code, "round %d", i)
		w = httptest.NewRecorder()
		h.ServeHTTP(w, request(http.MethodPost, true))
		assert.Equal(t, http.StatusForbidden, w.Code, "round %d: CSRF", i)
		w = httptest.NewRecorder()
		admin.ServeHTTP(w, request(http.MethodGet, false))
		assert.Equal(t, http.StatusForbidden, w.Code, "round %d: role", i)
	}
}

func TestCacheConfiguration(t *testing.T) {
	cases := []struct {
		name string
		opt  jwtguard.Option
		want string
	}{
		{name: "no entries", opt: jwtguard.WithCache(0), want: "WithCache: 0 entries"},
		{name: "negative", opt: jwtguard.WithCache(-1), want: "WithCache: -1 entries"},
		{name: "tiny token size", opt: jwtguard.WithCache(8, jwtguard.CacheMaxTokenSize(10)), want: "token size 10"},
		{name: "huge token size", opt: jwtguard.WithCache(8, jwtguard.CacheMaxTokenSize(1<<20)), want: "token size 1048576"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := jwtguard.New(jwtguard.WithKey("HS256", secret256), tc.opt)
			require.ErrorIs(t, err, jwtguard.ErrInvalidConfig)
			assert.Contains(t, err.Error(), tc.want)
		})
	}
	_, err := jwtguard.New(jwtguard.WithKey("HS256", secret256), jwtguard.WithCache(8, nil))
	assert.NoError(t, err, "a nil CacheOption is ignored")
}

func TestCacheHitAllocatesOnlyTheClaims(t *testing.T) {
	mw := cachedVerifier(t, 16, fixedClock, nil)
	token := hs256(t, validClaims())
	_, err := mw.Verify(t.Context(), token)
	require.NoError(t, err)
	allocs := testing.AllocsPerRun(50, func() { _, _ = mw.Verify(t.Context(), token) })
	assert.Equal(t, 1.0, allocs)
}

// TestCachedRequestAllocations pins what a cached hit costs through the
// whole chain: the claims with the context that carries them (one
// allocation) and the request's copy (r.WithContext). test.sh runs it
// without the race detector.
func TestCachedRequestAllocations(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts through sync.Pool are random under -race")
	}
	mw := cachedVerifier(t, 16, fixedClock, nil, jwtguard.WithInsecureNoRevocationCheck())
	var sub string
	h := mw.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, ok := jwtguard.FromContext(r.Context())
		if ok {
			sub = c.Subject
		}
	}))
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	r.Header.Set("Authorization", "Bearer "+hs256(t, validClaims()))
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	require.Equal(t, http.StatusOK, w.Code)
	require.NotEmpty(t, sub)
	assert.Equal(t, 2.0, testing.AllocsPerRun(50, func() { h.ServeHTTP(w, r) }))
}

// TestCacheUnderParallelLoad is for -race: many goroutines verify, mutate
// their claims and evict each other's entries at once.
func TestCacheUnderParallelLoad(t *testing.T) {
	var counts cacheCounts
	clock := newTestClock()
	mw := cachedVerifier(t, 16, clock.Now, &counts)
	tokens := make([]string, 40)
	for i := range tokens {
		c := validClaims()
		c["jti"] = fmt.Sprintf("p-%d", i)
		c["roles"] = []string{fmt.Sprintf("role-%d", i)}
		tokens[i] = hs256(t, c)
	}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 500 {
				n := (g*7 + i) % len(tokens)
				if i%3 == 0 {
					n %= 4 // a few hot tokens
				}
				got, err := mw.Verify(t.Context(), tokens[n])
				if !assert.NoError(t, err) {
					return
				}
				claims := got.(*jwtguard.Claims)
				if !assert.Equal(t, []string{fmt.Sprintf("role-%d", n)}, claims.Roles) {
					return
				}
				claims.Roles[0] = "changed"
				claims.Subject = "changed"
			}
		}()
	}
	wg.Wait()
	got := counts.get()
	assert.Equal(t, int64(8*500), got[0]+got[1])
	assert.Positive(t, got[0])
	assert.LessOrEqual(t, mw.CacheStats().Entries, 16)
}

// claimsNilClone's Clone returns nil on every second call (a counter
// shared by its tests, which run one after the other): on the copy kept at
// insertion or on a hit.
type claimsNilClone struct {
	jwtguard.Claims
	Extra []string `json:"extra"`
}

var nilCloneCalls atomic.Int64

func (c *claimsNilClone) Clone() *claimsNilClone {
	if nilCloneCalls.Add(1)%2 == 0 {
		return nil
	}
	return &claimsNilClone{Claims: *c.Claims.Clone(), Extra: append([]string(nil), c.Extra...)}
}

// TestCacheCloneReturningNil: a Clone that returns nil never yields success
// with nil claims; the cache does without the copy and the claims are
// decoded again, and RequireScope sees them (it panicked on nil claims).
func TestCacheCloneReturningNil(t *testing.T) {
	c := validClaims()
	c["extra"] = []string{"a", "b"}
	c["scope"] = "read"
	token := hs256(t, c)
	for _, start := range []int64{0, 1} { // nil at insertion, or on the first hit
		t.Run(fmt.Sprintf("start %d", start), func(t *testing.T) {
			nilCloneCalls.Store(start)
			mw := cachedVerifier(t, 16, fixedClock, nil, jwtguard.WithClaimsType[claimsNilClone]())
			for i := range 4 {
				got, err := mw.Verify(t.Context(), token)
				require.NoError(t, err, "request %d", i)
				claims, ok := got.(*claimsNilClone)
				require.True(t, ok && claims != nil, "request %d: %#v", i, got)
				require.Equal(t, []string{"a", "b"}, claims.Extra, "request %d", i)
			}
			h := mw.RequireScope("read")(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				claims, ok := jwtguard.ClaimsFromContext[claimsNilClone](r.Context())
				if !ok || claims == nil {
					http.Error(w, "no claims", http.StatusInternalServerError)
				}
			}))
			for i := range 4 {
				rec := httptest.NewRecorder()
				req := httptest.NewRequest(http.MethodGet, "/", nil)
				req.Header.Set("Authorization", "Bearer "+token)
				h.ServeHTTP(rec, req)
				require.Equal(t, http.StatusOK, rec.Code, "request %d: %s", i, rec.Body)
			}
		})
	}
}
