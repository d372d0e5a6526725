package jwtguard_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jwtguard/jwtguard"
)

// dpopEnv is sessionsEnv with DPoP on, served by a real HTTP server, two
// DPoP clients of the tests' own (dpop_helpers_test.go) on its clock, and
// two routes that start a session with Sessions.Login: /auth/relogin
// behind the sessions' guard (as an application's change of password),
// and /auth/magic with no guard (a login of the application's own, such
// as a magic link).
type dpopEnv struct {
	*sessionsEnv
	c, other *dpopClient
}

func newDPoPEnv(t *testing.T, mode jwtguard.DPoPMode, opts ...jwtguard.SessionsOption) *dpopEnv {
	t.Helper()
	opts = append([]jwtguard.SessionsOption{jwtguard.WithAccessOptions(jwtguard.WithDPoP(mode))}, opts...)
	e := newSessionsEnv(t, jwtguard.IssuerConfig{}, opts...)
	relogin := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, ok := jwtguard.FromContext(r.Context())
		require.True(t, ok)
		_ = e.sessions.Login(w, r, c.Subject, nil)
	})
	mux := http.NewServeMux()
	mux.Handle("/auth/relogin", e.sessions.Handler(relogin))
	mux.Handle("/auth/magic", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = e.sessions.Login(w, r, "1", nil)
	}))
	mux.Handle("/", e.srv.Config.Handler)
	e.srv = httptest.NewServer(mux)
	t.Cleanup(e.srv.Close)
	d := &dpopEnv{sessionsEnv: e, c: newDPoPClient(t, "ES256"), other: newDPoPClient(t, "ES256", "other")}
	d.c.now, d.other.now = e.clock.Now, e.clock.Now
	return d
}

// url is the absolute URL of path, without its query: a proof's htu.
func (d *dpopEnv) url(path string) string {
	path, _, _ = strings.Cut(path, "?")
	return d.srv.URL + path
}

// loginDPoP logs alice in at path with a proof of c (none when c is nil),
// and the extra headers.
func (d *dpopEnv) loginDPoP(t *testing.T, c *dpopClient, path string, header ...string) (int, http.Header, []byte) {
	t.Helper()
	if c != nil {
		header = append(header, "DPoP", c.proof(t, "POST", d.url(path), ""))
	}
	return d.call(t, http.MethodPost, path, "", `{"username":"alice","password":"`+alicePass+`"}`, header...)
}

// boundPair logs alice in with a proof of c and returns the bound pair.
func (d *dpopEnv) boundPair(t *testing.T, c *dpopClient) pair {
	t.Helper()
	status, _, b := d.loginDPoP(t, c, "/auth/login")
	require.Equal(t, http.StatusOK, status, "%s", b)
	p := tokensOf(t, b)
	require.Equal(t, c.jkt, jktOf(t, p.access))
	return p
}

// dpop calls path under the DPoP scheme with access and a fresh proof of
// c for that request.
func (d *dpopEnv) dpop(t *testing.T, c *dpopClient, method, path, access, body string, header ...string) (int, http.Header, []byte) {
	t.Helper()
	header = append(header, "Authorization", "DPoP "+access, "DPoP", c.proof(t, method, d.url(path), access))
	return d.call(t, method, path, "", body, header...)
}

// works reports whether both tokens of p, bound to c's key, are accepted:
// the access token by /me with a proof of c, the refresh token by a
// refresh with a proof of c (whose pair it returns).
func (d *dpopEnv) works(t *testing.T, c *dpopClient, p pair) (bool, pair) {
	t.Helper()
	if status, _, _ := d.dpop(t, c, http.MethodGet, "/me", p.access, ""); status != http.StatusOK {
		return false, pair{}
	}
	status, _, b := d.call(t, http.MethodPost, "/auth/refresh", "", `{"refresh_token":"`+p.refresh+`"}`,
		"DPoP", c.proof(t, "POST", d.url("/auth/refresh"), ""))
	if status != http.StatusOK {
		return false, pair{}
	}
	return true, tokensOf(t, b)
}

