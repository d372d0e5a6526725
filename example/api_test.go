package main

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jwtguard/jwtguard"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestRegister(t *testing.T) {
	s := newTestServer(t, testConfig(t))

	a := s.postJSON(t, registerPath, map[string]string{"email": "Ada@Example.com", "password": testPassword}, nil)
	require.Equal(t, http.StatusCreated, a.status, "%s", a.body)
	assert.Equal(t, "ada@example.com", a.str("email"))
	assert.EqualValues(t, 1, a.json["id"])
	assert.Len(t, a.json, 2, "only id and email: %s", a.body)

	tests := []struct {
		name        string
		contentType string
		body        string
		method      string
		status      int
		description string
	}{
		{name: "email taken", body: `{"email":"ada@example.com","password":"another password"}`, status: 409, description: "email already registered"},
		{name: "email taken in another case", body: `{"email":"ADA@example.com","password":"another password"}`, status: 409},
		{name: "invalid email", body: `{"email":"not-an-email","password":"long enough"}`, status: 422, description: "email must contain exactly one @ (quoted local parts are not accepted)"},
		{name: "email with a display name", body: `{"email":"Ada <ada2@example.com>","password":"long enough"}`, status: 422},
		{name: "email without a domain dot", body: `{"email":"ada@localhost","password":"long enough"}`, status: 422},
		{name: "empty email", body: `{"email":"","password":"long enough"}`, status: 422, description: "email is empty"},
		{name: "empty email and password", body: `{"email":"","password":""}`, status: 422, description: "email and password are empty"},
		{name: "email too long", body: `{"email":"` + strings.Repeat("a", 250) + `@example.com","password":"long enough"}`, status: 422},
		{name: "short password", body: `{"email":"bob@example.com","password":"short"}`, status: 422, description: "password must be at least 8 characters"},
		{name: "password too long for bcrypt", body: `{"email":"bob@example.com","password":"` + strings.Repeat("p", 73) + `"}`, status: 422},
		{name: "malformed JSON", body: `{"email":`, status: 400},
		{name: "not an object", body: `["bob@example.com"]`, status: 400},
		{name: "wrong type", body: `{"email":42,"password":"long enough"}`, status: 400},
		{name: "missing password", body: `{"email":"bob@example.com"}`, status: 400, description: "password is required"},
		{name: "missing both", body: `{}`, status: 400, description: "email and password are required"},
		{name: "empty body", body: ``, status: 400},
		{name: "trailing data", body: `{"email":"bob@example.com","password":"long enough"} {}`, status: 400},
		{name: "form body", contentType: "application/x-www-form-urlencoded", body: `email=bob@example.com&password=long+enough`, status: 415},
		{name: "body too large", body: `{"email":"bob@example.com","password":"` + strings.Repeat("p", 20<<10) + `"}`, status: 413},
		{name: "GET", method: http.MethodGet, status: 405},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rq := request{method: http.MethodPost, path: registerPath, contentType: "application/json", body: tt.body}
			if tt.contentType != "" {
				rq.contentType = tt.contentType
			}
			if tt.method != "" {
				rq.method = tt.method
			}
			a := s.do(t, rq)
			assert.Equal(t, tt.status, a.status, "%s", a.body)
			assert.Equal(t, "invalid_request", a.str("error"), "%s", a.body)
			assert.NotEmpty(t, a.str("error_description"))
			if tt.description != "" {
				assert.Equal(t, tt.description, a.str("error_description"))
			}
		})
	}
}

