package jwtguard_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/jwtguard/jwtguard"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// An access option that changes what the Issuer supplies would break the
// issuer's own tokens without a word (a refresh token taken for an access
// token, every access token refused while logins answer 200): NewSessions
// refuses it, naming it and saying that the Issuer supplies it.
func TestNewSessionsRefusesIssuerOwnedAccessOptions(t *testing.T) {
	l := newLifecycle(t)
	ks, err := jwtguard.NewKeySet(jwtguard.Key{ID: "k2", Algorithm: "HS256", Key: secret256})
	require.NoError(t, err)
	resolver := func(context.Context, string) (jwtguard.TrustedIssuer, bool) {
		return jwtguard.TrustedIssuer{}, false
	}
	tests := []struct {
		name   string
		opt    jwtguard.Option
		option string // named in the error
		want   string // what the error says the Issuer supplies
	}{
		{"key", jwtguard.WithKey("HS256", secret256), "WithKey/WithKeys", "the Issuer supplies the keys"},
		{"keys", jwtguard.WithKeys(jwtguard.Key{ID: "k9", Algorithm: "HS256", Key: secret256}), "WithKey/WithKeys", "the Issuer supplies the keys"},
		{"key set", jwtguard.WithKeySet(ks), "WithKeySet", "the Issuer supplies the keys"},
		{"issuers", jwtguard.WithIssuers(jwtguard.TrustedIssuer{Issuer: "other"}), "WithIssuers", "the Issuer supplies the one issuer"},
		{"resolver", jwtguard.WithIssuerResolver(resolver), "WithIssuerResolver", "the Issuer supplies the one issuer"},
		{"issuer", jwtguard.WithIssuer("other"), "WithIssuer", "the Issuer supplies the iss"},
		{"empty issuer", jwtguard.WithIssuer(""), "WithIssuer", "the Issuer supplies the iss"},
		{"audience", jwtguard.WithAudience("other"), "WithAudience", "the Issuer supplies the aud"},
		{"token type", jwtguard.WithTokenType(jwtguard.TypeRefresh), "WithTokenType", "the Issuer supplies the token types"},
		{"token type access", jwtguard.WithTokenType(jwtguard.TypeAccess), "WithTokenType", "the Issuer supplies the token types"},
		{"type claim", jwtguard.WithTypeClaim("typ"), "WithTypeClaim", "the Issuer supplies the token types"},
		{"type header", jwtguard.WithTokenTypeHeader("at+jwt"), "WithTokenTypeHeader", "the Issuer supplies the token types"},
		{"no token type", jwtguard.WithInsecureNoTokenType(), "WithInsecureNoTokenType", "the Issuer supplies the token types"},
		{"subject optional", jwtguard.WithSubjectOptional(), "WithSubjectOptional", "the Issuer supplies tokens that always carry sub"},
		{"store", jwtguard.WithStore(l.store), "WithStore", "store given to NewSessions"},
		{"no revocation check", jwtguard.WithInsecureNoRevocationCheck(), "WithInsecureNoRevocationCheck", "store given to NewSessions"},
		{"clock", jwtguard.WithClock(time.Now), "WithClock", "the Issuer supplies the clock"},
		{"leeway", jwtguard.WithLeeway(0), "WithLeeway", "the Issuer supplies the leeway"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := jwtguard.NewSessions(l.issuer, l.store, jwtguard.WithAccessOptions(jwtguard.WithRealm("app"), tt.opt))
			require.ErrorIs(t, err, jwtguard.ErrInvalidConfig)
			assert.ErrorContains(t, err, "WithAccessOptions: "+tt.option+" is not allowed")
			assert.ErrorContains(t, err, tt.want)
			assert.NotContains(t, err.Error(), "without an ID", "the refusal stands alone, not beside New's errors")
			assert.Nil(t, s)
		})
	}

	t.Run("every one at once", func(t *testing.T) {
		_, err := jwtguard.NewSessions(l.issuer, l.store, jwtguard.WithAccessOptions(
			jwtguard.WithIssuer("other"), jwtguard.WithAudience("other"), jwtguard.WithLeeway(time.Second)))
		for _, name := range []string{"WithIssuer", "WithAudience", "WithLeeway"} {
			assert.ErrorContains(t, err, name+" is not allowed")
		}
	})

	t.Run("the other access options still work", func(t *testing.T) {
		s, err := jwtguard.NewSessions(l.issuer, l.store, jwtguard.WithAccessOptions(
			jwtguard.WithRealm("app"), jwtguard.WithCache(16), jwtguard.WithMaxTokenSize(8192),
			jwtguard.WithClaimsType[jwtguard.Claims]()))
		require.NoError(t, err)
		require.NotNil(t, s)
	})
}