// TestDPoPLogout: a DPoP client logs out with its DPoP-bound access token
// under the DPoP scheme and a proof for the logout request, in every
// scope; the proof is checked as the middleware checks it, and a bound
// token without its key's proof (as a bearer token, with another key's
// proof, a proof of another request, a replayed proof; a bound refresh
// token without a proof) ends nothing.
func TestDPoPLogout(t *testing.T) {
	for _, mode := range []jwtguard.DPoPMode{jwtguard.DPoPAllowed, jwtguard.DPoPRequired} {
		t.Run(mode.String(), func(t *testing.T) {
			for _, tt := range []struct {
				scope        string
				mine, others bool // after: the presented session works, the user's other session works
			}{
				{"", false, true},
				{"?scope=local", false, true},
				{"?scope=others", true, false},
				{"?scope=global", false, false},
			} {
				t.Run(tt.scope, func(t *testing.T) {
					d := newDPoPEnv(t, mode)
					mine, other := d.boundPair(t, d.c), d.boundPair(t, d.c)
					status, h, b := d.dpop(t, d.c, http.MethodPost, "/auth/logout"+tt.scope, mine.access, "")
					require.Equal(t, http.StatusNoContent, status, "%s", b)
					assert.Equal(t, "no-store", h.Get("Cache-Control"))
					ok, _ := d.works(t, d.c, mine)
					assert.Equal(t, tt.mine, ok, "the presented session")
					ok, _ = d.works(t, d.c, other)
					assert.Equal(t, tt.others, ok, "the user's other session")
				})
			}
		})
	}

	d := newDPoPEnv(t, jwtguard.DPoPAllowed)
	mine, other := d.boundPair(t, d.c), d.boundPair(t, d.c)
	logout := d.url("/auth/logout")
	withProof := func(c *dpopClient, method, uri string, scheme bool) func(p pair) []string {
		return func(p pair) []string {
			at := ""
			if scheme {
				at = p.access
			}
			return []string{"DPoP", c.proof(t, method, uri, at)}
		}
	}
	refreshBody := func(p pair) string { return `{"refresh_token":"` + p.refresh + `"}` }
	refused := []struct {
		name   string
		scheme string // "DPoP" or "Bearer": the access token goes under it; "": no access token
		proof  func(p pair) []string
		body   func(p pair) string
		code   string
	}{
		{"the bound access token as a bearer token", "Bearer", nil, nil, "invalid_token"},
		{"the bound access token as a bearer token, with a proof", "Bearer", withProof(d.c, "POST", logout, true), nil, "invalid_request"},
		{"no proof", "DPoP", nil, nil, "invalid_dpop_proof"},
		{"a proof by another key", "DPoP", withProof(d.other, "POST", logout, true), nil, "invalid_token"},
		{"a proof for another URI", "DPoP", withProof(d.c, "POST", d.url("/me"), true), nil, "invalid_dpop_proof"},
		{"a proof for another method", "DPoP", withProof(d.c, "GET", logout, true), nil, "invalid_dpop_proof"},
		{"a proof without ath", "DPoP", withProof(d.c, "POST", logout, false), nil, "invalid_dpop_proof"},
		{"a proof for another access token", "DPoP", func(pair) []string {
			return []string{"DPoP", d.c.proof(t, "POST", logout, other.access)}
		}, nil, "invalid_dpop_proof"},
		{"the bound refresh token without a proof", "", nil, refreshBody, "invalid_dpop_proof"},
		{"the bound refresh token with a proof by another key", "", withProof(d.other, "POST", logout, false), refreshBody, "invalid_token"},
		{"the bound refresh token with a proof for another URI", "", withProof(d.c, "POST", d.url("/auth/refresh"), false), refreshBody, "invalid_dpop_proof"},
	}
	for _, tt := range refused {
		for _, scope := range []string{"", "?scope=global"} {
			t.Run(tt.name+scope, func(t *testing.T) {
				var header []string
				if tt.scheme != "" {
					header = append(header, "Authorization", tt.scheme+" "+mine.access)
				}
				if tt.proof != nil {
					header = append(header, tt.proof(mine)...)
				}
				body := ""
				if tt.body != nil {
					body = tt.body(mine)
				}
				status, h, b := d.call(t, http.MethodPost, "/auth/logout"+scope, "", body, header...)
				want := http.StatusUnauthorized
				if tt.code == "invalid_request" {
					want = http.StatusBadRequest
				}
				require.Equal(t, want, status, "%s", b)
				assert.Contains(t, string(b), `"error":"`+tt.code+`"`)
				if want == http.StatusUnauthorized {
					assert.Contains(t, h.Get("WWW-Authenticate"), `DPoP algs="`)
				}
				ok, next := d.works(t, d.c, mine)
				require.True(t, ok, "the session goes on")
				mine = next
				ok, next = d.works(t, d.c, other)
				require.True(t, ok, "the other session goes on")
				other = next
			})
		}
	}

	t.Run("a replayed proof", func(t *testing.T) {
		proof := d.c.proof(t, "POST", logout, mine.access)
		status, _, b := d.call(t, http.MethodPost, "/auth/logout?scope=others", "", "", "Authorization", "DPoP "+mine.access, "DPoP", proof)
		require.Equal(t, http.StatusNoContent, status, "%s", b)
		ok, _ := d.works(t, d.c, other)
		require.False(t, ok, "the other session ended")
		status, _, b = d.call(t, http.MethodPost, "/auth/logout", "", "", "Authorization", "DPoP "+mine.access, "DPoP", proof)
		require.Equal(t, http.StatusUnauthorized, status, "%s", b)
		assert.Contains(t, string(b), `"error":"invalid_dpop_proof"`)
		ok, mine = d.works(t, d.c, mine)
		require.True(t, ok, "the session goes on")
	})

	t.Run("the bound refresh token with its key's proof", func(t *testing.T) {
		status, _, b := d.call(t, http.MethodPost, "/auth/logout", "", `{"refresh_token":"`+mine.refresh+`"}`,
			"DPoP", d.c.proof(t, "POST", logout, ""))
		require.Equal(t, http.StatusNoContent, status, "%s", b)
		ok, _ := d.works(t, d.c, mine)
		assert.False(t, ok)
	})

	t.Run("both tokens under one proof", func(t *testing.T) {
		p := d.boundPair(t, d.c)
		status, _, b := d.dpop(t, d.c, http.MethodPost, "/auth/logout", p.access, `{"refresh_token":"`+p.refresh+`"}`)
		require.Equal(t, http.StatusNoContent, status, "%s", b)
		ok, _ := d.works(t, d.c, p)
		assert.False(t, ok)
	})

	t.Run("nonces", func(t *testing.T) {
		// The later WithDPoP, with nonces, replaces newDPoPEnv's.
		d := newDPoPEnv(t, jwtguard.DPoPAllowed, jwtguard.WithAccessOptions(jwtguard.WithDPoP(jwtguard.DPoPAllowed,
			jwtguard.DPoPNonces([]byte("a nonce secret of 32 bytes or more!!"), 0))))
		nonceProof := func(c *dpopClient, method, uri, access, nonce string) string {
			p := c.proofClaims(method, uri, access)
			p["nonce"] = nonce
			return c.sign(t, c.proofHeader(), p)
		}
		status, h, b := d.loginDPoP(t, d.c, "/auth/login")
		require.Equal(t, http.StatusBadRequest, status, "%s", b)
		nonce := h.Get("DPoP-Nonce")
		status, _, b = d.call(t, http.MethodPost, "/auth/login", "", `{"username":"alice","password":"`+alicePass+`"}`,
			"DPoP", nonceProof(d.c, "POST", d.url("/auth/login"), "", nonce))
		require.Equal(t, http.StatusOK, status, "%s", b)
		p := tokensOf(t, b)

		status, h, b = d.dpop(t, d.c, http.MethodPost, "/auth/logout", p.access, "")
		require.Equal(t, http.StatusUnauthorized, status, "%s", b)
		assert.Contains(t, h.Get("WWW-Authenticate"), `error="use_dpop_nonce"`)
		require.Equal(t, nonce, h.Get("DPoP-Nonce"))
		status, h, b = d.call(t, http.MethodPost, "/auth/logout", "", "", "Authorization", "DPoP "+p.access,
			"DPoP", nonceProof(d.c, "POST", d.url("/auth/logout"), p.access, nonce))
		require.Equal(t, http.StatusNoContent, status, "%s", b)
		assert.Equal(t, nonce, h.Get("DPoP-Nonce"))
		status, _, _ = d.call(t, http.MethodGet, "/me", "", "", "Authorization", "DPoP "+p.access,
			"DPoP", nonceProof(d.c, "GET", d.url("/me"), p.access, nonce))
		assert.Equal(t, http.StatusUnauthorized, status, "logged out")
	})

	t.Run("a bearer session logs out as before", func(t *testing.T) {
		p := d.login(t, "alice", "")
		status, _, b := d.call(t, http.MethodPost, "/auth/logout", p.access, "")
		require.Equal(t, http.StatusNoContent, status, "%s", b)
		ok, _ := d.sessionsEnv.works(t, p)
		assert.False(t, ok)
	})
}

