package jwtguard_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jwtguard/jwtguard"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestLifecycleEndToEnd walks the seed flow in cookie mode over HTTPS with
// a real client and cookie jar: login, protected call, expiry, refresh,
// rotation, reuse detected, family revoked, fresh login, CSRF, logout,
// everything revoked.
func TestLifecycleEndToEnd(t *testing.T) {
	l := newLifecycle(t, jwtguard.WithCookies(), jwtguard.WithRefreshCookiePath("/api/v1/auth"))
	srv, browser := l.tlsServer(t)
	other := &http.Client{Transport: srv.Client().Transport} // no cookie jar: an attacker, or a plain API client

	do := func(t *testing.T, c *http.Client, method, path, body string, headers ...string) (*http.Response, string) {
		t.Helper()
		req, err := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
		require.NoError(t, err)
		if body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		for i := 0; i+1 < len(headers); i += 2 {
			req.Header.Set(headers[i], headers[i+1])
		}
		resp, err := c.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		return resp, string(b)
	}
	cookieValue := func(t *testing.T, resp *http.Response, name string) string {
		t.Helper()
		for _, c := range resp.Cookies() {
			if c.Name == name {
				return c.Value
			}
		}
		t.Fatalf("no %s cookie set", name)
		return ""
	}
	const xrw = "X-Requested-With"
	credentials := `{"username":"alice","password":"` + alicePass + `"}`

	// Login: the tokens are in cookies only.
	resp, body := do(t, browser, "POST", "/api/v1/auth/login", credentials, xrw, "fetch")
	require.Equal(t, http.StatusOK, resp.StatusCode, body)
	assert.JSONEq(t, `{"token_type":"bearer","expires_in":1800}`, body)
	assert.Equal(t, "no-store", resp.Header.Get("Cache-Control"))
	access1 := cookieValue(t, resp, jwtguard.AccessCookieName)
	refresh1 := cookieValue(t, resp, jwtguard.PathRefreshCookieName)

	// A protected call with the cookie.
	resp, body = do(t, browser, "GET", "/api/v1/me", "")
	require.Equal(t, http.StatusOK, resp.StatusCode, body)
	assert.Equal(t, "1", body)

	// Expiry.
	l.clock.Advance(31 * time.Minute)
	resp, _ = do(t, browser, "GET", "/api/v1/me", "")
	require.Equal(t, http.StatusUnauthorized, resp.StatusCode)
	assert.Contains(t, resp.Header.Get("WWW-Authenticate"), "token expired")

	// Refresh with the refresh cookie: a new pair, the old refresh token
	// rotated out.
	resp, body = do(t, browser, "POST", "/api/v1/auth/refresh", "", xrw, "fetch")
	require.Equal(t, http.StatusOK, resp.StatusCode, body)
	access2 := cookieValue(t, resp, jwtguard.AccessCookieName)
	refresh2 := cookieValue(t, resp, jwtguard.PathRefreshCookieName)
	assert.NotEqual(t, refresh1, refresh2)
	resp, body = do(t, browser, "GET", "/api/v1/me", "")
	require.Equal(t, http.StatusOK, resp.StatusCode, body)

	// Reuse of the rotated refresh token after the reuse interval:
	// refused, and the family revoked.
	l.clock.Advance(jwtguard.DefaultReuseInterval)
	resp, _ = do(t, other, "POST", "/api/v1/auth/refresh", `{"refresh_token":"`+refresh1+`"}`)
	require.Equal(t, http.StatusUnauthorized, resp.StatusCode)
	assert.Contains(t, resp.Header.Get("WWW-Authenticate"), `error="invalid_token", error_description="token revoked"`)

	// The family is revoked: the browser's current access and refresh
	// tokens fail, and the refused refresh cookie is cleared.
	resp, _ = do(t, browser, "GET", "/api/v1/me", "")
	require.Equal(t, http.StatusUnauthorized, resp.StatusCode)
	resp, _ = do(t, other, "GET", "/api/v1/me", "", "Authorization", "Bearer "+access2)
	require.Equal(t, http.StatusUnauthorized, resp.StatusCode)
	resp, _ = do(t, browser, "POST", "/api/v1/auth/refresh", "", xrw, "fetch")
	require.Equal(t, http.StatusUnauthorized, resp.StatusCode)
	for _, c := range resp.Cookies() {
		assert.Equal(t, -1, c.MaxAge, "cookie %s cleared", c.Name)
	}
	resp, _ = do(t, browser, "POST", "/api/v1/auth/refresh", "", xrw, "fetch")
	require.Equal(t, http.StatusUnauthorized, resp.StatusCode, "no cookie left")

	// A fresh login works again.
	resp, body = do(t, browser, "POST", "/api/v1/auth/login", credentials, xrw, "fetch")
	require.Equal(t, http.StatusOK, resp.StatusCode, body)
	access3 := cookieValue(t, resp, jwtguard.AccessCookieName)
	refresh3 := cookieValue(t, resp, jwtguard.PathRefreshCookieName)
	resp, _ = do(t, browser, "GET", "/api/v1/me", "")
	require.Equal(t, http.StatusOK, resp.StatusCode)

	// CSRF: a cross-site POST with the cookie is refused, with or without
	// the custom header; a same-origin one without it too; the same POST
	// with a bearer header is accepted.
	resp, _ = do(t, browser, "POST", "/api/v1/me", "{}", "Sec-Fetch-Site", "cross-site", "Origin", "https://evil.test")
	assert.Equal(t, http.StatusForbidden, resp.StatusCode)
	resp, _ = do(t, browser, "POST", "/api/v1/me", "{}", "Sec-Fetch-Site", "cross-site", "Origin", "https://evil.test", xrw, "fetch")
	assert.Equal(t, http.StatusForbidden, resp.StatusCode)
	resp, _ = do(t, browser, "POST", "/api/v1/me", "{}", "Sec-Fetch-Site", "same-origin")
	assert.Equal(t, http.StatusForbidden, resp.StatusCode)
	resp, _ = do(t, browser, "POST", "/api/v1/me", "{}", "Sec-Fetch-Site", "same-origin", xrw, "fetch")
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	resp, _ = do(t, other, "POST", "/api/v1/me", "{}", "Sec-Fetch-Site", "cross-site", "Origin", "https://evil.test", "Authorization", "Bearer "+access3)
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	resp, _ = do(t, browser, "POST", "/api/v1/auth/refresh", "", "Sec-Fetch-Site", "cross-site", xrw, "fetch")
	assert.Equal(t, http.StatusForbidden, resp.StatusCode, "the refresh cookie is guarded too")
	resp, _ = do(t, browser, "POST", "/api/v1/auth/logout", "", "Sec-Fetch-Site", "cross-site", xrw, "fetch")
	assert.Equal(t, http.StatusForbidden, resp.StatusCode, "so is logout")
	resp, _ = do(t, browser, "GET", "/api/v1/me", "")
	require.Equal(t, http.StatusOK, resp.StatusCode, "a refused cross-site logout logged nobody out")

	// Logout: 204, cookies cleared, everything of the session revoked.
	resp, body = do(t, browser, "POST", "/api/v1/auth/logout", "", xrw, "fetch")
	require.Equal(t, http.StatusNoContent, resp.StatusCode, body)
	require.Len(t, resp.Cookies(), 2)
	for _, c := range resp.Cookies() {
		assert.Equal(t, -1, c.MaxAge, "cookie %s cleared", c.Name)
		assert.Empty(t, c.Value)
	}
	resp, _ = do(t, browser, "GET", "/api/v1/me", "")
	assert.Equal(t, http.StatusUnauthorized, resp.StatusCode, "no cookie left")
	resp, _ = do(t, other, "GET", "/api/v1/me", "", "Authorization", "Bearer "+access3)
	assert.Equal(t, http.StatusUnauthorized, resp.StatusCode, "access token revoked")
	assert.Contains(t, resp.Header.Get("WWW-Authenticate"), "token revoked")
	resp, _ = do(t, other, "POST", "/api/v1/auth/refresh", `{"refresh_token":"`+refresh3+`"}`)
	assert.Equal(t, http.StatusUnauthorized, resp.StatusCode, "refresh family revoked")
	resp, _ = do(t, other, "GET", "/api/v1/me", "", "Authorization", "Bearer "+access1)
	assert.Equal(t, http.StatusUnauthorized, resp.StatusCode, "the first access token expired long ago")
}