func TestLogin(t *testing.T) {
	s := newTestServer(t, testConfig(t))
	id := s.register(t, "ada@example.com")
	inactive := s.register(t, "old@example.com")
	require.NoError(t, s.users.SetActive(context.Background(), inactive, false))

	form := func(v url.Values) request {
		return request{method: http.MethodPost, path: loginPath, contentType: "application/x-www-form-urlencoded", body: v.Encode()}
	}
	jsonLogin := func(body string) request {
		return request{method: http.MethodPost, path: loginPath, contentType: "application/json", body: body}
	}
	t.Run("JSON and OAuth2 form", func(t *testing.T) {
		for _, rq := range []request{
			jsonLogin(`{"username":"ada@example.com","password":"` + testPassword + `"}`),
			jsonLogin(`{"username":"ADA@example.com","password":"` + testPassword + `"}`),
			form(url.Values{"username": {"ada@example.com"}, "password": {testPassword}}),
			form(url.Values{"grant_type": {"password"}, "username": {"ada@example.com"}, "password": {testPassword}}),
		} {
			a := s.do(t, rq)
			require.Equal(t, http.StatusOK, a.status, "%s", a.body)
			assert.Equal(t, "bearer", a.str("token_type"))
			assert.InDelta(t, 1800, a.json["expires_in"], 2)
			assert.NotEmpty(t, a.str("access_token"))
			assert.NotEmpty(t, a.str("refresh_token"))
			assert.Equal(t, "no-store", a.header.Get("Cache-Control"))
			assert.Empty(t, a.header.Values("Set-Cookie"), "API clients get no cookies")
			me := s.me(t, a.str("access_token"))
			require.Equal(t, http.StatusOK, me.status, "%s", me.body)
			assert.EqualValues(t, id, me.json["id"])
		}
	})

	wrong := s.do(t, jsonLogin(`{"username":"ada@example.com","password":"wrong password"}`))
	tests := []struct {
		name   string
		rq     request
		status int
		error  string
	}{
		{name: "wrong password", rq: jsonLogin(`{"username":"ada@example.com","password":"wrong password"}`), status: 401, error: "invalid_grant"},
		{name: "unknown user", rq: jsonLogin(`{"username":"nobody@example.com","password":"` + testPassword + `"}`), status: 401, error: "invalid_grant"},
		{name: "username not an email", rq: jsonLogin(`{"username":"nobody","password":"` + testPassword + `"}`), status: 401, error: "invalid_grant"},
		{name: "inactive user", rq: jsonLogin(`{"username":"old@example.com","password":"` + testPassword + `"}`), status: 401, error: "invalid_grant"},
		{name: "password over bcrypt's limit", rq: jsonLogin(`{"username":"ada@example.com","password":"` + strings.Repeat("p", 100) + `"}`), status: 401, error: "invalid_grant"},
		{name: "malformed JSON", rq: jsonLogin(`{"username":`), status: 400, error: "invalid_request"},
		{name: "missing password", rq: jsonLogin(`{"username":"ada@example.com"}`), status: 400, error: "invalid_request"},
		{name: "wrong grant type", rq: form(url.Values{"grant_type": {"client_credentials"}, "username": {"ada@example.com"}, "password": {testPassword}}), status: 400, error: "invalid_request"},
		{name: "text body", rq: request{method: http.MethodPost, path: loginPath, contentType: "text/plain", body: "hi"}, status: 415, error: "invalid_request"},
		{name: "GET", rq: request{method: http.MethodGet, path: loginPath}, status: 405, error: "invalid_request"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := s.do(t, tt.rq)
			assert.Equal(t, tt.status, a.status, "%s", a.body)
			assert.Equal(t, tt.error, a.str("error"), "%s", a.body)
			if tt.status == 401 {
				assert.Equal(t, wrong.body, a.body, "the same answer for every bad credential")
			}
		})
	}
}