// TestDPoPSessionRoutes: the session list and the end of a session take a
// DPoP-bound access token under the DPoP scheme with its proof, and refuse
// it as a bearer token.
func TestDPoPSessionRoutes(t *testing.T) {
	for _, mode := range []jwtguard.DPoPMode{jwtguard.DPoPAllowed, jwtguard.DPoPRequired} {
		t.Run(mode.String(), func(t *testing.T) {
			d := newDPoPEnv(t, mode)
			mine, other := d.boundPair(t, d.c), d.boundPair(t, d.c)

			status, _, b := d.dpop(t, d.c, http.MethodGet, "/auth/sessions", mine.access, "")
			require.Equal(t, http.StatusOK, status, "%s", b)
			assert.Contains(t, string(b), `"id":"`+fidOf(t, mine.access)+`"`)
			assert.Contains(t, string(b), `"current":true`)
			assert.Equal(t, 1, strings.Count(string(b), `"current":true`))

			status, h, _ := d.call(t, http.MethodGet, "/auth/sessions", mine.access, "")
			assert.Equal(t, http.StatusUnauthorized, status, "a bound token as a bearer token")
			assert.Contains(t, h.Get("WWW-Authenticate"), `error="invalid_token"`)
			status, _, _ = d.call(t, http.MethodGet, "/auth/sessions", "", "", "Authorization", "DPoP "+mine.access,
				"DPoP", d.other.proof(t, "GET", d.url("/auth/sessions"), mine.access))
			assert.Equal(t, http.StatusUnauthorized, status, "a proof by another key")
			status, _, _ = d.call(t, http.MethodDelete, "/auth/sessions/"+fidOf(t, other.access), mine.access, "")
			assert.Equal(t, http.StatusUnauthorized, status, "a bound token as a bearer token ends nothing")

			status, _, b = d.dpop(t, d.c, http.MethodDelete, "/auth/sessions/"+fidOf(t, other.access), mine.access, "")
			require.Equal(t, http.StatusNoContent, status, "%s", b)
			ok, _ := d.works(t, d.c, other)
			assert.False(t, ok, "the ended session")
			ok, _ = d.works(t, d.c, mine)
			assert.True(t, ok, "the caller's session")
		})
	}
}

