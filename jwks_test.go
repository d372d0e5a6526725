package jwtguard_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"fmt"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jwtguard/jwtguard"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// keyServer serves a JWKS document that tests change: its body, status,
// delay and Cache-Control, and counts the requests.
type keyServer struct {
	*httptest.Server
	hits atomic.Int64

	mu           sync.Mutex
	body         []byte
	status       int
	delay        time.Duration
	cacheControl string
	hook         func() // called on each request, when set
}

func jwksServer(t testing.TB, body []byte) *keyServer {
	t.Helper()
	s := &keyServer{body: body, status: http.StatusOK}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.hits.Add(1)
		s.mu.Lock()
		body, status, delay, cc, hook := s.body, s.status, s.delay, s.cacheControl, s.hook
		s.mu.Unlock()
		if hook != nil {
			hook()
		}
		if delay > 0 {
			select {
			case <-time.After(delay):
			case <-r.Context().Done():
				return
			}
		}
		if cc != "" {
			w.Header().Set("Cache-Control", cc)
		}
		w.WriteHeader(status)
		_, _ = w.Write(body)
	}))
	t.Cleanup(s.Close)
	return s
}

// set changes what the server answers.
func (s *keyServer) set(body []byte, status int, delay time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.body, s.status, s.delay = body, status, delay
}

// onRequest makes the server call fn on each request.
func (s *keyServer) onRequest(fn func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.hook = fn
}

// newTestJWKS makes a JWKS of a test server that is closed at the end of
// the test. Background refreshes are an hour apart unless opts say
// otherwise.
func newTestJWKS(t testing.TB, url string, algs []string, opts ...jwtguard.JWKSOption) *jwtguard.JWKS {
	t.Helper()
	opts = append([]jwtguard.JWKSOption{
		jwtguard.WithJWKSInsecureHTTP(),
		jwtguard.WithJWKSTimeout(time.Minute), // the test servers answer, unless a test sets a shorter one
		jwtguard.WithJWKSCacheBounds(time.Hour, time.Hour),
	}, opts...)
	j, err := jwtguard.NewJWKS(t.Context(), url, algs, opts...)
	require.NoError(t, err)
	t.Cleanup(func() { _ = j.Close() })
	return j
}

// jwksMiddleware is a middleware verifying with j at testNow.
func jwksMiddleware(t testing.TB, j *jwtguard.JWKS, opts ...jwtguard.Option) *jwtguard.Middleware {
	t.Helper()
	mw, err := jwtguard.New(append([]jwtguard.Option{jwtguard.WithJWKS(j), jwtguard.WithClock(fixedClock)}, opts...)...)
	require.NoError(t, err)
	return mw
}

func TestNewJWKSConfig(t *testing.T) {
	tests := []struct {
		name    string
		url     string
		algs    []string
		opts    []jwtguard.JWKSOption
		wantErr string
	}{
		{name: "no algorithm", url: "https://idp.test/jwks", wantErr: "no algorithm"},
		{name: "HMAC algorithm", url: "https://idp.test/jwks", algs: []string{"HS256"}, wantErr: "HMAC"},
		{name: "none", url: "https://idp.test/jwks", algs: []string{"none"}, wantErr: "unsupported"},
		{name: "http", url: "http://idp.test/jwks", algs: []string{"RS256"}, wantErr: "https"},
		{name: "relative", url: "/jwks", algs: []string{"RS256"}, wantErr: "absolute"},
		{name: "file", url: "file:///etc/passwd", algs: []string{"RS256"}, wantErr: "absolute"},
		{name: "nil client", url: "https://idp.test/jwks", algs: []string{"RS256"}, opts: []jwtguard.JWKSOption{jwtguard.WithJWKSHTTPClient(nil)}, wantErr: "nil client"},
		{name: "bounds", url: "https://idp.test/jwks", algs: []string{"RS256"}, opts: []jwtguard.JWKSOption{jwtguard.WithJWKSCacheBounds(time.Hour, time.Minute)}, wantErr: "min <= max"},
		{name: "timeout", url: "https://idp.test/jwks", algs: []string{"RS256"}, opts: []jwtguard.JWKSOption{jwtguard.WithJWKSTimeout(0)}, wantErr: "not positive"},
		{name: "interval", url: "https://idp.test/jwks", algs: []string{"RS256"}, opts: []jwtguard.JWKSOption{jwtguard.WithJWKSRefetchInterval(-1)}, wantErr: "not positive"},
		{name: "size", url: "https://idp.test/jwks", algs: []string{"RS256"}, opts: []jwtguard.JWKSOption{jwtguard.WithJWKSMaxSize(1)}, wantErr: "under 64"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := jwtguard.NewJWKS(t.Context(), tt.url, tt.algs, tt.opts...)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.wantErr)
		})
	}
	t.Run("one source only", func(t *testing.T) {
		j := newTestJWKS(t, "http://127.0.0.1:1/jwks", []string{"ES256"})
		_, err := jwtguard.New(jwtguard.WithJWKS(j), jwtguard.WithKey("HS256", secret256))
		require.Error(t, err)
		assert.Contains(t, err.Error(), "more than one key source")
		_, err = jwtguard.New(jwtguard.WithJWKS(nil))
		require.Error(t, err)
	})
}