// TestConcurrentRefreshExactlyOneWins sends 200 refreshes with one token at
// once under strict rotation (reuse interval 0): exactly one gets a new
// pair; the others are reuse, which revokes the family, the winner's new
// tokens included.
func TestConcurrentRefreshExactlyOneWins(t *testing.T) {
	l := newLifecycle(t, jwtguard.WithReuseInterval(0))
	pair := l.login(t)
	h := l.sessions.RefreshHandler()
	const n = 200
	var wins, refused atomic.Int32
	var winner atomic.Value
	var wg sync.WaitGroup
	start := make(chan struct{})
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := jsonRequest(t, http.MethodPost, "/refresh", map[string]string{"refresh_token": pair.RefreshToken})
			<-start
			w := serve(h, r)
			switch w.Code {
			case http.StatusOK:
				wins.Add(1)
				var b tokenBody
				assert.NoError(t, json.Unmarshal(w.Body.Bytes(), &b))
				winner.Store(b)
			case http.StatusUnauthorized:
				refused.Add(1)
			default:
				t.Errorf("status %d: %s", w.Code, w.Body.String())
			}
		}()
	}
	close(start)
	wg.Wait()
	require.EqualValues(t, 1, wins.Load())
	require.EqualValues(t, n-1, refused.Load())
	won := winner.Load().(tokenBody)
	assert.Equal(t, http.StatusUnauthorized, l.refresh(t, won.RefreshToken).Code, "the family is revoked")
	assert.Equal(t, http.StatusUnauthorized, l.callMe(won.AccessToken).Code)
}

