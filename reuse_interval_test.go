package jwtguard_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jwtguard/jwtguard"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestReuseIntervalTwoTabs: two browser tabs of one browser refresh with
// the same refresh cookie at the same moment. Both get a new pair of the
// same family, both pairs work, and one logout ends them all.
func TestReuseIntervalTwoTabs(t *testing.T) {
	l := newLifecycle(t, jwtguard.WithCookies())
	// Both refreshes reach the server before either is answered, so both
	// carry the cookie the login set (the jar is read when a request is
	// sent).
	var arrived sync.WaitGroup
	arrived.Add(2)
	var seen sync.Map // refresh cookie values the handler saw
	refresh := l.sessions.RefreshHandler()
	mux := l.mux()
	outer := http.NewServeMux()
	outer.Handle("/", mux)
	outer.Handle("/api/v1/auth/refresh", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if c, err := r.Cookie(jwtguard.RefreshCookieName); err == nil {
			seen.Store(c.Value, true)
		}
		arrived.Done()
		arrived.Wait()
		refresh.ServeHTTP(w, r)
	}))
	srv := httptest.NewTLSServer(outer)
	t.Cleanup(srv.Close)
	browser := srv.Client()
	jar, err := cookiejar.New(nil)
	require.NoError(t, err)
	browser.Jar = jar
	post := func(path, body string) (*http.Response, error) {
		req, err := http.NewRequest(http.MethodPost, srv.URL+path, strings.NewReader(body))
		if err != nil {
			return nil, err
		}
		if body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		req.Header.Set("X-Requested-With", "fetch")
		resp, err := browser.Do(req)
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			_ = resp.Body.Close()
		}
		return resp, err
	}
	resp, err := post("/api/v1/auth/login", `{"username":"alice","password":"`+alicePass+`"}`)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	first := cookieOf(t, resp, jwtguard.AccessCookieName)
	firstRefresh := cookieOf(t, resp, jwtguard.RefreshCookieName)

	type answer struct {
		status          int
		access, refresh string
		err             error
	}
	answers := make([]answer, 2)
	var wg sync.WaitGroup
	for i := range answers {
		wg.Go(func() {
			resp, err := post("/api/v1/auth/refresh", "")
			if err != nil {
				answers[i].err = err
				return
			}
			answers[i] = answer{status: resp.StatusCode,
				access:  cookieValueOf(resp, jwtguard.AccessCookieName),
				refresh: cookieValueOf(resp, jwtguard.RefreshCookieName)}
		})
	}
	wg.Wait()
	n := 0
	seen.Range(func(k, _ any) bool {
		assert.Equal(t, firstRefresh, k, "both tabs sent the login's refresh token")
		n++
		return true
	})
	require.Equal(t, 1, n)

	_, p := parts(t, first)
	fid := p["fid"]
	for i, a := range answers {
		require.NoError(t, a.err)
		require.Equal(t, http.StatusOK, a.status, "tab %d", i)
		require.NotEmpty(t, a.access, "tab %d", i)
		require.NotEmpty(t, a.refresh, "tab %d", i)
		assert.Equal(t, http.StatusOK, l.callMe(a.access).Code, "tab %d's access token", i)
		_, p := parts(t, a.refresh)
		assert.Equal(t, fid, p["fid"], "tab %d: the login's family", i)
	}
	assert.NotEqual(t, answers[0].refresh, answers[1].refresh, "two pairs of the family")
	assert.Equal(t, http.StatusOK, l.callMe(first).Code, "the first access token lives on")

	// One logout ends both tabs' tokens.
	resp, err = post("/api/v1/auth/logout", "")
	require.NoError(t, err)
	require.Equal(t, http.StatusNoContent, resp.StatusCode)
	for i, a := range answers {
		assert.Equal(t, http.StatusUnauthorized, l.callMe(a.access).Code, "tab %d's access token", i)
		assert.Equal(t, http.StatusUnauthorized, l.refresh(t, a.refresh).Code, "tab %d's refresh token", i)
	}
	assert.Equal(t, http.StatusUnauthorized, l.callMe(first).Code)
}

