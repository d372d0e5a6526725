package main

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jwtguard/jwtguard"
	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/bcrypt"
)

const (
	testSecret   = "example-test-secret-of-32-bytes!"
	testIssuer   = "https://auth.example.test"
	testAudience = "example-api"
	testPassword = "correct horse battery"
)

// testConfig is a configuration for tests: a fixed secret and a database
// in the test's temporary directory.
func testConfig(t testing.TB) Config {
	t.Helper()
	return Config{
		Addr:       "127.0.0.1:0",
		Secret:     []byte(testSecret),
		Issuer:     testIssuer,
		Audience:   testAudience,
		DBPath:     filepath.Join(t.TempDir(), "users.db"),
		AccessTTL:  30 * time.Minute,
		RefreshTTL: 7 * 24 * time.Hour,
		DPoP:       jwtguard.DPoPAllowed,
		// As loadConfig's defaults.
		SessionMaxAge: 30 * 24 * time.Hour,
		FreshMaxAge:   5 * time.Minute,
	}
}

// testServer is the application behind a real HTTP server (requests then
// look like a server's requests, with no URL.Scheme or URL.Host).
type testServer struct {
	*httptest.Server
	app   *App
	users *Users
}

// Each of setup, if any, changes the application before it serves.
func newTestServer(t testing.TB, cfg Config, setup ...func(*App)) *testServer {
	t.Helper()
	users, err := openUsers(context.Background(), cfg.DBPath)
	require.NoError(t, err)
	t.Cleanup(func() { users.Close() })
	app, err := newApp(cfg, users, bcrypt.MinCost, slog.New(slog.NewTextHandler(io.Discard, nil)))
	require.NoError(t, err)
	t.Cleanup(func() { app.Close() })
	for _, f := range setup {
		f(app)
	}
	srv := httptest.NewServer(app.Handler())
	t.Cleanup(srv.Close)
	return &testServer{Server: srv, app: app, users: users}
}

// answer is a response read whole.
type answer struct {
	status int
	header http.Header
	body   []byte
	json   map[string]any
}

func (a answer) str(name string) string {
	s, _ := a.json[name].(string)
	return s
}

// request is one API call.
type request struct {
	method, path string
	contentType  string
	body         string
	header       map[string]string
	cookies      []*http.Cookie
}

func (s *testServer) do(t *testing.T, rq request) answer {
	t.Helper()
	req, err := http.NewRequest(rq.method, s.URL+rq.path, strings.NewReader(rq.body))
	require.NoError(t, err)
	if rq.contentType != "" {
		req.Header.Set("Content-Type", rq.contentType)
	}
	for k, v := range rq.header {
		req.Header.Set(k, v)
	}
	for _, c := range rq.cookies {
		req.AddCookie(c)
	}
	resp, err := s.Client().Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	a := answer{status: resp.StatusCode, header: resp.Header, body: b}
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		require.NoError(t, json.Unmarshal(b, &a.json), "body %q", b)
	}
	return a
}

func (s *testServer) postJSON(t *testing.T, path string, v any, header map[string]string) answer {
	t.Helper()
	b, err := json.Marshal(v)
	require.NoError(t, err)
	return s.do(t, request{method: http.MethodPost, path: path, contentType: "application/json", body: string(b), header: header})
}

// register makes a user and returns its id.
func (s *testServer) register(t *testing.T, email string) int64 {
	t.Helper()
	a := s.postJSON(t, registerPath, map[string]string{"email": email, "password": testPassword}, nil)
	require.Equal(t, http.StatusCreated, a.status, "%s", a.body)
	return int64(a.json["id"].(float64))
}

// login logs email in through the JSON API and returns the pair.
func (s *testServer) login(t *testing.T, email string) (access, refresh string) {
	t.Helper()
	a := s.postJSON(t, loginPath, map[string]string{"username": email, "password": testPassword}, nil)
	require.Equal(t, http.StatusOK, a.status, "%s", a.body)
	return a.str("access_token"), a.str("refresh_token")
}

func (s *testServer) me(t *testing.T, access string) answer {
	t.Helper()
	return s.do(t, request{method: http.MethodGet, path: mePath, header: map[string]string{"Authorization": "Bearer " + access}})
}

// handMadeToken signs claims with HS256 using only crypto/hmac and base64,
// as any other JWT implementation would.
func handMadeToken(secret string, claims map[string]any) string {
	enc := base64.RawURLEncoding
	header, _ := json.Marshal(map[string]string{"alg": "HS256", "typ": "JWT"})
	payload, _ := json.Marshal(claims)
	signing := enc.EncodeToString(header) + "." + enc.EncodeToString(payload)
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(signing))
	return signing + "." + enc.EncodeToString(mac.Sum(nil))
}

// handMadeClaims are the claims the issue lists, for subject sub.
func handMadeClaims(sub string) map[string]any {
	now := time.Now().Unix()
	return map[string]any{
		"sub": sub, "type": "access", "iss": testIssuer, "aud": testAudience,
		"exp": now + 300, "iat": now, "nbf": now, "jti": "hand-made-" + sub,
	}
}

// cookieNamed returns the Set-Cookie of that name in h, or nil.
func cookieNamed(h http.Header, name string) *http.Cookie {
	for _, c := range (&http.Response{Header: h}).Cookies() {
		if c.Name == name {
			return c
		}
	}
	return nil
}
