package jwtguard_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/jwtguard/jwtguard"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// call is one request of a client to the lifecycle server.
type call struct {
	t      *testing.T
	srv    string
	client *http.Client
}

// do sends method path with a JSON body (none when ""), and headers as
// name, value pairs; it returns the response and its body.
func (c call) do(method, path, body string, headers ...string) (*http.Response, string) {
	c.t.Helper()
	req, err := http.NewRequest(method, c.srv+path, strings.NewReader(body))
	require.NoError(c.t, err)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := c.client.Do(req)
	require.NoError(c.t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(c.t, err)
	return resp, string(b)
}

// TestCookiesForBrowsers serves a browser (a cookie jar, sending
// X-Requested-With) and an API client (JSON, no jar) from the same login,
// refresh, logout and protected endpoints over HTTPS: each gets its tokens
// in the form it uses, never the other, and each logout ends its own
// session only.
func TestCookiesForBrowsers(t *testing.T) {
	l := newLifecycle(t, jwtguard.WithCookiesForBrowsers(), jwtguard.WithRefreshCookiePath("/api/v1/auth"))
	srv, jar := l.tlsServer(t)
	browser := call{t, srv.URL, jar}
	api := call{t, srv.URL, &http.Client{Transport: srv.Client().Transport}}
	const xrw = "X-Requested-With"
	credentials := `{"username":"alice","password":"` + alicePass + `"}`
	noTokens := func(t *testing.T, body string) {
		t.Helper()
		assert.NotContains(t, body, "access_token")
		assert.NotContains(t, body, "refresh_token")
	}
	cookie := func(resp *http.Response, name string) string {
		for _, c := range resp.Cookies() {
			if c.Name == name {
				return c.Value
			}
		}
		return ""
	}

	// Login: the browser gets cookies only, the API client tokens only.
	resp, body := browser.do("POST", "/api/v1/auth/login", credentials, xrw, "fetch", "Sec-Fetch-Site", "same-origin")
	require.Equal(t, http.StatusOK, resp.StatusCode, body)
	assert.JSONEq(t, `{"token_type":"bearer","expires_in":1800}`, body)
	require.NotEmpty(t, cookie(resp, jwtguard.AccessCookieName))
	browserRefresh := cookie(resp, jwtguard.PathRefreshCookieName)
	require.NotEmpty(t, browserRefresh)

	resp, body = api.do("POST", "/api/v1/auth/login", credentials)
	require.Equal(t, http.StatusOK, resp.StatusCode, body)
	assert.Empty(t, resp.Cookies(), "no cookie for an API client")
	var pair tokenBody
	require.NoError(t, json.Unmarshal([]byte(body), &pair))
	require.NotEmpty(t, pair.AccessToken)
	require.NotEmpty(t, pair.RefreshToken)
	assert.EqualValues(t, 1800, pair.ExpiresIn)

	// The OAuth 2.0 password form, as an API client sends it, is answered in the body too.
	resp, body = api.do("POST", "/api/v1/auth/login", "", "Content-Type", "application/x-www-form-urlencoded")
	require.Equal(t, http.StatusBadRequest, resp.StatusCode, body)
	assert.Contains(t, body, "username and password are required")

	// The protected route, for both.
	resp, body = browser.do("GET", "/api/v1/me", "")
	require.Equal(t, http.StatusOK, resp.StatusCode, body)
	assert.Equal(t, "1", body)
	resp, body = api.do("GET", "/api/v1/me", "", "Authorization", "Bearer "+pair.AccessToken)
	require.Equal(t, http.StatusOK, resp.StatusCode, body)

	// Refresh: the browser with its cookie, answered in cookies; the API
	// client with the body, answered in the body, even with the header.
	resp, body = browser.do("POST", "/api/v1/auth/refresh", "", xrw, "fetch")
	require.Equal(t, http.StatusOK, resp.StatusCode, body)
	noTokens(t, body)
	assert.NotEmpty(t, cookie(resp, jwtguard.AccessCookieName))
	assert.NotEqual(t, browserRefresh, cookie(resp, jwtguard.PathRefreshCookieName))

	resp, body = api.do("POST", "/api/v1/auth/refresh", `{"refresh_token":"`+pair.RefreshToken+`"}`, xrw, "XMLHttpRequest")
	require.Equal(t, http.StatusOK, resp.StatusCode, body)
	assert.Empty(t, resp.Cookies())
	var next tokenBody
	require.NoError(t, json.Unmarshal([]byte(body), &next))
	require.NotEmpty(t, next.AccessToken)

	// The browser's refresh without the CSRF header is refused, and says why.
	resp, body = browser.do("POST", "/api/v1/auth/refresh", "")
	require.Equal(t, http.StatusForbidden, resp.StatusCode, body)
	assert.Contains(t, body, "the X-Requested-With header is required")

	// Logout: the API client's ends its session only, with no Set-Cookie.
	resp, body = api.do("POST", "/api/v1/auth/logout", "", "Authorization", "Bearer "+next.AccessToken)
	require.Equal(t, http.StatusNoContent, resp.StatusCode, body)
	assert.Empty(t, resp.Cookies())
	resp, _ = api.do("GET", "/api/v1/me", "", "Authorization", "Bearer "+next.AccessToken)
	assert.Equal(t, http.StatusUnauthorized, resp.StatusCode)
	resp, body = browser.do("GET", "/api/v1/me", "")
	require.Equal(t, http.StatusOK, resp.StatusCode, body)

	// The browser's logout clears its cookies and ends its session.
	resp, body = browser.do("POST", "/api/v1/auth/logout", "", xrw, "fetch")
	require.Equal(t, http.StatusNoContent, resp.StatusCode, body)
	require.Len(t, resp.Cookies(), 2)
	for _, c := range resp.Cookies() {
		assert.Equal(t, -1, c.MaxAge, "cookie %s cleared", c.Name)
	}
	resp, _ = browser.do("GET", "/api/v1/me", "")
	assert.Equal(t, http.StatusUnauthorized, resp.StatusCode)
}

// TestCookiesForBrowsersLoginForm checks how a login says which form it
// wants, and that a cross-site page can neither get cookies set nor make a
// login answer with cookies.
func TestCookiesForBrowsersLoginForm(t *testing.T) {
	l := newLifecycle(t, jwtguard.WithCookiesForBrowsers())
	h := l.sessions.LoginHandler(authenticate)
	good := map[string]string{"username": "alice", "password": alicePass}
	tests := []struct {
		name        string
		headers     map[string]string
		wantStatus  int
		wantCookies bool
	}{
		{name: "API client", wantStatus: 200},
		{name: "browser", headers: map[string]string{"X-Requested-With": "fetch", "Sec-Fetch-Site": "same-origin"}, wantStatus: 200, wantCookies: true},
		{name: "non-browser with the header", headers: map[string]string{"X-Requested-With": "fetch"}, wantStatus: 200, wantCookies: true},
		{name: "empty header is no header", headers: map[string]string{"X-Requested-With": ""}, wantStatus: 200},
		{name: "cross-site with the header", headers: map[string]string{"X-Requested-With": "fetch", "Sec-Fetch-Site": "cross-site"}, wantStatus: 403},
		{name: "cross-site form: no cookie is set", headers: map[string]string{"Sec-Fetch-Site": "cross-site", "Origin": "https://evil.test"}, wantStatus: 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := jsonRequest(t, "POST", "/login", good)
			for k, v := range tt.headers {
				r.Header.Set(k, v)
			}
			w := serve(h, r)
			require.Equal(t, tt.wantStatus, w.Code, w.Body.String())
			if tt.wantStatus != http.StatusOK {
				assert.Empty(t, w.Result().Cookies())
				return
			}
			b := decodeTokenBody(t, w.Result())
			if tt.wantCookies {
				assert.Len(t, w.Result().Cookies(), 2)
				assert.Empty(t, b.AccessToken, "a page's scripts never see the tokens")
				assert.Empty(t, b.RefreshToken)
			} else {
				assert.Empty(t, w.Result().Cookies())
				assert.NotEmpty(t, b.AccessToken)
				assert.NotEmpty(t, b.RefreshToken)
			}
		})
	}
}

