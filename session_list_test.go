package jwtguard_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jwtguard/jwtguard"
)

// sessionsEnv is a service with sessions behind a real HTTP server: login,
// refresh, logout, the session routes, /me, and a route that requires a
// login within five minutes, on a memory store and a clock the test
// moves.
type sessionsEnv struct {
	clock    *testClock
	store    *jwtguard.MemoryStore
	issuer   *jwtguard.Issuer
	sessions *jwtguard.Sessions
	srv      *httptest.Server
	failures chan error // what the failure hook saw, when the test reads it
}

// freshAge is what /fresh requires.
const freshAge = 5 * time.Minute

func newSessionsEnv(t testing.TB, cfg jwtguard.IssuerConfig, opts ...jwtguard.SessionsOption) *sessionsEnv {
	t.Helper()
	e := &sessionsEnv{clock: newTestClock(), failures: make(chan error, 100)}
	var err error
	e.store, err = jwtguard.NewMemoryStore(jwtguard.MemoryStoreClock(e.clock.Now), jwtguard.MemoryStoreSweepInterval(time.Millisecond))
	require.NoError(t, err)
	t.Cleanup(func() { _ = e.store.Close() })
	cfg.Key = jwtguard.Key{ID: "k1", Algorithm: "HS256", Key: secret256}
	cfg.Issuer, cfg.Audience, cfg.Clock = testIssuer, []string{testAudience}, e.clock.Now
	e.issuer, err = jwtguard.NewIssuer(cfg)
	require.NoError(t, err)
	hook := jwtguard.WithAccessOptions(jwtguard.WithFailureHook(func(_ *http.Request, err error) {
		select {
		case e.failures <- err:
		default:
		}
	}))
	e.sessions, err = jwtguard.NewSessions(e.issuer, e.store, append([]jwtguard.SessionsOption{hook}, opts...)...)
	require.NoError(t, err)
	mw := e.sessions.Middleware()
	me := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, _ := jwtguard.FromContext(r.Context())
		_, _ = io.WriteString(w, c.Subject)
	})
	mux := http.NewServeMux()
	mux.Handle("/auth/login", e.sessions.LoginHandler(authenticate))
	mux.Handle("/auth/refresh", e.sessions.RefreshHandler())
	mux.Handle("/auth/logout", e.sessions.LogoutHandler())
	mux.Handle("/auth/sessions", e.sessions.ListSessionsHandler())
	mux.Handle("/auth/sessions/{id}", e.sessions.EndSessionHandler())
	mux.Handle("/me", mw.Handler(me))
	mux.Handle("/fresh", e.sessions.RequireFreshLogin(freshAge)(me))
	e.srv = httptest.NewServer(mux)
	t.Cleanup(e.srv.Close)
	return e
}

// pair is a login's or a refresh's tokens.
type pair struct{ access, refresh string }

// call makes one request; token goes in the Authorization header.
func (e *sessionsEnv) call(t testing.TB, method, path, token, body string, header ...string) (int, http.Header, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, e.srv.URL+path, strings.NewReader(body))
	require.NoError(t, err)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := e.srv.Client().Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, resp.Header, b
}

// login logs username in with a User-Agent.
func (e *sessionsEnv) login(t testing.TB, username, userAgent string) pair {
	t.Helper()
	pw := alicePass
	if username == "bob" {
		pw = "bob-password"
	}
	status, _, b := e.call(t, http.MethodPost, "/auth/login", "",
		`{"username":"`+username+`","password":"`+pw+`"}`, "User-Agent", userAgent)
	require.Equal(t, http.StatusOK, status, "%s", b)
	return tokensOf(t, b)
}

func tokensOf(t testing.TB, b []byte) pair {
	t.Helper()
	var tb tokenBody
	require.NoError(t, json.Unmarshal(b, &tb))
	return pair{tb.AccessToken, tb.RefreshToken}
}

// refresh posts a refresh token and returns the status, the answer, and
// the new pair on 200.
func (e *sessionsEnv) refresh(t testing.TB, token string) (int, []byte, pair) {
	t.Helper()
	status, _, b := e.call(t, http.MethodPost, "/auth/refresh", "", `{"refresh_token":"`+token+`"}`)
	if status != http.StatusOK {
		return status, b, pair{}
	}
	return status, b, tokensOf(t, b)
}