// TestJWKSIndependentSet verifies the Python fixture tokens with the Python
// JWKS served over HTTPS.
func TestJWKSIndependentSet(t *testing.T) {
	doc := readTestdata(t, "jwks.json")
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write(doc)
	}))
	defer srv.Close()
	algs := []string{"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}
	j, err := jwtguard.NewJWKS(t.Context(), srv.URL, algs, jwtguard.WithJWKSHTTPClient(srv.Client()))
	require.NoError(t, err)
	defer j.Close()
	require.NoError(t, j.Refresh(t.Context()))
	assert.Len(t, j.Keys(), 10)
	mw, err := jwtguard.New(fixtureOptions(jwtguard.WithJWKS(j))...)
	require.NoError(t, err)
	for _, tok := range fixtures(t).Tokens {
		_, err := mw.Verify(t.Context(), tok.Token)
		if tok.Secret != "" {
			assert.ErrorIs(t, err, jwtguard.ErrAlgorithm, tok.Alg)
		} else {
			assert.NoError(t, err, tok.Alg)
		}
	}
}

func TestJWKSSkipsUnusableKeys(t *testing.T) {
	keys := fixtureJWKs(t)
	good := edit(keys["ec-es256"], nil)
	docOf := func(members ...[]byte) []byte {
		return []byte(`{"keys":[` + string(bytes.Join(members, []byte(","))) + `]}`)
	}
	unusable := [][]byte{
		[]byte(`{"kty":"oct","kid":"sym","alg":"HS256","k":"dGVzdC1zZWNyZXQtZm9yLWhzMjU2LTMyLWJ5dGVzISE"}`),
		edit(keys["rsa-rs256"], map[string]any{"kid": "enc", "use": "enc"}),
		[]byte(`{"kty":"XYZ","kid":"odd"}`),
		edit(keys["ec-es384"], nil), // ES384 is not allowed
		edit(keys["rsa-ps256"], map[string]any{"kid": "noalg", "alg": nil}),
		edit(keys["ed-1"], map[string]any{"kid": "priv", "d": "AAAA"}),
		edit(keys["ec-es256"], map[string]any{"kid": "off", "y": keys["ec-es256"]["x"]}),
		[]byte(`"not an object"`),
	}
	duplicate := good
	srv := jwksServer(t, docOf(append([][]byte{good, duplicate}, unusable...)...))
	j := newTestJWKS(t, srv.URL, []string{"ES256", "RS256", "PS256", "EdDSA"})
	require.NoError(t, j.Refresh(t.Context()))
	got := j.Keys()
	require.Len(t, got, 1)
	assert.Equal(t, "ec-es256", got[0].ID)

	t.Run("RSA without alg binds to the one RSA algorithm allowed", func(t *testing.T) {
		srv := jwksServer(t, docOf(edit(keys["rsa-rs256"], map[string]any{"alg": nil})))
		j := newTestJWKS(t, srv.URL, []string{"RS256", "ES256"})
		require.NoError(t, j.Refresh(t.Context()))
		require.Len(t, j.Keys(), 1)
		assert.Equal(t, "RS256", j.Keys()[0].Algorithm)
		mw, err := jwtguard.New(fixtureOptions(jwtguard.WithJWKS(j))...)
		require.NoError(t, err)
		_, err = mw.Verify(t.Context(), fixtures(t).Tokens[0].Token)
		require.NoError(t, err)
	})
	t.Run("no usable key fails the fetch", func(t *testing.T) {
		srv := jwksServer(t, docOf(unusable...))
		j := newTestJWKS(t, srv.URL, []string{"ES256"})
		err := j.Refresh(t.Context())
		require.Error(t, err)
		assert.Contains(t, err.Error(), "no usable key")
	})
}