// TestCookiesForBrowsersRefreshForm checks that a refresh is answered in
// the form its refresh token came in.
func TestCookiesForBrowsersRefreshForm(t *testing.T) {
	l := newLifecycle(t, jwtguard.WithCookiesForBrowsers())
	h := l.sessions.RefreshHandler()
	tests := []struct {
		name        string
		req         func(refresh string) *http.Request
		wantCookies bool
	}{
		{name: "cookie", wantCookies: true, req: func(refresh string) *http.Request {
			r := httptest.NewRequest("POST", "/refresh", nil)
			r.AddCookie(&http.Cookie{Name: jwtguard.RefreshCookieName, Value: refresh})
			r.Header.Set("X-Requested-With", "fetch")
			return r
		}},
		{name: "JSON body", req: func(refresh string) *http.Request {
			return jsonRequest(t, "POST", "/refresh", map[string]string{"refresh_token": refresh})
		}},
		{name: "JSON body with the CSRF header", req: func(refresh string) *http.Request {
			r := jsonRequest(t, "POST", "/refresh", map[string]string{"refresh_token": refresh})
			r.Header.Set("X-Requested-With", "XMLHttpRequest")
			return r
		}},
		{name: "form", req: func(refresh string) *http.Request {
			return formRequest("POST", "/refresh", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {refresh}})
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := serve(h, tt.req(l.login(t).RefreshToken))
			require.Equal(t, http.StatusOK, w.Code, w.Body.String())
			b := decodeTokenBody(t, w.Result())
			if tt.wantCookies {
				assert.Len(t, w.Result().Cookies(), 2)
				assert.Empty(t, b.AccessToken)
			} else {
				assert.Empty(t, w.Result().Cookies())
				assert.NotEmpty(t, b.AccessToken)
			}
		})
	}
	t.Run("no token, no body: the cookie has gone, log in again", func(t *testing.T) {
		r := httptest.NewRequest("POST", "/refresh", nil)
		r.Header.Set("X-Requested-With", "fetch")
		w := serve(h, r)
		require.Equal(t, http.StatusUnauthorized, w.Code)
		assert.Equal(t, `Bearer realm="api"`, w.Header().Get("WWW-Authenticate"))
		assert.JSONEq(t, `{"error":"unauthorized","error_description":"no refresh token in the body or the refresh cookie: log in again"}`, w.Body.String())
	})
}