func TestNewSessionsRefusesCookieOptionsOutOfPlace(t *testing.T) {
	l := newLifecycle(t)
	tests := []struct {
		name string
		opts []jwtguard.SessionsOption
		want []string
	}{
		{"refresh cookie path without cookies", []jwtguard.SessionsOption{jwtguard.WithRefreshCookiePath("/auth")},
			[]string{"WithRefreshCookiePath without a cookie mode", "WithCookiesForBrowsers"}},
		{"insecure cookies without cookies", []jwtguard.SessionsOption{jwtguard.WithInsecureCookies()},
			[]string{"WithInsecureCookies without a cookie mode"}},
		{"strict cookies without cookies", []jwtguard.SessionsOption{jwtguard.WithStrictCookies()},
			[]string{"WithStrictCookies without a cookie mode"}},
		{"two cookie options without cookies", []jwtguard.SessionsOption{jwtguard.WithInsecureCookies(), jwtguard.WithStrictCookies()},
			[]string{"WithInsecureCookies and WithStrictCookies without a cookie mode"}},
		{"two cookie modes", []jwtguard.SessionsOption{jwtguard.WithCookies(), jwtguard.WithCookiesForBrowsers()},
			[]string{"WithCookies and WithCookiesForBrowsers: more than one cookie mode"}},
		{"one cookie mode twice", []jwtguard.SessionsOption{jwtguard.WithCookiesAndBody(), jwtguard.WithCookiesAndBody()},
			[]string{"WithCookiesAndBody and WithCookiesAndBody: more than one cookie mode"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := jwtguard.NewSessions(l.issuer, l.store, tt.opts...)
			require.ErrorIs(t, err, jwtguard.ErrInvalidConfig)
			for _, w := range tt.want {
				assert.ErrorContains(t, err, w)
			}
			assert.Nil(t, s)
		})
	}
	for _, mode := range []jwtguard.SessionsOption{jwtguard.WithCookies(), jwtguard.WithCookiesAndBody(), jwtguard.WithCookiesForBrowsers()} {
		_, err := jwtguard.NewSessions(l.issuer, l.store, jwtguard.WithInsecureCookies(), jwtguard.WithStrictCookies(),
			jwtguard.WithRefreshCookiePath("/auth"), mode)
		require.NoError(t, err)
	}
}

// A typed nil store passed the nil check and panicked at the first login.
func TestNewSessionsRefusesTypedNilStore(t *testing.T) {
	l := newLifecycle(t)
	s, err := jwtguard.NewSessions(l.issuer, (*jwtguard.MemoryStore)(nil))
	require.ErrorIs(t, err, jwtguard.ErrInvalidConfig)
	assert.ErrorContains(t, err, "nil *jwtguard.MemoryStore store")
	assert.Nil(t, s)

	_, err = jwtguard.New(jwtguard.WithKey("HS256", secret256), jwtguard.WithStore((*jwtguard.MemoryStore)(nil)))
	require.ErrorIs(t, err, jwtguard.ErrInvalidConfig)
	assert.ErrorContains(t, err, "WithStore: nil *jwtguard.MemoryStore store")
}

func TestSetCookiesNilPair(t *testing.T) {
	l := newLifecycle(t, jwtguard.WithCookies())
	w := httptest.NewRecorder()
	err := l.sessions.SetCookies(w, nil)
	require.ErrorIs(t, err, jwtguard.ErrCannotIssue)
	assert.ErrorContains(t, err, "nil pair")
	assert.Empty(t, w.Header().Values("Set-Cookie"))
}