// TestJWKSNeverFetched: while no key set could be fetched, tokens get 503
// and ErrUnavailable, and both hooks hear of it.
func TestJWKSNeverFetched(t *testing.T) {
	srv := jwksServer(t, []byte("oops"))
	srv.set([]byte("oops"), http.StatusInternalServerError, 0)
	var background atomic.Int64
	// On a fake clock: no background retry runs unless the test moves it.
	j, clk, _ := newClockedJWKS(t, srv.URL,
		jwtguard.WithJWKSRefetchInterval(20*time.Millisecond),
		jwtguard.WithJWKSErrorHook(func(error) { background.Add(1) }))
	var failures []error
	var mu sync.Mutex
	mw := jwksMiddleware(t, j, jwtguard.WithFailureHook(func(_ *http.Request, err error) {
		mu.Lock()
		failures = append(failures, err)
		mu.Unlock()
	}))
	tok := tokenFor(t, ecKey(t, "k1"))

	_, err := mw.Verify(t.Context(), tok)
	require.ErrorIs(t, err, jwtguard.ErrUnavailable)
	assert.NotErrorIs(t, err, jwtguard.ErrInvalidToken)
	assert.Contains(t, err.Error(), "status 500")

	w := httptest.NewRecorder()
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	r.Header.Set("Authorization", "Bearer "+tok)
	mw.Handler(http.NotFoundHandler()).ServeHTTP(w, r)
	assert.Equal(t, http.StatusServiceUnavailable, w.Code)
	mu.Lock()
	require.Len(t, failures, 1)
	assert.ErrorIs(t, failures[0], jwtguard.ErrUnavailable)
	mu.Unlock()
	assert.GreaterOrEqual(t, background.Load(), int64(1))

	// A garbage token is still a client error, not 503.
	_, err = mw.Verify(t.Context(), "a.b.c")
	assert.ErrorIs(t, err, jwtguard.ErrMalformedToken)

	// Once the endpoint is back, the next token after the refetch interval
	// fetches and passes.
	k := ecKey(t, "k2")
	srv.set(jwksDoc(t, k), http.StatusOK, 0)
	clk.Advance(20 * time.Millisecond)
	_, err = mw.Verify(t.Context(), tokenFor(t, k))
	require.NoError(t, err)
}