func TestLoginHandler(t *testing.T) {
	l := newLifecycle(t)
	h := l.sessions.LoginHandler(authenticate)
	form := func(v url.Values) *http.Request { return formRequest(http.MethodPost, "/login", v) }
	raw := func(ct, body string) *http.Request {
		r := httptest.NewRequest(http.MethodPost, "/login", strings.NewReader(body))
		if ct != "" {
			r.Header.Set("Content-Type", ct)
		}
		return r
	}
	good := map[string]string{"username": "alice", "password": alicePass}
	bad := func(desc string) string { return `{"error":"invalid_request","error_description":"` + desc + `"}` }
	tests := []struct {
		name     string
		req      *http.Request
		want     int
		wantBody string // JSON, for errors
	}{
		{name: "JSON", req: jsonRequest(t, "POST", "/login", good), want: 200},
		{name: "JSON with charset", req: raw("application/json; charset=utf-8", mustJSON(t, good)), want: 200},
		{name: "JSON extra member", req: jsonRequest(t, "POST", "/login", map[string]any{"username": "alice", "password": alicePass, "remember": true}), want: 200},
		{name: "OAuth2 password form", req: form(url.Values{"grant_type": {"password"}, "username": {"alice"}, "password": {alicePass}}), want: 200},
		{name: "form without grant_type", req: form(url.Values{"username": {"bob"}, "password": {"bob-password"}}), want: 200},
		{name: "wrong password", req: jsonRequest(t, "POST", "/login", map[string]string{"username": "alice", "password": "nope"}), want: 401,
			wantBody: `{"error":"invalid_grant","error_description":"invalid username or password"}`},
		{name: "unknown user", req: jsonRequest(t, "POST", "/login", map[string]string{"username": "mallory", "password": "nope"}), want: 401,
			wantBody: `{"error":"invalid_grant","error_description":"invalid username or password"}`},
		{name: "wrong grant_type", req: form(url.Values{"grant_type": {"client_credentials"}, "username": {"alice"}, "password": {alicePass}}), want: 400,
			wantBody: bad("unsupported grant_type: only password is accepted")},
		{name: "missing password", req: jsonRequest(t, "POST", "/login", map[string]string{"username": "alice"}), want: 400,
			wantBody: bad("username and password are required")},
		{name: "email instead of username", req: jsonRequest(t, "POST", "/login", map[string]string{"email": "alice@example.com", "password": "x"}), want: 400,
			wantBody: bad("username and password are required: send the email as username")},
		{name: "empty username", req: jsonRequest(t, "POST", "/login", map[string]string{"username": "", "password": "x"}), want: 400,
			wantBody: bad("username and password are required")},
		{name: "password not a string", req: raw("application/json", `{"username":"alice","password":123}`), want: 400,
			wantBody: bad("field password must be a string")},
		{name: "duplicate member", req: raw("application/json", `{"username":"bob","password":"x","username":"alice"}`), want: 400,
			wantBody: bad("body has a field twice, too many fields or too deep a nesting")},
		{name: "duplicate member in other case", req: raw("application/json", `{"username":"alice","password":"x","Password":"y"}`), want: 400,
			wantBody: bad("body has a field twice, too many fields or too deep a nesting")},
		{name: "duplicate form field", req: form(url.Values{"username": {"alice", "bob"}, "password": {alicePass}}), want: 400,
			wantBody: bad("field username is given twice")},
		{name: "broken form", req: raw("application/x-www-form-urlencoded", "username=%zz"), want: 400, wantBody: bad("body is not a valid form")},
		{name: "truncated JSON", req: raw("application/json", `{"username":"alice",`), want: 400, wantBody: bad("body is not valid JSON")},
		{name: "JSON array", req: raw("application/json", `["alice"]`), want: 400, wantBody: bad("body must be a JSON object")},
		{name: "trailing data", req: raw("application/json", mustJSON(t, good)+`{}`), want: 400, wantBody: bad("body is not valid JSON")},
		{name: "invalid UTF-8", req: raw("application/json", "{\"username\":\"\xff\",\"password\":\"x\"}"), want: 400,
			wantBody: bad("body is not valid UTF-8")},
		{name: "empty JSON body", req: raw("application/json", ""), want: 400, wantBody: bad("username and password are required")},
		{name: "empty JSON object", req: raw("application/json", "{}"), want: 400, wantBody: bad("username and password are required")},
		{name: "no body", req: raw("", ""), want: 400, wantBody: bad("username and password are required")},
		{name: "text/plain", req: raw("text/plain", mustJSON(t, good)), want: 415},
		{name: "body without content type", req: raw("", mustJSON(t, good)), want: 415},
		{name: "too large", req: raw("application/json", `{"username":"alice","password":"`+strings.Repeat("a", 20<<10)+`"}`), want: 413},
		{name: "credentials in the query are not read", req: httptest.NewRequest(http.MethodPost, "/login?username=alice&password="+url.QueryEscape(alicePass), nil), want: 400},
		{name: "GET", req: httptest.NewRequest(http.MethodGet, "/login?username=alice&password=x", nil), want: 405},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := serve(h, tt.req)
			require.Equal(t, tt.want, w.Code, w.Body.String())
			assert.Equal(t, "no-store", w.Header().Get("Cache-Control"))
			assert.Equal(t, "application/json", w.Header().Get("Content-Type"))
			var b tokenBody
			require.NoError(t, json.Unmarshal(w.Body.Bytes(), &b))
			if tt.want == http.StatusOK {
				assert.Equal(t, "bearer", b.TokenType)
				assert.EqualValues(t, 1800, b.ExpiresIn)
				assert.Equal(t, http.StatusOK, l.callMe(b.AccessToken).Code)
				assert.Equal(t, http.StatusOK, l.refresh(t, b.RefreshToken).Code)
				assert.Empty(t, w.Result().Cookies(), "no cookies without cookie mode")
				return
			}
			assert.Empty(t, b.AccessToken)
			assert.NotContains(t, w.Body.String(), alicePass)
			if tt.wantBody != "" {
				assert.JSONEq(t, tt.wantBody, w.Body.String())
			}
			switch tt.want {
			case http.StatusMethodNotAllowed:
				assert.Equal(t, "POST", w.Header().Get("Allow"))
			case http.StatusUnauthorized:
				assert.NotEmpty(t, w.Header().Get("WWW-Authenticate"))
			}
		})
	}
}

