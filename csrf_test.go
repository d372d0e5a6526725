package jwtguard_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/jwtguard/jwtguard"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestCSRFOnCookieRequests runs the CSRF rules against recorder requests;
// TestLifecycleEndToEnd repeats the decisive cases over a real connection.
// missingXRW is the description of a cookie request without the default
// CSRF header.
const missingXRW = "the X-Requested-With header is required on a request authenticated by a cookie (CSRF defence)"

func TestCSRFOnCookieRequests(t *testing.T) {
	token := hs256(t, validClaims())
	trusted := http.NewCrossOriginProtection()
	require.NoError(t, trusted.AddTrustedOrigin("https://partner.test"))
	newMW := func(opts ...jwtguard.Option) *jwtguard.Middleware {
		mw, err := jwtguard.New(append([]jwtguard.Option{
			jwtguard.WithKey("HS256", secret256), jwtguard.WithClock(fixedClock),
			jwtguard.WithExtractors(jwtguard.AuthorizationHeader(), jwtguard.Cookie("at")),
		}, opts...)...)
		require.NoError(t, err)
		return mw
	}
	def := newMW()
	custom := newMW(jwtguard.WithCSRF(jwtguard.CSRF{Protection: trusted, Header: "x-csrf"}))

	tests := []struct {
		name    string
		mw      *jwtguard.Middleware
		method  string
		cookie  bool              // token in a cookie, else in Authorization
		headers map[string]string // extra request headers
		want    int
		desc    string // error_description of a 403; default: cross-origin request refused
	}{
		{name: "cookie GET needs nothing", mw: def, method: "GET", cookie: true, headers: map[string]string{"Sec-Fetch-Site": "cross-site"}, want: 200},
		{name: "cookie HEAD needs nothing", mw: def, method: "HEAD", cookie: true, want: 200},
		{name: "cookie POST same-origin with header", mw: def, method: "POST", cookie: true, headers: map[string]string{"Sec-Fetch-Site": "same-origin", "X-Requested-With": "fetch"}, want: 200},
		{name: "cookie POST without header", mw: def, method: "POST", cookie: true, headers: map[string]string{"Sec-Fetch-Site": "same-origin"}, want: 403, desc: missingXRW},
		{name: "cookie POST without header nor Origin", mw: def, method: "POST", cookie: true, want: 403, desc: missingXRW},
		{name: "cookie POST empty header", mw: def, method: "POST", cookie: true, headers: map[string]string{"X-Requested-With": ""}, want: 403, desc: missingXRW},
		{name: "cookie POST cross-site with header", mw: def, method: "POST", cookie: true, headers: map[string]string{"Sec-Fetch-Site": "cross-site", "X-Requested-With": "fetch"}, want: 403},
		{name: "cookie PUT same-site subdomain", mw: def, method: "PUT", cookie: true, headers: map[string]string{"Sec-Fetch-Site": "same-site", "X-Requested-With": "fetch"}, want: 403},
		{name: "cookie DELETE old browser foreign Origin", mw: def, method: "DELETE", cookie: true, headers: map[string]string{"Origin": "https://evil.test", "X-Requested-With": "fetch"}, want: 403},
		{name: "cookie PATCH old browser matching Origin", mw: def, method: "PATCH", cookie: true, headers: map[string]string{"Origin": "http://example.com", "X-Requested-With": "fetch"}, want: 200},
		{name: "cookie POST non-browser with header", mw: def, method: "POST", cookie: true, headers: map[string]string{"X-Requested-With": "curl"}, want: 200},
		{name: "bearer POST cross-site", mw: def, method: "POST", headers: map[string]string{"Sec-Fetch-Site": "cross-site"}, want: 200},
		{name: "bearer POST no header", mw: def, method: "POST", want: 200},
		{name: "custom header name", mw: custom, method: "POST", cookie: true, headers: map[string]string{"X-CSRF": "1"}, want: 200},
		{name: "custom header name, default header sent", mw: custom, method: "POST", cookie: true, headers: map[string]string{"X-Requested-With": "1"}, want: 403,
			desc: "the X-Csrf header is required on a request authenticated by a cookie (CSRF defence)"},
		{name: "trusted origin", mw: custom, method: "POST", cookie: true, headers: map[string]string{"Sec-Fetch-Site": "cross-site", "Origin": "https://partner.test", "X-CSRF": "1"}, want: 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, optional := range []bool{false, true} {
				r := httptest.NewRequest(tt.method, "/", strings.NewReader("{}"))
				if tt.cookie {
					r.AddCookie(&http.Cookie{Name: "at", Value: token})
				} else {
					r.Header.Set("Authorization", "Bearer "+token)
				}
				for k, v := range tt.headers {
					r.Header.Set(k, v)
				}
				ok := http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})
				h := tt.mw.Handler(ok)
				if optional {
					h = tt.mw.Optional(ok)
				}
				w := serve(h, r)
				assert.Equal(t, tt.want, w.Code, "optional=%v %s", optional, w.Body.String())
				if tt.want == http.StatusForbidden {
					desc := tt.desc
					if desc == "" {
						desc = "cross-origin request refused"
					}
					assert.JSONEq(t, `{"error":"invalid_request","error_description":"`+desc+`"}`, w.Body.String())
					_, err := tt.mw.Check(r)
					require.ErrorIs(t, err, jwtguard.ErrCrossOrigin)
				}
			}
		})
	}
}

func TestWithCSRFRefusesBadHeaderName(t *testing.T) {
	_, err := jwtguard.New(jwtguard.WithKey("HS256", secret256), jwtguard.WithCSRF(jwtguard.CSRF{Header: "X Bad"}))
	require.ErrorContains(t, err, "WithCSRF")
}

