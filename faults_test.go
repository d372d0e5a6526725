package jwtguard_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
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

// Fault tests: a JWKS endpoint that dies, hangs or answers garbage while
// requests run, a revocation store that fails, and a clock that jumps.
// Nothing is accepted that should not be, and service resumes by itself.

// faultyJWKS serves a key set document, or misbehaves as mode says.
type faultyJWKS struct {
	*httptest.Server
	mode  atomic.Value // string: "ok", "dead", "hang", "garbage", "empty", "500"
	doc   atomic.Value // []byte
	hits  atomic.Int64
	hangs chan struct{} // closed at the end of the test to release hung requests
}

func newFaultyJWKS(t *testing.T, doc []byte) *faultyJWKS {
	t.Helper()
	f := &faultyJWKS{hangs: make(chan struct{})}
	f.mode.Store("ok")
	f.doc.Store(doc)
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.hits.Add(1)
		switch f.mode.Load().(string) {
		case "dead":
			// The connection drops without an answer.
			conn, _, err := w.(http.Hijacker).Hijack()
			if err == nil {
				_ = conn.Close()
			}
		case "hang":
			select {
			case <-r.Context().Done():
			case <-f.hangs:
			}
		case "garbage":
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write([]byte(`{"keys":[{"kty":"RSA","n":"!!!","e":1}, nonsense`))
		case "empty":
			_, _ = w.Write([]byte(`{"keys":[]}`))
		case "500":
			http.Error(w, "boom", http.StatusInternalServerError)
		default:
			w.Header().Set("Cache-Control", "no-cache")
			_, _ = w.Write(f.doc.Load().([]byte))
		}
	}))
	t.Cleanup(func() {
		close(f.hangs)
		f.Close()
	})
	return f
}

// keySetDoc returns the JWKS document of keys.
func keySetDoc(t testing.TB, keys ...jwtguard.Key) []byte {
	t.Helper()
	ks, err := jwtguard.NewKeySet(keys[0], keys[1:]...)
	require.NoError(t, err)
	w := httptest.NewRecorder()
	ks.JWKSHandler(0).ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/", nil))
	require.Equal(t, http.StatusOK, w.Code)
	return w.Body.Bytes()
}

// faultGet sends token to h and returns the status.
func faultGet(h http.Handler, token string) int {
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	r.Header.Set("Authorization", "Bearer "+token)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w.Code
}

func TestFaultJWKSEndpoint(t *testing.T) {
	k1 := asym().rsa
	k2, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	attacker, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	key1 := jwtguard.Key{ID: "k1", Algorithm: "RS256", Key: k1}
	key2 := jwtguard.Key{ID: "k2", Algorithm: "ES256", Key: k2}

	srv := newFaultyJWKS(t, keySetDoc(t, key1))
	j, err := jwtguard.NewJWKS(t.Context(), srv.URL, []string{"RS256", "ES256"},
		jwtguard.WithJWKSInsecureHTTP(),
		jwtguard.WithJWKSTimeout(300*time.Millisecond),
		jwtguard.WithJWKSRefetchInterval(20*time.Millisecond),
		jwtguard.WithJWKSCacheBounds(time.Hour, time.Hour),
	)
	require.NoError(t, err)
	t.Cleanup(func() { _ = j.Close() })
	refreshUntilOK(t, j) // the fetch timeout is short, for the hung endpoint
	mw, err := jwtguard.New(jwtguard.WithJWKS(j), jwtguard.WithClock(fixedClock),
		jwtguard.WithIssuer(advIss), jwtguard.WithAudience(advAud))
	require.NoError(t, err)
	p := &atomicProbe{}
	h := mw.Handler(p)

	good := sign(t, jwt.SigningMethodRS256, k1, validClaims(), map[string]any{"kid": "k1"})
	second := sign(t, jwt.SigningMethodES256, k2, validClaims(), map[string]any{"kid": "k2"})
	forged := sign(t, jwt.SigningMethodES256, attacker, validClaims(), map[string]any{"kid": "k2"})
	forgedK1 := sign(t, jwt.SigningMethodRS256, asymOther(t), validClaims(), map[string]any{"kid": "k1"})
	none := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none","kid":"k1"}`)) + "." + strings.Split(good, ".")[1] + "."

	for _, mode := range []string{"dead", "hang", "garbage", "empty", "500", "ok"} {
		t.Run(mode, func(t *testing.T) {
			srv.mode.Store(mode)
			var wg sync.WaitGroup
			var wrong atomic.Int64
			rounds := 15
			if mode == "hang" {
				rounds = 3 // each round waits for the fetch timeout
			}
			for g := 0; g < 4; g++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := 0; i < rounds; i++ {
						if faultGet(h, good) != http.StatusTeapot {
							wrong.Add(1)
						}
						// k2 is not in the cached set: refused, never 503
						// (a set was fetched once). A hung endpoint never
						// answers: the fetch timeout alone ends the wait.
						if faultGet(h, second) != http.StatusUnauthorized {
							wrong.Add(1)
						}
						for _, bad := range []string{forged, forgedK1, none} {
							if faultGet(h, bad) != http.StatusUnauthorized {
								wrong.Add(1)
							}
						}
					}
				}()
			}
			wg.Wait()
			assert.Zero(t, wrong.Load(), "requests answered wrongly while the endpoint is %s", mode)
		})
	}

	// The endpoint comes back with a second key: tokens of k2 pass by
	// themselves, with no restart, and forgeries still fail.
	srv.doc.Store(keySetDoc(t, key1, key2))
	srv.mode.Store("ok")
	// A fetch of the hung mode may still be under way: poll, with a guard
	// against a hang rather than a bound (the bound is TestJWKSRecoversSoon…'s).
	require.Eventually(t, func() bool { return faultGet(h, second) == http.StatusTeapot },
		time.Minute, 10*time.Millisecond, "k2 tokens never passed after the endpoint recovered")
	assert.Equal(t, http.StatusTeapot, faultGet(h, good))
	assert.Equal(t, http.StatusUnauthorized, faultGet(h, forged))
	assert.Equal(t, http.StatusUnauthorized, faultGet(h, forgedK1))
	assert.Positive(t, p.calls.Load())
}