// me is the status of GET /me with access.
func (e *sessionsEnv) me(t testing.TB, access string) int {
	t.Helper()
	status, _, _ := e.call(t, http.MethodGet, "/me", access, "")
	return status
}

// works reports whether both tokens of p are accepted: the access token by
// /me, the refresh token by a refresh (whose pair it returns).
func (e *sessionsEnv) works(t testing.TB, p pair) (bool, pair) {
	t.Helper()
	if e.me(t, p.access) != http.StatusOK {
		return false, pair{}
	}
	status, _, next := e.refresh(t, p.refresh)
	return status == http.StatusOK, next
}

// requireRefused checks that both tokens of p are refused with 401
// invalid_token.
func (e *sessionsEnv) requireRefused(t testing.TB, p pair, what string) {
	t.Helper()
	status, h, _ := e.call(t, http.MethodGet, "/me", p.access, "")
	require.Equal(t, http.StatusUnauthorized, status, "%s: access token", what)
	require.Contains(t, h.Get("WWW-Authenticate"), `error="invalid_token"`, what)
	status, b, _ := e.refresh(t, p.refresh)
	require.Equal(t, http.StatusUnauthorized, status, "%s: refresh token: %s", what, b)
	require.Contains(t, string(b), `"invalid_token"`, what)
}

// listed is a session as the list handler answers it.
type listed struct {
	ID         string `json:"id"`
	CreatedAt  string `json:"created_at"`
	LastUsedAt string `json:"last_used_at"`
	ExpiresAt  string `json:"expires_at"`
	Current    bool   `json:"current"`
	UserAgent  string `json:"user_agent"`
}

// list is GET /auth/sessions with access.
func (e *sessionsEnv) list(t testing.TB, access string) []listed {
	t.Helper()
	status, h, b := e.call(t, http.MethodGet, "/auth/sessions", access, "")
	require.Equal(t, http.StatusOK, status, "%s", b)
	require.Equal(t, "no-store", h.Get("Cache-Control"))
	var out struct {
		Sessions []listed `json:"sessions"`
	}
	require.NoError(t, json.Unmarshal(b, &out), "%s", b)
	require.NotNil(t, out.Sessions, "an array, never null: %s", b)
	return out.Sessions
}

// fidOf returns the session (family) id of a token.
func fidOf(t testing.TB, token string) string {
	t.Helper()
	_, p := parts(t, token)
	return p["fid"].(string)
}

