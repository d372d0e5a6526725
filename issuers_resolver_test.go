package jwtguard_test

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/jwtguard/jwtguard"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// tenants is a resolver of the issuers https://<tenant>.example.com/ of
// the tenants it holds, served by one idp. It matches the issuer exactly
// and counts its calls.
type tenants struct {
	idp   *idp
	mu    sync.Mutex
	known map[string]bool
	opts  []jwtguard.JWKSOption
	calls atomic.Int64
}

func newTenants(p *idp, opts ...jwtguard.JWKSOption) *tenants {
	return &tenants{idp: p, known: map[string]bool{}, opts: p.jwksOptions(opts...)}
}

// add makes a tenant with key k and returns its issuer.
func (ts *tenants) add(t testing.TB, name string, k jwtguard.Key) string {
	iss := ts.idp.add(t, name, k)
	ts.mu.Lock()
	defer ts.mu.Unlock()
	ts.known[iss] = true
	return iss
}

// remove stops trusting a tenant.
func (ts *tenants) remove(iss string) {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	delete(ts.known, iss)
}

func (ts *tenants) resolve(_ context.Context, issuer string) (jwtguard.TrustedIssuer, bool) {
	ts.calls.Add(1)
	ts.mu.Lock()
	ok := ts.known[issuer] // exact: scheme, host and path
	ts.mu.Unlock()
	if !ok {
		return jwtguard.TrustedIssuer{}, false
	}
	return jwtguard.TrustedIssuer{Algorithms: []string{"ES256"}, JWKSOptions: ts.opts}, true
}

// TestIssuerResolverSetsUpOnce: many requests race for a new tenant; one
// discovery and one key set fetch are made, and all of them wait for it.
// The discovery is held until every request has passed the resolver, so
// they all find the tenant being set up.
func TestIssuerResolverSetsUpOnce(t *testing.T) {
	p := newIDP(t)
	ts := newTenants(p)
	k := ecKey(t, "k1")
	iss := ts.add(t, "acme", k)
	const n = 32
	allIn := make(chan struct{})
	var passed atomic.Int64
	resolve := func(ctx context.Context, issuer string) (jwtguard.TrustedIssuer, bool) {
		ti, ok := ts.resolve(ctx, issuer)
		if passed.Add(1) == n {
			close(allIn)
		}
		return ti, ok
	}
	p.onDiscovery = func(string) {
		select {
		case <-allIn:
		case <-time.After(30 * time.Second): // only so that a failing test ends
		}
	}
	var created atomic.Int64
	mw, err := jwtguard.New(
		jwtguard.WithIssuerResolver(resolve, jwtguard.ResolverWithHooks(jwtguard.ResolverHooks{
			OnCreate: func(string) { created.Add(1) },
		})),
		jwtguard.WithClock(fixedClock),
	)
	require.NoError(t, err)
	t.Cleanup(func() { _ = mw.Close() })
	tok := issued(t, k, iss, "api.test", nil, nil)
	errs := make(chan error, n)
	for range n {
		go func() {
			_, err := mw.Verify(context.Background(), tok)
			errs <- err
		}()
	}
	for range n {
		require.NoError(t, <-errs)
	}
	assert.Equal(t, 1, p.count(iss, discoveryPath), "one discovery")
	assert.Equal(t, 1, p.count(iss, "/jwks"), "one key set fetch")
	assert.Equal(t, int64(1), created.Load())
	assert.Equal(t, jwtguard.IssuerCacheStats{Entries: 1, Capacity: jwtguard.DefaultMaxIssuers}, mw.IssuerCacheStats())
}