// TestJWKSKeepsLastGoodSet: a failing endpoint never takes the keys away.
func TestJWKSKeepsLastGoodSet(t *testing.T) {
	k := ecKey(t, "k1")
	doc := jwksDoc(t, k)
	huge := append([]byte(`{"keys":[`+strings.Repeat(" ", 2<<20)), doc[9:]...)
	tests := []struct {
		name    string
		body    []byte
		status  int
		delay   time.Duration
		timeout time.Duration // of a fetch; 0: a minute, which no answering server takes
		wantErr string
	}{
		{name: "down", body: []byte("no"), status: http.StatusBadGateway, wantErr: "status 502"},
		{name: "not found", body: nil, status: http.StatusNotFound, wantErr: "status 404"},
		// The server never answers: only the fetch timeout ends the fetch.
		{name: "slow", body: doc, status: http.StatusOK, delay: time.Hour, timeout: 200 * time.Millisecond, wantErr: "deadline exceeded"},
		{name: "garbage", body: []byte("<html>hello</html>"), status: http.StatusOK, wantErr: "not a JWK Set"},
		{name: "truncated", body: doc[:len(doc)/2], status: http.StatusOK, wantErr: "not a JWK Set"},
		{name: "empty set", body: []byte(`{"keys":[]}`), status: http.StatusOK, wantErr: "no usable key"},
		{name: "huge", body: huge, status: http.StatusOK, wantErr: "larger than"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := jwksServer(t, doc)
			var hooked []error
			var mu sync.Mutex
			timeout := tt.timeout
			if timeout == 0 {
				timeout = time.Minute
			}
			j := newTestJWKS(t, srv.URL, []string{"ES256"},
				jwtguard.WithJWKSTimeout(timeout),
				jwtguard.WithJWKSRefetchInterval(time.Millisecond),
				jwtguard.WithJWKSErrorHook(func(err error) {
					mu.Lock()
					hooked = append(hooked, err)
					mu.Unlock()
				}))
			refreshUntilOK(t, j)
			mw := jwksMiddleware(t, j)
			tok := tokenFor(t, k)

			srv.set(tt.body, tt.status, tt.delay)
			err := j.Refresh(t.Context())
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.wantErr)
			mu.Lock()
			require.NotEmpty(t, hooked)
			assert.Contains(t, hooked[len(hooked)-1].Error(), tt.wantErr)
			mu.Unlock()

			_, err = mw.Verify(t.Context(), tok)
			require.NoError(t, err, "the last good set stays in use")
			// A token with an unknown kid causes a fetch, fails as
			// unknown, not as unavailable.
			_, err = mw.Verify(t.Context(), tokenFor(t, ecKey(t, "other")))
			assert.ErrorIs(t, err, jwtguard.ErrUnknownKey)
			assert.Equal(t, []jwtguard.Key{{ID: "k1", Algorithm: "ES256", Key: &k.Key.(*ecdsa.PrivateKey).PublicKey}}, j.Keys())
		})
	}
}

// refreshUntilOK fetches j's set until a fetch succeeds: with a short fetch
// timeout, one may time out on a loaded machine. A minute is a guard
// against a hang.
func refreshUntilOK(t testing.TB, j *jwtguard.JWKS) {
	t.Helper()
	for start := time.Now(); ; {
		err := j.Refresh(t.Context())
		if err == nil {
			return
		}
		if time.Since(start) > time.Minute {
			t.Fatalf("no fetch succeeded in a minute: %v", err)
		}
	}
}

// TestJWKSRotation follows the key provider through a rotation: a new kid is
// fetched when a token names it, and a removed key stops verifying once the
// set is fetched again.
func TestJWKSRotation(t *testing.T) {
	a, b := ecKey(t, "a"), ecKey(t, "b")
	srv := jwksServer(t, jwksDoc(t, a))
	j := newTestJWKS(t, srv.URL, []string{"ES256"}, jwtguard.WithJWKSRefetchInterval(time.Millisecond))
	mw := jwksMiddleware(t, j)
	tokA, tokB := tokenFor(t, a), tokenFor(t, b)

	_, err := mw.Verify(t.Context(), tokA)
	require.NoError(t, err)
	_, err = mw.Verify(t.Context(), tokB)
	assert.ErrorIs(t, err, jwtguard.ErrUnknownKey)

	srv.set(jwksDoc(t, b, a), http.StatusOK, 0)
	time.Sleep(2 * time.Millisecond)
	_, err = mw.Verify(t.Context(), tokB)
	require.NoError(t, err, "an unknown kid causes a fetch")
	_, err = mw.Verify(t.Context(), tokA)
	require.NoError(t, err)
	assert.True(t, j.Contains("a"))

	srv.set(jwksDoc(t, b), http.StatusOK, 0)
	require.NoError(t, j.Refresh(t.Context()))
	assert.False(t, j.Contains("a"))
	_, err = mw.Verify(t.Context(), tokA)
	assert.ErrorIs(t, err, jwtguard.ErrUnknownKey)
	_, err = mw.Verify(t.Context(), tokB)
	require.NoError(t, err)
}