// cookieOf returns the value of the cookie resp sets under name, failing t
// when there is none.
func cookieOf(t testing.TB, resp *http.Response, name string) string {
	t.Helper()
	v := cookieValueOf(resp, name)
	require.NotEmpty(t, v, "no %s cookie set", name)
	return v
}

// cookieValueOf returns the value of the cookie resp sets under name, or "".
func cookieValueOf(resp *http.Response, name string) string {
	for _, c := range resp.Cookies() {
		if c.Name == name {
			return c.Value
		}
	}
	return ""
}

// TestReuseIntervalRetryAfterDroppedAnswer: the server rotates the refresh
// token but the connection drops before the answer reaches the client
// (a mobile network, a proxy timeout). The client retries with the same
// token and gets a pair; its tokens keep working. After the interval, the
// same token is reuse.
func TestReuseIntervalRetryAfterDroppedAnswer(t *testing.T) {
	l := newLifecycle(t)
	refresh := l.sessions.RefreshHandler()
	served := make(chan int, 1)
	var dropOnce sync.Once
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		drop := false
		dropOnce.Do(func() { drop = true })
		if !drop {
			refresh.ServeHTTP(w, r)
			return
		}
		rec := httptest.NewRecorder()
		refresh.ServeHTTP(rec, r) // applied on the server…
		served <- rec.Code
		panic(http.ErrAbortHandler) // …and the connection drops unanswered
	}))
	t.Cleanup(srv.Close)
	client := srv.Client()
	post := func(token string) (int, tokenBody, error) {
		resp, err := client.Post(srv.URL, "application/json", strings.NewReader(`{"refresh_token":"`+token+`"}`))
		if err != nil {
			return 0, tokenBody{}, err
		}
		defer resp.Body.Close()
		var b tokenBody
		if resp.StatusCode == http.StatusOK {
			err = json.NewDecoder(resp.Body).Decode(&b)
		}
		return resp.StatusCode, b, err
	}

	pair := l.login(t)
	_, _, err := post(pair.RefreshToken)
	require.Error(t, err, "the answer never arrives")
	require.Equal(t, http.StatusOK, <-served, "the server rotated the token")

	l.clock.Advance(jwtguard.DefaultReuseInterval - time.Second) // the client retries, a little later
	status, next, err := post(pair.RefreshToken)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, status)
	assert.Equal(t, http.StatusOK, l.callMe(pair.AccessToken).Code, "the original access token still works")
	assert.Equal(t, http.StatusOK, l.callMe(next.AccessToken).Code)

	// The interval counts from the first use: a second later it is over.
	l.clock.Advance(time.Second)
	status, _, err = post(pair.RefreshToken)
	require.NoError(t, err)
	assert.Equal(t, http.StatusUnauthorized, status, "reuse after the interval")
	assert.Equal(t, http.StatusUnauthorized, l.callMe(next.AccessToken).Code, "the family is revoked")
	assert.Equal(t, http.StatusUnauthorized, l.refresh(t, next.RefreshToken).Code)
}