// TestIssuerResolverRefusesWithoutFetching: a token naming an issuer the
// resolver refuses costs no network request and takes no room, however
// close its iss is to a trusted one.
func TestIssuerResolverRefusesWithoutFetching(t *testing.T) {
	p := newIDP(t)
	ts := newTenants(p)
	k := ecKey(t, "k1")
	ts.add(t, "acme", k)
	p.add(t, "other", k) // served, but not a tenant
	mw, err := jwtguard.New(jwtguard.WithIssuerResolver(ts.resolve), jwtguard.WithClock(fixedClock))
	require.NoError(t, err)
	t.Cleanup(func() { _ = mw.Close() })
	for _, iss := range []string{
		"https://other.example.com/",
		"https://acme.example.com",
		"https://acme.example.com/x",
		"https://ACME.example.com/",
		"http://acme.example.com/",
		"https://acme.example.com.evil.test/",
		"https://acme.example.com:443/",
		"https://acme.example.com/\u0000",
		"http://169.254.169.254/latest/meta-data/",
		"",
	} {
		_, err := mw.Verify(t.Context(), issued(t, k, iss, "api.test", nil, nil))
		require.ErrorIs(t, err, jwtguard.ErrIssuer, iss)
		var ie *jwtguard.IssuerError
		assert.False(t, errors.As(err, &ie))
	}
	p.mu.Lock()
	assert.Empty(t, p.hits, "no network request")
	p.mu.Unlock()
	assert.Zero(t, mw.IssuerCacheStats().Entries)
}

// TestIssuerResolverFlood sends tokens naming 10,000 random issuers, of
// which 100 are tenants, from 16 goroutines, in rounds of 8 tenants and
// their share of the others, with an issuer cache of 16. The cache never
// holds more than 16 issuers, the others cost no request, and each tenant
// costs one discovery and one key set fetch however many of its requests
// race. (Within a round the least recently used issuers are those of
// earlier rounds, so no tenant is evicted while its requests are under
// way.)
func TestIssuerResolverFlood(t *testing.T) {
	const (
		issuers  = 10_000
		tenantN  = 100
		perRound = 8
		capacity = 16
		workers  = 16
		racing   = 3 // requests per tenant, at once
	)
	p := newIDP(t)
	ts := newTenants(p)
	type tenant struct {
		iss string
		tok string
	}
	all := make([]tenant, tenantN)
	for i := range all {
		k := ecKey(t, "k1") // the same kid for every tenant
		iss := ts.add(t, fmt.Sprintf("t%03d", i), k)
		all[i] = tenant{iss: iss, tok: issued(t, k, iss, "api.test", nil, nil)}
	}
	others := make([]string, issuers-tenantN)
	for i := range others {
		b := make([]byte, 8)
		_, _ = rand.Read(b)
		iss := "https://" + hex.EncodeToString(b) + ".example.com/" // looks like a tenant, is none
		if i%3 == 0 {
			iss = "https://evil.test/" + hex.EncodeToString(b)
		}
		others[i] = rawHS256(t, `{"alg":"HS256"}`, fmt.Sprintf(`{"iss":%q,"exp":%d,"type":"access"}`,
			iss, testNow.Add(time.Hour).Unix()), secret256)
	}

	var tick atomic.Int64 // a clock that moves 1 ns per reading, so the LRU order is well defined
	var (
		mw              *jwtguard.Middleware
		created, evicts atomic.Int64
		overfull        atomic.Int64
		maxEntries      atomic.Int64
	)
	mw, err := jwtguard.New(
		jwtguard.WithIssuerResolver(ts.resolve,
			jwtguard.ResolverMaxIssuers(capacity),
			jwtguard.ResolverWithHooks(jwtguard.ResolverHooks{
				OnCreate: func(string) {
					created.Add(1)
					st := mw.IssuerCacheStats()
					if st.Entries > st.Capacity {
						overfull.Add(1)
					}
					for m := maxEntries.Load(); int64(st.Entries) > m && !maxEntries.CompareAndSwap(m, int64(st.Entries)); m = maxEntries.Load() {
					}
				},
				OnEvict: func(string) { evicts.Add(1) },
			})),
		jwtguard.WithClock(func() time.Time { return testNow.Add(time.Duration(tick.Add(1))) }),
	)
	require.NoError(t, err)
	before := waitKeySets(0)

	var accepted, refused, wrong atomic.Int64
	type job struct {
		tok  string
		done *sync.WaitGroup
	}
	jobs := make(chan job)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range jobs {
				_, err := mw.Verify(context.Background(), j.tok)
				var ie *jwtguard.IssuerError
				switch {
				case err == nil:
					accepted.Add(1)
				case errors.Is(err, jwtguard.ErrIssuer) && !errors.As(err, &ie):
					refused.Add(1)
				default:
					wrong.Add(1)
				}
				j.done.Done()
			}
		}()
	}
	rounds := (tenantN + perRound - 1) / perRound
	for r := range rounds {
		// The round's jobs: each tenant's requests at once, among the
		// others; the next round starts when all of them have ended.
		var round sync.WaitGroup
		for _, tn := range all[r*perRound : min((r+1)*perRound, tenantN)] {
			for range racing {
				round.Add(2)
				go func() { defer round.Done(); jobs <- job{tn.tok, &round} }()
			}
		}
		lo, hi := r*len(others)/rounds, (r+1)*len(others)/rounds
		for _, tok := range others[lo:hi] {
			round.Add(1)
			jobs <- job{tok, &round}
		}
		round.Wait()
	}
	close(jobs)
	wg.Wait()

	assert.Zero(t, wrong.Load(), "every token accepted or refused for its issuer")
	assert.Equal(t, int64(tenantN*racing), accepted.Load())
	assert.Equal(t, int64(len(others)), refused.Load())
	assert.Zero(t, p.strays.Load(), "no request for an issuer that is not a tenant")
	for _, tn := range all {
		require.Equal(t, 1, p.count(tn.iss, discoveryPath), "one discovery for %s", tn.iss)
		require.Equal(t, 1, p.count(tn.iss, "/jwks"), "one key set fetch for %s", tn.iss)
	}
	assert.Zero(t, overfull.Load(), "the cache never held more than its capacity")
	assert.LessOrEqual(t, maxEntries.Load(), int64(capacity))
	st := mw.IssuerCacheStats()
	assert.Equal(t, capacity, st.Entries)
	assert.Equal(t, int64(tenantN), created.Load())
	assert.Equal(t, int64(tenantN-capacity), evicts.Load())
	assert.Equal(t, capacity, waitKeySets(before+capacity)-before, "a key set runs only for each issuer held")
	require.NoError(t, mw.Close())
	assert.Equal(t, before, waitKeySets(before), "none after Close")
}