func TestCookieLogin(t *testing.T) {
	s := newTestServer(t, testConfig(t))
	s.register(t, "ada@example.com")
	body := `{"username":"ada@example.com","password":"` + testPassword + `"}`

	a := s.do(t, request{method: http.MethodPost, path: cookieLoginPath, contentType: "application/json", body: body,
		header: map[string]string{"Sec-Fetch-Site": "same-origin"}})
	require.Equal(t, http.StatusOK, a.status, "%s", a.body)
	assert.Equal(t, "bearer", a.str("token_type"))
	assert.NotContains(t, a.json, "access_token", "the page never sees a token")
	assert.NotContains(t, a.json, "refresh_token")
	assert.Equal(t, "no-store", a.header.Get("Cache-Control"))
	access := cookieNamed(a.header, jwtguard.AccessCookieName)
	refresh := cookieNamed(a.header, jwtguard.PathRefreshCookieName)
	require.NotNil(t, access)
	require.NotNil(t, refresh)
	for _, c := range []*http.Cookie{access, refresh} {
		assert.True(t, c.HttpOnly, c.Name)
		assert.True(t, c.Secure, c.Name)
		assert.Equal(t, http.SameSiteLaxMode, c.SameSite, c.Name)
		assert.Empty(t, c.Domain, c.Name)
	}
	assert.Equal(t, "/", access.Path)
	assert.Equal(t, authPrefix, refresh.Path)

	// /me takes the access cookie; a GET needs no CSRF header.
	me := s.do(t, request{method: http.MethodGet, path: mePath, cookies: []*http.Cookie{access}})
	require.Equal(t, http.StatusOK, me.status, "%s", me.body)
	assert.Equal(t, "ada@example.com", me.str("email"))

	// Another site cannot log a browser in to an account of its choosing.
	x := s.do(t, request{method: http.MethodPost, path: cookieLoginPath, contentType: "application/json", body: body,
		header: map[string]string{"Sec-Fetch-Site": "cross-site"}})
	assert.Equal(t, http.StatusForbidden, x.status, "%s", x.body)
	assert.Nil(t, cookieNamed(x.header, jwtguard.AccessCookieName))

	t.Run("insecure cookies for plain HTTP development", func(t *testing.T) {
		cfg := testConfig(t)
		cfg.InsecureCookies = true
		s := newTestServer(t, cfg)
		s.register(t, "ada@example.com")
		a := s.do(t, request{method: http.MethodPost, path: cookieLoginPath, contentType: "application/json", body: body})
		require.Equal(t, http.StatusOK, a.status, "%s", a.body)
		access, refresh := cookieNamed(a.header, "access_token"), cookieNamed(a.header, "refresh_token")
		require.NotNil(t, access)
		require.NotNil(t, refresh)
		assert.False(t, access.Secure)
		assert.True(t, access.HttpOnly)
		// The refresh endpoint recognises the unprefixed cookie as a browser's.
		r := s.do(t, request{method: http.MethodPost, path: refreshPath, cookies: []*http.Cookie{refresh},
			header: map[string]string{"X-Requested-With": "test"}})
		require.Equal(t, http.StatusOK, r.status, "%s", r.body)
		assert.NotNil(t, cookieNamed(r.header, "access_token"))
		assert.NotContains(t, r.json, "access_token")
	})
}