// TestReuseIntervalConcurrentRefreshes sends 200 refreshes with one token at
// once: all succeed within the interval, with pairs of one family that one
// logout ends. After the interval, a replay revokes the family.
func TestReuseIntervalConcurrentRefreshes(t *testing.T) {
	l := newLifecycle(t)
	h := l.sessions.RefreshHandler()
	pair := l.login(t)
	const n = 200
	answers := make([]*httptest.ResponseRecorder, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		r := jsonRequest(t, http.MethodPost, "/refresh", map[string]string{"refresh_token": pair.RefreshToken})
		wg.Go(func() {
			<-start
			answers[i] = serve(h, r)
		})
	}
	close(start)
	wg.Wait()

	_, p := parts(t, pair.RefreshToken)
	fid := p["fid"]
	var got []tokenBody
	for i, w := range answers {
		require.Equal(t, http.StatusOK, w.Code, "refresh %d: %s", i, w.Body.String())
		var b tokenBody
		require.NoError(t, json.Unmarshal(w.Body.Bytes(), &b))
		for _, tok := range []string{b.AccessToken, b.RefreshToken} {
			_, p := parts(t, tok)
			require.Equal(t, fid, p["fid"], "refresh %d: one family", i)
		}
		got = append(got, b)
	}
	for i, b := range got {
		require.Equal(t, http.StatusOK, l.callMe(b.AccessToken).Code, "access token %d", i)
	}

	// A logout with any one of them ends every pair handed out.
	w := serve(l.sessions.LogoutHandler(), jsonRequest(t, http.MethodPost, "/logout",
		map[string]string{"refresh_token": got[n/2].RefreshToken}))
	require.Equal(t, http.StatusNoContent, w.Code)
	for i, b := range got {
		assert.Equal(t, http.StatusUnauthorized, l.callMe(b.AccessToken).Code, "access token %d", i)
		assert.Equal(t, http.StatusUnauthorized, l.refresh(t, b.RefreshToken).Code, "refresh token %d", i)
	}
	assert.Equal(t, http.StatusUnauthorized, l.callMe(pair.AccessToken).Code)

	// After the interval a replay is reuse: the family is revoked.
	pair = l.login(t)
	w = l.refresh(t, pair.RefreshToken)
	require.Equal(t, http.StatusOK, w.Code)
	next := decodeTokenBody(t, w.Result())
	l.clock.Advance(jwtguard.DefaultReuseInterval)
	w = l.refresh(t, pair.RefreshToken)
	assert.Equal(t, http.StatusUnauthorized, w.Code)
	assert.Contains(t, w.Header().Get("WWW-Authenticate"), "token revoked")
	assert.Equal(t, http.StatusUnauthorized, l.callMe(next.AccessToken).Code)
	assert.Equal(t, http.StatusUnauthorized, l.refresh(t, next.RefreshToken).Code)
}

// TestReuseIntervalOption: the interval is what WithReuseInterval says,
// counted from the first use; 0 is strict.
func TestReuseIntervalOption(t *testing.T) {
	for _, tt := range []struct {
		name     string
		opts     []jwtguard.SessionsOption
		after    time.Duration // between the first use and the replay
		wantCode int
	}{
		{name: "default, at once", after: 0, wantCode: http.StatusOK},
		{name: "default, just inside", after: jwtguard.DefaultReuseInterval - time.Millisecond, wantCode: http.StatusOK},
		{name: "default, at its end", after: jwtguard.DefaultReuseInterval, wantCode: http.StatusUnauthorized},
		{name: "strict, at once", opts: []jwtguard.SessionsOption{jwtguard.WithReuseInterval(0)}, wantCode: http.StatusUnauthorized},
		{name: "longest, just inside", opts: []jwtguard.SessionsOption{jwtguard.WithReuseInterval(jwtguard.MaxReuseInterval)},
			after: jwtguard.MaxReuseInterval - time.Millisecond, wantCode: http.StatusOK},
		{name: "longest, at its end", opts: []jwtguard.SessionsOption{jwtguard.WithReuseInterval(jwtguard.MaxReuseInterval)},
			after: jwtguard.MaxReuseInterval, wantCode: http.StatusUnauthorized},
		{name: "one second", opts: []jwtguard.SessionsOption{jwtguard.WithReuseInterval(time.Second)},
			after: time.Second, wantCode: http.StatusUnauthorized},
	} {
		t.Run(tt.name, func(t *testing.T) {
			l := newLifecycle(t, tt.opts...)
			pair := l.login(t)
			w := l.refresh(t, pair.RefreshToken)
			require.Equal(t, http.StatusOK, w.Code)
			next := decodeTokenBody(t, w.Result())
			l.clock.Advance(tt.after)
			w = l.refresh(t, pair.RefreshToken)
			require.Equal(t, tt.wantCode, w.Code, w.Body.String())
			wantFamily := http.StatusOK
			if tt.wantCode != http.StatusOK {
				wantFamily = http.StatusUnauthorized
			}
			assert.Equal(t, wantFamily, l.callMe(next.AccessToken).Code, "the family")
		})
	}
}

// lossyStore is a MemoryStore that answers each write (Revoke,
// RevokeFamily, Rotate) as the next fault in its script says: applied and
// answered, applied with the answer lost (an error), or failed without
// being applied. Past the script's end, writes are answered normally.
type lossyStore struct {
	*jwtguard.MemoryStore
	mu     sync.Mutex
	script []fault
}

type fault int