// TestIssuerResolverEviction: the least recently used issuer and idle
// issuers leave the cache, their key sets stop, and an issuer evicted is
// set up anew (and its cached tokens are not served) when it comes back.
func TestIssuerResolverEviction(t *testing.T) {
	p := newIDP(t)
	ts := newTenants(p)
	kA, kB, kC := ecKey(t, "k1"), ecKey(t, "k1"), ecKey(t, "k1")
	issA, issB, issC := ts.add(t, "a", kA), ts.add(t, "b", kB), ts.add(t, "c", kC)
	tokA, tokB, tokC := issued(t, kA, issA, "api.test", nil, nil), issued(t, kB, issB, "api.test", nil, nil),
		issued(t, kC, issC, "api.test", nil, nil)
	clock := newTestClock()
	var mu sync.Mutex
	var events []string
	record := func(what string) func(string) {
		return func(iss string) {
			mu.Lock()
			defer mu.Unlock()
			events = append(events, what+" "+hostOf(iss))
		}
	}
	var hits, misses atomic.Int64
	mw, err := jwtguard.New(
		jwtguard.WithIssuerResolver(ts.resolve,
			jwtguard.ResolverMaxIssuers(2),
			jwtguard.ResolverMaxIdle(10*time.Minute),
			jwtguard.ResolverWithHooks(jwtguard.ResolverHooks{OnCreate: record("create"), OnEvict: record("evict")})),
		jwtguard.WithClock(clock.Now),
		jwtguard.WithCache(64, jwtguard.CacheWithHooks(jwtguard.CacheHooks{
			OnHit:  func() { hits.Add(1) },
			OnMiss: func() { misses.Add(1) },
		})),
	)
	require.NoError(t, err)
	t.Cleanup(func() { _ = mw.Close() })
	before := waitKeySets(0)
	verify := func(tok string) {
		t.Helper()
		_, err := mw.Verify(t.Context(), tok)
		require.NoError(t, err)
		clock.Advance(time.Second)
	}
	verify(tokA)
	verify(tokB)
	verify(tokA) // a hit: A is now more recent than B
	assert.Equal(t, int64(1), hits.Load())
	verify(tokC) // the cache is full: B, least recently used, leaves
	assert.Equal(t, 2, waitKeySets(before+2)-before, "B's key set stopped")
	clock.Advance(6 * time.Minute)
	verify(tokC) // a hit
	clock.Advance(6 * time.Minute)
	// A has been idle too long: its cached result is not served; A
	// leaves, and is set up again.
	verify(tokA)
	assert.Equal(t, 2, waitKeySets(before+2)-before, "A's old key set stopped")
	mu.Lock()
	assert.Equal(t, []string{
		"create a.example.com", "create b.example.com", "evict b.example.com", "create c.example.com",
		"evict a.example.com", "create a.example.com",
	}, events)
	mu.Unlock()
	assert.Equal(t, 2, p.count(issA, discoveryPath))
	assert.Equal(t, 1, p.count(issB, discoveryPath))
	assert.Equal(t, int64(2), hits.Load())
	assert.Equal(t, int64(4), misses.Load())

	// A cached token of an issuer the resolver stops trusting is refused.
	verify(tokC)
	ts.remove(issC)
	_, err = mw.Verify(t.Context(), tokC)
	require.ErrorIs(t, err, jwtguard.ErrIssuer)
	assert.Equal(t, 1, p.count(issC, discoveryPath))
}