// TestJWKSUnknownKidRateLimit counts the fetches caused by tokens with
// made-up kids: one per interval, shared by concurrent requests.
func TestJWKSUnknownKidRateLimit(t *testing.T) {
	k := ecKey(t, "k1")
	srv := jwksServer(t, jwksDoc(t, k))
	j := newTestJWKS(t, srv.URL, []string{"ES256"}, jwtguard.WithJWKSRefetchInterval(time.Hour))
	require.NoError(t, j.Refresh(t.Context()))
	// The start-up fetch and Refresh may or may not share a request:
	// count from here.
	before := srv.hits.Load()
	mw := jwksMiddleware(t, j)

	// A slow answer makes most concurrent requests join the one fetch; those
	// that come after it ended are within the interval: no fetch either.
	srv.set(jwksDoc(t, k), http.StatusOK, 100*time.Millisecond)
	forged := make([]string, 50)
	for i := range forged {
		forged[i] = tokenFor(t, ecKey(t, fmt.Sprintf("made-up-%d", i)))
	}
	var wg sync.WaitGroup
	for _, tok := range forged {
		wg.Go(func() {
			_, err := mw.Verify(context.Background(), tok)
			assert.ErrorIs(t, err, jwtguard.ErrUnknownKey)
		})
	}
	wg.Wait()
	assert.Equal(t, before+1, srv.hits.Load(), "50 concurrent unknown kids, one fetch")

	for _, tok := range forged {
		_, err := mw.Verify(t.Context(), tok)
		assert.ErrorIs(t, err, jwtguard.ErrUnknownKey)
	}
	assert.Equal(t, before+1, srv.hits.Load(), "no more fetches within the interval")
	_, err := mw.Verify(t.Context(), tokenFor(t, k))
	require.NoError(t, err)
}

// TestJWKSNoKid: with several keys, a token without kid is refused without
// a fetch; with one, it is accepted.
func TestJWKSNoKid(t *testing.T) {
	a, b := ecKey(t, "a"), ecKey(t, "b")
	noKid := sign(t, jwtMethod(a), a.Key, validClaims(), nil)
	srv := jwksServer(t, jwksDoc(t, a, b))
	j := newTestJWKS(t, srv.URL, []string{"ES256"}, jwtguard.WithJWKSRefetchInterval(time.Millisecond))
	require.NoError(t, j.Refresh(t.Context()))
	mw := jwksMiddleware(t, j)
	time.Sleep(2 * time.Millisecond)
	// The first fetch and Refresh may or may not share a request; what
	// matters is that the token without kid causes none.
	before := srv.hits.Load()
	_, err := mw.Verify(t.Context(), noKid)
	assert.ErrorIs(t, err, jwtguard.ErrUnknownKey)
	assert.Equal(t, before, srv.hits.Load(), "no fetch for a token without kid")

	srv.set(jwksDoc(t, a), http.StatusOK, 0)
	require.NoError(t, j.Refresh(t.Context()))
	_, err = mw.Verify(t.Context(), noKid)
	require.NoError(t, err)
}

// TestJWKSBackgroundRefresh: the set is fetched again when four fifths of
// its max-age have passed, within the configured bounds.
func TestJWKSBackgroundRefresh(t *testing.T) {
	a, b := ecKey(t, "a"), ecKey(t, "b")
	tests := []struct {
		name         string
		cacheControl string
		min, max     time.Duration
		wantWait     time.Duration
	}{
		{name: "max-age 0 is raised to min", cacheControl: "public, max-age=0", min: 50 * time.Millisecond, max: 100 * time.Millisecond, wantWait: 40 * time.Millisecond},
		{name: "max-age within bounds", cacheControl: "max-age=600", min: time.Minute, max: time.Hour, wantWait: 8 * time.Minute},
		{name: "max-age lowered to max", cacheControl: "max-age=86400", min: time.Minute, max: time.Hour, wantWait: 48 * time.Minute},
		{name: "no max-age", min: time.Minute, max: time.Hour, wantWait: jwtguard.DefaultJWKSTTL * 4 / 5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := jwksServer(t, jwksDoc(t, a))
			srv.cacheControl = tt.cacheControl
			j, clk, wait := newClockedJWKS(t, srv.URL, jwtguard.WithJWKSCacheBounds(tt.min, tt.max))
			assert.Equal(t, tt.wantWait, wait)
			assert.True(t, j.Contains("a"))
			srv.set(jwksDoc(t, b), http.StatusOK, 0)
			clk.Advance(wait - time.Nanosecond)
			clk.NoWait(t)
			assert.True(t, j.Contains("a"), "not fetched before its time")
			clk.Advance(time.Nanosecond)
			assert.Equal(t, tt.wantWait, clk.NextWait(t))
			assert.True(t, j.Contains("b"))
			assert.False(t, j.Contains("a"))
			assert.EqualValues(t, 2, srv.hits.Load())
		})
	}
}

