package jwtguard_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jwtguard/jwtguard"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func newMemoryStore(t testing.TB, clock *testClock, opts ...jwtguard.MemoryStoreOption) *jwtguard.MemoryStore {
	t.Helper()
	s, err := jwtguard.NewMemoryStore(append([]jwtguard.MemoryStoreOption{jwtguard.MemoryStoreClock(clock.Now)}, opts...)...)
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func TestMemoryStoreRevoke(t *testing.T) {
	ctx := context.Background()
	clock := newTestClock()
	s := newMemoryStore(t, clock)
	now := clock.Now()

	require.NoError(t, s.Revoke(ctx, "iss-a", "jti-1", now.Add(time.Hour)))
	tests := []struct {
		name, iss, jti string
		want           bool
	}{
		{"revoked", "iss-a", "jti-1", true},
		{"other jti", "iss-a", "jti-2", false},
		{"same jti, other issuer", "iss-b", "jti-1", false},
		{"no separator confusion", "iss-aj", "ti-1", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := s.IsRevoked(ctx, tt.iss, tt.jti)
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}

	t.Run("a later revocation never shortens", func(t *testing.T) {
		require.NoError(t, s.Revoke(ctx, "iss-a", "jti-1", now.Add(time.Minute)))
		clock.Advance(30 * time.Minute)
		got, err := s.IsRevoked(ctx, "iss-a", "jti-1")
		require.NoError(t, err)
		assert.True(t, got)
	})
	t.Run("expires with the token", func(t *testing.T) {
		clock.Advance(30 * time.Minute)
		got, err := s.IsRevoked(ctx, "iss-a", "jti-1")
		require.NoError(t, err)
		assert.False(t, got)
	})
	t.Run("an end in the past is not stored", func(t *testing.T) {
		n := s.Len()
		require.NoError(t, s.Revoke(ctx, "iss-a", "old", clock.Now().Add(-time.Second)))
		assert.Equal(t, n, s.Len())
	})
}

func TestMemoryStoreRotate(t *testing.T) {
	ctx := context.Background()
	clock := newTestClock()
	s := newMemoryStore(t, clock)
	now := clock.Now()
	const interval = 10 * time.Second

	steps := []struct {
		name     string
		family   string
		jti      string
		at       time.Duration // use.At, from now
		interval time.Duration // use.ReuseInterval
		want     jwtguard.Rotation
		revoked  bool          // family revoked afterwards
		advance  time.Duration // the store's clock, before the step
	}{
		{name: "first use", family: "f1", jti: "r1", want: jwtguard.RotationOK},
		{name: "next token of the family", family: "f1", jti: "r2", at: time.Second, want: jwtguard.RotationOK},
		{name: "another family is apart", family: "f2", jti: "r1", want: jwtguard.RotationOK},
		{name: "strict: a second use at once is reuse", family: "f2", jti: "r1", want: jwtguard.RotationReused, revoked: true},
		{name: "replay at the first use's time", family: "f1", jti: "r1", interval: interval, want: jwtguard.RotationReplayed},
		{name: "replay just inside the interval", family: "f1", jti: "r1", at: interval - time.Millisecond, interval: interval, want: jwtguard.RotationReplayed},
		{name: "replay from a clock a little behind", family: "f1", jti: "r1", at: -interval + time.Millisecond, interval: interval, want: jwtguard.RotationReplayed},
		{name: "the interval counts from the first use, not the last replay", family: "f1", jti: "r1", at: interval, interval: interval, want: jwtguard.RotationReused, revoked: true},
		{name: "then even a fresh token is refused", family: "f1", jti: "r3", at: interval, interval: interval, want: jwtguard.RotationRevoked, revoked: true},
		{name: "and a replay within the interval too", family: "f1", jti: "r2", at: time.Second, interval: interval, want: jwtguard.RotationRevoked, revoked: true},
		{name: "first use an hour on", family: "f3", jti: "r1", at: time.Hour, want: jwtguard.RotationOK},
		{name: "a use an interval before the first use is reuse", family: "f3", jti: "r1", at: time.Hour - interval, interval: interval, want: jwtguard.RotationReused, revoked: true},
		{name: "other family untouched", family: "f4", jti: "r4", want: jwtguard.RotationOK},
		{name: "after the family end it is forgotten", family: "f1", jti: "r5", at: 25 * time.Hour, want: jwtguard.RotationOK, advance: 25 * time.Hour},
		{name: "a used token is forgotten after its end: used anew", family: "f4", jti: "r4", at: 25 * time.Hour, want: jwtguard.RotationOK},
		{name: "with its new first use", family: "f4", jti: "r4", at: 25*time.Hour + time.Second, interval: interval, want: jwtguard.RotationReplayed},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			clock.Advance(st.advance)
			at := now.Add(st.at)
			got, err := s.Rotate(ctx, "iss", st.family, st.jti, jwtguard.RefreshUse{
				At: at, ReuseInterval: st.interval, TokenUntil: at.Add(time.Hour), FamilyUntil: at.Add(24 * time.Hour),
			})
			require.NoError(t, err)
			assert.Equal(t, st.want, got, got.String())
			revoked, err := s.IsFamilyRevoked(ctx, "iss", st.family)
			require.NoError(t, err)
			assert.Equal(t, st.revoked, revoked)
		})
	}
}