func TestMe(t *testing.T) {
	s := newTestServer(t, testConfig(t))
	id := s.register(t, "ada@example.com")
	access, refresh := s.login(t, "ada@example.com")
	sub := strconv.FormatInt(id, 10)

	a := s.me(t, access)
	require.Equal(t, http.StatusOK, a.status, "%s", a.body)
	assert.EqualValues(t, id, a.json["id"])
	assert.Equal(t, "ada@example.com", a.str("email"))
	assert.Equal(t, true, a.json["is_active"])
	assert.NotEmpty(t, a.str("created_at"))
	assert.NotContains(t, string(a.body), "password")
	assert.Equal(t, "no-store", a.header.Get("Cache-Control"))

	t.Run("a token made by another JWT implementation", func(t *testing.T) {
		a := s.me(t, handMadeToken(testSecret, handMadeClaims(sub)))
		require.Equal(t, http.StatusOK, a.status, "%s", a.body)
		assert.EqualValues(t, id, a.json["id"])
	})

	bad := func(mutate func(map[string]any)) string {
		c := handMadeClaims(sub)
		mutate(c)
		return handMadeToken(testSecret, c)
	}
	tests := []struct {
		name        string
		auth        string
		status      int
		description string
	}{
		{name: "no token", status: 401},
		{name: "Basic scheme", auth: "Basic YWRhOnB3", status: 401},
		{name: "Bearer with nothing", auth: "Bearer ", status: 400},
		{name: "garbage", auth: "Bearer not.a.jwt", status: 401, description: "malformed token"},
		{name: "refresh token", auth: "Bearer " + refresh, status: 401, description: "wrong token type"},
		{name: "another secret", auth: "Bearer " + handMadeToken("another-secret-another-secret-32", handMadeClaims(sub)), status: 401, description: "invalid signature"},
		{name: "expired", auth: "Bearer " + bad(func(c map[string]any) { c["exp"] = c["iat"].(int64) - 60 }), status: 401, description: "token expired"},
		{name: "wrong issuer", auth: "Bearer " + bad(func(c map[string]any) { c["iss"] = "someone-else" }), status: 401, description: "wrong issuer"},
		{name: "wrong audience", auth: "Bearer " + bad(func(c map[string]any) { c["aud"] = "another-api" }), status: 401, description: "wrong audience"},
		{name: "no type", auth: "Bearer " + bad(func(c map[string]any) { delete(c, "type") }), status: 401},
		{name: "no jti", auth: "Bearer " + bad(func(c map[string]any) { delete(c, "jti") }), status: 401},
		{name: "unknown user", auth: "Bearer " + handMadeToken(testSecret, handMadeClaims("999")), status: 401, description: "unknown user"},
		{name: "subject not a user id", auth: "Bearer " + handMadeToken(testSecret, handMadeClaims("ada")), status: 401, description: "unknown user"},
		{name: "huge subject", auth: "Bearer " + handMadeToken(testSecret, handMadeClaims("99999999999999999999999")), status: 401, description: "unknown user"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rq := request{method: http.MethodGet, path: mePath}
			if tt.auth != "" {
				rq.header = map[string]string{"Authorization": tt.auth}
			}
			a := s.do(t, rq)
			assert.Equal(t, tt.status, a.status, "%s", a.body)
			assert.Contains(t, a.header.Get("WWW-Authenticate"), `Bearer realm=`)
			if tt.description != "" {
				assert.Equal(t, "invalid_token", a.str("error"))
				assert.Equal(t, tt.description, a.str("error_description"))
			}
		})
	}

	t.Run("inactive user", func(t *testing.T) {
		require.NoError(t, s.users.SetActive(context.Background(), id, false))
		defer func() { require.NoError(t, s.users.SetActive(context.Background(), id, true)) }()
		a := s.me(t, access)
		assert.Equal(t, http.StatusUnauthorized, a.status, "%s", a.body)
		assert.Equal(t, "invalid_token", a.str("error"))
		assert.Equal(t, "user inactive", a.str("error_description"))
		assert.Contains(t, a.header.Get("WWW-Authenticate"), `error="invalid_token"`)
	})

	t.Run("POST", func(t *testing.T) {
		a := s.do(t, request{method: http.MethodPost, path: mePath, header: map[string]string{"Authorization": "Bearer " + access}})
		assert.Equal(t, http.StatusMethodNotAllowed, a.status)
		assert.Equal(t, "invalid_request", a.str("error"))
	})
}