// TestIssuerResolverKeysUnavailable: an issuer whose keys cannot be had
// gets 503 as with one issuer, its failures reach the JWKS error hook
// named by issuer, and discovery is tried again only after the refetch
// interval.
func TestIssuerResolverKeysUnavailable(t *testing.T) {
	p := newIDP(t)
	hookErrs := make(chan error, 16)
	ts := newTenants(p,
		jwtguard.WithJWKSRefetchInterval(time.Minute),
		jwtguard.WithJWKSErrorHook(func(err error) { hookErrs <- err }))
	k := ecKey(t, "k1")
	iss := ts.add(t, "down", k)
	tok := issued(t, k, iss, "api.test", nil, nil)
	clock := newTestClock()
	mw, err := jwtguard.New(jwtguard.WithIssuerResolver(ts.resolve), jwtguard.WithClock(clock.Now))
	require.NoError(t, err)
	t.Cleanup(func() { _ = mw.Close() })

	p.fail(iss, discoveryPath, http.StatusInternalServerError)
	for range 3 {
		_, err = mw.Verify(t.Context(), tok)
		require.ErrorIs(t, err, jwtguard.ErrUnavailable)
		var ie *jwtguard.IssuerError
		require.ErrorAs(t, err, &ie)
		assert.Equal(t, iss, ie.Issuer)
		assert.Equal(t, http.StatusServiceUnavailable, serveStatus(t, mw, tok))
	}
	assert.Equal(t, 1, p.count(iss, discoveryPath), "not again within the refetch interval")
	select {
	case err := <-hookErrs:
		var ie *jwtguard.IssuerError
		require.ErrorAs(t, err, &ie)
		assert.Equal(t, iss, ie.Issuer)
		assert.Contains(t, err.Error(), "status 500")
	default:
		t.Fatal("the discovery failure did not reach the hook")
	}

	// The discovery answers again, but the key set does not.
	p.fail(iss, discoveryPath, http.StatusOK)
	p.fail(iss, "/jwks", http.StatusBadGateway)
	clock.Advance(time.Minute)
	_, err = mw.Verify(t.Context(), tok)
	require.ErrorIs(t, err, jwtguard.ErrUnavailable)
	assert.Equal(t, 2, p.count(iss, discoveryPath))
	err = <-hookErrs // from the key set's first fetch
	var ie *jwtguard.IssuerError
	require.ErrorAs(t, err, &ie)
	assert.Equal(t, iss, ie.Issuer)
	assert.Contains(t, err.Error(), "status 502")

	// The key set answers again: the JWKS recovers on its own.
	p.fail(iss, "/jwks", http.StatusOK)
	// Within a few seconds (docs/keys.md); a minute is a guard, not a bound.
	require.Eventually(t, func() bool {
		_, err := mw.Verify(t.Context(), tok)
		return err == nil
	}, time.Minute, 50*time.Millisecond)
	assert.Equal(t, 2, p.count(iss, discoveryPath))
}