// TestDPoPSessionsLogin: Sessions.Login binds the pair it starts to the
// key of the request's DPoP proof: behind the sessions' guard, the key the
// proof of the DPoP-bound access token proved; with no guard, a proof as at
// the login endpoint. Without a proof the pair is a bearer pair, as before.
func TestDPoPSessionsLogin(t *testing.T) {
	for _, mode := range []jwtguard.DPoPMode{jwtguard.DPoPAllowed, jwtguard.DPoPRequired} {
		t.Run(mode.String()+": behind the guard", func(t *testing.T) {
			d := newDPoPEnv(t, mode)
			p := d.boundPair(t, d.c)
			status, _, b := d.dpop(t, d.c, http.MethodPost, "/auth/relogin", p.access, "")
			require.Equal(t, http.StatusOK, status, "%s", b)
			var tb tokenBody
			require.NoError(t, json.Unmarshal(b, &tb))
			assert.Equal(t, "DPoP", tb.TokenType)
			next := tokensOf(t, b)
			assert.Equal(t, d.c.jkt, jktOf(t, next.access))
			assert.Equal(t, d.c.jkt, jktOf(t, next.refresh))
			assert.NotEqual(t, fidOf(t, p.access), fidOf(t, next.access), "a new session")
			ok, _ := d.works(t, d.c, next)
			assert.True(t, ok, "the new pair works with proofs by the same key")
			status, _, _ = d.dpop(t, d.other, http.MethodGet, "/me", next.access, "")
			assert.Equal(t, http.StatusUnauthorized, status, "and by no other key")
		})
	}

	d := newDPoPEnv(t, jwtguard.DPoPAllowed)
	t.Run("a bearer session gets a bearer pair", func(t *testing.T) {
		p := d.login(t, "alice", "")
		status, _, b := d.call(t, http.MethodPost, "/auth/relogin", p.access, "")
		require.Equal(t, http.StatusOK, status, "%s", b)
		next := tokensOf(t, b)
		assert.Empty(t, jktOf(t, next.access))
		ok, _ := d.sessionsEnv.works(t, next)
		assert.True(t, ok)
	})
	t.Run("no guard: a proof as at the login endpoint", func(t *testing.T) {
		status, _, b := d.loginDPoP(t, d.c, "/auth/magic")
		require.Equal(t, http.StatusOK, status, "%s", b)
		next := tokensOf(t, b)
		assert.Equal(t, d.c.jkt, jktOf(t, next.access))
		assert.Equal(t, d.c.jkt, jktOf(t, next.refresh))
		ok, _ := d.works(t, d.c, next)
		assert.True(t, ok)

		for name, proof := range map[string]string{
			"htu of another endpoint": d.c.proof(t, "POST", d.url("/auth/login"), ""),
			"with ath":                d.c.proof(t, "POST", d.url("/auth/magic"), next.access),
			"not a JWS":               "abc",
		} {
			status, _, b = d.call(t, http.MethodPost, "/auth/magic", "", "", "DPoP", proof)
			assert.Equal(t, http.StatusBadRequest, status, "%s: %s", name, b)
			assert.Contains(t, string(b), `"error":"invalid_dpop_proof"`, name)
		}
		status, _, b = d.loginDPoP(t, nil, "/auth/magic")
		require.Equal(t, http.StatusOK, status, "%s", b)
		assert.Empty(t, jktOf(t, tokensOf(t, b).access), "no proof: a bearer pair")
	})
}