// TestJWKSConcurrentRotation verifies from many goroutines while the
// provider rotates keys; run with -race.
func TestJWKSConcurrentRotation(t *testing.T) {
	keys := []jwtguard.Key{ecKey(t, "k0"), ecKey(t, "k1"), ecKey(t, "k2")}
	tokens := make([]string, len(keys))
	for i, k := range keys {
		tokens[i] = tokenFor(t, k)
	}
	srv := jwksServer(t, jwksDoc(t, keys[0], keys[1], keys[2]))
	j := newTestJWKS(t, srv.URL, []string{"ES256"}, jwtguard.WithJWKSRefetchInterval(time.Millisecond))
	require.NoError(t, j.Refresh(t.Context()))
	mw := jwksMiddleware(t, j)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			// Key 0 is always there; the others come and go.
			srv.set(jwksDoc(t, keys[0], keys[1+i%2]), http.StatusOK, 0)
			_ = j.Refresh(context.Background())
		}
	})
	for g := 0; g < 4; g++ {
		wg.Go(func() {
			for i := 0; i < 200; i++ {
				_, err := mw.Verify(context.Background(), tokens[0])
				assert.NoError(t, err)
				_, err = mw.Verify(context.Background(), tokens[1+i%2])
				if err != nil {
					assert.ErrorIs(t, err, jwtguard.ErrUnknownKey)
				}
			}
		})
	}
	time.Sleep(50 * time.Millisecond)
	close(stop)
	wg.Wait()
}

// jwksGoroutines counts the goroutines running JWKS code.
func jwksGoroutines() int {
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	return bytes.Count(buf, []byte("jwtguard.(*JWKS)"))
}

// waitJWKSGoroutines waits until want goroutines run JWKS code, and returns
// how many do: want, unless a minute passes (a guard, not a bound).
func waitJWKSGoroutines(want int) int {
	got := jwksGoroutines()
	for deadline := time.Now().Add(time.Minute); got != want && time.Now().Before(deadline); got = jwksGoroutines() {
		time.Sleep(time.Millisecond)
	}
	return got
}

func TestJWKSStops(t *testing.T) {
	k := ecKey(t, "k1")
	srv := jwksServer(t, jwksDoc(t, k))
	tok := tokenFor(t, k)
	t.Run("Close", func(t *testing.T) {
		before := waitJWKSGoroutines(0) // JWKSs closed by earlier tests may still be ending
		var all []*jwtguard.JWKS
		for i := 0; i < 5; i++ {
			j, err := jwtguard.NewJWKS(context.Background(), srv.URL, []string{"ES256"}, jwtguard.WithJWKSInsecureHTTP())
			require.NoError(t, err)
			require.NoError(t, j.Refresh(t.Context()))
			all = append(all, j)
		}
		assert.Greater(t, jwksGoroutines(), before)
		for _, j := range all {
			require.NoError(t, j.Close())
			require.NoError(t, j.Close(), "twice")
		}
		// Close returns once the goroutine has closed its done channel;
		// the goroutine itself ends a moment later.
		assert.Equal(t, before, waitJWKSGoroutines(before), "no goroutine left after Close")
		// The keys stay in use; nothing is fetched any more.
		mw := jwksMiddleware(t, all[0])
		_, err := mw.Verify(t.Context(), tok)
		require.NoError(t, err)
		hits := srv.hits.Load()
		_, err = mw.Verify(t.Context(), tokenFor(t, ecKey(t, "other")))
		assert.ErrorIs(t, err, jwtguard.ErrUnknownKey)
		assert.Error(t, all[0].Refresh(t.Context()))
		assert.Equal(t, hits, srv.hits.Load())
	})
	t.Run("context", func(t *testing.T) {
		before := waitJWKSGoroutines(0) // JWKSs closed by earlier tests may still be ending
		ctx, cancel := context.WithCancel(context.Background())
		srv.set(jwksDoc(t, k), http.StatusOK, time.Hour) // a fetch under way
		arrived := make(chan struct{}, 1)
		srv.onRequest(func() {
			select {
			case arrived <- struct{}{}:
			default:
			}
		})
		j, err := jwtguard.NewJWKS(ctx, srv.URL, []string{"ES256"}, jwtguard.WithJWKSInsecureHTTP(), jwtguard.WithJWKSTimeout(time.Hour))
		require.NoError(t, err)
		done := make(chan error, 1)
		go func() { done <- j.Refresh(context.Background()) }()
		<-arrived
		cancel()
		select {
		case err := <-done:
			assert.Error(t, err)
		case <-time.After(time.Minute): // a guard against a hang, not a bound
			t.Fatal("a waiter was left hanging")
		}
		assert.Equal(t, before, waitJWKSGoroutines(before))
		_ = j.Close()
	})
}