// TestIssuersDiscoveredStatic: an issuer of WithIssuers whose keys are
// discovered is set up when a token first names it, is never evicted,
// and is stopped by Close.
func TestIssuersDiscoveredStatic(t *testing.T) {
	p := newIDP(t)
	k := ecKey(t, "k1")
	iss := p.add(t, "static", k)
	before := waitKeySets(0)
	mw, err := jwtguard.New(
		jwtguard.WithIssuers(jwtguard.TrustedIssuer{Issuer: iss, Algorithms: []string{"ES256"}, JWKSOptions: p.jwksOptions()}),
		jwtguard.WithClock(fixedClock),
	)
	require.NoError(t, err)
	assert.Zero(t, p.count(iss, discoveryPath), "nothing fetched at New")
	tok := issued(t, k, iss, "api.test", nil, nil)
	for range 3 {
		_, err := mw.Verify(t.Context(), tok)
		require.NoError(t, err)
	}
	assert.Equal(t, 1, p.count(iss, discoveryPath))
	assert.Equal(t, 1, p.count(iss, "/jwks"))
	assert.Equal(t, jwtguard.IssuerCacheStats{}, mw.IssuerCacheStats(), "no resolver, no cache")
	assert.Equal(t, 1, waitKeySets(before+1)-before)
	require.NoError(t, mw.Close())
	require.NoError(t, mw.Close(), "twice")
	assert.Equal(t, before, waitKeySets(before))
	_, err = mw.Verify(t.Context(), tok)
	require.NoError(t, err, "the keys fetched stay in use")
	_, err = mw.Verify(t.Context(), issued(t, ecKey(t, "k2"), iss, "api.test", nil, nil))
	require.ErrorIs(t, err, jwtguard.ErrUnknownKey)
	assert.Equal(t, 1, p.count(iss, "/jwks"), "nothing fetched after Close")
}

// TestIssuerResolverConfigErrors: a resolver answer that is not a valid
// TrustedIssuer is the server's fault: 503, not 401.
func TestIssuerResolverConfigErrors(t *testing.T) {
	tests := []struct {
		name string
		ti   jwtguard.TrustedIssuer
		want string
	}{
		{"no algorithms", jwtguard.TrustedIssuer{}, "discovered keys need Algorithms"},
		{"another issuer", jwtguard.TrustedIssuer{Issuer: "https://b.example.com/", Algorithms: []string{"ES256"}},
			`names issuer "https://b.example.com/"`},
	}
	k := ecKey(t, "k1")
	tok := issued(t, k, "https://a.example.com/", "api.test", nil, nil)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var calls atomic.Int64
			mw, err := jwtguard.New(jwtguard.WithIssuerResolver(func(context.Context, string) (jwtguard.TrustedIssuer, bool) {
				calls.Add(1)
				return tt.ti, true
			}), jwtguard.WithClock(fixedClock))
			require.NoError(t, err)
			defer mw.Close()
			for range 2 {
				_, err = mw.Verify(t.Context(), tok)
				require.ErrorIs(t, err, jwtguard.ErrUnavailable)
				assert.Contains(t, err.Error(), tt.want)
			}
			assert.Equal(t, 1, mw.IssuerCacheStats().Entries)
		})
	}
}