// TestSessionsCSRF checks the CSRF rules of the handlers in cookie mode.
func TestSessionsCSRF(t *testing.T) {
	l := newLifecycle(t, jwtguard.WithCookies())
	creds := map[string]string{"username": "alice", "password": alicePass}
	fresh := func() string {
		p, err := l.issuer.Issue(t.Context(), "1", nil)
		require.NoError(t, err)
		return p.RefreshToken
	}
	withCookie := func(r *http.Request, token string) *http.Request {
		r.AddCookie(&http.Cookie{Name: jwtguard.RefreshCookieName, Value: token})
		return r
	}
	tests := []struct {
		name    string
		h       http.Handler
		req     func() *http.Request
		headers map[string]string
		want    int
	}{
		{name: "login cross-site", h: l.sessions.LoginHandler(authenticate), want: 403,
			req:     func() *http.Request { return jsonRequest(t, "POST", "/", creds) },
			headers: map[string]string{"Sec-Fetch-Site": "cross-site", "X-Requested-With": "fetch"}},
		{name: "login same-origin needs no custom header", h: l.sessions.LoginHandler(authenticate), want: 200,
			req:     func() *http.Request { return jsonRequest(t, "POST", "/", creds) },
			headers: map[string]string{"Sec-Fetch-Site": "same-origin"}},
		{name: "refresh cookie without custom header", h: l.sessions.RefreshHandler(), want: 403,
			req: func() *http.Request { return withCookie(httptest.NewRequest("POST", "/", nil), fresh()) }},
		{name: "refresh cookie with custom header", h: l.sessions.RefreshHandler(), want: 200,
			req:     func() *http.Request { return withCookie(httptest.NewRequest("POST", "/", nil), fresh()) },
			headers: map[string]string{"X-Requested-With": "fetch"}},
		{name: "refresh body in cookie mode needs no custom header", h: l.sessions.RefreshHandler(), want: 200,
			req: func() *http.Request {
				return jsonRequest(t, "POST", "/", map[string]string{"refresh_token": fresh()})
			}},
		{name: "refresh token in body and cookie", h: l.sessions.RefreshHandler(), want: 400,
			req: func() *http.Request {
				return withCookie(jsonRequest(t, "POST", "/", map[string]string{"refresh_token": fresh()}), fresh())
			},
			headers: map[string]string{"X-Requested-With": "fetch"}},
		{name: "two refresh cookies", h: l.sessions.RefreshHandler(), want: 400,
			req: func() *http.Request {
				return withCookie(withCookie(httptest.NewRequest("POST", "/", nil), fresh()), fresh())
			},
			headers: map[string]string{"X-Requested-With": "fetch"}},
		{name: "logout by cookie without custom header", h: l.sessions.LogoutHandler(), want: 403,
			req: func() *http.Request { return withCookie(httptest.NewRequest("POST", "/", nil), fresh()) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := tt.req()
			for k, v := range tt.headers {
				r.Header.Set(k, v)
			}
			w := serve(tt.h, r)
			assert.Equal(t, tt.want, w.Code, w.Body.String())
		})
	}
}

// TestLogoutClearsCookiesOnlyPastCSRF: a logout request that does not pass
// the CSRF defence never clears the cookies, whatever it is answered. A
// cross-site form posted to the logout endpoint carries no SameSite cookie
// and was answered 401 with cookie-clearing headers, which logged the user
// out of the browser.
func TestLogoutClearsCookiesOnlyPastCSRF(t *testing.T) {
	l := newLifecycle(t, jwtguard.WithCookies())
	h := l.sessions.LogoutHandler()
	fresh := func() string {
		p, err := l.issuer.Issue(t.Context(), "1", nil)
		require.NoError(t, err)
		return p.RefreshToken
	}
	tests := []struct {
		name      string
		cookie    bool
		bearer    bool
		headers   map[string]string
		want      int
		wantClear bool
	}{
		{name: "cross-site form, no cookies", headers: map[string]string{"Sec-Fetch-Site": "cross-site"}, want: 401},
		{name: "cross-site with the custom header", headers: map[string]string{"Sec-Fetch-Site": "cross-site", "X-Requested-With": "fetch"}, want: 401},
		{name: "same-origin without the custom header", headers: map[string]string{"Sec-Fetch-Site": "same-origin"}, want: 401},
		{name: "cookie without the custom header", cookie: true, want: 403},
		{name: "bearer API client", bearer: true, want: 204},
		{name: "same-origin, no cookies left", headers: map[string]string{"X-Requested-With": "fetch"}, want: 401, wantClear: true},
		{name: "cookie with the custom header", cookie: true, headers: map[string]string{"X-Requested-With": "fetch"}, want: 204, wantClear: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("POST", "/", nil)
			if tt.cookie {
				r.AddCookie(&http.Cookie{Name: jwtguard.RefreshCookieName, Value: fresh()})
			}
			if tt.bearer {
				p, err := l.issuer.Issue(t.Context(), "1", nil)
				require.NoError(t, err)
				r.Header.Set("Authorization", "Bearer "+p.AccessToken)
			}
			for k, v := range tt.headers {
				r.Header.Set(k, v)
			}
			w := serve(h, r)
			assert.Equal(t, tt.want, w.Code, w.Body.String())
			if tt.wantClear {
				assert.NotEmpty(t, w.Result().Cookies(), "cookies cleared")
			} else {
				assert.Empty(t, w.Header().Values("Set-Cookie"), "cookies left alone")
			}
		})
	}
}