// TestDPoPCookies: a DPoP proof on a login or refresh that would be
// answered in cookies is refused with 400 invalid_request naming the
// conflict (a DPoP-bound token in a cookie could never be used), before
// anything is spent: the proof, the refresh token and the session stay
// usable.
func TestDPoPCookies(t *testing.T) {
	conflict := func(t *testing.T, status int, h http.Header, b []byte) {
		t.Helper()
		require.Equal(t, http.StatusBadRequest, status, "%s", b)
		assert.Contains(t, string(b), `"error":"invalid_request"`)
		assert.Contains(t, string(b), "DPoP proof")
		assert.Contains(t, string(b), "cookie")
		assert.Empty(t, h.Values("Set-Cookie"))
	}
	browser := []string{"X-Requested-With", "fetch"}

	t.Run("cookies for browsers", func(t *testing.T) {
		d := newDPoPEnv(t, jwtguard.DPoPAllowed, jwtguard.WithCookiesForBrowsers())
		proof := d.c.proof(t, "POST", d.url("/auth/login"), "")
		body := `{"username":"alice","password":"` + alicePass + `"}`
		status, h, b := d.call(t, http.MethodPost, "/auth/login", "", body, append(browser, "DPoP", proof)...)
		conflict(t, status, h, b)
		assert.Contains(t, string(b), "X-Requested-With")

		status, h, b = d.call(t, http.MethodPost, "/auth/login", "", body, "DPoP", proof)
		require.Equal(t, http.StatusOK, status, "the same proof, without the CSRF header: %s", b)
		assert.Empty(t, h.Values("Set-Cookie"))
		p := tokensOf(t, b)
		assert.Equal(t, d.c.jkt, jktOf(t, p.access))
		ok, _ := d.works(t, d.c, p)
		assert.True(t, ok)

		// A browser's session: a refresh from the cookie with a proof is
		// refused, and the refresh cookie still works.
		status, h, b = d.call(t, http.MethodPost, "/auth/login", "", body, browser...)
		require.Equal(t, http.StatusOK, status, "%s", b)
		cookies := (&http.Response{Header: h}).Cookies()
		require.Len(t, cookies, 2)
		refreshCookie := cookies[1].Name + "=" + cookies[1].Value
		status, h, b = d.call(t, http.MethodPost, "/auth/refresh", "", "",
			append(browser, "Cookie", refreshCookie, "DPoP", d.c.proof(t, "POST", d.url("/auth/refresh"), ""))...)
		conflict(t, status, h, b)
		status, h, b = d.call(t, http.MethodPost, "/auth/refresh", "", "", append(browser, "Cookie", refreshCookie)...)
		require.Equal(t, http.StatusOK, status, "%s", b)
		assert.Len(t, h.Values("Set-Cookie"), 2)

		// Sessions.Login answers a request with the CSRF header in cookies.
		status, h, b = d.dpop(t, d.c, http.MethodPost, "/auth/relogin", p.access, "", browser...)
		conflict(t, status, h, b)

		// CookieLoginHandler answers every login in cookies.
		srv := httptest.NewServer(d.sessions.CookieLoginHandler(authenticate))
		t.Cleanup(srv.Close)
		req, err := http.NewRequest(http.MethodPost, srv.URL+"/", strings.NewReader(body))
		require.NoError(t, err)
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("DPoP", d.c.proof(t, "POST", srv.URL+"/", ""))
		resp, err := srv.Client().Do(req)
		require.NoError(t, err)
		b, err = io.ReadAll(resp.Body)
		resp.Body.Close()
		require.NoError(t, err)
		conflict(t, resp.StatusCode, resp.Header, b)
	})

	for name, opt := range map[string]jwtguard.SessionsOption{
		"cookies":          jwtguard.WithCookies(),
		"cookies and body": jwtguard.WithCookiesAndBody(),
	} {
		t.Run(name, func(t *testing.T) {
			d := newDPoPEnv(t, jwtguard.DPoPAllowed, opt)
			status, h, b := d.loginDPoP(t, d.c, "/auth/login")
			conflict(t, status, h, b)
			status, h, b = d.loginDPoP(t, nil, "/auth/login")
			require.Equal(t, http.StatusOK, status, "without a proof: %s", b)
			cookies := (&http.Response{Header: h}).Cookies()
			require.Len(t, cookies, 2)
			status, h, b = d.call(t, http.MethodPost, "/auth/refresh", "", "",
				append(browser, "Cookie", cookies[1].Name+"="+cookies[1].Value, "DPoP", d.c.proof(t, "POST", d.url("/auth/refresh"), ""))...)
			conflict(t, status, h, b)
		})
	}
}