const (
	answered fault = iota // applied and answered
	lost                  // applied, the answer lost: an error
	failed                // not applied: an error
)

var errLost = errors.New("store: answer lost")

// write runs apply as the next fault says.
func (s *lossyStore) write(apply func() error) error {
	s.mu.Lock()
	f := answered
	if len(s.script) > 0 {
		f, s.script = s.script[0], s.script[1:]
	}
	s.mu.Unlock()
	if f == failed {
		return errLost
	}
	if err := apply(); err != nil || f == answered {
		return err
	}
	return errLost
}

func (s *lossyStore) Revoke(ctx context.Context, iss, jti string, until time.Time) error {
	return s.write(func() error { return s.MemoryStore.Revoke(ctx, iss, jti, until) })
}

func (s *lossyStore) RevokeFamily(ctx context.Context, iss, family string, until time.Time) error {
	return s.write(func() error { return s.MemoryStore.RevokeFamily(ctx, iss, family, until) })
}

func (s *lossyStore) Rotate(ctx context.Context, iss, family, jti string, use jwtguard.RefreshUse) (rot jwtguard.Rotation, err error) {
	err = s.write(func() error {
		rot, err = s.MemoryStore.Rotate(ctx, iss, family, jti, use)
		return err
	})
	return rot, err
}

// newLossySessions returns sessions over l's issuer and a lossyStore on
// l's memory store, with the mux of l's routes served by them.
func newLossySessions(t *testing.T, l *lifecycle, script ...fault) (*lossyStore, *jwtguard.Sessions) {
	t.Helper()
	store := &lossyStore{MemoryStore: l.store, script: script}
	s, err := jwtguard.NewSessions(l.issuer, store)
	require.NoError(t, err)
	return store, s
}

// TestRefreshRetryAfter503: a refresh answered 503 may have been applied
// (the store recorded the use, its answer was lost) or not. Either way a
// retry with the same token gets a pair, and the tokens the client held
// still work.
func TestRefreshRetryAfter503(t *testing.T) {
	for _, tt := range []struct {
		name  string
		fault fault
	}{
		{"applied, answer lost", lost},
		{"not applied", failed},
	} {
		t.Run(tt.name, func(t *testing.T) {
			l := newLifecycle(t)
			_, s := newLossySessions(t, l, tt.fault)
			pair := l.login(t)
			req := func() *http.Request {
				return jsonRequest(t, http.MethodPost, "/refresh", map[string]string{"refresh_token": pair.RefreshToken})
			}
			w := serve(s.RefreshHandler(), req())
			require.Equal(t, http.StatusServiceUnavailable, w.Code)
			assert.Equal(t, "temporarily_unavailable", decodeTokenBody(t, w.Result()).Error)

			l.clock.Advance(time.Second)
			w = serve(s.RefreshHandler(), req())
			require.Equal(t, http.StatusOK, w.Code, w.Body.String())
			next := decodeTokenBody(t, w.Result())
			assert.Equal(t, http.StatusOK, l.callMe(pair.AccessToken).Code, "the original access token")
			assert.Equal(t, http.StatusOK, l.callMe(next.AccessToken).Code)
			assert.Equal(t, http.StatusOK, l.refresh(t, next.RefreshToken).Code)
		})
	}
}