// TestCookieLoginHandler checks the other way a browser says it wants
// cookies: an endpoint that always answers in them, form posts included.
func TestCookieLoginHandler(t *testing.T) {
	l := newLifecycle(t, jwtguard.WithCookiesForBrowsers())
	h := l.sessions.CookieLoginHandler(authenticate)
	tests := []struct {
		name       string
		req        *http.Request
		headers    map[string]string
		wantStatus int
	}{
		{name: "JSON without the header", req: jsonRequest(t, "POST", "/cookie-login", map[string]string{"username": "alice", "password": alicePass}), wantStatus: 200},
		{name: "an HTML form", req: formRequest("POST", "/cookie-login", url.Values{"username": {"alice"}, "password": {alicePass}}), wantStatus: 200},
		{name: "cross-site form", req: formRequest("POST", "/cookie-login", url.Values{"username": {"alice"}, "password": {alicePass}}),
			headers: map[string]string{"Sec-Fetch-Site": "cross-site"}, wantStatus: 403},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for k, v := range tt.headers {
				tt.req.Header.Set(k, v)
			}
			w := serve(h, tt.req)
			require.Equal(t, tt.wantStatus, w.Code, w.Body.String())
			if tt.wantStatus != http.StatusOK {
				assert.Empty(t, w.Result().Cookies())
				return
			}
			assert.Len(t, w.Result().Cookies(), 2)
			assert.Empty(t, decodeTokenBody(t, w.Result()).AccessToken)
		})
	}
	bodyOnly := newLifecycle(t)
	assert.PanicsWithValue(t, "jwtguard: CookieLoginHandler needs a cookie mode: NewSessions with WithCookiesForBrowsers or WithCookies",
		func() { bodyOnly.sessions.CookieLoginHandler(authenticate) })
	assert.Panics(t, func() { l.sessions.CookieLoginHandler(nil) })
}