// TestFaultJWKSNeverFetched: while no key set could ever be fetched every
// token gets 503, never 200 nor 401; once the endpoint answers, service
// resumes without a restart.
func TestFaultJWKSNeverFetched(t *testing.T) {
	key1 := jwtguard.Key{ID: "k1", Algorithm: "RS256", Key: asym().rsa}
	srv := newFaultyJWKS(t, keySetDoc(t, key1))
	srv.mode.Store("dead")
	j, err := jwtguard.NewJWKS(t.Context(), srv.URL, []string{"RS256"},
		jwtguard.WithJWKSInsecureHTTP(), jwtguard.WithJWKSTimeout(200*time.Millisecond),
		jwtguard.WithJWKSRefetchInterval(20*time.Millisecond), jwtguard.WithJWKSCacheBounds(time.Hour, time.Hour))
	require.NoError(t, err)
	t.Cleanup(func() { _ = j.Close() })
	mw, err := jwtguard.New(jwtguard.WithJWKS(j), jwtguard.WithClock(fixedClock),
		jwtguard.WithIssuer(advIss), jwtguard.WithAudience(advAud))
	require.NoError(t, err)
	p := &atomicProbe{}
	h := mw.Handler(p)
	good := sign(t, jwt.SigningMethodRS256, asym().rsa, validClaims(), map[string]any{"kid": "k1"})

	for _, mode := range []string{"dead", "garbage", "500", "hang"} {
		srv.mode.Store(mode)
		for i := 0; i < 5; i++ {
			assert.Equal(t, http.StatusServiceUnavailable, faultGet(h, good), mode)
			assert.Equal(t, http.StatusServiceUnavailable, faultGet(h, good[:len(good)-4]+"AAAA"), mode)
		}
	}
	assert.Zero(t, p.calls.Load())
	srv.mode.Store("ok")
	require.Eventually(t, func() bool { return faultGet(h, good) == http.StatusTeapot },
		time.Minute, 10*time.Millisecond, "service never resumed") // a guard, not a bound
	assert.Equal(t, http.StatusUnauthorized, faultGet(h, good[:len(good)-4]+"AAAA"))
}

// atomicProbe is a protected handler that counts its calls, safe for
// concurrent use.
type atomicProbe struct{ calls atomic.Int64 }

func (p *atomicProbe) ServeHTTP(w http.ResponseWriter, _ *http.Request) {
	p.calls.Add(1)
	w.WriteHeader(http.StatusTeapot)
}

