package main

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jwtguard/jwtguard"
)

// The tests of this file run the HTTP contract of a user's sessions
// black-box against the real server: the session list, ending one
// session, logout scopes, the change of password with its step-up, and
// the session's maximum age.

// fakeClock is the server's clock in a test.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// clockedServer is a test server on a clock the test moves.
func clockedServer(t *testing.T, change ...func(*Config)) (*testServer, *fakeClock) {
	t.Helper()
	clock := &fakeClock{now: time.Now().Truncate(time.Second)}
	cfg := testConfig(t)
	cfg.Clock = clock.Now
	for _, f := range change {
		f(&cfg)
	}
	return newTestServer(t, cfg), clock
}

// loginAs logs email in through the JSON API with a User-Agent.
func (s *testServer) loginAs(t *testing.T, email, userAgent string) (access, refresh string) {
	t.Helper()
	b, err := json.Marshal(map[string]string{"username": email, "password": testPassword})
	require.NoError(t, err)
	a := s.do(t, request{method: http.MethodPost, path: loginPath, contentType: "application/json", body: string(b),
		header: map[string]string{"User-Agent": userAgent}})
	require.Equal(t, http.StatusOK, a.status, "%s", a.body)
	return a.str("access_token"), a.str("refresh_token")
}

// bearer is a request with an access token.
func bearer(method, path, access string) request {
	return request{method: method, path: path, header: map[string]string{"Authorization": "Bearer " + access}}
}

// refreshWith posts a refresh token as JSON.
func (s *testServer) refreshWith(t *testing.T, refresh string) answer {
	t.Helper()
	return s.do(t, request{method: http.MethodPost, path: refreshPath, contentType: "application/json",
		body: `{"refresh_token":"` + refresh + `"}`})
}

// sessionList is the body of GET /sessions.
type sessionList struct {
	Sessions []struct {
		ID         string `json:"id"`
		CreatedAt  string `json:"created_at"`
		LastUsedAt string `json:"last_used_at"`
		ExpiresAt  string `json:"expires_at"`
		Current    bool   `json:"current"`
		UserAgent  string `json:"user_agent"`
	} `json:"sessions"`
}

func (s *testServer) sessions(t *testing.T, access string) sessionList {
	t.Helper()
	a := s.do(t, bearer(http.MethodGet, sessionsPath, access))
	require.Equal(t, http.StatusOK, a.status, "%s", a.body)
	var l sessionList
	require.NoError(t, json.Unmarshal(a.body, &l), "%s", a.body)
	return l
}

// fid is the session id of a token: its fid claim.
func fid(t *testing.T, token string) string {
	t.Helper()
	parts := strings.Split(token, ".")
	require.Len(t, parts, 3)
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	require.NoError(t, err)
	var c struct {
		FID string `json:"fid"`
	}
	require.NoError(t, json.Unmarshal(b, &c))
	return c.FID
}

// refused requires that both tokens get 401 invalid_token.
func (s *testServer) refused(t *testing.T, access, refresh, what string) {
	t.Helper()
	me := s.me(t, access)
	assert.Equal(t, http.StatusUnauthorized, me.status, "%s: access token", what)
	assert.Equal(t, "invalid_token", me.str("error"), "%s: access token", what)
	r := s.refreshWith(t, refresh)
	assert.Equal(t, http.StatusUnauthorized, r.status, "%s: refresh token", what)
	assert.Equal(t, "invalid_token", r.str("error"), "%s: refresh token", what)
}