// TestIssuersWithResolverAndStatic: the issuers of WithIssuers come first;
// the resolver is asked only about the others.
func TestIssuersWithResolverAndStatic(t *testing.T) {
	p := newIDP(t)
	ts := newTenants(p)
	kS, kT := ecKey(t, "k1"), ecKey(t, "k1")
	const issS = "https://static.example.com/"
	issT := ts.add(t, "tenant", kT)
	mw, err := jwtguard.New(
		jwtguard.WithIssuers(jwtguard.TrustedIssuer{Issuer: issS, Keys: []jwtguard.Key{kS}}),
		jwtguard.WithIssuerResolver(ts.resolve),
		jwtguard.WithClock(fixedClock),
	)
	require.NoError(t, err)
	t.Cleanup(func() { _ = mw.Close() })
	_, err = mw.Verify(t.Context(), issued(t, kS, issS, "api.test", nil, nil))
	require.NoError(t, err)
	assert.Zero(t, ts.calls.Load(), "the resolver is not asked about a static issuer")
	_, err = mw.Verify(t.Context(), issued(t, kT, issT, "api.test", nil, nil))
	require.NoError(t, err)
	_, err = mw.Verify(t.Context(), issued(t, kS, issT, "api.test", nil, nil))
	require.ErrorIs(t, err, jwtguard.ErrSignature)
	_, err = mw.Verify(t.Context(), issued(t, kT, issS, "api.test", func(c jwt.MapClaims) { c["sub"] = "x" }, nil))
	require.ErrorIs(t, err, jwtguard.ErrSignature)
	assert.False(t, strings.Contains(fmt.Sprint(p.hits), "static"), "no request for the static issuer")
}

// keySetsRunning counts the JWKS background goroutines: one per JWKS from
// NewJWKS until Close returns.
// waitKeySets waits until want key sets run, and returns how many do: want,
// unless a minute passes (a guard against a hang). A key set that was
// stopped, or an earlier test's, may still be ending for a moment.
func waitKeySets(want int) int {
	got := keySetsRunning()
	for deadline := time.Now().Add(time.Minute); got != want && time.Now().Before(deadline); got = keySetsRunning() {
		time.Sleep(time.Millisecond)
	}
	return got
}

func keySetsRunning() int {
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
		if strings.Contains(g, "jwtguard.(*JWKS).run(") {
			count++
		}
	}
	return count
}

// forged returns tok with an all-zero signature of n bytes.
func forged(tok string, n int) string {
	return tok[:strings.LastIndexByte(tok, '.')+1] + base64.RawURLEncoding.EncodeToString(make([]byte, n))
}