// asymOther is an RSA key that is not asym().rsa: the fixed key of
// testdata/keys.
func asymOther(t testing.TB) any {
	t.Helper()
	k, err := jwtguard.ParsePEM(readTestdataFile(t, "keys/rsa2048-pkcs8.pem"), "RS256", "")
	require.NoError(t, err)
	return k.Key
}

// flakyStore is a MemoryStore that fails every call while down is set.
type flakyStore struct {
	*jwtguard.MemoryStore
	down atomic.Bool
}

var errFlaky = errors.New("store unreachable")

func (s *flakyStore) Revoke(ctx context.Context, iss, jti string, until time.Time) error {
	if s.down.Load() {
		return errFlaky
	}
	return s.MemoryStore.Revoke(ctx, iss, jti, until)
}

func (s *flakyStore) IsRevoked(ctx context.Context, iss, jti string) (bool, error) {
	if s.down.Load() {
		return false, errFlaky
	}
	return s.MemoryStore.IsRevoked(ctx, iss, jti)
}

func (s *flakyStore) Rotate(ctx context.Context, iss, family, jti string, use jwtguard.RefreshUse) (jwtguard.Rotation, error) {
	if s.down.Load() {
		return 0, errFlaky
	}
	return s.MemoryStore.Rotate(ctx, iss, family, jti, use)
}

func (s *flakyStore) RevokeFamily(ctx context.Context, iss, family string, until time.Time) error {
	if s.down.Load() {
		return errFlaky
	}
	return s.MemoryStore.RevokeFamily(ctx, iss, family, until)
}

func (s *flakyStore) IsFamilyRevoked(ctx context.Context, iss, family string) (bool, error) {
	if s.down.Load() {
		return false, errFlaky
	}
	return s.MemoryStore.IsFamilyRevoked(ctx, iss, family)
}

// faultClock is a clock tests move, safe for concurrent use.
type faultClock struct{ now atomic.Int64 }

func (c *faultClock) Now() time.Time       { return time.Unix(0, c.now.Load()) }
func (c *faultClock) Set(t time.Time)      { c.now.Store(t.UnixNano()) }
func (c *faultClock) Move(d time.Duration) { c.now.Add(int64(d)) }

// faultSessions is Sessions over a flaky store and a movable clock.
type faultSessions struct {
	store  *flakyStore
	clock  *faultClock
	issuer *jwtguard.Issuer
	mux    *http.ServeMux
	probe  *atomicProbe
}

func newFaultSessions(t *testing.T) *faultSessions {
	t.Helper()
	f := &faultSessions{clock: &faultClock{}, mux: http.NewServeMux(), probe: &atomicProbe{}}
	f.clock.Set(testNow)
	mem, err := jwtguard.NewMemoryStore(jwtguard.MemoryStoreClock(f.clock.Now))
	require.NoError(t, err)
	t.Cleanup(func() { _ = mem.Close() })
	f.store = &flakyStore{MemoryStore: mem}
	f.issuer, err = jwtguard.NewIssuer(jwtguard.IssuerConfig{
		Key:    jwtguard.Key{Algorithm: "HS256", Key: secret256},
		Issuer: advIss, Audience: []string{advAud}, Clock: f.clock.Now,
	})
	require.NoError(t, err)
	s, err := jwtguard.NewSessions(f.issuer, f.store)
	require.NoError(t, err)
	f.mux.Handle("/refresh", s.RefreshHandler())
	f.mux.Handle("/logout", s.LogoutHandler())
	f.mux.Handle("/me", s.Middleware().Handler(f.probe))
	return f
}

func (f *faultSessions) do(method, path, bearer, refresh string) *httptest.ResponseRecorder {
	var body *strings.Reader
	if refresh != "" {
		body = strings.NewReader(`{"refresh_token":"` + refresh + `"}`)
	} else {
		body = strings.NewReader("")
	}
	r := httptest.NewRequest(method, path, body)
	if refresh != "" {
		r.Header.Set("Content-Type", "application/json")
	}
	if bearer != "" {
		r.Header.Set("Authorization", "Bearer "+bearer)
	}
	w := httptest.NewRecorder()
	f.mux.ServeHTTP(w, r)
	return w
}

func (f *faultSessions) issue(t *testing.T) *jwtguard.TokenPair {
	t.Helper()
	pair, err := f.issuer.Issue(context.Background(), "user-1", nil)
	require.NoError(t, err)
	return pair
}