func TestSessions(t *testing.T) {
	s, clock := clockedServer(t)
	s.register(t, "ada@example.com")
	s.register(t, "bob@example.com")
	login := clock.Now()
	laptopA, laptopR := s.loginAs(t, "ada@example.com", "Laptop/1.0")
	clock.Advance(time.Minute)
	phoneA, phoneR := s.loginAs(t, "ada@example.com", "Phone/2.0")
	bobA, bobR := s.loginAs(t, "bob@example.com", "Bob/3.0")

	l := s.sessions(t, laptopA)
	require.Len(t, l.Sessions, 2, "two logins, two sessions")
	rfc := func(t time.Time) string { return t.UTC().Format(time.RFC3339) }
	first, second := l.Sessions[0], l.Sessions[1]
	assert.Equal(t, fid(t, laptopA), first.ID)
	assert.True(t, first.Current, "the session of the calling token")
	assert.Equal(t, "Laptop/1.0", first.UserAgent)
	assert.Equal(t, rfc(login), first.CreatedAt)
	assert.Equal(t, rfc(login), first.LastUsedAt)
	assert.Equal(t, rfc(login.Add(7*24*time.Hour)), first.ExpiresAt)
	assert.Equal(t, fid(t, phoneA), second.ID)
	assert.False(t, second.Current)
	assert.Equal(t, "Phone/2.0", second.UserAgent)
	assert.Equal(t, rfc(login.Add(time.Minute)), second.CreatedAt)
	assert.Len(t, s.sessions(t, bobA).Sessions, 1, "only the caller's own")

	t.Run("another user's session is 404", func(t *testing.T) {
		a := s.do(t, bearer(http.MethodDelete, sessionsPath+"/"+fid(t, bobA), laptopA))
		assert.Equal(t, http.StatusNotFound, a.status, "%s", a.body)
		assert.Equal(t, "not_found", a.str("error"))
		assert.Equal(t, http.StatusOK, s.me(t, bobA).status, "bob's session goes on")
		a = s.do(t, bearer(http.MethodDelete, sessionsPath+"/nope", laptopA))
		assert.Equal(t, http.StatusNotFound, a.status)
	})

	t.Run("end one from the other", func(t *testing.T) {
		a := s.do(t, bearer(http.MethodDelete, sessionsPath+"/"+fid(t, phoneA), laptopA))
		require.Equal(t, http.StatusNoContent, a.status, "%s", a.body)
		assert.Empty(t, a.header.Values("Set-Cookie"), "an API client never gets cookies")
		s.refused(t, phoneA, phoneR, "the ended session")
		assert.Equal(t, http.StatusOK, s.me(t, laptopA).status, "the other session works")
		r := s.refreshWith(t, laptopR)
		require.Equal(t, http.StatusOK, r.status, "%s", r.body)
		laptopA, laptopR = r.str("access_token"), r.str("refresh_token")
		l := s.sessions(t, laptopA)
		require.Len(t, l.Sessions, 1)
		assert.Equal(t, fid(t, laptopA), l.Sessions[0].ID)
	})

	t.Run("logout scopes", func(t *testing.T) {
		a1, r1 := s.loginAs(t, "ada@example.com", "")
		a2, r2 := s.loginAs(t, "ada@example.com", "")
		a := s.do(t, bearer(http.MethodPost, logoutPath+"?scope=others", laptopA))
		require.Equal(t, http.StatusNoContent, a.status, "%s", a.body)
		s.refused(t, a1, r1, "others: another session")
		s.refused(t, a2, r2, "others: another session")
		assert.Equal(t, http.StatusOK, s.me(t, laptopA).status, "others keeps this one")

		a3, r3 := s.loginAs(t, "ada@example.com", "")
		a = s.do(t, bearer(http.MethodPost, logoutPath+"?scope=global", a3))
		require.Equal(t, http.StatusNoContent, a.status, "%s", a.body)
		s.refused(t, a3, r3, "global: this session")
		s.refused(t, laptopA, laptopR, "global: another session")
		assert.Equal(t, http.StatusOK, s.me(t, bobA).status, "another user")

		a4, r4 := s.loginAs(t, "ada@example.com", "")
		a = s.do(t, bearer(http.MethodPost, logoutPath, a4))
		require.Equal(t, http.StatusNoContent, a.status, "local, the default")
		s.refused(t, a4, r4, "local")

		a5, _ := s.loginAs(t, "ada@example.com", "")
		a = s.do(t, bearer(http.MethodPost, logoutPath+"?scope=all", a5))
		assert.Equal(t, http.StatusBadRequest, a.status)
		assert.Equal(t, "scope must be local, others or global", a.str("error_description"))
		assert.Equal(t, http.StatusOK, s.me(t, a5).status)
	})
	_ = bobR
}