func TestDiscoverJWKSURL(t *testing.T) {
	var issuer string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/good/.well-known/openid-configuration":
			fmt.Fprintf(w, `{"issuer":%q,"jwks_uri":%q}`, issuer+"/good", issuer+"/good/jwks")
		case "/liar/.well-known/openid-configuration":
			fmt.Fprintf(w, `{"issuer":"https://idp.example","jwks_uri":"https://idp.example/jwks"}`)
		case "/ftp/.well-known/openid-configuration":
			fmt.Fprintf(w, `{"issuer":%q,"jwks_uri":"ftp://x/jwks"}`, issuer+"/ftp")
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	issuer = srv.URL
	got, err := jwtguard.DiscoverJWKSURL(t.Context(), nil, issuer+"/good")
	require.NoError(t, err)
	assert.Equal(t, issuer+"/good/jwks", got)
	for _, path := range []string{"/liar", "/ftp", "/missing"} {
		_, err := jwtguard.DiscoverJWKSURL(t.Context(), nil, issuer+path)
		assert.Error(t, err, path)
	}
	_, err = jwtguard.DiscoverJWKSURL(t.Context(), nil, "not a url")
	assert.Error(t, err)
}

// TestJWKSHandlerToClient: one service signs with a KeySet and serves its
// JWKS; another verifies through a JWKS client, across a rotation.
func TestJWKSHandlerToClient(t *testing.T) {
	ks, err := jwtguard.NewKeySet(ecKey(t, "2026-01"))
	require.NoError(t, err)
	srv := httptest.NewServer(ks.JWKSHandler(time.Minute))
	defer srv.Close()
	j := newTestJWKS(t, srv.URL, []string{"ES256", "EdDSA"}, jwtguard.WithJWKSRefetchInterval(time.Millisecond))
	mw := jwksMiddleware(t, j)
	mint := func() string {
		k, err := ks.SigningKey()
		require.NoError(t, err)
		return tokenFor(t, k)
	}
	first := mint()
	_, err = mw.Verify(t.Context(), first)
	require.NoError(t, err)

	require.NoError(t, ks.Rotate(ecKey(t, "2026-02")))
	time.Sleep(2 * time.Millisecond)
	_, err = mw.Verify(t.Context(), mint())
	require.NoError(t, err, "the new kid is fetched")
	_, err = mw.Verify(t.Context(), first)
	require.NoError(t, err, "the previous key is still published")

	require.NoError(t, ks.Remove("2026-01"))
	require.NoError(t, j.Refresh(t.Context()))
	_, err = mw.Verify(t.Context(), first)
	assert.ErrorIs(t, err, jwtguard.ErrUnknownKey)
}

// newClockedJWKS makes a JWKS of a test server on a fake clock, closed at
// the end of the test, and waits for its start-up fetch to end.
func newClockedJWKS(t testing.TB, url string, opts ...jwtguard.JWKSOption) (*jwtguard.JWKS, *jwtguard.FakeJWKSClock, time.Duration) {
	t.Helper()
	clk := jwtguard.NewFakeJWKSClock(testNow)
	opts = append([]jwtguard.JWKSOption{
		jwtguard.WithJWKSInsecureHTTP(),
		jwtguard.WithJWKSTimeout(time.Hour), // the server answers at once, or the test hangs
	}, opts...)
	j, err := jwtguard.NewJWKSOnClock(t.Context(), url, []string{"ES256"}, clk, opts...)
	require.NoError(t, err)
	t.Cleanup(func() { _ = j.Close() })
	return j, clk, clk.NextWait(t)
}