func rfc(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// TestSessionsListAndEndOverHTTP: two logins make two sessions, listed
// with their times, user agents and which one is asking; one ended from
// the other has every token refused while the other works; another user's
// session cannot be listed nor ended.
func TestSessionsListAndEndOverHTTP(t *testing.T) {
	e := newSessionsEnv(t, jwtguard.IssuerConfig{})
	login := e.clock.Now()
	laptop := e.login(t, "alice", "Laptop/1.0")
	e.clock.Advance(time.Minute)
	phone := e.login(t, "alice", "Phone/2.0")
	bob := e.login(t, "bob", "")

	list := e.list(t, phone.access)
	require.Len(t, list, 2)
	assert.Equal(t, listed{ID: fidOf(t, laptop.access), CreatedAt: rfc(login), LastUsedAt: rfc(login),
		ExpiresAt: rfc(login.Add(jwtguard.DefaultRefreshTTL)), UserAgent: "Laptop/1.0"}, list[0])
	second := login.Add(time.Minute)
	assert.Equal(t, listed{ID: fidOf(t, phone.access), CreatedAt: rfc(second), LastUsedAt: rfc(second),
		ExpiresAt: rfc(second.Add(jwtguard.DefaultRefreshTTL)), Current: true, UserAgent: "Phone/2.0"}, list[1])
	assert.True(t, e.list(t, laptop.access)[0].Current, "current follows the asking token")
	bobs := e.list(t, bob.access)
	require.Len(t, bobs, 1, "only the caller's own sessions")
	_, _, raw := e.call(t, http.MethodGet, "/auth/sessions", bob.access, "")
	assert.Contains(t, string(raw), `"user_agent":""`, "no User-Agent: an empty one, the member is always there")

	// A refresh is recorded in the list.
	e.clock.Advance(20 * time.Minute)
	ok, laptop := e.works(t, laptop)
	require.True(t, ok)
	list = e.list(t, laptop.access)
	assert.Equal(t, rfc(e.clock.Now()), list[0].LastUsedAt)
	assert.Equal(t, rfc(e.clock.Now().Add(jwtguard.DefaultRefreshTTL)), list[0].ExpiresAt)
	assert.Equal(t, rfc(login), list[0].CreatedAt)

	t.Run("another user's session is 404 and stays", func(t *testing.T) {
		for _, id := range []string{fidOf(t, bob.access), "no-such-session", "%2e%2e"} {
			status, h, b := e.call(t, http.MethodDelete, "/auth/sessions/"+id, laptop.access, "")
			assert.Equal(t, http.StatusNotFound, status, "%s: %s", id, b)
			assert.JSONEq(t, `{"error":"not_found","error_description":"no such session of this user"}`, string(b))
			assert.Equal(t, "no-store", h.Get("Cache-Control"))
		}
		ok, next := e.works(t, bob)
		require.True(t, ok)
		bob = next
	})

	t.Run("end one from the other", func(t *testing.T) {
		status, _, b := e.call(t, http.MethodDelete, "/auth/sessions/"+fidOf(t, phone.access), laptop.access, "")
		require.Equal(t, http.StatusNoContent, status, "%s", b)
		e.requireRefused(t, phone, "the ended session")
		ok, next := e.works(t, laptop)
		require.True(t, ok, "the other session goes on")
		laptop = next
		assert.Equal(t, []string{fidOf(t, laptop.access)}, listedIDs(e.list(t, laptop.access)))
		status, _, _ = e.call(t, http.MethodDelete, "/auth/sessions/"+fidOf(t, phone.access), laptop.access, "")
		assert.Equal(t, http.StatusNotFound, status, "ended already")
	})

	t.Run("refused requests", func(t *testing.T) {
		status, h, _ := e.call(t, http.MethodGet, "/auth/sessions", "", "")
		assert.Equal(t, http.StatusUnauthorized, status)
		assert.NotEmpty(t, h.Get("WWW-Authenticate"))
		status, _, _ = e.call(t, http.MethodGet, "/auth/sessions", laptop.refresh, "")
		assert.Equal(t, http.StatusUnauthorized, status, "a refresh token is not an access token")
		status, _, _ = e.call(t, http.MethodDelete, "/auth/sessions/"+fidOf(t, laptop.access), phone.access, "")
		assert.Equal(t, http.StatusUnauthorized, status, "an ended session's token ends nothing")
		status, h, _ = e.call(t, http.MethodPost, "/auth/sessions", laptop.access, "")
		assert.Equal(t, http.StatusMethodNotAllowed, status)
		assert.Equal(t, "GET, HEAD", h.Get("Allow"))
		status, h, _ = e.call(t, http.MethodGet, "/auth/sessions/x", laptop.access, "")
		assert.Equal(t, http.StatusMethodNotAllowed, status)
		assert.Equal(t, "DELETE", h.Get("Allow"))
	})
}

func listedIDs(ls []listed) []string {
	out := make([]string, 0, len(ls))
	for _, l := range ls {
		out = append(out, l.ID)
	}
	return out
}

// TestLogoutScopes: local ends the presented session, others every other
// session of the user, global all of them; another user is never touched;
// a revoked token cannot widen a logout.
func TestLogoutScopes(t *testing.T) {
	tests := []struct {
		query            string
		status           int
		mine, others, nw bool // after: the presented session works, the user's other sessions work, a new login works
		listed           int
	}{
		{"", http.StatusNoContent, false, true, true, 2},
		{"?scope=local", http.StatusNoContent, false, true, true, 2},
		{"?scope=others", http.StatusNoContent, true, false, true, 1},
		{"?scope=global", http.StatusNoContent, false, false, true, 0},
		{"?scope=everything", http.StatusBadRequest, true, true, true, 3},
		{"?scope=local&scope=global", http.StatusBadRequest, true, true, true, 3},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			e := newSessionsEnv(t, jwtguard.IssuerConfig{})
			mine := e.login(t, "alice", "")
			theirs := []pair{e.login(t, "alice", ""), e.login(t, "alice", "")}
			bob := e.login(t, "bob", "")
			e.clock.Advance(2 * time.Second)
			status, _, b := e.call(t, http.MethodPost, "/auth/logout"+tt.query, mine.access, "")
			require.Equal(t, tt.status, status, "%s", b)
			if tt.status == http.StatusBadRequest {
				assert.Contains(t, string(b), "scope must be local, others or global")
			}
			e.clock.Advance(time.Second)
			ok, next := e.works(t, mine)
			require.Equal(t, tt.mine, ok, "the presented session")
			if ok {
				mine = next
			}
			for i, p := range theirs {
				ok, _ := e.works(t, p)
				require.Equal(t, tt.others, ok, "another session of the user, %d", i)
			}
			ok, _ = e.works(t, bob)
			require.True(t, ok, "another user is never touched")
			fresh := e.login(t, "alice", "")
			ok, fresh = e.works(t, fresh)
			require.Equal(t, tt.nw, ok, "a login afterwards")
			assert.Len(t, e.list(t, fresh.access), tt.listed+1)
		})
	}

	t.Run("a revoked token cannot widen a logout", func(t *testing.T) {
		e := newSessionsEnv(t, jwtguard.IssuerConfig{})
		stolen := e.login(t, "alice", "")
		other := e.login(t, "alice", "")
		status, _, _ := e.call(t, http.MethodPost, "/auth/logout", stolen.access, "")
		require.Equal(t, http.StatusNoContent, status)
		for _, scope := range []string{"others", "global"} {
			status, _, b := e.call(t, http.MethodPost, "/auth/logout?scope="+scope, stolen.access, "")
			assert.Equal(t, http.StatusUnauthorized, status, "%s: %s", scope, b)
			status, _, b = e.call(t, http.MethodPost, "/auth/logout?scope="+scope, "", `{"refresh_token":"`+stolen.refresh+`"}`)
			assert.Equal(t, http.StatusUnauthorized, status, "%s: %s", scope, b)
		}
		ok, _ := e.works(t, other)
		assert.True(t, ok)
	})

	t.Run("others with a refresh token only", func(t *testing.T) {
		e := newSessionsEnv(t, jwtguard.IssuerConfig{})
		mine := e.login(t, "alice", "")
		other := e.login(t, "alice", "")
		status, _, b := e.call(t, http.MethodPost, "/auth/logout?scope=others", "", `{"refresh_token":"`+mine.refresh+`"}`)
		require.Equal(t, http.StatusNoContent, status, "%s", b)
		e.requireRefused(t, other, "the other session")
		ok, _ := e.works(t, mine)
		assert.True(t, ok)
	})
}