func TestRefresh(t *testing.T) {
	s := newTestServer(t, testConfig(t))
	id := s.register(t, "ada@example.com")
	refreshJSON := func(token string) request {
		return request{method: http.MethodPost, path: refreshPath, contentType: "application/json", body: `{"refresh_token":"` + token + `"}`}
	}

	t.Run("rotation, the reuse interval and reuse detection", func(t *testing.T) {
		// A server of its own, on a clock the test moves.
		var mu sync.Mutex
		now := time.Now()
		cfg := testConfig(t)
		cfg.Clock = func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
		s := newTestServer(t, cfg)
		s.register(t, "ada@example.com")
		advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }

		access, refresh := s.login(t, "ada@example.com")
		a := s.do(t, refreshJSON(refresh))
		require.Equal(t, http.StatusOK, a.status, "%s", a.body)
		assert.Equal(t, "bearer", a.str("token_type"))
		assert.Equal(t, "no-store", a.header.Get("Cache-Control"))
		assert.Empty(t, a.header.Values("Set-Cookie"))
		access2, refresh2 := a.str("access_token"), a.str("refresh_token")
		require.NotEmpty(t, access2)
		assert.NotEqual(t, refresh, refresh2)
		assert.Equal(t, http.StatusOK, s.me(t, access2).status)
		assert.Equal(t, http.StatusOK, s.me(t, access).status, "the old access token lives until it expires")

		// The rotated token again within the reuse interval (a second tab,
		// a retry after a lost answer): another pair of the same family.
		advance(jwtguard.DefaultReuseInterval - time.Second)
		b := s.do(t, refreshJSON(refresh))
		require.Equal(t, http.StatusOK, b.status, "%s", b.body)
		access3 := b.str("access_token")
		assert.Equal(t, http.StatusOK, s.me(t, access3).status)

		// After the interval: theft assumed, the family is revoked.
		advance(2 * time.Second)
		reuse := s.do(t, refreshJSON(refresh))
		assert.Equal(t, http.StatusUnauthorized, reuse.status, "%s", reuse.body)
		assert.Equal(t, "invalid_token", reuse.str("error"))
		for name, tok := range map[string]string{"first": access, "successor": access2, "sibling": access3} {
			assert.Equal(t, http.StatusUnauthorized, s.me(t, tok).status, "family revoked: %s access token", name)
		}
		assert.Equal(t, http.StatusUnauthorized, s.do(t, refreshJSON(refresh2)).status, "family revoked")
	})

	t.Run("form body", func(t *testing.T) {
		_, refresh := s.login(t, "ada@example.com")
		a := s.do(t, request{method: http.MethodPost, path: refreshPath, contentType: "application/x-www-form-urlencoded",
			body: url.Values{"grant_type": {"refresh_token"}, "refresh_token": {refresh}}.Encode()})
		require.Equal(t, http.StatusOK, a.status, "%s", a.body)
		assert.NotEmpty(t, a.str("access_token"))
	})

	t.Run("inactive user is refused and the family revoked", func(t *testing.T) {
		access, refresh := s.login(t, "ada@example.com")
		require.NoError(t, s.users.SetActive(context.Background(), id, false))
		a := s.do(t, refreshJSON(refresh))
		require.NoError(t, s.users.SetActive(context.Background(), id, true))
		assert.Equal(t, http.StatusUnauthorized, a.status, "%s", a.body)
		assert.Equal(t, "invalid_token", a.str("error"))
		assert.Equal(t, http.StatusUnauthorized, s.me(t, access).status, "family revoked although active again")
	})

	t.Run("cookie mode", func(t *testing.T) {
		login := s.do(t, request{method: http.MethodPost, path: cookieLoginPath, contentType: "application/json",
			body: `{"username":"ada@example.com","password":"` + testPassword + `"}`})
		require.Equal(t, http.StatusOK, login.status, "%s", login.body)
		refresh := cookieNamed(login.header, jwtguard.PathRefreshCookieName)
		require.NotNil(t, refresh)

		noHeader := s.do(t, request{method: http.MethodPost, path: refreshPath, cookies: []*http.Cookie{refresh}})
		assert.Equal(t, http.StatusForbidden, noHeader.status, "CSRF header missing: %s", noHeader.body)
		crossSite := s.do(t, request{method: http.MethodPost, path: refreshPath, cookies: []*http.Cookie{refresh},
			header: map[string]string{"X-Requested-With": "fetch", "Sec-Fetch-Site": "cross-site"}})
		assert.Equal(t, http.StatusForbidden, crossSite.status, "%s", crossSite.body)
		twice := s.do(t, request{method: http.MethodPost, path: refreshPath, cookies: []*http.Cookie{refresh},
			contentType: "application/json", body: `{"refresh_token":"x.y.z"}`, header: map[string]string{"X-Requested-With": "fetch"}})
		assert.Equal(t, http.StatusBadRequest, twice.status, "%s", twice.body)

		a := s.do(t, request{method: http.MethodPost, path: refreshPath, cookies: []*http.Cookie{refresh},
			header: map[string]string{"X-Requested-With": "fetch"}})
		require.Equal(t, http.StatusOK, a.status, "%s", a.body)
		assert.NotContains(t, a.json, "access_token")
		assert.NotContains(t, a.json, "refresh_token")
		access2 := cookieNamed(a.header, jwtguard.AccessCookieName)
		require.NotNil(t, access2)
		me := s.do(t, request{method: http.MethodGet, path: mePath, cookies: []*http.Cookie{access2}})
		assert.Equal(t, http.StatusOK, me.status, "%s", me.body)
	})

	tests := []struct {
		name   string
		rq     request
		status int
	}{
		{name: "no token: the refresh cookie has gone, log in again", rq: request{method: http.MethodPost, path: refreshPath}, status: 401},
		{name: "empty JSON: says where the refresh token goes", rq: refreshJSON(""), status: 400},
		{name: "refresh token as a bearer header", rq: request{method: http.MethodPost, path: refreshPath,
			header: map[string]string{"Authorization": "Bearer x.y.z"}}, status: 400},
		{name: "garbage", rq: refreshJSON("garbage"), status: 401},
		{name: "access token", rq: refreshJSON(handMadeToken(testSecret, handMadeClaims("1"))), status: 401},
		{name: "malformed JSON", rq: request{method: http.MethodPost, path: refreshPath, contentType: "application/json", body: "{"}, status: 400},
		{name: "refresh_token not a string", rq: request{method: http.MethodPost, path: refreshPath, contentType: "application/json", body: `{"refresh_token":1}`}, status: 400},
		{name: "GET", rq: request{method: http.MethodGet, path: refreshPath}, status: 405},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := s.do(t, tt.rq)
			assert.Equal(t, tt.status, a.status, "%s", a.body)
			assert.NotEmpty(t, a.str("error"), "%s", a.body)
		})
	}
}