// TestIssuerResolverEvictionFloodBounded: forged tokens cycling over three
// trusted tenants with an issuer cache of two would evict one tenant per
// token and set it up again (two requests each); an issuer is not set up
// again within its refetch interval, so the flood costs the three set-ups
// it starts with, and the tenant it keeps out gets 503 until the interval
// has passed, then works.
func TestIssuerResolverEvictionFloodBounded(t *testing.T) {
	p := newIDP(t)
	ts := newTenants(p)
	keys := []jwtguard.Key{ecKey(t, "k1"), ecKey(t, "k1"), ecKey(t, "k1")}
	var iss, forgedToks []string
	for i, k := range keys {
		is := ts.add(t, fmt.Sprintf("t%d", i), k)
		iss = append(iss, is)
		forgedToks = append(forgedToks, forged(issued(t, k, is, "api.test", nil, nil), 64))
	}
	clock := newTestClock()
	mw, err := jwtguard.New(
		jwtguard.WithIssuerResolver(ts.resolve, jwtguard.ResolverMaxIssuers(2)),
		jwtguard.WithClock(clock.Now),
	)
	require.NoError(t, err)
	t.Cleanup(func() { _ = mw.Close() })
	requests := func() int {
		n := 0
		for _, is := range iss {
			n += p.count(is, discoveryPath) + p.count(is, "/jwks")
		}
		return n
	}
	var unavailable, badSig int
	for i := range 300 {
		_, err := mw.Verify(t.Context(), forgedToks[i%3])
		clock.Advance(time.Millisecond) // so that the least recently used is well defined
		switch {
		case errors.Is(err, jwtguard.ErrUnavailable):
			unavailable++
			assert.Contains(t, err.Error(), "rate-limited")
		case errors.Is(err, jwtguard.ErrSignature):
			badSig++
		default:
			t.Fatalf("token %d: %v", i, err)
		}
	}
	assert.Equal(t, 6, requests(), "three set-ups of two requests, however many tokens")
	assert.Equal(t, 99, unavailable, "the evicted tenant's later tokens wait")
	assert.Equal(t, 201, badSig)
	assert.Zero(t, p.strays.Load())

	// After the refetch interval (from its set-up, 300 ms before the
	// flood ended) the evicted tenant is set up again, once,
	// and its genuine tokens are accepted.
	clock.Advance(jwtguard.DefaultJWKSRefetchInterval)
	_, err = mw.Verify(t.Context(), issued(t, keys[0], iss[0], "api.test", nil, nil))
	require.NoError(t, err)
	assert.Equal(t, 8, requests())
	assert.Equal(t, 2, p.count(iss[0], discoveryPath))
}

// TestIssuerResolverSetupBucket: across issuers, at most n set-ups in a
// burst and n more per period (ResolverMaxSetups); beyond that a new
// issuer gets 503 without a request and without evicting anything, and
// is set up once the bucket has refilled.
func TestIssuerResolverSetupBucket(t *testing.T) {
	p := newIDP(t)
	ts := newTenants(p)
	var iss, toks []string
	for i := range 4 {
		k := ecKey(t, "k1")
		is := ts.add(t, fmt.Sprintf("b%d", i), k)
		iss = append(iss, is)
		toks = append(toks, issued(t, k, is, "api.test", nil, nil))
	}
	clock := newTestClock()
	mw, err := jwtguard.New(
		jwtguard.WithIssuerResolver(ts.resolve, jwtguard.ResolverMaxSetups(2, time.Minute)),
		jwtguard.WithClock(clock.Now),
	)
	require.NoError(t, err)
	t.Cleanup(func() { _ = mw.Close() })
	for _, tok := range toks[:2] {
		_, err := mw.Verify(t.Context(), tok)
		require.NoError(t, err)
	}
	for range 10 {
		_, err = mw.Verify(t.Context(), toks[2])
		require.ErrorIs(t, err, jwtguard.ErrUnavailable)
		assert.Contains(t, err.Error(), "ResolverMaxSetups")
		var ie *jwtguard.IssuerError
		require.ErrorAs(t, err, &ie)
		assert.Equal(t, iss[2], ie.Issuer)
	}
	assert.Zero(t, p.count(iss[2], discoveryPath), "no request beyond the limit")
	assert.Equal(t, 2, mw.IssuerCacheStats().Entries)
	for _, tok := range toks[:2] {
		_, err := mw.Verify(t.Context(), tok)
		require.NoError(t, err, "the issuers set up keep working")
	}
	clock.Advance(30 * time.Second) // one set-up's worth
	_, err = mw.Verify(t.Context(), toks[2])
	require.NoError(t, err)
	_, err = mw.Verify(t.Context(), toks[3])
	require.ErrorIs(t, err, jwtguard.ErrUnavailable)
	clock.Advance(30 * time.Second)
	_, err = mw.Verify(t.Context(), toks[3])
	require.NoError(t, err)
	for _, is := range iss {
		assert.Equal(t, 1, p.count(is, discoveryPath))
	}
}