// TestRevokeSubject: every token of the user issued before, in every
// session or none, access and refresh, is refused at once, by the
// middleware and the refresh handler; another user is not touched; a
// login right after, in the same second, works.
func TestRevokeSubject(t *testing.T) {
	e := newSessionsEnv(t, jwtguard.IssuerConfig{})
	ctx := context.Background()
	first := e.login(t, "alice", "")
	e.clock.Advance(10 * time.Minute)
	ok, first := e.works(t, first) // a refreshed session
	require.True(t, ok)
	second := e.login(t, "alice", "")
	// A pair of no session: minted by the application itself.
	bare, err := e.issuer.Issue(ctx, "1", nil)
	require.NoError(t, err)
	bob := e.login(t, "bob", "")
	e.clock.Advance(1500 * time.Millisecond) // the revocation falls in a later second than every token above

	require.NoError(t, e.sessions.RevokeSubject(ctx, "1"))
	again := e.login(t, "alice", "") // the same second as the revocation
	e.requireRefused(t, first, "a refreshed session")
	e.requireRefused(t, second, "a session")
	e.requireRefused(t, pair{bare.AccessToken, bare.RefreshToken}, "the tokens of no session")
	ok, again = e.works(t, again)
	require.True(t, ok, "a login after the revocation, in its second")
	ok, _ = e.works(t, bob)
	require.True(t, ok, "another user")
	assert.Equal(t, []string{fidOf(t, again.access)}, listedIDs(e.list(t, again.access)), "every earlier session has ended")

	status, b, _ := e.refresh(t, bare.RefreshToken)
	require.Equal(t, http.StatusUnauthorized, status)
	assert.Contains(t, string(b), "signed out everywhere", "the refresh handler says why")
	require.ErrorContains(t, e.sessions.RevokeSubject(ctx, ""), "empty subject")
}