func TestLogout(t *testing.T) {
	s := newTestServer(t, testConfig(t))
	s.register(t, "ada@example.com")

	t.Run("bearer: access token and family revoked", func(t *testing.T) {
		access, refresh := s.login(t, "ada@example.com")
		a := s.do(t, request{method: http.MethodPost, path: logoutPath, header: map[string]string{"Authorization": "Bearer " + access}})
		require.Equal(t, http.StatusNoContent, a.status, "%s", a.body)
		assert.Empty(t, a.body)
		assert.Empty(t, a.header.Values("Set-Cookie"), "API clients get no cookies")
		assert.Equal(t, http.StatusUnauthorized, s.me(t, access).status)
		r := s.postJSON(t, refreshPath, map[string]string{"refresh_token": refresh}, nil)
		assert.Equal(t, http.StatusUnauthorized, r.status, "%s", r.body)
	})

	t.Run("refresh token only", func(t *testing.T) {
		access, refresh := s.login(t, "ada@example.com")
		a := s.postJSON(t, logoutPath, map[string]string{"refresh_token": refresh}, nil)
		require.Equal(t, http.StatusNoContent, a.status, "%s", a.body)
		assert.Equal(t, http.StatusUnauthorized, s.me(t, access).status, "the family includes the access token")
	})

	t.Run("cookies: CSRF header required, cookies cleared", func(t *testing.T) {
		login := s.do(t, request{method: http.MethodPost, path: cookieLoginPath, contentType: "application/json",
			body: `{"username":"ada@example.com","password":"` + testPassword + `"}`})
		require.Equal(t, http.StatusOK, login.status, "%s", login.body)
		cookies := []*http.Cookie{
			cookieNamed(login.header, jwtguard.AccessCookieName),
			cookieNamed(login.header, jwtguard.PathRefreshCookieName),
		}
		forged := s.do(t, request{method: http.MethodPost, path: logoutPath, cookies: cookies})
		assert.Equal(t, http.StatusForbidden, forged.status, "%s", forged.body)
		assert.Equal(t, http.StatusOK, s.do(t, request{method: http.MethodGet, path: mePath, cookies: cookies[:1]}).status)

		a := s.do(t, request{method: http.MethodPost, path: logoutPath, cookies: cookies, header: map[string]string{"X-Requested-With": "fetch"}})
		require.Equal(t, http.StatusNoContent, a.status, "%s", a.body)
		for _, name := range []string{jwtguard.AccessCookieName, jwtguard.PathRefreshCookieName} {
			c := cookieNamed(a.header, name)
			require.NotNil(t, c, name)
			assert.Negative(t, c.MaxAge, name)
		}
		assert.Equal(t, http.StatusUnauthorized, s.do(t, request{method: http.MethodGet, path: mePath, cookies: cookies[:1]}).status)
	})

	for _, tt := range []struct {
		name   string
		rq     request
		status int
	}{
		{name: "no token", rq: request{method: http.MethodPost, path: logoutPath}, status: 401},
		{name: "bad token", rq: request{method: http.MethodPost, path: logoutPath, header: map[string]string{"Authorization": "Bearer x.y.z"}}, status: 401},
		{name: "GET", rq: request{method: http.MethodGet, path: logoutPath}, status: 405},
	} {
		t.Run(tt.name, func(t *testing.T) {
			a := s.do(t, tt.rq)
			assert.Equal(t, tt.status, a.status, "%s", a.body)
			assert.NotEmpty(t, a.str("error"))
		})
	}
}