func TestLoginHandlerApplicationErrors(t *testing.T) {
	l := newLifecycle(t)
	tests := []struct {
		name string
		fn   jwtguard.LoginFunc
		want int
	}{
		{"wrapped credentials error", func(context.Context, string, string) (string, map[string]any, error) {
			return "", nil, errors.Join(errors.New("no row"), jwtguard.ErrInvalidCredentials)
		}, 401},
		{"database down", func(context.Context, string, string) (string, map[string]any, error) {
			return "", nil, errors.New("dial tcp 10.0.0.7:5432: connection refused")
		}, 503},
		{"empty subject", func(context.Context, string, string) (string, map[string]any, error) {
			return "", nil, nil
		}, 500},
		{"reserved claim", func(context.Context, string, string) (string, map[string]any, error) {
			return "1", map[string]any{"exp": 0}, nil
		}, 500},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := serve(l.sessions.LoginHandler(tt.fn), jsonRequest(t, "POST", "/login", map[string]string{"username": "a", "password": "b"}))
			assert.Equal(t, tt.want, w.Code)
			assert.NotContains(t, w.Body.String(), "10.0.0.7")
			assert.NotContains(t, w.Body.String(), "exp")
		})
	}
	assert.Panics(t, func() { l.sessions.LoginHandler(nil) })
}

