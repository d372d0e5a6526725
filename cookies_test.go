package jwtguard_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/jwtguard/jwtguard"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestCookieAttributes checks the Set-Cookie headers the login and logout
// handlers write, parsed as a client parses them.
func TestCookieAttributes(t *testing.T) {
	const access, refresh = 30 * 60, 7 * 24 * 60 * 60
	type want struct {
		name     string
		path     string
		maxAge   int
		secure   bool
		sameSite http.SameSite
	}
	tests := []struct {
		name      string
		opts      []jwtguard.SessionsOption
		cookies   []want
		bodyToken bool
	}{
		{
			name: "default cookie mode",
			opts: []jwtguard.SessionsOption{jwtguard.WithCookies()},
			cookies: []want{
				{"__Host-access_token", "/", access, true, http.SameSiteLaxMode},
				{"__Host-refresh_token", "/", refresh, true, http.SameSiteLaxMode},
			},
		},
		{
			name: "refresh cookie scoped to a path",
			opts: []jwtguard.SessionsOption{jwtguard.WithCookies(), jwtguard.WithRefreshCookiePath("/api/v1/auth")},
			cookies: []want{
				{"__Host-access_token", "/", access, true, http.SameSiteLaxMode},
				{"__Secure-refresh_token", "/api/v1/auth", refresh, true, http.SameSiteLaxMode},
			},
		},
		{
			name: "strict",
			opts: []jwtguard.SessionsOption{jwtguard.WithCookies(), jwtguard.WithStrictCookies()},
			cookies: []want{
				{"__Host-access_token", "/", access, true, http.SameSiteStrictMode},
				{"__Host-refresh_token", "/", refresh, true, http.SameSiteStrictMode},
			},
		},
		{
			name: "insecure for local HTTP",
			opts: []jwtguard.SessionsOption{jwtguard.WithCookies(), jwtguard.WithInsecureCookies(), jwtguard.WithRefreshCookiePath("/auth")},
			cookies: []want{
				{"access_token", "/", access, false, http.SameSiteLaxMode},
				{"refresh_token", "/auth", refresh, false, http.SameSiteLaxMode},
			},
		},
		{
			name:      "cookies and body",
			opts:      []jwtguard.SessionsOption{jwtguard.WithCookiesAndBody()},
			bodyToken: true,
			cookies: []want{
				{"__Host-access_token", "/", access, true, http.SameSiteLaxMode},
				{"__Host-refresh_token", "/", refresh, true, http.SameSiteLaxMode},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := newLifecycle(t, tt.opts...)
			r := jsonRequest(t, http.MethodPost, "/login", map[string]string{"username": "alice", "password": alicePass})
			r.Header.Set("X-Requested-With", "fetch")
			w := serve(l.sessions.LoginHandler(authenticate), r)
			require.Equal(t, http.StatusOK, w.Code, w.Body.String())
			b := decodeTokenBody(t, w.Result())
			assert.Equal(t, tt.bodyToken, b.AccessToken != "")
			assert.Equal(t, tt.bodyToken, b.RefreshToken != "")

			set := w.Result().Cookies()
			require.Len(t, set, len(tt.cookies))
			accessName, refreshName := l.sessions.CookieNames()
			assert.Equal(t, []string{tt.cookies[0].name, tt.cookies[1].name}, []string{accessName, refreshName},
				"CookieNames names the cookies written")
			for i, c := range set {
				wc := tt.cookies[i]
				assert.Equal(t, wc.name, c.Name)
				assert.Equal(t, wc.path, c.Path)
				assert.Equal(t, wc.maxAge, c.MaxAge)
				assert.Equal(t, wc.secure, c.Secure)
				assert.Equal(t, wc.sameSite, c.SameSite)
				assert.True(t, c.HttpOnly, "HttpOnly")
				assert.Empty(t, c.Domain, "host-only")
				assert.NotEmpty(t, c.Value)
				assert.Less(t, len(c.Name)+len(c.Value), 4096)
			}

			// Logout clears both with the same attributes.
			r = jsonRequest(t, http.MethodPost, "/logout", map[string]string{})
			r.Header.Set("X-Requested-With", "fetch")
			for _, c := range set {
				r.AddCookie(&http.Cookie{Name: c.Name, Value: c.Value})
			}
			w = serve(l.sessions.LogoutHandler(), r)
			require.Equal(t, http.StatusNoContent, w.Code, w.Body.String())
			cleared := w.Result().Cookies()
			require.Len(t, cleared, len(tt.cookies))
			for i, c := range cleared {
				wc := tt.cookies[i]
				assert.Equal(t, wc.name, c.Name)
				assert.Equal(t, wc.path, c.Path)
				assert.Equal(t, wc.secure, c.Secure)
				assert.Empty(t, c.Value)
				assert.Equal(t, -1, c.MaxAge)
				assert.True(t, strings.Contains(c.Raw, "Max-Age=0"), c.Raw)
			}
		})
	}
}

// TestCookieMaxAgeAndSessionsSetCookies checks that Max-Age is the token's
// remaining lifetime, through the exported cookie helpers.
func TestCookieMaxAgeAndSessionsSetCookies(t *testing.T) {
	l := newLifecycle(t, jwtguard.WithCookies())
	pair, err := l.issuer.Issue(t.Context(), "user-1", nil)
	require.NoError(t, err)
	l.clock.Advance(10 * time.Minute)
	w := serveFunc(func(w http.ResponseWriter) { require.NoError(t, l.sessions.SetCookies(w, pair)) })
	set := w.Result().Cookies()
	require.Len(t, set, 2)
	assert.Equal(t, 20*60, set[0].MaxAge, "access: 30 minutes minus 10")
	assert.Equal(t, 7*24*60*60-10*60, set[1].MaxAge)

	w = serveFunc(l.sessions.ClearCookies)
	for _, c := range w.Result().Cookies() {
		assert.Equal(t, -1, c.MaxAge)
	}

	// A pair a browser would drop is refused, and nothing is written.
	big := &jwtguard.TokenPair{AccessToken: pair.AccessToken, RefreshToken: strings.Repeat("a", 4096-len(jwtguard.RefreshCookieName)+1)}
	w = serveFunc(func(w http.ResponseWriter) {
		err := l.sessions.SetCookies(w, big)
		require.ErrorIs(t, err, jwtguard.ErrCannotIssue)
		assert.Contains(t, err.Error(), "the __Host-refresh_token cookie would be 4097 bytes (name and value), over the 4096 browsers keep")
	})
	assert.Empty(t, w.Result().Cookies())
}