// TestNoServerErrorOnBadInput sends junk to every endpoint: every answer is
// a JSON client error, never a 5xx.
func TestNoServerErrorOnBadInput(t *testing.T) {
	s := newTestServer(t, testConfig(t))
	s.register(t, "ada@example.com")
	bodies := []struct{ contentType, body string }{
		{"", ""},
		{"application/json", "null"},
		{"application/json", `{"username":null,"password":null,"email":null,"refresh_token":null}`},
		{"application/json", `{"username":["a"],"email":{"a":1}}`},
		{"application/json", "\xff\xfe"},
		{"application/json", `{"a":` + strings.Repeat("[", 10000)},
		{"application/json; charset=\"", "{}"},
		{"application/x-www-form-urlencoded", "%zz=%zz"},
		{"application/x-www-form-urlencoded", "username=a&username=b"},
		{"multipart/form-data; boundary=x", "--x--"},
	}
	auths := []string{"", "Bearer", "Bearer " + strings.Repeat("a", 9000), "Bearer a.b.c", "Negotiate abc"}
	paths := []string{registerPath, loginPath, cookieLoginPath, mePath, refreshPath, logoutPath, sessionPath, "/", "/nope", "/api/v1/auth/"}
	for _, path := range paths {
		for _, method := range []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodDelete} {
			for _, b := range bodies {
				for _, auth := range auths {
					rq := request{method: method, path: path, contentType: b.contentType, body: b.body}
					if auth != "" {
						rq.header = map[string]string{"Authorization": auth}
					}
					a := s.do(t, rq)
					if !assert.Less(t, a.status, 500, "%s %s %q %q: %s", method, path, b.body, auth, a.body) {
						continue
					}
					if a.status >= 400 {
						assert.Equal(t, "application/json", a.header.Get("Content-Type"), "%s %s: %s", method, path, a.body)
					}
				}
			}
		}
	}
}

func TestPage(t *testing.T) {
	s := newTestServer(t, testConfig(t))
	a := s.do(t, request{method: http.MethodGet, path: "/"})
	require.Equal(t, http.StatusOK, a.status)
	assert.Equal(t, "text/html; charset=utf-8", a.header.Get("Content-Type"))
	csp := a.header.Get("Content-Security-Policy")
	assert.Contains(t, csp, "script-src '"+scriptHash(a.body)+"'")
	assert.Contains(t, csp, "frame-ancestors 'none'")
	assert.NotContains(t, string(a.body), "http://", "no external assets")
	assert.NotContains(t, string(a.body), "https://", "no external assets")
	assert.Contains(t, string(a.body), strings.TrimPrefix(cookieLoginPath, authPrefix))
	assert.Contains(t, string(a.body), `"X-Requested-With"`)

	nf := s.do(t, request{method: http.MethodGet, path: "/nope"})
	assert.Equal(t, http.StatusNotFound, nf.status)
	assert.Equal(t, "not_found", nf.str("error"))
}

// TestConcurrentRegistrations: SQLite writers wait for each other (WAL and
// a busy timeout) instead of failing, and a taken email is a 409, never a
// 5xx, even when two registrations race for it.
func TestConcurrentRegistrations(t *testing.T) {
	s := newTestServer(t, testConfig(t))
	const n = 40
	statuses := make(chan int, 2*n)
	var wg sync.WaitGroup
	for i := range 2 * n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			email := fmt.Sprintf("user%d@example.com", i%n) // each email twice
			// Not s.postJSON: require must not stop the test from another goroutine.
			resp, err := s.Client().Post(s.URL+registerPath, "application/json",
				strings.NewReader(`{"email":"`+email+`","password":"`+testPassword+`"}`))
			if !assert.NoError(t, err) {
				return
			}
			resp.Body.Close()
			statuses <- resp.StatusCode
		}()
	}
	wg.Wait()
	close(statuses)
	count := map[int]int{}
	for st := range statuses {
		count[st]++
	}
	assert.Equal(t, map[int]int{http.StatusCreated: n, http.StatusConflict: n}, count)
}