// TestRevokeSubjectSameSecond: a token issued within the second of the
// revocation, before it, is refused through its session, though its iat
// is not before the revocation's second.
func TestRevokeSubjectSameSecond(t *testing.T) {
	e := newSessionsEnv(t, jwtguard.IssuerConfig{})
	e.clock.Advance(100 * time.Millisecond)
	before := e.login(t, "alice", "")
	e.clock.Advance(100 * time.Millisecond)
	require.NoError(t, e.sessions.RevokeSubject(context.Background(), "1"))
	e.requireRefused(t, before, "a session of the same second")
}

// TestSessionMaxAge: rotation never carries a session past its maximum
// age; the refresh after it is refused saying so; the refresh lifetime
// stays the idle timeout, with its own description; auth_time is kept
// across refreshes.
func TestSessionMaxAge(t *testing.T) {
	cfg := jwtguard.IssuerConfig{AccessTTL: 5 * time.Minute, RefreshTTL: time.Hour}
	const maxAge = 2 * time.Hour
	e := newSessionsEnv(t, cfg, jwtguard.WithSessionMaxAge(maxAge))
	login := e.clock.Now()
	p := e.login(t, "alice", "")
	end := login.Add(maxAge)
	for i, at := range []time.Duration{50 * time.Minute, 100 * time.Minute, 110 * time.Minute, 119 * time.Minute} {
		e.clock.Advance(at - e.clock.Now().Sub(login))
		status, b, next := e.refresh(t, p.refresh)
		require.Equal(t, http.StatusOK, status, "refresh %d: %s", i, b)
		p = next
		for name, tok := range map[string]string{"access": p.access, "refresh": p.refresh} {
			_, c := parts(t, tok)
			assert.EqualValues(t, login.Unix(), c["auth_time"], "refresh %d, %s: auth_time is the login", i, name)
			assert.EqualValues(t, e.clock.Now().Unix(), c["iat"], "refresh %d, %s", i, name)
			assert.LessOrEqual(t, int64(c["exp"].(float64)), end.Unix(), "refresh %d, %s: never past the session's end", i, name)
		}
		assert.Equal(t, rfc(earliestTime(e.clock.Now().Add(time.Hour), end)), e.list(t, p.access)[0].ExpiresAt, "refresh %d", i)
	}
	e.clock.Advance(time.Minute) // the end
	status, b, _ := e.refresh(t, p.refresh)
	require.Equal(t, http.StatusUnauthorized, status)
	assert.JSONEq(t, `{"error":"invalid_token","error_description":"the session reached its maximum age: log in again"}`, string(b))
	assert.ErrorIs(t, <-lastFailure(e), jwtguard.ErrExpired)

	t.Run("within the leeway after the end", func(t *testing.T) {
		cfg := cfg
		cfg.Leeway = time.Minute
		e := newSessionsEnv(t, cfg, jwtguard.WithSessionMaxAge(maxAge))
		p := e.login(t, "alice", "")
		e.clock.Advance(maxAge / 2)
		status, b, p := e.refresh(t, p.refresh) // exp: the session's end
		require.Equal(t, http.StatusOK, status, "%s", b)
		e.clock.Advance(maxAge/2 + 30*time.Second) // past the end, within the leeway of the token's exp
		status, b, _ = e.refresh(t, p.refresh)
		require.Equal(t, http.StatusUnauthorized, status)
		assert.Contains(t, string(b), "the session reached its maximum age", "verified within the leeway, refused by the session's end")
	})
	t.Run("idle timeout", func(t *testing.T) {
		p := e.login(t, "alice", "")
		e.clock.Advance(time.Hour + time.Second)
		status, b, _ := e.refresh(t, p.refresh)
		require.Equal(t, http.StatusUnauthorized, status)
		assert.JSONEq(t, `{"error":"invalid_token","error_description":"refresh token expired: log in again"}`, string(b))
	})
	t.Run("configuration", func(t *testing.T) {
		for _, d := range []time.Duration{0, time.Second, jwtguard.MaxSessionMaxAge + time.Hour} {
			_, err := jwtguard.NewSessions(e.issuer, e.store, jwtguard.WithSessionMaxAge(d))
			assert.ErrorContains(t, err, "WithSessionMaxAge", "%v", d)
		}
	})
	t.Run("ended sessions leave the store", func(t *testing.T) {
		e.clock.Advance(3 * time.Hour)
		require.Eventually(t, func() bool { return e.store.Len() == 0 }, time.Minute, time.Millisecond, // a guard, not a bound
			"every session and revocation has ended: %d entries", e.store.Len())
	})
}