// TestJWKSRecoversSoonAfterOutageAtStart: a key set endpoint that is down
// when the service starts, for however long, is fetched again at most
// jwksUnavailableRetry apart in the background and at most once a second
// by requests; once it answers, service resumes within that bound.
func TestJWKSRecoversSoonAfterOutageAtStart(t *testing.T) {
	const bound = 4 * time.Second // the bound docs/keys.md states
	k := ecKey(t, "k1")
	tok := tokenFor(t, k)

	t.Run("without traffic", func(t *testing.T) {
		srv := jwksServer(t, jwksDoc(t, k))
		srv.set(nil, http.StatusServiceUnavailable, 0)
		j, clk, wait := newClockedJWKS(t, srv.URL)
		mw := jwksMiddleware(t, j)
		// A long outage: the retries back off, but never beyond the bound.
		var waits []time.Duration
		for range 20 {
			waits = append(waits, wait)
			clk.Advance(wait)
			wait = clk.NextWait(t)
		}
		assert.Equal(t, []time.Duration{time.Second, 2 * time.Second}, waits[:2])
		for i, w := range waits {
			assert.LessOrEqual(t, w, bound, "retry %d", i)
		}
		assert.EqualValues(t, 21, srv.hits.Load())
		_, err := mw.Verify(t.Context(), tok)
		require.ErrorIs(t, err, jwtguard.ErrUnavailable)
		wait = clk.NextWait(t) // that request caused a fetch
		srv.set(jwksDoc(t, k), http.StatusOK, 0)
		clk.Advance(wait)
		clk.NextWait(t)
		_, err = mw.Verify(t.Context(), tok)
		require.NoError(t, err, "service resumed within %v of the endpoint's return", wait)
	})

	t.Run("with traffic", func(t *testing.T) {
		srv := jwksServer(t, jwksDoc(t, k))
		srv.set(nil, http.StatusServiceUnavailable, 0)
		j, clk, _ := newClockedJWKS(t, srv.URL, jwtguard.WithJWKSRefetchInterval(time.Hour))
		mw := jwksMiddleware(t, j)
		// Requests cause a fetch at most once a second, whatever the
		// refetch interval of unknown kids.
		_, err := mw.Verify(t.Context(), tok)
		require.ErrorIs(t, err, jwtguard.ErrUnavailable)
		clk.NextWait(t)
		hits := srv.hits.Load()
		clk.Advance(time.Second / 2)
		_, err = mw.Verify(t.Context(), tok)
		require.ErrorIs(t, err, jwtguard.ErrUnavailable)
		assert.Equal(t, hits, srv.hits.Load(), "no fetch within a second of the last")
		srv.set(jwksDoc(t, k), http.StatusOK, 0)
		clk.Advance(time.Second / 2)
		_, err = mw.Verify(t.Context(), tok)
		require.NoError(t, err, "a request a second after the last fetch fetches again")
		assert.Equal(t, hits+1, srv.hits.Load())
	})

	t.Run("a set once fetched backs off to the cache bound", func(t *testing.T) {
		srv := jwksServer(t, jwksDoc(t, k))
		j, clk, wait := newClockedJWKS(t, srv.URL, jwtguard.WithJWKSCacheBounds(time.Minute, time.Hour))
		mw := jwksMiddleware(t, j)
		srv.set(nil, http.StatusServiceUnavailable, 0)
		var waits []time.Duration
		for range 8 {
			clk.Advance(wait)
			wait = clk.NextWait(t)
			waits = append(waits, wait)
		}
		// The last good set is in use: no hurry to hammer the endpoint.
		assert.Equal(t, []time.Duration{1, 2, 4, 8, 16, 32, 60, 60}, scale(waits, time.Second))
		_, err := mw.Verify(t.Context(), tok)
		require.NoError(t, err)
	})
}

// scale returns ds in units of unit.
func scale(ds []time.Duration, unit time.Duration) []time.Duration {
	out := make([]time.Duration, len(ds))
	for i, d := range ds {
		out[i] = d / unit
	}
	return out
}