// expires_in is the lifetime of the access token issued (RFC 6749 §5.1),
// exp − iat of the pair itself: near the session's maximum age it is what
// is left, as the access cookie's Max-Age.
func TestExpiresInNearSessionMaxAge(t *testing.T) {
	l := newLifecycle(t, jwtguard.WithCookiesAndBody(), jwtguard.WithSessionMaxAge(time.Hour))
	l.clock.Advance(300 * time.Millisecond) // not on a second
	srv, client := l.tlsServer(t)
	post := func(path string, body any) (tokenBody, *http.Response) {
		t.Helper()
		req, err := http.NewRequest(http.MethodPost, srv.URL+path, nil)
		if body != nil {
			req, err = http.NewRequest(http.MethodPost, srv.URL+path, strings.NewReader(mustJSON(t, body)))
			req.Header.Set("Content-Type", "application/json")
		}
		require.NoError(t, err)
		req.Header.Set("X-Requested-With", "fetch")
		resp, err := client.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		require.Equal(t, http.StatusOK, resp.StatusCode)
		return decodeTokenBody(t, resp), resp
	}
	check := func(b tokenBody, resp *http.Response, want int64) {
		t.Helper()
		_, claims := parts(t, b.AccessToken)
		assert.Equal(t, float64(want), claims["exp"].(float64)-claims["iat"].(float64), "exp − iat")
		assert.Equal(t, want, b.ExpiresIn, "expires_in")
		var found bool
		for _, c := range resp.Cookies() {
			if c.Name == jwtguard.AccessCookieName {
				found = true
				assert.Equal(t, int(want), c.MaxAge, "the access cookie's Max-Age")
			}
		}
		assert.True(t, found)
	}

	b, resp := post("/api/v1/auth/login", map[string]string{"username": "alice", "password": alicePass})
	check(b, resp, 1800)

	l.clock.Advance(50 * time.Minute)           // 10 minutes before the session's end
	b, resp = post("/api/v1/auth/refresh", nil) // the refresh cookie
	check(b, resp, 600)
}

// A LoginFunc that fails is answered as a login that cannot be completed,
// not as a token that cannot be checked: the login carries no token.
func TestLoginFuncFailureIsWordedForALogin(t *testing.T) {
	var buf bytes.Buffer
	var hooked error
	errDB := errors.New("dial tcp 10.0.0.7:5432: connection refused")
	l := newLifecycle(t, jwtguard.WithAccessOptions(
		jwtguard.WithLogger(slog.New(slog.NewJSONHandler(&buf, nil)), slog.LevelWarn),
		jwtguard.WithFailureHook(func(_ *http.Request, err error) { hooked = err }),
	))
	login := func(context.Context, string, string) (string, map[string]any, error) { return "", nil, errDB }
	srv := httptest.NewServer(l.sessions.LoginHandler(login))
	t.Cleanup(srv.Close)
	resp, err := srv.Client().Post(srv.URL, "application/json", strings.NewReader(`{"username":"a","password":"b"}`))
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	assert.Equal(t, http.StatusServiceUnavailable, resp.StatusCode)
	assert.JSONEq(t, `{"error":"temporarily_unavailable","error_description":"the login cannot be completed now: try again"}`, string(b))
	require.ErrorIs(t, hooked, jwtguard.ErrUnavailable)
	require.ErrorIs(t, hooked, errDB)
	recs := logRecords(t, &buf)
	require.Len(t, recs, 1)
	assert.EqualValues(t, 503, recs[0]["status"])
	assert.Contains(t, recs[0]["reason"], "the login cannot be completed now: the LoginFunc failed: dial tcp")
	assert.NotContains(t, recs[0]["reason"], "verification")
}