// TestLogoutRetryAfter503: a logout answered 503 may have been applied in
// whole, in part or not at all. The families go first, so that once
// anything was applied the session's tokens are refused; and a retry with
// the same tokens answers 204 with everything revoked.
func TestLogoutRetryAfter503(t *testing.T) {
	for _, tt := range []struct {
		name        string
		withRefresh bool    // the refresh token in the body as well
		script      []fault // the logout's writes: families, then the access jti
		applied     bool    // the family revocation was applied
	}{
		{name: "nothing applied", script: []fault{failed}},
		{name: "family applied, answer lost", script: []fault{lost}, applied: true},
		{name: "family applied, access jti failed", script: []fault{answered, failed}, applied: true},
		{name: "all applied, last answer lost", script: []fault{answered, lost}, applied: true},
		{name: "with refresh token: second family failed", withRefresh: true, script: []fault{answered, failed}, applied: true},
		{name: "with refresh token: access jti lost", withRefresh: true, script: []fault{answered, answered, lost}, applied: true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			l := newLifecycle(t)
			_, s := newLossySessions(t, l, tt.script...)
			pair := l.login(t)
			req := func() *http.Request {
				body := map[string]string{}
				if tt.withRefresh {
					body["refresh_token"] = pair.RefreshToken
				}
				r := jsonRequest(t, http.MethodPost, "/logout", body)
				r.Header.Set("Authorization", "Bearer "+pair.AccessToken)
				return r
			}
			w := serve(s.LogoutHandler(), req())
			require.Equal(t, http.StatusServiceUnavailable, w.Code)
			revoked, err := l.store.IsFamilyRevoked(context.Background(), testIssuer, claimOf(t, pair.AccessToken, "fid"))
			require.NoError(t, err)
			assert.Equal(t, tt.applied, revoked, "the family goes first")

			w = serve(s.LogoutHandler(), req())
			require.Equal(t, http.StatusNoContent, w.Code, w.Body.String())
			assert.Equal(t, http.StatusUnauthorized, l.callMe(pair.AccessToken).Code)
			assert.Equal(t, http.StatusUnauthorized, l.refresh(t, pair.RefreshToken).Code)
			revoked, err = l.store.IsRevoked(context.Background(), testIssuer, claimOf(t, pair.AccessToken, "jti"))
			require.NoError(t, err)
			assert.True(t, revoked, "the access token's jti")
		})
	}
}

// claimOf returns a token's string claim name.
func claimOf(t testing.TB, token, name string) string {
	t.Helper()
	_, p := parts(t, token)
	v, _ := p[name].(string)
	require.NotEmpty(t, v, name)
	return v
}

// TestLogoutRetryAfter503KeepsCookies: in cookie mode a 503 leaves the
// cookies, so the browser's retry carries them, and the retry clears them.
func TestLogoutRetryAfter503KeepsCookies(t *testing.T) {
	l := newLifecycle(t, jwtguard.WithCookies())
	store := &lossyStore{MemoryStore: l.store, script: []fault{lost}}
	s, err := jwtguard.NewSessions(l.issuer, store, jwtguard.WithCookies())
	require.NoError(t, err)
	pair, err := l.issuer.Issue(context.Background(), "1", nil)
	require.NoError(t, err)
	access, refresh := s.CookieNames()
	req := func() *http.Request {
		r := httptest.NewRequest(http.MethodPost, "https://app.test/logout", nil)
		r.Header.Set("X-Requested-With", "fetch")
		r.AddCookie(&http.Cookie{Name: access, Value: pair.AccessToken})
		r.AddCookie(&http.Cookie{Name: refresh, Value: pair.RefreshToken})
		return r
	}
	w := serve(s.LogoutHandler(), req())
	require.Equal(t, http.StatusServiceUnavailable, w.Code)
	assert.Empty(t, w.Result().Cookies(), "cookies kept for the retry")
	w = serve(s.LogoutHandler(), req())
	require.Equal(t, http.StatusNoContent, w.Code, w.Body.String())
	assert.Len(t, w.Result().Cookies(), 2, "cookies cleared")
	assert.Equal(t, http.StatusUnauthorized, l.callMe(pair.AccessToken).Code)
	assert.Equal(t, http.StatusUnauthorized, l.refresh(t, pair.RefreshToken).Code)
}

func TestWithReuseIntervalLimits(t *testing.T) {
	l := newLifecycle(t)
	for _, tt := range []struct {
		d       time.Duration
		wantErr bool
	}{
		{-time.Nanosecond, true},
		{0, false},
		{time.Millisecond, false},
		{jwtguard.MaxReuseInterval, false},
		{jwtguard.MaxReuseInterval + time.Nanosecond, true},
		{time.Hour, true},
	} {
		t.Run(tt.d.String(), func(t *testing.T) {
			s, err := jwtguard.NewSessions(l.issuer, l.store, jwtguard.WithReuseInterval(tt.d))
			if !tt.wantErr {
				require.NoError(t, err)
				return
			}
			require.Error(t, err)
			assert.Nil(t, s)
			assert.ErrorContains(t, err, "WithReuseInterval")
			assert.ErrorContains(t, err, "[0s, 60s]")
		})
	}
}