// lastFailure returns the failure hook's latest error.
func lastFailure(e *sessionsEnv) chan error {
	var last error
	for {
		select {
		case err := <-e.failures:
			last = err
			continue
		default:
		}
		out := make(chan error, 1)
		out <- last
		return out
	}
}

func earliestTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

// TestRefreshTokenWithoutAuthTime: a refresh token minted before sessions
// had a maximum age (no auth_time) cannot refresh: its session's start is
// unknown.
func TestRefreshTokenWithoutAuthTime(t *testing.T) {
	e := newSessionsEnv(t, jwtguard.IssuerConfig{})
	now := e.clock.Now()
	legacy := rawHS256(t, `{"alg":"HS256","kid":"k1","typ":"refresh+jwt"}`, mustJSON(t, map[string]any{
		"iss": testIssuer, "aud": testAudience, "sub": "1", "type": "refresh", "jti": "j1", "fid": "f1",
		"iat": now.Unix(), "nbf": now.Unix(), "exp": now.Add(time.Hour).Unix(),
	}), secret256)
	status, b, _ := e.refresh(t, legacy)
	require.Equal(t, http.StatusUnauthorized, status)
	assert.Contains(t, string(b), "the refresh token has no auth_time")
}

// TestRequireFreshLogin: a route that requires a recent login answers the
// RFC 9470 challenge once the login is older, refreshes do not make it
// fresh again, and a new login does.
func TestRequireFreshLogin(t *testing.T) {
	e := newSessionsEnv(t, jwtguard.IssuerConfig{})
	p := e.login(t, "alice", "")
	status, _, _ := e.call(t, http.MethodGet, "/fresh", p.access, "")
	require.Equal(t, http.StatusOK, status)
	e.clock.Advance(freshAge)
	status, _, _ = e.call(t, http.MethodGet, "/fresh", p.access, "")
	require.Equal(t, http.StatusOK, status, "exactly the maximum age is fresh")

	e.clock.Advance(time.Second)
	wantChallenge := `Bearer realm="` + jwtguard.DefaultRealm + `", error="insufficient_user_authentication", ` +
		`error_description="a login within the last 300 seconds is required: log in again", max_age=300`
	status, h, b := e.call(t, http.MethodGet, "/fresh", p.access, "")
	require.Equal(t, http.StatusUnauthorized, status)
	assert.Equal(t, wantChallenge, h.Get("WWW-Authenticate"))
	assert.JSONEq(t, `{"error":"insufficient_user_authentication","error_description":"a login within the last 300 seconds is required: log in again"}`, string(b))
	err := <-lastFailure(e)
	assert.ErrorIs(t, err, jwtguard.ErrInsufficientUserAuthentication)
	assert.NotErrorIs(t, err, jwtguard.ErrInvalidToken, "the token itself is valid")
	assert.Equal(t, http.StatusOK, e.me(t, p.access), "routes without the requirement still accept it")

	_, _, next := e.refresh(t, p.refresh)
	status, h, _ = e.call(t, http.MethodGet, "/fresh", next.access, "")
	require.Equal(t, http.StatusUnauthorized, status, "a refresh keeps auth_time")
	assert.Equal(t, wantChallenge, h.Get("WWW-Authenticate"))

	fresh := e.login(t, "alice", "")
	status, _, b = e.call(t, http.MethodGet, "/fresh", fresh.access, "")
	require.Equal(t, http.StatusOK, status, "logging in again: %s", b)

	t.Run("no auth_time", func(t *testing.T) {
		now := e.clock.Now()
		tok := rawHS256(t, `{"alg":"HS256","kid":"k1"}`, mustJSON(t, map[string]any{
			"iss": testIssuer, "aud": testAudience, "sub": "1", "type": "access", "jti": "no-auth-time",
			"iat": now.Unix(), "exp": now.Add(time.Minute).Unix(),
		}), secret256)
		status, h, _ := e.call(t, http.MethodGet, "/fresh", tok, "")
		require.Equal(t, http.StatusUnauthorized, status)
		assert.Equal(t, wantChallenge, h.Get("WWW-Authenticate"))
	})
	t.Run("no token", func(t *testing.T) {
		status, h, _ := e.call(t, http.MethodGet, "/fresh", "", "")
		require.Equal(t, http.StatusUnauthorized, status)
		assert.Equal(t, `Bearer realm="`+jwtguard.DefaultRealm+`"`, h.Get("WWW-Authenticate"))
	})
	t.Run("behind the middleware", func(t *testing.T) {
		mw := e.sessions.Middleware()
		var calls sync.WaitGroup
		calls.Add(1)
		h := mw.Handler(mw.RequireFreshLogin(time.Hour)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			calls.Done()
		})))
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.Header.Set("Authorization", "Bearer "+fresh.access)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		require.Equal(t, http.StatusOK, w.Code)
		calls.Wait()
	})
	t.Run("a max age under a second panics", func(t *testing.T) {
		assert.PanicsWithValue(t, "jwtguard: RequireFreshLogin: max age 999ms is under a second", func() {
			e.sessions.Middleware().RequireFreshLogin(999 * time.Millisecond)
		})
		assert.PanicsWithValue(t, "jwtguard: RequireFreshLogin: max age 999ms is under a second", func() {
			e.sessions.RequireFreshLogin(999 * time.Millisecond)
		})
	})
	t.Run("a fresh token of a session that logged out", func(t *testing.T) {
		out := e.login(t, "alice", "")
		status, _, _ := e.call(t, http.MethodPost, "/auth/logout", out.access, "")
		require.Equal(t, http.StatusNoContent, status)
		status, h, _ := e.call(t, http.MethodGet, "/fresh", out.access, "")
		require.Equal(t, http.StatusUnauthorized, status, "the sessions' guard sees the logout")
		assert.Contains(t, h.Get("WWW-Authenticate"), `error="invalid_token"`)
	})
}

