package grpcguard_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/golang-jwt/jwt/v5"
	"github.com/jwtguard/jwtguard"
	"github.com/jwtguard/jwtguard/grpcguard"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// hookLog records what the Middleware's hooks receive.
type hookLog struct {
	mu       sync.Mutex
	success  []string // "path subject user-agent-present remote-present claims-in-context"
	failures []error
	paths    []string
}

func (h *hookLog) options() []jwtguard.Option {
	return []jwtguard.Option{
		jwtguard.WithSuccessHook(func(r *http.Request, claims any) {
			h.mu.Lock()
			defer h.mu.Unlock()
			inCtx, _ := jwtguard.FromContext(r.Context())
			h.success = append(h.success, fmt.Sprintf("%s %s %s %s ua=%t remote=%t host=%t ctx=%t",
				r.Method, r.URL.Path, r.Proto, claims.(*jwtguard.Claims).Subject,
				r.Header.Get("User-Agent") != "", r.RemoteAddr != "", r.Host != "", inCtx == claims))
		}),
		jwtguard.WithFailureHook(func(r *http.Request, err error) {
			h.mu.Lock()
			defer h.mu.Unlock()
			h.failures = append(h.failures, err)
			h.paths = append(h.paths, r.URL.Path)
		}),
	}
}

// The hooks of the Middleware see gRPC calls as the HTTP/2 requests they
// are, exactly as they see HTTP requests.
func TestHooks(t *testing.T) {
	var log hookLog
	s := startServer(t, newMiddleware(t, log.options()...),
		grpcguard.WithoutAuthentication(public),
		grpcguard.WithOptional(maybe),
		grpcguard.WithScope(write, "orders:write"),
	)
	valid := sign(t, jwt.SigningMethodHS256, secret, claims("bob"))
	forged := sign(t, jwt.SigningMethodHS256, otherSecret, claims("mallory"))

	calls := []struct {
		method string
		md     []string
	}{
		{whoami, []string{"authorization", "Bearer " + valid}},  // success
		{whoami, []string{"authorization", "Bearer " + forged}}, // failure: signature
		{whoami, []string{"authorization", "Bearer"}},           // failure: malformed
		{whoami, nil}, // failure: no token
		{write, []string{"authorization", "Bearer " + valid}},   // success, then failure: scope
		{public, []string{"authorization", "Bearer " + forged}}, // exempt: no hook
		{maybe, nil}, // optional, no token: no hook
	}
	for _, c := range calls {
		_, _ = s.call(t, c.method, c.md...)
	}

	log.mu.Lock()
	defer log.mu.Unlock()
	assert.Equal(t, []string{
		"POST " + whoami + " HTTP/2.0 bob ua=true remote=true host=true ctx=true",
		"POST " + write + " HTTP/2.0 bob ua=true remote=true host=true ctx=true",
	}, log.success)
	require.Len(t, log.failures, 4)
	assert.ErrorIs(t, log.failures[0], jwtguard.ErrSignature)
	assert.ErrorIs(t, log.failures[1], jwtguard.ErrMalformedRequest)
	assert.ErrorIs(t, log.failures[2], jwtguard.ErrNoToken)
	assert.ErrorIs(t, log.failures[3], jwtguard.ErrInsufficientScope)
	assert.Contains(t, log.failures[3].Error(), `scope "orders:write"`)
	assert.Equal(t, []string{whoami, whoami, whoami, write}, log.paths)
}

// The verified-token cache of the Middleware serves gRPC calls too.
func TestCache(t *testing.T) {
	mw := newMiddleware(t, jwtguard.WithCache(64))
	s := startServer(t, mw)
	token := issue(t, newIssuer(t), "alice", nil).AccessToken
	for range 3 {
		got, err := s.call(t, whoami, "authorization", "Bearer "+token)
		require.NoError(t, err)
		require.Equal(t, "alice", got)
	}
	assert.Equal(t, 1, mw.CacheStats().Entries)
}

// A key set that could never be fetched makes calls Unavailable, not
// Unauthenticated: the caller is not at fault.
func TestJWKSUnavailable(t *testing.T) {
	down := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "down", http.StatusInternalServerError)
	}))
	t.Cleanup(down.Close)
	jwks, err := jwtguard.NewJWKS(context.Background(), down.URL, []string{"ES256"}, jwtguard.WithJWKSInsecureHTTP())
	require.NoError(t, err)
	t.Cleanup(func() { jwks.Close() })
	require.Error(t, jwks.Refresh(context.Background()))
	mw, err := jwtguard.New(jwtguard.WithJWKS(jwks), jwtguard.WithIssuer(testIssuer))
	require.NoError(t, err)
	s := startServer(t, mw)

	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tok := jwt.NewWithClaims(jwt.SigningMethodES256, claims("alice"))
	tok.Header["kid"] = "k1"
	token, err := tok.SignedString(key)
	require.NoError(t, err)

	_, err = s.call(t, whoami, "authorization", "Bearer "+token)
	checkRefused(t, s, err, codes.Unavailable, "the token cannot be checked now", jwtguard.ErrUnavailable, token)
	assert.NotContains(t, status.Convert(err).Message(), down.URL)
}