func TestChangePassword(t *testing.T) {
	const newPw = "a new horse battery"
	body := func(current, next string) string {
		b, _ := json.Marshal(map[string]string{"current_password": current, "new_password": next})
		return string(b)
	}
	change := func(s *testServer, access, b string) answer {
		r := bearer(http.MethodPost, passwordPath, access)
		r.contentType, r.body = "application/json", b
		return s.do(t, r)
	}

	s, clock := clockedServer(t)
	s.register(t, "ada@example.com")
	s.register(t, "bob@example.com")
	oneA, oneR := s.loginAs(t, "ada@example.com", "")
	twoA, twoR := s.loginAs(t, "ada@example.com", "")
	bobA, _ := s.loginAs(t, "bob@example.com", "")
	clock.Advance(time.Minute)
	r := s.refreshWith(t, twoR) // a refreshed session
	require.Equal(t, http.StatusOK, r.status)
	twoA2, twoR2 := r.str("access_token"), r.str("refresh_token")
	clock.Advance(time.Second)

	t.Run("a wrong current password is a failed login", func(t *testing.T) {
		wrong := change(s, oneA, body("not the password", newPw))
		failed := s.postJSON(t, loginPath, map[string]string{"username": "ada@example.com", "password": "not the password"}, nil)
		require.Equal(t, http.StatusUnauthorized, failed.status)
		assert.Equal(t, failed.status, wrong.status)
		assert.Equal(t, string(failed.body), string(wrong.body))
		assert.Equal(t, failed.header.Get("WWW-Authenticate"), wrong.header.Get("WWW-Authenticate"))
		assert.Equal(t, http.StatusOK, s.me(t, oneA).status, "nothing changed")
	})
	t.Run("the new password is checked as at registration", func(t *testing.T) {
		a := change(s, oneA, body(testPassword, "short"))
		assert.Equal(t, http.StatusUnprocessableEntity, a.status)
		assert.Equal(t, "new_password must be at least 8 characters", a.str("error_description"))
		a = change(s, oneA, `{"current_password":"x"}`)
		assert.Equal(t, http.StatusBadRequest, a.status)
		a = s.do(t, request{method: http.MethodPost, path: passwordPath, contentType: "application/json", body: body(testPassword, newPw)})
		assert.Equal(t, http.StatusUnauthorized, a.status, "a token is required")
	})

	a := change(s, oneA, body(testPassword, newPw))
	require.Equal(t, http.StatusOK, a.status, "%s", a.body)
	assert.Equal(t, "bearer", a.str("token_type"))
	newA, newR := a.str("access_token"), a.str("refresh_token")
	require.NotEmpty(t, newA)
	assert.NotEqual(t, fid(t, oneA), fid(t, newA), "a new session")
	for name, p := range map[string][2]string{"the caller's": {oneA, oneR}, "another": {twoA, twoR2}, "refreshed": {twoA2, twoR2}} {
		s.refused(t, p[0], p[1], name+" session")
	}
	assert.Equal(t, http.StatusOK, s.me(t, newA).status, "the new pair works")
	assert.Equal(t, http.StatusOK, s.refreshWith(t, newR).status)
	assert.Equal(t, http.StatusOK, s.me(t, bobA).status, "another user")
	l := s.sessions(t, newA)
	require.Len(t, l.Sessions, 1, "every earlier session has ended")
	assert.Equal(t, fid(t, newA), l.Sessions[0].ID)

	old := s.postJSON(t, loginPath, map[string]string{"username": "ada@example.com", "password": testPassword}, nil)
	assert.Equal(t, http.StatusUnauthorized, old.status, "the old password")
	ok := s.postJSON(t, loginPath, map[string]string{"username": "ada@example.com", "password": newPw}, nil)
	assert.Equal(t, http.StatusOK, ok.status, "the new password")
}

// TestChangePasswordStepUp: a change of password needs a login within
// FRESH_MAX_AGE; a refresh does not make a login fresh; logging in again
// does.
func TestChangePasswordStepUp(t *testing.T) {
	s, clock := clockedServer(t, func(c *Config) { c.FreshMaxAge = 5 * time.Minute })
	s.register(t, "ada@example.com")
	access, refresh := s.loginAs(t, "ada@example.com", "")
	clock.Advance(5*time.Minute + time.Second)
	r := s.refreshWith(t, refresh)
	require.Equal(t, http.StatusOK, r.status)
	req := bearer(http.MethodPost, passwordPath, r.str("access_token"))
	req.contentType, req.body = "application/json", `{"current_password":"`+testPassword+`","new_password":"a new horse battery"}`
	for _, tok := range []string{access, r.str("access_token")} {
		req.header["Authorization"] = "Bearer " + tok
		a := s.do(t, req)
		require.Equal(t, http.StatusUnauthorized, a.status, "%s", a.body)
		assert.Equal(t, `Bearer realm="`+jwtguard.DefaultRealm+`", error="insufficient_user_authentication", `+
			`error_description="a login within the last 300 seconds is required: log in again", max_age=300`,
			a.header.Get("WWW-Authenticate"))
		assert.Equal(t, "insufficient_user_authentication", a.str("error"))
	}
	fresh, _ := s.loginAs(t, "ada@example.com", "")
	req.header["Authorization"] = "Bearer " + fresh
	a := s.do(t, req)
	assert.Equal(t, http.StatusOK, a.status, "after a fresh login: %s", a.body)
}