// TestSessionMetadata: the default records the User-Agent, cut to 256
// bytes; an application's metadata is checked at login.
func TestSessionMetadata(t *testing.T) {
	e := newSessionsEnv(t, jwtguard.IssuerConfig{})
	long := strings.Repeat("é", 200) // 400 bytes
	p := e.login(t, "alice", long)
	ua := e.list(t, p.access)[0].UserAgent
	assert.Equal(t, strings.Repeat("é", 128), ua, "cut to 256 bytes on a character boundary")

	tests := []struct {
		name string
		md   map[string]string
		ok   bool
	}{
		{"several", map[string]string{"ip": "203.0.113.7", "device_name": "Ada's laptop"}, true},
		{"none", nil, true},
		{"reserved", map[string]string{"current": "no"}, false},
		{"upper case", map[string]string{"IP": "x"}, false},
		{"empty name", map[string]string{"": "x"}, false},
		{"too many", map[string]string{"a": "", "b": "", "c": "", "d": "", "e": "", "f": "", "g": "", "h": "", "i": ""}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newSessionsEnv(t, jwtguard.IssuerConfig{}, jwtguard.WithSessionMetadata(func(*http.Request) map[string]string { return tt.md }))
			status, _, b := e.call(t, http.MethodPost, "/auth/login", "", `{"username":"alice","password":"`+alicePass+`"}`)
			if !tt.ok {
				assert.Equal(t, http.StatusInternalServerError, status, "%s", b)
				return
			}
			require.Equal(t, http.StatusOK, status, "%s", b)
			_, _, lb := e.call(t, http.MethodGet, "/auth/sessions", tokensOf(t, b).access, "")
			var out struct{ Sessions []map[string]any }
			require.NoError(t, json.Unmarshal(lb, &out))
			for k, v := range tt.md {
				assert.Equal(t, v, out.Sessions[0][k])
			}
		})
	}
	_, err := jwtguard.NewSessions(e.issuer, e.store, jwtguard.WithSessionMetadata(nil))
	assert.ErrorContains(t, err, "WithSessionMetadata: nil func")
}