// TestMemoryStoreRotateIsAtomic uses one refresh token 200 times at once:
// exactly one call marks it used; the others are replays within the
// interval, or reuse without one.
func TestMemoryStoreRotateIsAtomic(t *testing.T) {
	for _, tt := range []struct {
		name     string
		interval time.Duration
		others   jwtguard.Rotation
		revoked  bool
	}{
		{"within the reuse interval", jwtguard.DefaultReuseInterval, jwtguard.RotationReplayed, false},
		{"strict", 0, jwtguard.RotationReused, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			clock := newTestClock()
			s := newMemoryStore(t, clock)
			now := clock.Now()
			use := jwtguard.RefreshUse{At: now, ReuseInterval: tt.interval, TokenUntil: now.Add(time.Hour), FamilyUntil: now.Add(time.Hour)}
			var mu sync.Mutex
			got := map[jwtguard.Rotation]int{}
			var wg sync.WaitGroup
			for range 200 {
				wg.Go(func() {
					rot, err := s.Rotate(context.Background(), "iss", "fam", "jti", use)
					assert.NoError(t, err)
					mu.Lock()
					got[rot]++
					mu.Unlock()
				})
			}
			wg.Wait()
			assert.Equal(t, 1, got[jwtguard.RotationOK], "%v", got)
			// Under strict rotation, a call after the first reuse may find
			// the family revoked already.
			assert.Equal(t, 199, got[tt.others]+got[jwtguard.RotationRevoked], "%v", got)
			if !tt.revoked {
				assert.Zero(t, got[jwtguard.RotationRevoked], "%v", got)
			}
			revoked, err := s.IsFamilyRevoked(context.Background(), "iss", "fam")
			require.NoError(t, err)
			assert.Equal(t, tt.revoked, revoked)
		})
	}
}

