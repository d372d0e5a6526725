package jwtguard_test

import (
	"bytes"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/jwtguard/jwtguard"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestGuardsSeeLogouts follows a user who logs in and out, over a real
// server, through every guard one can put on a route next to Sessions:
// the guards Sessions hands out refuse the logged-out token; a guard from
// New with the key alone refuses the tokens of an Issuer from the start,
// saying why, rather than accept them after the logout; with the store, it
// behaves as the sessions' guard; only the explicitly named
// WithInsecureNoRevocationCheck accepts a logged-out token.
func TestGuardsSeeLogouts(t *testing.T) {
	l := newLifecycle(t)
	var logs bytes.Buffer
	base := []jwtguard.Option{
		jwtguard.WithKey("HS256", secret256), jwtguard.WithIssuer(testIssuer),
		jwtguard.WithAudience(testAudience), jwtguard.WithClock(l.clock.Now),
		jwtguard.WithLogger(slog.New(slog.NewTextHandler(&logs, nil)), slog.LevelInfo),
	}
	newGuard := func(opts ...jwtguard.Option) *jwtguard.Middleware {
		mw, err := jwtguard.New(append(base, opts...)...)
		require.NoError(t, err)
		return mw
	}
	keyOnly := newGuard()
	withStore := newGuard(jwtguard.WithStore(l.store))
	insecure := newGuard(jwtguard.WithInsecureNoRevocationCheck())

	me := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte("ok")) })
	mux := http.NewServeMux()
	mux.Handle("POST /login", l.sessions.LoginHandler(authenticate))
	mux.Handle("POST /logout", l.sessions.LogoutHandler())
	mux.Handle("GET /sessions", l.sessions.Handler(me))
	mux.Handle("GET /sessions-optional", l.sessions.Optional(me))
	mux.Handle("GET /sessions-reader", l.sessions.RequireRole("reader")(me))
	mux.Handle("GET /sessions-admin", l.sessions.RequireRole("admin")(me))
	mux.Handle("GET /sessions-scope", l.sessions.RequireScope("orders:read")(me))
	mux.Handle("GET /key-only", keyOnly.Handler(me))
	mux.Handle("GET /with-store", withStore.Handler(me))
	mux.Handle("GET /insecure", insecure.Handler(me))
	srv := httptest.NewServer(mux)
	defer srv.Close()

	get := func(path, token string) int {
		req, err := http.NewRequest("GET", srv.URL+path, nil)
		require.NoError(t, err)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := srv.Client().Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		return resp.StatusCode
	}
	resp, err := srv.Client().Post(srv.URL+"/login", "application/json",
		strings.NewReader(`{"username":"alice","password":"`+alicePass+`"}`))
	require.NoError(t, err)
	pair := decodeTokenBody(t, resp)
	resp.Body.Close()
	require.NotEmpty(t, pair.AccessToken)

	before := map[string]int{
		"/sessions": 200, "/sessions-optional": 200, "/sessions-reader": 200, "/sessions-admin": 403, "/sessions-scope": 403,
		"/key-only": 503, "/with-store": 200, "/insecure": 200,
	}
	after := map[string]int{
		"/sessions": 401, "/sessions-optional": 401, "/sessions-reader": 401, "/sessions-admin": 401, "/sessions-scope": 401,
		"/key-only": 503, "/with-store": 401, "/insecure": 200,
	}
	for path, want := range before {
		assert.Equal(t, want, get(path, pair.AccessToken), "before logout: %s", path)
	}
	assert.Contains(t, logs.String(), "has no store to see its logout: protect the route with Sessions.Handler")

	req, err := http.NewRequest("POST", srv.URL+"/logout", nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+pair.AccessToken)
	resp, err = srv.Client().Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusNoContent, resp.StatusCode)

	for path, want := range after {
		assert.Equal(t, want, get(path, pair.AccessToken), "after logout: %s", path)
	}

	// Tokens of other issuers, without a family, are not affected.
	assert.Equal(t, http.StatusOK, get("/key-only", htToken(t, map[string]any{"iss": testIssuer, "aud": testAudience, "exp": l.clock.Now().Unix() + 60})))
	_, err = keyOnly.Verify(t.Context(), pair.AccessToken)
	require.ErrorIs(t, err, jwtguard.ErrUnavailable)
}