func TestRefreshHandler(t *testing.T) {
	l := newLifecycle(t)
	h := l.sessions.RefreshHandler()
	tests := []struct {
		name     string
		req      func(pair tokenBody) *http.Request
		want     int
		wantDesc string
	}{
		{name: "JSON", want: 200, req: func(p tokenBody) *http.Request {
			return jsonRequest(t, "POST", "/", map[string]string{"refresh_token": p.RefreshToken})
		}},
		{name: "form with grant_type", want: 200, req: func(p tokenBody) *http.Request {
			return formRequest("POST", "/", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {p.RefreshToken}})
		}},
		{name: "form, another grant_type", want: 400, wantDesc: "unsupported grant_type: only refresh_token is accepted", req: func(p tokenBody) *http.Request {
			return formRequest("POST", "/", url.Values{"grant_type": {"password"}, "refresh_token": {p.RefreshToken}})
		}},
		{name: "GET", want: 405, req: func(p tokenBody) *http.Request {
			return httptest.NewRequest("GET", "/?refresh_token="+p.RefreshToken, nil)
		}},
		{name: "PUT", want: 405, req: func(p tokenBody) *http.Request {
			return jsonRequest(t, "PUT", "/", map[string]string{"refresh_token": p.RefreshToken})
		}},
		{name: "no token", want: 400, wantDesc: "refresh_token is required: send it as a field of a JSON or form body", req: func(tokenBody) *http.Request {
			return jsonRequest(t, "POST", "/", map[string]string{})
		}},
		{name: "empty body", want: 400, wantDesc: "refresh_token is required: send it as a field of a JSON or form body", req: func(tokenBody) *http.Request {
			return httptest.NewRequest("POST", "/", nil)
		}},
		{name: "broken JSON", want: 400, wantDesc: "body is not valid JSON", req: func(tokenBody) *http.Request {
			r := httptest.NewRequest("POST", "/", strings.NewReader(`{"refresh_token":`))
			r.Header.Set("Content-Type", "application/json")
			return r
		}},
		{name: "token in the body and a bearer header", want: 200, req: func(p tokenBody) *http.Request {
			r := jsonRequest(t, "POST", "/", map[string]string{"refresh_token": p.RefreshToken})
			r.Header.Set("Authorization", "Bearer "+p.AccessToken)
			return r
		}},
		{name: "access token", want: 401, wantDesc: "wrong token type", req: func(p tokenBody) *http.Request {
			return jsonRequest(t, "POST", "/", map[string]string{"refresh_token": p.AccessToken})
		}},
		{name: "garbage", want: 401, wantDesc: "malformed token", req: func(tokenBody) *http.Request {
			return jsonRequest(t, "POST", "/", map[string]string{"refresh_token": "a.b.c"})
		}},
		{name: "refresh token as bearer header is not read", want: 400,
			wantDesc: "the refresh token goes in the body as refresh_token, not in the Authorization header", req: func(p tokenBody) *http.Request {
				r := httptest.NewRequest("POST", "/", nil)
				r.Header.Set("Authorization", "Bearer "+p.RefreshToken)
				return r
			}},
		{name: "refresh cookie ignored without cookie mode", want: 400,
			wantDesc: "refresh_token is required: send it as a field of a JSON or form body", req: func(p tokenBody) *http.Request {
				r := httptest.NewRequest("POST", "/", nil)
				r.AddCookie(&http.Cookie{Name: jwtguard.RefreshCookieName, Value: p.RefreshToken})
				return r
			}},
		{name: "token not a string", want: 400, wantDesc: "field refresh_token must be a string", req: func(tokenBody) *http.Request {
			return jsonRequest(t, "POST", "/", map[string]any{"refresh_token": 1})
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pair := l.login(t)
			w := serve(h, tt.req(pair))
			require.Equal(t, tt.want, w.Code, w.Body.String())
			assert.Equal(t, "no-store", w.Header().Get("Cache-Control"))
			if tt.want == http.StatusMethodNotAllowed {
				assert.Equal(t, "POST", w.Header().Get("Allow"))
			}
			if tt.wantDesc != "" {
				assert.Contains(t, w.Header().Get("WWW-Authenticate"), `error_description="`+tt.wantDesc+`"`)
				var e struct {
					Description string `json:"error_description"`
				}
				require.NoError(t, json.Unmarshal(w.Body.Bytes(), &e))
				assert.Equal(t, tt.wantDesc, e.Description)
			}
			if tt.want != http.StatusOK {
				return
			}
			b := decodeTokenBody(t, w.Result())
			assert.Equal(t, "bearer", b.TokenType)
			assert.EqualValues(t, 1800, b.ExpiresIn)
			_, old := parts(t, pair.RefreshToken)
			_, next := parts(t, b.RefreshToken)
			assert.Equal(t, old["fid"], next["fid"], "same family")
			assert.NotEqual(t, old["jti"], next["jti"])
			assert.Equal(t, old["roles"], next["roles"], "claims carried over")
			assert.Equal(t, http.StatusOK, l.callMe(b.AccessToken).Code)
			assert.Equal(t, http.StatusOK, l.refresh(t, b.RefreshToken).Code, "the new one rotates in turn")
		})
	}
}