// Parallel calls, unary and streaming, valid and refused, on one Guard; run
// with -race. Every call's outcome is checked, none is counted by timing.
func TestParallel(t *testing.T) {
	store, err := jwtguard.NewMemoryStore()
	require.NoError(t, err)
	t.Cleanup(func() { store.Close() })
	s := startServer(t, newMiddleware(t, jwtguard.WithStore(store), jwtguard.WithCache(64)),
		grpcguard.WithScope(write, "orders:write"))
	iss := newIssuer(t)
	const workers, calls = 8, 20
	tokens := make([]string, workers)
	for i := range tokens {
		tokens[i] = issue(t, iss, fmt.Sprintf("user-%d", i), map[string]any{"scope": "orders:write"}).AccessToken
	}
	forged := sign(t, jwt.SigningMethodHS256, otherSecret, claims("mallory"))

	var wg sync.WaitGroup
	errs := make(chan error, workers*calls)
	for w := range workers {
		wg.Go(func() {
			for i := range calls {
				method := whoami
				if i%2 == 1 {
					method = write
				}
				got, err := s.call(t, method, "authorization", "Bearer "+tokens[w])
				if err != nil || got != fmt.Sprintf("user-%d", w) {
					errs <- fmt.Errorf("worker %d call %d: got %q, %v", w, i, got, err)
				}
				if _, err := s.call(t, method, "authorization", "Bearer "+forged); status.Code(err) != codes.Unauthenticated {
					errs <- fmt.Errorf("worker %d call %d: forged token: %v", w, i, err)
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestNewRefuses(t *testing.T) {
	mw := newMiddleware(t)
	tests := []struct {
		name string
		mw   *jwtguard.Middleware
		opts []grpcguard.Option
		want []string
	}{
		{"nil middleware", nil, nil, []string{"nil Middleware"}},
		{"DPoP required", newMiddleware(t, jwtguard.WithDPoP(jwtguard.DPoPRequired)), nil, []string{"WithDPoP(DPoPRequired)", "no DPoP proof"}},
		{"method without slash", mw, []grpcguard.Option{grpcguard.WithoutAuthentication("test.v1.Echo/Whoami")},
			[]string{`WithoutAuthentication: "test.v1.Echo/Whoami" is not a full method name`}},
		{"bad names", mw, []grpcguard.Option{
			grpcguard.WithOptional("/svc", "/svc/", "//m", "/svc/a/b", "/s*/m", "/svc/Get*", "/svc/M x"),
		}, []string{`"/svc"`, `"/svc/"`, `"//m"`, `"/svc/a/b"`, `"/s*/m"`, `"/svc/Get*"`, `"/svc/M x"`}},
		{"no method", mw, []grpcguard.Option{grpcguard.WithoutAuthentication()}, []string{"WithoutAuthentication: no method"}},
		{"no scope", mw, []grpcguard.Option{grpcguard.WithScope(write, " ")}, []string{`WithScope("/test.v1.Echo/Write"): no scope`}},
		{"empty role", mw, []grpcguard.Option{grpcguard.WithRole(admin, "admin", "")}, []string{"WithRole(\"/test.v1.Echo/Admin\"): no role, or an empty one"}},
		{"exempt and scoped", mw, []grpcguard.Option{grpcguard.WithoutAuthentication(write), grpcguard.WithScope(write, "w")},
			[]string{write + " is exempt from authentication"}},
		{"exempt service, scoped method", mw, []grpcguard.Option{grpcguard.WithoutAuthentication("/" + service + "/*"), grpcguard.WithRole(admin, "admin")},
			[]string{admin + " is exempt from authentication"}},
		{"optional and scoped", mw, []grpcguard.Option{grpcguard.WithOptional(maybe), grpcguard.WithScope(maybe, "s")},
			[]string{maybe + " has optional authentication"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			g, err := grpcguard.New(tc.mw, tc.opts...)
			require.Error(t, err)
			assert.Nil(t, g)
			assert.ErrorIs(t, err, jwtguard.ErrInvalidConfig)
			for _, w := range tc.want {
				assert.Contains(t, err.Error(), w)
			}
		})
	}

	g, err := grpcguard.New(mw, nil, grpcguard.WithoutAuthentication(public, public), grpcguard.WithScope(write, "a"), grpcguard.WithScope(write, "b a"))
	require.NoError(t, err, "nil options and repeated rules are fine")
	require.NotNil(t, g)
}

// TestDPoPAllowed: under DPoPAllowed the guard takes bearer tokens that are
// not DPoP-bound, as the Middleware does over HTTP, and refuses bound ones
// (a call carries no proof).
func TestDPoPAllowed(t *testing.T) {
	s := startServer(t, newMiddleware(t, jwtguard.WithDPoP(jwtguard.DPoPAllowed)))
	plain := sign(t, jwt.SigningMethodHS256, secret, claims("alice"))
	got, err := s.call(t, whoami, "authorization", "Bearer "+plain)
	require.NoError(t, err)
	assert.Equal(t, "alice", got)

	bound := claims("bob")
	bound["cnf"] = map[string]any{"jkt": "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I"}
	boundTok := sign(t, jwt.SigningMethodHS256, secret, bound)
	_, err = s.call(t, whoami, "authorization", "Bearer "+boundTok)
	require.Error(t, err)
	assert.Equal(t, codes.Unauthenticated, status.Code(err))
	assert.ErrorIs(t, s.lastErr(), jwtguard.ErrInvalidToken)
}