// TestMemoryStoreEmptiesAsTokensExpire mints, revokes and rotates many
// tokens, lets them expire and checks the sweeper drops every entry.
func TestMemoryStoreEmptiesAsTokensExpire(t *testing.T) {
	l := newLifecycle(t)
	s := newMemoryStore(t, l.clock, jwtguard.MemoryStoreSweepInterval(time.Millisecond))
	sessions, err := jwtguard.NewSessions(l.issuer, s)
	require.NoError(t, err)
	ctx := context.Background()
	const n = 500
	for i := range n {
		pair, err := l.issuer.Issue(ctx, fmt.Sprint("user-", i), nil)
		require.NoError(t, err)
		// A refresh (rotation entry), then a logout (revoked access token
		// and family).
		w := serve(sessions.RefreshHandler(), jsonRequest(t, http.MethodPost, "/", map[string]string{"refresh_token": pair.RefreshToken}))
		require.Equal(t, http.StatusOK, w.Code, w.Body.String())
		r := httptest.NewRequest(http.MethodPost, "/", nil)
		r.Header.Set("Authorization", "Bearer "+pair.AccessToken)
		w = serve(sessions.LogoutHandler(), r)
		require.Equal(t, http.StatusNoContent, w.Code, w.Body.String())
	}
	assert.GreaterOrEqual(t, s.Len(), 3*n)

	l.clock.Advance(jwtguard.DefaultRefreshTTL + time.Second)
	// The sweeper runs every real millisecond: wait for it, with a guard
	// against a hang rather than a bound.
	require.Eventually(t, func() bool { return s.Len() == 0 }, time.Minute, time.Millisecond)
}

func TestMemoryStoreMaxEntries(t *testing.T) {
	ctx := context.Background()
	clock := newTestClock()
	s := newMemoryStore(t, clock, jwtguard.MemoryStoreMaxEntries(2))
	now := clock.Now()
	require.NoError(t, s.Revoke(ctx, "i", "a", now.Add(time.Minute)))
	require.NoError(t, s.Revoke(ctx, "i", "b", now.Add(time.Hour)))
	require.ErrorIs(t, s.Revoke(ctx, "i", "c", now.Add(time.Hour)), jwtguard.ErrStoreFull)
	_, err := s.Rotate(ctx, "i", "f", "r", jwtguard.RefreshUse{At: now, TokenUntil: now.Add(time.Hour), FamilyUntil: now.Add(time.Hour)})
	require.ErrorIs(t, err, jwtguard.ErrStoreFull)
	require.NoError(t, s.Revoke(ctx, "i", "a", now.Add(2*time.Minute)), "extending an entry needs no room")

	clock.Advance(3 * time.Minute) // "a" expires: room again
	require.NoError(t, s.Revoke(ctx, "i", "c", now.Add(time.Hour)))
}

func TestNewMemoryStoreRefusesBadOptions(t *testing.T) {
	for _, tt := range []struct {
		name string
		opt  jwtguard.MemoryStoreOption
	}{
		{"nil clock", jwtguard.MemoryStoreClock(nil)},
		{"zero interval", jwtguard.MemoryStoreSweepInterval(0)},
		{"no entries", jwtguard.MemoryStoreMaxEntries(0)},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s, err := jwtguard.NewMemoryStore(tt.opt)
			require.Error(t, err)
			assert.Nil(t, s)
		})
	}
}

// sweepers counts the goroutines running a MemoryStore sweeper. Counting
// only those, not runtime.NumGoroutine, keeps other tests' goroutines
// (servers and connections closing in the background) out of the count.
func sweepers() int {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			return strings.Count(string(buf[:n]), "jwtguard.(*MemoryStore).sweeper(")
		}
		buf = make([]byte, 2*len(buf))
	}
}

// waitSweepers waits for the number of sweepers to be want (a minute at
// most, a guard against a hang): a sweeper closes its done channel just
// before its goroutine ends, so one that Close has waited for may still
// show for a moment.
func waitSweepers(want int) int {
	got := sweepers()
	for deadline := time.Now().Add(time.Minute); got != want && time.Now().Before(deadline); got = sweepers() {
		time.Sleep(time.Millisecond)
	}
	return got
}

func TestMemoryStoreCloseStopsSweeper(t *testing.T) {
	before := waitSweepers(0)
	var stores []*jwtguard.MemoryStore
	for range 20 {
		s, err := jwtguard.NewMemoryStore(jwtguard.MemoryStoreSweepInterval(time.Millisecond))
		require.NoError(t, err)
		stores = append(stores, s)
	}
	assert.Equal(t, before+20, waitSweepers(before+20))
	for _, s := range stores {
		require.NoError(t, s.Close())
		require.NoError(t, s.Close(), "Close is idempotent")
	}
	assert.Equal(t, before, waitSweepers(before), "Close stops every sweeper")

	ctx := context.Background()
	_, err := stores[0].IsRevoked(ctx, "i", "j")
	require.ErrorIs(t, err, jwtguard.ErrStoreClosed, "a closed store fails closed")
	require.ErrorIs(t, stores[0].Revoke(ctx, "i", "j", time.Now().Add(time.Hour)), jwtguard.ErrStoreClosed)
}