func TestRefreshHandlerExpiredAndStoreDown(t *testing.T) {
	l := newLifecycle(t)
	pair := l.login(t)

	down, err := jwtguard.NewSessions(l.issuer, failingStore{})
	require.NoError(t, err)
	w := serve(down.RefreshHandler(), jsonRequest(t, "POST", "/", map[string]string{"refresh_token": pair.RefreshToken}))
	assert.Equal(t, http.StatusServiceUnavailable, w.Code)
	assert.NotContains(t, w.Body.String(), errStoreDown.Error())

	l.clock.Advance(jwtguard.DefaultRefreshTTL)
	w = l.refresh(t, pair.RefreshToken)
	assert.Equal(t, http.StatusUnauthorized, w.Code)
	assert.Contains(t, w.Header().Get("WWW-Authenticate"), "token expired")
}

func TestRefreshCheck(t *testing.T) {
	var inactive, dbDown atomic.Bool
	check := func(_ context.Context, subject string, claims map[string]any) (map[string]any, error) {
		switch {
		case dbDown.Load():
			return nil, errors.New("db timeout")
		case inactive.Load():
			return nil, jwtguard.ErrRefreshDenied
		}
		claims["roles"] = []string{"reader", "writer"} // roles changed since login
		return claims, nil
	}
	l := newLifecycle(t, jwtguard.WithRefreshCheck(check))
	pair := l.login(t)

	// An application failure answers 503 and leaves the token usable.
	dbDown.Store(true)
	w := l.refresh(t, pair.RefreshToken)
	assert.Equal(t, http.StatusServiceUnavailable, w.Code)
	assert.NotContains(t, w.Body.String(), "db timeout")
	dbDown.Store(false)

	w = l.refresh(t, pair.RefreshToken)
	require.Equal(t, http.StatusOK, w.Code, w.Body.String())
	next := decodeTokenBody(t, w.Result())
	_, p := parts(t, next.AccessToken)
	assert.Equal(t, []any{"reader", "writer"}, p["roles"])

	// The user is deactivated: refused, and the family revoked.
	inactive.Store(true)
	w = l.refresh(t, next.RefreshToken)
	assert.Equal(t, http.StatusUnauthorized, w.Code)
	assert.Equal(t, http.StatusUnauthorized, l.callMe(next.AccessToken).Code, "family revoked")
	inactive.Store(false)
	assert.Equal(t, http.StatusUnauthorized, l.refresh(t, next.RefreshToken).Code, "and stays revoked")
}

