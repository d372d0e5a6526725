package jwtguard_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jwtguard/jwtguard"
	"github.com/stretchr/testify/require"
)

// testClock is a clock tests move by hand, safe for concurrent use.
type testClock struct {
	mu  sync.Mutex
	now time.Time
}

func newTestClock() *testClock { return &testClock{now: testNow} }

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

const (
	testIssuer   = "https://auth.test"
	testAudience = "api.test"
	alicePass    = "correct horse battery staple"
)

// users is the application's user table for the login callback.
var users = map[string]struct {
	id, password string
	roles        []string
}{
	"alice": {"1", alicePass, []string{"reader"}},
	"bob":   {"2", "bob-password", nil},
}

// authenticate is a LoginFunc over users.
func authenticate(_ context.Context, username, password string) (string, map[string]any, error) {
	u, ok := users[username]
	if !ok || u.password != password {
		return "", nil, jwtguard.ErrInvalidCredentials
	}
	var claims map[string]any
	if u.roles != nil {
		claims = map[string]any{"roles": u.roles}
	}
	return u.id, claims, nil
}

// lifecycle is an issuer, a memory store and sessions sharing one clock.
type lifecycle struct {
	clock    *testClock
	store    *jwtguard.MemoryStore
	issuer   *jwtguard.Issuer
	sessions *jwtguard.Sessions
}

func newLifecycle(t testing.TB, opts ...jwtguard.SessionsOption) *lifecycle {
	t.Helper()
	l := &lifecycle{clock: newTestClock()}
	var err error
	l.store, err = jwtguard.NewMemoryStore(jwtguard.MemoryStoreClock(l.clock.Now))
	require.NoError(t, err)
	t.Cleanup(func() { _ = l.store.Close() })
	l.issuer, err = jwtguard.NewIssuer(jwtguard.IssuerConfig{
		Key:      jwtguard.Key{ID: "k1", Algorithm: "HS256", Key: secret256},
		Issuer:   testIssuer,
		Audience: []string{testAudience},
		Clock:    l.clock.Now,
	})
	require.NoError(t, err)
	l.sessions, err = jwtguard.NewSessions(l.issuer, l.store, opts...)
	require.NoError(t, err)
	return l
}

// mux serves the seed flow's routes.
func (l *lifecycle) mux() *http.ServeMux {
	mux := http.NewServeMux()
	mux.Handle("/api/v1/auth/login", l.sessions.LoginHandler(authenticate))
	mux.Handle("/api/v1/auth/refresh", l.sessions.RefreshHandler())
	mux.Handle("/api/v1/auth/logout", l.sessions.LogoutHandler())
	me := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, ok := jwtguard.FromContext(r.Context())
		if !ok {
			http.Error(w, "no claims", http.StatusInternalServerError)
			return
		}
		_, _ = w.Write([]byte(c.Subject))
	})
	mux.Handle("/api/v1/me", l.sessions.Middleware().Handler(me))
	return mux
}

// tlsServer serves l over HTTPS (Secure cookies) to a client with a
// cookie jar.
func (l *lifecycle) tlsServer(t testing.TB) (*httptest.Server, *http.Client) {
	t.Helper()
	srv := httptest.NewTLSServer(l.mux())
	t.Cleanup(srv.Close)
	client := srv.Client()
	jar, err := cookiejar.New(nil)
	require.NoError(t, err)
	client.Jar = jar
	return srv, client
}

// tokenBody is a login or refresh answer.
type tokenBody struct {
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int64  `json:"expires_in"`
	Error        string `json:"error"`
}

func decodeTokenBody(t testing.TB, resp *http.Response) tokenBody {
	t.Helper()
	var b tokenBody
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&b))
	return b
}

// jsonRequest builds a request with a JSON body.
func jsonRequest(t testing.TB, method, target string, v any) *http.Request {
	t.Helper()
	r := httptest.NewRequest(method, target, strings.NewReader(mustJSON(t, v)))
	r.Header.Set("Content-Type", "application/json")
	return r
}

// formRequest builds a request with a urlencoded form body.
func formRequest(method, target string, form url.Values) *http.Request {
	r := httptest.NewRequest(method, target, strings.NewReader(form.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return r
}

// serve runs h on r.
func serve(h http.Handler, r *http.Request) *httptest.ResponseRecorder {
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

// login logs alice in through the sessions' login handler.
func (l *lifecycle) login(t testing.TB) tokenBody {
	t.Helper()
	w := serve(l.sessions.LoginHandler(authenticate), jsonRequest(t, http.MethodPost, "/login",
		map[string]string{"username": "alice", "password": alicePass}))
	require.Equal(t, http.StatusOK, w.Code, w.Body.String())
	var b tokenBody
	require.NoError(t, json.Unmarshal(w.Body.Bytes(), &b))
	return b
}

// refresh posts a refresh token in a JSON body.
func (l *lifecycle) refresh(t testing.TB, token string) *httptest.ResponseRecorder {
	t.Helper()
	return serve(l.sessions.RefreshHandler(), jsonRequest(t, http.MethodPost, "/refresh",
		map[string]string{"refresh_token": token}))
}

// callMe calls the protected route with a bearer token.
func (l *lifecycle) callMe(token string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(http.MethodGet, "/me", nil)
	r.Header.Set("Authorization", "Bearer "+token)
	return serve(l.mux(), withPath(r, "/api/v1/me"))
}

func withPath(r *http.Request, path string) *http.Request {
	r.URL.Path = path
	r.RequestURI = path
	return r
}

// parts decodes a token's header and payload.
func parts(t testing.TB, token string) (header, payload map[string]any) {
	t.Helper()
	seg := strings.Split(token, ".")
	require.Len(t, seg, 3)
	for i, dst := range []*map[string]any{&header, &payload} {
		b, err := base64.RawURLEncoding.DecodeString(seg[i])
		require.NoError(t, err)
		require.NoError(t, json.Unmarshal(b, dst))
	}
	return header, payload
}

// failingStore is a Store whose every call fails.
type failingStore struct{}

var errStoreDown = errors.New("store down")

func (failingStore) Revoke(context.Context, string, string, time.Time) error { return errStoreDown }
func (failingStore) IsRevoked(context.Context, string, string) (bool, error) {
	return false, errStoreDown
}
func (failingStore) Rotate(context.Context, string, string, string, jwtguard.RefreshUse) (jwtguard.Rotation, error) {
	return 0, errStoreDown
}
func (failingStore) RevokeFamily(context.Context, string, string, time.Time) error {
	return errStoreDown
}
func (failingStore) IsFamilyRevoked(context.Context, string, string) (bool, error) {
	return false, errStoreDown
}
func (failingStore) RevokeSubject(context.Context, string, string, time.Time, time.Time) error {
	return errStoreDown
}
func (failingStore) IsSubjectRevoked(context.Context, string, string, time.Time) (bool, error) {
	return false, errStoreDown
}
func (failingStore) StartSession(context.Context, string, jwtguard.Session, time.Time) error {
	return errStoreDown
}
func (failingStore) TouchSession(context.Context, string, string, string, time.Time, time.Time, time.Time) error {
	return errStoreDown
}
func (failingStore) ListSessions(context.Context, string, string) ([]jwtguard.Session, error) {
	return nil, errStoreDown
}
func (failingStore) DeleteSession(context.Context, string, string, string) error { return errStoreDown }

// serveFunc runs fn on a recorder.
func serveFunc(fn func(w http.ResponseWriter)) *httptest.ResponseRecorder {
	w := httptest.NewRecorder()
	fn(w)
	return w
}