// TestSessionMaxAge: SESSION_MAX_AGE caps a session however often it is
// refreshed; the refresh after it is refused saying so.
func TestSessionMaxAge(t *testing.T) {
	s, clock := clockedServer(t, func(c *Config) {
		c.AccessTTL, c.RefreshTTL, c.SessionMaxAge = 5*time.Minute, time.Hour, 90*time.Minute
	})
	s.register(t, "ada@example.com")
	login := clock.Now()
	_, refresh := s.loginAs(t, "ada@example.com", "")
	for range 2 {
		clock.Advance(40 * time.Minute)
		r := s.refreshWith(t, refresh)
		require.Equal(t, http.StatusOK, r.status, "%s", r.body)
		refresh = r.str("refresh_token")
		l := s.sessions(t, r.str("access_token"))
		end := login.Add(90 * time.Minute)
		if e := clock.Now().Add(time.Hour); e.Before(end) {
			end = e
		}
		assert.Equal(t, end.UTC().Format(time.RFC3339), l.Sessions[0].ExpiresAt)
	}
	clock.Advance(10 * time.Minute) // the end: 90 minutes after the login
	r := s.refreshWith(t, refresh)
	assert.Equal(t, http.StatusUnauthorized, r.status)
	assert.Equal(t, "the session reached its maximum age: log in again", r.str("error_description"))
}

// TestSessionsInCookieMode: the page's session routes, with cookies: the
// list, the CSRF header on a DELETE, ending the page's own session clears
// its cookies, and a change of password answers with new cookies.
func TestSessionsInCookieMode(t *testing.T) {
	s := newTestServer(t, testConfig(t))
	s.register(t, "ada@example.com")
	a := s.do(t, request{method: http.MethodPost, path: cookieLoginPath, contentType: "application/json",
		body: `{"username":"ada@example.com","password":"` + testPassword + `"}`, header: map[string]string{"User-Agent": "Page/1"}})
	require.Equal(t, http.StatusOK, a.status, "%s", a.body)
	jar := []*http.Cookie{cookieNamed(a.header, jwtguard.AccessCookieName), cookieNamed(a.header, jwtguard.PathRefreshCookieName)}
	apiA, apiR := s.loginAs(t, "ada@example.com", "Client/1")

	l := s.do(t, request{method: http.MethodGet, path: sessionsPath, cookies: jar[:1]})
	require.Equal(t, http.StatusOK, l.status, "%s", l.body)
	var list sessionList
	require.NoError(t, json.Unmarshal(l.body, &list))
	require.Len(t, list.Sessions, 2)
	for _, sess := range list.Sessions {
		page := sess.ID == fid(t, jar[0].Value)
		assert.Equal(t, page, sess.Current, "current is the page's session")
		assert.Equal(t, map[bool]string{true: "Page/1", false: "Client/1"}[page], sess.UserAgent)
	}

	del := request{method: http.MethodDelete, path: sessionsPath + "/" + fid(t, apiA), cookies: jar[:1]}
	x := s.do(t, del)
	assert.Equal(t, http.StatusForbidden, x.status, "a cookie-authenticated DELETE needs the CSRF header: %s", x.body)
	assert.Equal(t, http.StatusOK, s.me(t, apiA).status)
	del.header = map[string]string{"X-Requested-With": "fetch"}
	x = s.do(t, del)
	require.Equal(t, http.StatusNoContent, x.status, "%s", x.body)
	s.refused(t, apiA, apiR, "ended from the page")

	pw := s.do(t, request{method: http.MethodPost, path: passwordPath, contentType: "application/json", cookies: jar,
		header: map[string]string{"X-Requested-With": "fetch"},
		body:   `{"current_password":"` + testPassword + `","new_password":"a new horse battery"}`})
	require.Equal(t, http.StatusOK, pw.status, "%s", pw.body)
	assert.NotContains(t, pw.json, "access_token", "the page never sees a token")
	newAccess := cookieNamed(pw.header, jwtguard.AccessCookieName)
	require.NotNil(t, newAccess, "the new session's cookies")
	assert.Equal(t, http.StatusUnauthorized, s.do(t, request{method: http.MethodGet, path: mePath, cookies: jar[:1]}).status)
	me := s.do(t, request{method: http.MethodGet, path: mePath, cookies: []*http.Cookie{newAccess}})
	assert.Equal(t, http.StatusOK, me.status)

	own := s.do(t, request{method: http.MethodDelete, path: sessionsPath + "/" + fid(t, newAccess.Value),
		cookies: []*http.Cookie{newAccess}, header: map[string]string{"X-Requested-With": "fetch"}})
	require.Equal(t, http.StatusNoContent, own.status, "%s", own.body)
	cleared := cookieNamed(own.header, jwtguard.AccessCookieName)
	require.NotNil(t, cleared, "ending the page's own session clears its cookies")
	assert.Equal(t, -1, cleared.MaxAge)
}
