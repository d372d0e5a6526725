package jwtguard_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/jwtguard/jwtguard"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestExpiresInIsTheConfiguredLifetime checks that expires_in equals the
// access lifetime exactly, also when the clock is not on a whole second
// (tokens carry whole seconds).
func TestExpiresInIsTheConfiguredLifetime(t *testing.T) {
	for _, offset := range []time.Duration{0, 300 * time.Millisecond, 999 * time.Millisecond} {
		t.Run(offset.String(), func(t *testing.T) {
			l := newLifecycle(t)
			l.clock.Advance(offset)
			b := l.login(t)
			assert.EqualValues(t, 1800, b.ExpiresIn)
			w := l.refresh(t, b.RefreshToken)
			require.Equal(t, http.StatusOK, w.Code, w.Body.String())
			assert.EqualValues(t, 1800, decodeTokenBody(t, w.Result()).ExpiresIn)
		})
	}
}

// TestCookieModeRefusesCookiesBrowsersDrop checks that a pair whose cookie
// would exceed the 4096 bytes a browser keeps of name plus value is refused
// at minting (500, naming the size), never answered with 200 and a cookie
// the browser drops; the same pair in a JSON body is fine.
func TestCookieModeRefusesCookiesBrowsersDrop(t *testing.T) {
	// The largest groups claim whose tokens the issuer still mints (each
	// at most 4096 bytes): its refresh cookie is over 4096 with its name.
	probe := newLifecycle(t)
	var groups string
	for n := 1000; ; n++ {
		_, err := probe.issuer.Issue(context.Background(), "1", map[string]any{"groups": strings.Repeat("g", n)})
		if err != nil {
			require.ErrorIs(t, err, jwtguard.ErrCannotIssue)
			break
		}
		groups = strings.Repeat("g", n)
	}
	require.NotEmpty(t, groups)
	login := func(context.Context, string, string) (string, map[string]any, error) {
		return "1", map[string]any{"groups": groups}, nil
	}
	credentials := map[string]string{"username": "a", "password": "b"}

	t.Run("cookie mode", func(t *testing.T) {
		var hooked error
		l := newLifecycle(t, jwtguard.WithCookies(),
			jwtguard.WithAccessOptions(jwtguard.WithFailureHook(func(_ *http.Request, err error) { hooked = err })))
		w := serve(l.sessions.LoginHandler(login), jsonRequest(t, "POST", "/login", credentials))
		require.Equal(t, http.StatusInternalServerError, w.Code, w.Body.String())
		assert.Empty(t, w.Result().Cookies())
		require.ErrorIs(t, hooked, jwtguard.ErrCannotIssue)
		assert.Regexp(t, `the __Host-(access|refresh)_token cookie would be 4\d\d\d bytes \(name and value\), over the 4096 browsers keep`, hooked.Error())
	})
	t.Run("a browser, WithCookiesForBrowsers", func(t *testing.T) {
		l := newLifecycle(t, jwtguard.WithCookiesForBrowsers())
		r := jsonRequest(t, "POST", "/login", credentials)
		r.Header.Set("X-Requested-With", "fetch")
		w := serve(l.sessions.LoginHandler(login), r)
		require.Equal(t, http.StatusInternalServerError, w.Code, w.Body.String())
		assert.Empty(t, w.Result().Cookies())
	})
	t.Run("an API client, WithCookiesForBrowsers", func(t *testing.T) {
		l := newLifecycle(t, jwtguard.WithCookiesForBrowsers())
		w := serve(l.sessions.LoginHandler(login), jsonRequest(t, "POST", "/login", credentials))
		require.Equal(t, http.StatusOK, w.Code, w.Body.String())
		assert.NotEmpty(t, decodeTokenBody(t, w.Result()).RefreshToken)
	})
}