func TestLogoutHandler(t *testing.T) {
	l := newLifecycle(t)
	h := l.sessions.LogoutHandler()
	bearer := func(token string) *http.Request {
		r := httptest.NewRequest("POST", "/", nil)
		r.Header.Set("Authorization", "Bearer "+token)
		return r
	}

	t.Run("access token revokes it and its family", func(t *testing.T) {
		pair := l.login(t)
		require.Equal(t, http.StatusNoContent, serve(h, bearer(pair.AccessToken)).Code)
		assert.Equal(t, http.StatusUnauthorized, l.callMe(pair.AccessToken).Code)
		assert.Equal(t, http.StatusUnauthorized, l.refresh(t, pair.RefreshToken).Code)
		require.Equal(t, http.StatusNoContent, serve(h, bearer(pair.AccessToken)).Code, "twice is harmless")
	})
	t.Run("refresh token alone revokes the family", func(t *testing.T) {
		pair := l.login(t)
		w := serve(h, jsonRequest(t, "POST", "/", map[string]string{"refresh_token": pair.RefreshToken}))
		require.Equal(t, http.StatusNoContent, w.Code)
		assert.Equal(t, http.StatusUnauthorized, l.callMe(pair.AccessToken).Code)
		assert.Equal(t, http.StatusUnauthorized, l.refresh(t, pair.RefreshToken).Code)
	})
	t.Run("expired access token with a live refresh token", func(t *testing.T) {
		pair := l.login(t)
		l.clock.Advance(time.Hour)
		r := jsonRequest(t, "POST", "/", map[string]string{"refresh_token": pair.RefreshToken})
		r.Header.Set("Authorization", "Bearer "+pair.AccessToken)
		require.Equal(t, http.StatusNoContent, serve(h, r).Code)
		assert.Equal(t, http.StatusUnauthorized, l.refresh(t, pair.RefreshToken).Code)
	})
	t.Run("other sessions live on", func(t *testing.T) {
		a, b := l.login(t), l.login(t)
		require.Equal(t, http.StatusNoContent, serve(h, bearer(a.AccessToken)).Code)
		assert.Equal(t, http.StatusOK, l.callMe(b.AccessToken).Code)
	})
	for _, tt := range []struct {
		name string
		req  *http.Request
		want int
	}{
		{"no token", httptest.NewRequest("POST", "/", nil), 401},
		{"bad token", bearer("a.b.c"), 401},
		{"refresh token as bearer", bearer(l.login(t).RefreshToken), 400}, // "the refresh token goes in the body"
		{"GET", httptest.NewRequest("GET", "/", nil), 405},
		{"two Authorization headers", func() *http.Request {
			r := bearer("x")
			r.Header.Add("Authorization", "Bearer y")
			return r
		}(), 400},
	} {
		t.Run(tt.name, func(t *testing.T) {
			w := serve(h, tt.req)
			assert.Equal(t, tt.want, w.Code, w.Body.String())
		})
	}
	t.Run("store down", func(t *testing.T) {
		down, err := jwtguard.NewSessions(l.issuer, failingStore{})
		require.NoError(t, err)
		w := serve(down.LogoutHandler(), bearer(l.login(t).AccessToken))
		assert.Equal(t, http.StatusServiceUnavailable, w.Code)
	})
}

func TestNewSessionsRefusesBadConfiguration(t *testing.T) {
	l := newLifecycle(t)
	tests := []struct {
		name    string
		issuer  *jwtguard.Issuer
		store   jwtguard.Store
		opts    []jwtguard.SessionsOption
		wantErr string
	}{
		{"nil issuer", nil, l.store, nil, "nil issuer"},
		{"nil store", l.issuer, nil, nil, "nil store"},
		{"relative cookie path", l.issuer, l.store, []jwtguard.SessionsOption{jwtguard.WithRefreshCookiePath("api")}, "WithRefreshCookiePath"},
		{"cookie path with ;", l.issuer, l.store, []jwtguard.SessionsOption{jwtguard.WithRefreshCookiePath("/a;b")}, "WithRefreshCookiePath"},
		{"nil refresh check", l.issuer, l.store, []jwtguard.SessionsOption{jwtguard.WithRefreshCheck(nil)}, "WithRefreshCheck"},
		{"tiny body", l.issuer, l.store, []jwtguard.SessionsOption{jwtguard.WithMaxBodySize(10)}, "WithMaxBodySize"},
		{"bad access option", l.issuer, l.store, []jwtguard.SessionsOption{jwtguard.WithAccessOptions(jwtguard.WithRealm(`"`))}, "WithRealm"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := jwtguard.NewSessions(tt.issuer, tt.store, tt.opts...)
			require.ErrorContains(t, err, tt.wantErr)
			assert.Nil(t, s)
		})
	}
}