// EndSessionHandler mounted with a wildcard not named id answered every
// call 404 "no such session": a bug of the route, answered 500 and
// reported with the fix.
func TestEndSessionHandlerWithoutIDWildcard(t *testing.T) {
	var buf bytes.Buffer
	var hooked error
	l := newLifecycle(t, jwtguard.WithAccessOptions(
		jwtguard.WithLogger(slog.New(slog.NewJSONHandler(&buf, nil)), slog.LevelWarn),
		jwtguard.WithFailureHook(func(_ *http.Request, err error) { hooked = err }),
	))
	pair := l.login(t)
	_, claims := parts(t, pair.AccessToken)
	mux := http.NewServeMux()
	mux.Handle("DELETE /sessions/{sid}", l.sessions.EndSessionHandler())
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	req, err := http.NewRequest(http.MethodDelete, srv.URL+"/sessions/"+claims["fid"].(string), nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+pair.AccessToken)
	resp, err := srv.Client().Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	assert.Equal(t, http.StatusInternalServerError, resp.StatusCode)
	assert.JSONEq(t, `{"error":"server_error","error_description":"the request could not be completed"}`, string(b))
	const want = "EndSessionHandler: the route pattern must name the session {id}, e.g. DELETE /sessions/{id}"
	require.ErrorContains(t, hooked, want)
	recs := logRecords(t, &buf)
	require.Len(t, recs, 1)
	assert.EqualValues(t, 500, recs[0]["status"])
	assert.Contains(t, recs[0]["reason"], want)
	assert.Equal(t, http.StatusOK, l.callMe(pair.AccessToken).Code, "nothing was ended")
}

// A logout with the refresh token in the Authorization header got 401
// "wrong token type"; it is told where the refresh token goes, as the
// refresh endpoint tells it, and ends nothing.
func TestLogoutRefreshTokenInAuthorizationHeader(t *testing.T) {
	tests := []struct {
		name string
		opts []jwtguard.SessionsOption
		want string
	}{
		{"body", nil, "the refresh token goes in the body as refresh_token, not in the Authorization header"},
		{"cookies", []jwtguard.SessionsOption{jwtguard.WithCookiesForBrowsers()},
			"the refresh token goes in the body as refresh_token or in the refresh cookie, not in the Authorization header"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := newLifecycle(t, tt.opts...)
			srv := httptest.NewServer(l.mux())
			t.Cleanup(srv.Close)
			pair := l.login(t)
			post := func(path string) (int, string) {
				req, err := http.NewRequest(http.MethodPost, srv.URL+path, nil)
				require.NoError(t, err)
				req.Header.Set("Authorization", "Bearer "+pair.RefreshToken)
				resp, err := srv.Client().Do(req)
				require.NoError(t, err)
				defer resp.Body.Close()
				b, err := io.ReadAll(resp.Body)
				require.NoError(t, err)
				return resp.StatusCode, string(b)
			}
			status, refreshBody := post("/api/v1/auth/refresh")
			require.Equal(t, http.StatusBadRequest, status)
			status, logoutBody := post("/api/v1/auth/logout")
			assert.Equal(t, http.StatusBadRequest, status)
			assert.JSONEq(t, refreshBody, logoutBody, "the refresh endpoint's answer")
			assert.JSONEq(t, `{"error":"invalid_request","error_description":"`+tt.want+`"}`, logoutBody)
			assert.Equal(t, http.StatusOK, l.callMe(pair.AccessToken).Code, "nothing was ended")
		})
	}

	t.Run("an access token of the wrong type from elsewhere is still 401", func(t *testing.T) {
		l := newLifecycle(t)
		tok := rawHS256(t, `{"alg":"HS256","kid":"k1"}`, mustJSON(t, map[string]any{
			"iss": testIssuer, "aud": testAudience, "sub": "1", "type": "id",
			"jti": "x", "iat": testNow.Unix(), "exp": testNow.Add(time.Minute).Unix()}), secret256)
		r := httptest.NewRequest(http.MethodPost, "/logout", nil)
		r.Header.Set("Authorization", "Bearer "+tok)
		w := serve(l.sessions.LogoutHandler(), r)
		assert.Equal(t, http.StatusUnauthorized, w.Code, w.Body.String())
	})
}

// The session list is oldest first even for logins within one second:
// CreatedAt was auth_time's whole second, and the id (random) decided.
func TestSessionListOrderWithinOneSecond(t *testing.T) {
	l := newLifecycle(t)
	var fids []string
	for range 8 {
		pair := l.login(t)
		_, claims := parts(t, pair.AccessToken)
		fids = append(fids, claims["fid"].(string))
		l.clock.Advance(100 * time.Millisecond)
	}
	list, err := l.sessions.ListSessions(t.Context(), "1")
	require.NoError(t, err)
	var got []string
	for _, s := range list {
		got = append(got, s.ID)
	}
	assert.Equal(t, fids, got, "in the order of the logins")
	assert.Equal(t, list[0].LastUsedAt, list[0].CreatedAt, "not refreshed yet")
}