// TestFaultStore: while the store fails, every request that needs it is
// answered 503, never passed and never 401; nothing is lost; when the store
// returns, service resumes by itself.
func TestFaultStore(t *testing.T) {
	f := newFaultSessions(t)
	pair := f.issue(t)
	revoked := f.issue(t)
	require.Equal(t, http.StatusNoContent, f.do(http.MethodPost, "/logout", revoked.AccessToken, "").Code)

	f.store.down.Store(true)
	for _, tok := range []string{pair.AccessToken, revoked.AccessToken} {
		w := f.do(http.MethodGet, "/me", tok, "")
		assert.Equal(t, http.StatusServiceUnavailable, w.Code)
	}
	assert.Equal(t, http.StatusServiceUnavailable, f.do(http.MethodPost, "/refresh", "", pair.RefreshToken).Code)
	assert.Equal(t, http.StatusServiceUnavailable, f.do(http.MethodPost, "/logout", pair.AccessToken, "").Code)
	// A token that fails on its own is still 401: the store is not asked.
	assert.Equal(t, http.StatusUnauthorized, f.do(http.MethodGet, "/me", pair.RefreshToken, "").Code)
	assert.Zero(t, f.probe.calls.Load(), "a request passed while the store was down")

	f.store.down.Store(false)
	assert.Equal(t, http.StatusTeapot, f.do(http.MethodGet, "/me", pair.AccessToken, "").Code)
	assert.Equal(t, http.StatusUnauthorized, f.do(http.MethodGet, "/me", revoked.AccessToken, "").Code, "a revocation was lost")
	w := f.do(http.MethodPost, "/refresh", "", pair.RefreshToken)
	assert.Equal(t, http.StatusOK, w.Code, "the refresh token was used up by a failed refresh")
	var next struct {
		Access string `json:"access_token"`
	}
	require.NoError(t, json.Unmarshal(w.Body.Bytes(), &next))
	assert.Equal(t, http.StatusTeapot, f.do(http.MethodGet, "/me", next.Access, "").Code)
}

// TestFaultClockJumps moves the clock forward and back: exp, nbf and iat
// are enforced in both directions, for access and refresh tokens, and the
// answers follow the clock back.
func TestFaultClockJumps(t *testing.T) {
	f := newFaultSessions(t)
	pair := f.issue(t) // iat = nbf = testNow, access exp +30m, refresh exp +7d
	me := func() int { return f.do(http.MethodGet, "/me", pair.AccessToken, "").Code }
	steps := []struct {
		at   time.Duration
		want int
	}{
		{0, http.StatusTeapot},
		{29 * time.Minute, http.StatusTeapot},
		{30 * time.Minute, http.StatusUnauthorized}, // at exp
		{24 * time.Hour, http.StatusUnauthorized},
		{0, http.StatusTeapot},                  // back again
		{-time.Second, http.StatusUnauthorized}, // before nbf and iat
		{-365 * 24 * time.Hour, http.StatusUnauthorized},
		{10 * 365 * 24 * time.Hour, http.StatusUnauthorized},
		{time.Minute, http.StatusTeapot},
	}
	for _, s := range steps {
		f.clock.Set(testNow.Add(s.at))
		assert.Equal(t, s.want, me(), "access token at now%+v", s.at)
	}

	f.clock.Set(testNow.Add(8 * 24 * time.Hour))
	assert.Equal(t, http.StatusUnauthorized, f.do(http.MethodPost, "/refresh", "", pair.RefreshToken).Code, "refresh after its exp")
	f.clock.Set(testNow.Add(-time.Hour))
	assert.Equal(t, http.StatusUnauthorized, f.do(http.MethodPost, "/refresh", "", pair.RefreshToken).Code, "refresh before its nbf")
	f.clock.Set(testNow.Add(time.Hour))
	assert.Equal(t, http.StatusOK, f.do(http.MethodPost, "/refresh", "", pair.RefreshToken).Code, "refresh once the clock is back")
	// And the rotation holds across jumps: the used token stays used.
	f.clock.Set(testNow.Add(2 * time.Hour))
	assert.Equal(t, http.StatusUnauthorized, f.do(http.MethodPost, "/refresh", "", pair.RefreshToken).Code)
	f.clock.Set(testNow.Add(time.Hour))
	assert.Equal(t, http.StatusUnauthorized, f.do(http.MethodPost, "/refresh", "", pair.RefreshToken).Code)
	assert.EqualValues(t, 4, f.probe.calls.Load(), "the protected handler ran only for the four valid steps")
}