// TestMiddlewareConsultsStore covers WithStore on the request path.
func TestMiddlewareConsultsStore(t *testing.T) {
	ctx := context.Background()
	clock := newTestClock()
	s := newMemoryStore(t, clock)
	base := []jwtguard.Option{jwtguard.WithKey("HS256", secret256), jwtguard.WithClock(clock.Now)}
	mw, err := jwtguard.New(append(base, jwtguard.WithStore(s))...)
	require.NoError(t, err)
	down, err := jwtguard.New(append(base, jwtguard.WithStore(failingStore{}))...)
	require.NoError(t, err)

	token := func(edit func(c map[string]any)) string {
		c := validClaims()
		edit(c)
		return hs256(t, c)
	}
	require.NoError(t, s.Revoke(ctx, "https://issuer.test", "revoked-jti", testNow.Add(time.Hour)))
	require.NoError(t, s.RevokeFamily(ctx, "https://issuer.test", "revoked-fam", testNow.Add(time.Hour)))

	tests := []struct {
		name       string
		mw         *jwtguard.Middleware
		token      string
		wantStatus int
		wantErr    error
		wantDesc   string
	}{
		{"not revoked", mw, token(func(map[string]any) {}), 200, nil, ""},
		{"revoked jti", mw, token(func(c map[string]any) { c["jti"] = "revoked-jti" }), 401, jwtguard.ErrRevoked, "token revoked"},
		{"same jti, other issuer", mw, token(func(c map[string]any) { c["jti"] = "revoked-jti"; c["iss"] = "other" }), 200, nil, ""},
		{"revoked family", mw, token(func(c map[string]any) { c["fid"] = "revoked-fam" }), 401, jwtguard.ErrRevoked, "token revoked"},
		{"live family", mw, token(func(c map[string]any) { c["fid"] = "live-fam" }), 200, nil, ""},
		{"no jti", mw, token(func(c map[string]any) { delete(c, "jti") }), 401, jwtguard.ErrMissingClaim, "missing required claim: jti"},
		{"empty jti", mw, token(func(c map[string]any) { c["jti"] = "" }), 401, jwtguard.ErrMissingClaim, "missing required claim: jti"},
		{"fid not a string", mw, token(func(c map[string]any) { c["fid"] = 7 }), 401, jwtguard.ErrMalformedToken, "malformed token"},
		{"store down fails closed", down, token(func(map[string]any) {}), 503, jwtguard.ErrUnavailable, ""},
		{"bad token never reaches the store", down, token(func(c map[string]any) { c["exp"] = testNow.Add(-time.Hour).Unix() }), 401, jwtguard.ErrExpired, "token expired"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tt.mw.Verify(ctx, tt.token)
			if tt.wantErr == nil {
				require.NoError(t, err)
			} else {
				require.ErrorIs(t, err, tt.wantErr)
				assert.NotContains(t, err.Error(), tt.token)
			}
			r := httptest.NewRequest(http.MethodGet, "/", nil)
			r.Header.Set("Authorization", "Bearer "+tt.token)
			w := serve(tt.mw.Handler(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})), r)
			assert.Equal(t, tt.wantStatus, w.Code)
			if tt.wantDesc != "" {
				assert.Contains(t, w.Header().Get("WWW-Authenticate"), `error_description="`+tt.wantDesc+`"`)
			}
			assert.NotContains(t, w.Body.String(), errStoreDown.Error())
		})
	}

	_, err = jwtguard.New(append(base, jwtguard.WithStore(nil))...)
	require.ErrorContains(t, err, "nil store")
}
