package jwtguard_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/jwtguard/jwtguard"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Helpers of the HTTP-surface tests (middleware, extractor, context,
// response, options). Their names start with "ht" so they cannot clash with
// the helpers of the verification tests in the same package.

// htIssuer and htAudience are the iss and aud of validClaims.
const (
	htIssuer   = "https://issuer.test"
	htAudience = "api.test"
)

// htCustomClaims is a user-defined claims type, as WithClaimsType expects.
type htCustomClaims struct {
	jwtguard.Claims
	Email string `json:"email"`
}

// htNew returns a middleware that accepts validClaims tokens signed with
// secret256 at testNow, configured further by extra.
func htNew(t testing.TB, extra ...jwtguard.Option) *jwtguard.Middleware {
	t.Helper()
	opts := append([]jwtguard.Option{
		jwtguard.WithKey("HS256", secret256),
		jwtguard.WithClock(fixedClock),
		jwtguard.WithIssuer(htIssuer),
		jwtguard.WithAudience(htAudience),
	}, extra...)
	mw, err := jwtguard.New(opts...)
	require.NoError(t, err)
	return mw
}

// htClaims returns validClaims with changes applied; a nil value deletes
// the claim.
func htClaims(changes map[string]any) jwt.MapClaims {
	c := validClaims()
	for k, v := range changes {
		if v == nil {
			delete(c, k)
			continue
		}
		c[k] = v
	}
	return c
}

// htToken signs htClaims(changes) with HS256 and secret256.
func htToken(t testing.TB, changes map[string]any) string {
	t.Helper()
	return hs256(t, htClaims(changes))
}

// htRequest returns a GET request for a handler or Check, with the
// Authorization header set to authorization unless it is empty.
func htRequest(t testing.TB, authorization string) *http.Request {
	t.Helper()
	r := httptest.NewRequestWithContext(t.Context(), http.MethodGet, "/", nil)
	if authorization != "" {
		r.Header.Set("Authorization", authorization)
	}
	return r
}

// htEcho is a protected handler that counts its calls and answers with the
// subject of the claims in its context, or "anonymous".
type htEcho struct{ calls atomic.Int64 }

func (e *htEcho) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	e.calls.Add(1)
	if c, ok := jwtguard.FromContext(r.Context()); ok {
		_, _ = io.WriteString(w, "sub="+c.Subject)
		return
	}
	if c, ok := jwtguard.ClaimsFromContext[htCustomClaims](r.Context()); ok {
		_, _ = io.WriteString(w, "sub="+c.Subject+" email="+c.Email)
		return
	}
	_, _ = io.WriteString(w, "anonymous")
}

// htResponse is what a test reads of a response.
type htResponse struct {
	status int
	header http.Header
	body   string
}

// htDo sends a real request with client and reads the whole response.
func htDo(t testing.TB, client *http.Client, method, url string, header http.Header) htResponse {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, url, nil)
	require.NoError(t, err)
	for k, vs := range header {
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	resp, err := client.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return htResponse{status: resp.StatusCode, header: resp.Header, body: string(b)}
}

// htJar returns a cookie jar holding cookies for u.
func htJar(t testing.TB, u *url.URL, cookies ...*http.Cookie) http.CookieJar {
	t.Helper()
	jar, err := cookiejar.New(nil)
	require.NoError(t, err)
	jar.SetCookies(u, cookies)
	return jar
}

// htRecord serves r with h and returns the response.
func htRecord(h http.Handler, r *http.Request) htResponse {
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return htResponse{status: w.Code, header: w.Result().Header, body: w.Body.String()}
}

// htBare is the challenge for a request without a token, in realm "api".
const htBare = `Bearer realm="api"`

// htChallenge is the challenge of an error response in realm "api".
func htChallenge(code, description string) string {
	return `Bearer realm="api", error="` + code + `", error_description="` + description + `"`
}

// htBody is the JSON body of an error response.
func htBody(code, description string) string {
	return `{"error":"` + code + `","error_description":"` + description + `"}`
}

// The default bodies of the responses that do not depend on the token.
var (
	htNoTokenBody   = htBody("unauthorized", "a bearer token is required")
	htForbiddenBody = htBody("insufficient_scope", "insufficient scope")
)

// htBadRequest and htBadRequestObj are the challenge and body of a 400
// described by desc.
func htBadRequest(desc string) string    { return htChallenge("invalid_request", desc) }
func htBadRequestObj(desc string) string { return htBody("invalid_request", desc) }

// htAssertResponse checks a response against the expected status, challenge
// and body. A body starting with "{" is compared as JSON, with the headers
// of an error response; any other is compared exactly.
func htAssertResponse(t testing.TB, got htResponse, status int, challenge, body string) {
	t.Helper()
	assert.Equal(t, status, got.status, "status (body %q)", got.body)
	if challenge == "" {
		assert.Empty(t, got.header.Values("WWW-Authenticate"))
	} else {
		assert.Equal(t, []string{challenge}, got.header.Values("WWW-Authenticate"))
	}
	if strings.HasPrefix(body, "{") {
		assert.JSONEq(t, body, got.body)
		assert.Equal(t, "application/json", got.header.Get("Content-Type"))
		assert.Equal(t, "no-store", got.header.Get("Cache-Control"))
		return
	}
	assert.Equal(t, body, got.body)
}

// TestHandlerHeaderPath sends real requests with an Authorization header
// through an httptest.Server.
func TestHandlerHeaderPath(t *testing.T) {
	echo := &htEcho{}
	srv := httptest.NewServer(htNew(t).Handler(echo))
	t.Cleanup(srv.Close)
	good := htToken(t, nil)
	none := sign(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, htClaims(nil), nil)

	tests := []struct {
		name          string
		header        http.Header
		wantStatus    int
		wantChallenge string
		wantBody      string
	}{
		{name: "valid token", header: http.Header{"Authorization": {"Bearer " + good}}, wantStatus: 200, wantBody: "sub=user-1"},
		{name: "scheme in lower case", header: http.Header{"Authorization": {"bearer " + good}}, wantStatus: 200, wantBody: "sub=user-1"},
		{name: "no Authorization header", wantStatus: 401, wantChallenge: htBare, wantBody: htNoTokenBody},
		{name: "Basic scheme", header: http.Header{"Authorization": {"Basic dXNlcjpwYXNz"}}, wantStatus: 401, wantChallenge: htBare, wantBody: htNoTokenBody},
		{name: "Bearer alone", header: http.Header{"Authorization": {"Bearer"}}, wantStatus: 400, wantChallenge: htBadRequest("bearer scheme without a token"), wantBody: htBadRequestObj("bearer scheme without a token")},
		{name: "two Authorization headers", header: http.Header{"Authorization": {"Bearer " + good, "Bearer " + good}}, wantStatus: 400, wantChallenge: htBadRequest("more than one Authorization header"), wantBody: htBadRequestObj("more than one Authorization header")},
		{name: "space inside the token", header: http.Header{"Authorization": {"Bearer " + good[:10] + " " + good[10:]}}, wantStatus: 400, wantChallenge: htBadRequest("bearer token contains white space"), wantBody: htBadRequestObj("bearer token contains white space")},
		{name: "expired", header: http.Header{"Authorization": {"Bearer " + htToken(t, map[string]any{"exp": testNow.Add(-time.Minute).Unix()})}}, wantStatus: 401, wantChallenge: htChallenge("invalid_token", "token expired"), wantBody: htBody("invalid_token", "token expired")},
		{name: "signed with another secret", header: http.Header{"Authorization": {"Bearer " + sign(t, jwt.SigningMethodHS256, []byte("another-secret-another-secret-32"), htClaims(nil), nil)}}, wantStatus: 401, wantChallenge: htChallenge("invalid_token", "invalid signature"), wantBody: htBody("invalid_token", "invalid signature")},
		{name: "refresh token", header: http.Header{"Authorization": {"Bearer " + htToken(t, map[string]any{"type": "refresh"})}}, wantStatus: 401, wantChallenge: htChallenge("invalid_token", "wrong token type"), wantBody: htBody("invalid_token", "wrong token type")},
		{name: "alg none (empty signature)", header: http.Header{"Authorization": {"Bearer " + none}}, wantStatus: 401, wantChallenge: htChallenge("invalid_token", "malformed token"), wantBody: htBody("invalid_token", "malformed token")},
		{name: "HS384 token, only HS256 configured", header: http.Header{"Authorization": {"Bearer " + sign(t, jwt.SigningMethodHS384, secret384, htClaims(nil), nil)}}, wantStatus: 401, wantChallenge: htChallenge("invalid_token", "algorithm not allowed"), wantBody: htBody("invalid_token", "algorithm not allowed")},
		{name: "not a JWT", header: http.Header{"Authorization": {"Bearer not-a-jwt"}}, wantStatus: 401, wantChallenge: htChallenge("invalid_token", "malformed token"), wantBody: htBody("invalid_token", "malformed token")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := echo.calls.Load()
			got := htDo(t, srv.Client(), http.MethodGet, srv.URL+"/orders", tt.header)
			htAssertResponse(t, got, tt.wantStatus, tt.wantChallenge, tt.wantBody)
			wantCalls := int64(0)
			if tt.wantStatus == http.StatusOK {
				wantCalls = 1
			}
			assert.Equal(t, wantCalls, echo.calls.Load()-before, "calls of the protected handler")
		})
	}
}

// TestHandlerCookiePath sends real requests carrying the token in a cookie,
// from a cookie jar or a literal Cookie header.
func TestHandlerCookiePath(t *testing.T) {
	const name = "access_token"
	echo := &htEcho{}
	srv := httptest.NewServer(htNew(t, jwtguard.WithExtractors(jwtguard.Cookie(name))).Handler(echo))
	t.Cleanup(srv.Close)
	u, err := url.Parse(srv.URL)
	require.NoError(t, err)
	good := htToken(t, nil)
	expired := htToken(t, map[string]any{"exp": testNow.Add(-time.Minute).Unix()})

	tests := []struct {
		name          string
		jar           []*http.Cookie // cookies set in a jar for the server
		header        http.Header    // or literal headers
		path          string
		wantStatus    int
		wantChallenge string
		wantBody      string
	}{
		{name: "jar: valid token", jar: []*http.Cookie{{Name: name, Value: good, Path: "/"}}, wantStatus: 200, wantBody: "sub=user-1"},
		{name: "jar: expired token", jar: []*http.Cookie{{Name: name, Value: expired, Path: "/"}}, wantStatus: 401, wantChallenge: htChallenge("invalid_token", "token expired"), wantBody: htBody("invalid_token", "token expired")},
		{name: "jar: no cookie", wantStatus: 401, wantChallenge: htBare, wantBody: htNoTokenBody},
		{name: "jar: other cookies only", jar: []*http.Cookie{{Name: "session", Value: good, Path: "/"}}, wantStatus: 401, wantChallenge: htBare, wantBody: htNoTokenBody},
		{name: "jar: empty cookie", jar: []*http.Cookie{{Name: name, Value: "", Path: "/"}}, wantStatus: 401, wantChallenge: htBare, wantBody: htNoTokenBody},
		{
			name: "jar: second cookie on a deeper path (cookie tossing)",
			jar: []*http.Cookie{
				{Name: name, Value: good, Path: "/"},
				{Name: name, Value: expired, Path: "/private"},
			},
			path: "/private/1", wantStatus: 400, wantChallenge: htBadRequest("more than one " + name + " cookie"), wantBody: htBadRequestObj("more than one " + name + " cookie"),
		},
		{name: "header: quoted value", header: http.Header{"Cookie": {name + `="` + good + `"`}}, wantStatus: 200, wantBody: "sub=user-1"},
		{name: "header: among other cookies", header: http.Header{"Cookie": {"a=b; " + name + "=" + good + "; c=d"}}, wantStatus: 200, wantBody: "sub=user-1"},
		{name: "header: two cookies of the name", header: http.Header{"Cookie": {name + "=" + good + "; " + name + "=" + good}}, wantStatus: 400, wantChallenge: htBadRequest("more than one " + name + " cookie"), wantBody: htBadRequestObj("more than one " + name + " cookie")},
		{name: "header: empty cookie", header: http.Header{"Cookie": {name + "="}}, wantStatus: 401, wantChallenge: htBare, wantBody: htNoTokenBody},
		{name: "header: Authorization is not a configured source", header: http.Header{"Authorization": {"Bearer " + good}}, wantStatus: 401, wantChallenge: htBare, wantBody: htNoTokenBody},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			client := &http.Client{Jar: htJar(t, u, tt.jar...), Transport: srv.Client().Transport}
			path := tt.path
			if path == "" {
				path = "/"
			}
			before := echo.calls.Load()
			got := htDo(t, client, http.MethodGet, srv.URL+path, tt.header)
			htAssertResponse(t, got, tt.wantStatus, tt.wantChallenge, tt.wantBody)
			wantCalls := int64(0)
			if tt.wantStatus == http.StatusOK {
				wantCalls = 1
			}
			assert.Equal(t, wantCalls, echo.calls.Load()-before, "calls of the protected handler")
		})
	}
}

// TestServeMuxRoutes protects only some routes of a Go 1.22 pattern mux,
// and then the whole mux.
func TestServeMuxRoutes(t *testing.T) {
	mw := htNew(t)
	var calls atomic.Int64
	mux := http.NewServeMux()
	mux.HandleFunc("GET /public", func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		_, ok := jwtguard.FromContext(r.Context())
		_, _ = fmt.Fprintf(w, "public claims=%t", ok)
	})
	mux.Handle("GET /private/{id}", mw.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		c, _ := jwtguard.FromContext(r.Context())
		_, _ = fmt.Fprintf(w, "private %s for %s", r.PathValue("id"), c.Subject)
	})))
	auth := http.Header{"Authorization": {"Bearer " + htToken(t, nil)}}

	tests := []struct {
		name          string
		handler       http.Handler
		method        string
		path          string
		header        http.Header
		wantStatus    int
		wantChallenge string
		wantBody      string
	}{
		{name: "public route without token", handler: mux, method: "GET", path: "/public", wantStatus: 200, wantBody: "public claims=false"},
		{name: "public route ignores a bad token", handler: mux, method: "GET", path: "/public", header: http.Header{"Authorization": {"Bearer bad"}}, wantStatus: 200, wantBody: "public claims=false"},
		{name: "private route without token", handler: mux, method: "GET", path: "/private/42", wantStatus: 401, wantChallenge: htBare, wantBody: htNoTokenBody},
		{name: "private route with token keeps the path value", handler: mux, method: "GET", path: "/private/42", header: auth, wantStatus: 200, wantBody: "private 42 for user-1"},
		{name: "private route, wrong method, answered by the mux", handler: mux, method: "POST", path: "/private/42", wantStatus: 405, wantBody: "Method Not Allowed\n"},
		{name: "unknown route", handler: mux, method: "GET", path: "/nowhere", header: auth, wantStatus: 404, wantBody: "404 page not found\n"},
		{name: "whole mux: public route needs a token", handler: mw.Handler(mux), method: "GET", path: "/public", wantStatus: 401, wantChallenge: htBare, wantBody: htNoTokenBody},
		{name: "whole mux: public route sees the claims", handler: mw.Handler(mux), method: "GET", path: "/public", header: auth, wantStatus: 200, wantBody: "public claims=true"},
		{name: "whole mux: unknown route needs a token", handler: mw.Handler(mux), method: "GET", path: "/nowhere", wantStatus: 401, wantChallenge: htBare, wantBody: htNoTokenBody},
		{name: "whole mux: private route, authenticated twice", handler: mw.Handler(mux), method: "GET", path: "/private/7", header: auth, wantStatus: 200, wantBody: "private 7 for user-1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(tt.handler)
			defer srv.Close()
			before := calls.Load()
			got := htDo(t, srv.Client(), tt.method, srv.URL+tt.path, tt.header)
			htAssertResponse(t, got, tt.wantStatus, tt.wantChallenge, tt.wantBody)
			if tt.wantStatus != http.StatusOK {
				assert.Equal(t, before, calls.Load(), "no handler may run")
			}
		})
	}
}

// TestOptional checks optional authentication: no token passes without
// claims, a present token must be valid.
func TestOptional(t *testing.T) {
	echo := &htEcho{}
	srv := httptest.NewServer(htNew(t).Optional(echo))
	t.Cleanup(srv.Close)

	tests := []struct {
		name          string
		header        http.Header
		wantStatus    int
		wantChallenge string
		wantBody      string
	}{
		{name: "no token passes without claims", wantStatus: 200, wantBody: "anonymous"},
		{name: "another scheme passes without claims", header: http.Header{"Authorization": {"Basic dXNlcjpwYXNz"}}, wantStatus: 200, wantBody: "anonymous"},
		{name: "good token passes with claims", header: http.Header{"Authorization": {"Bearer " + htToken(t, nil)}}, wantStatus: 200, wantBody: "sub=user-1"},
		{name: "bad token is rejected", header: http.Header{"Authorization": {"Bearer " + htToken(t, map[string]any{"exp": testNow.Unix()})}}, wantStatus: 401, wantChallenge: htChallenge("invalid_token", "token expired"), wantBody: htBody("invalid_token", "token expired")},
		{name: "garbage token is rejected", header: http.Header{"Authorization": {"Bearer x.y.z"}}, wantStatus: 401, wantChallenge: htChallenge("invalid_token", "malformed token"), wantBody: htBody("invalid_token", "malformed token")},
		{name: "malformed request is rejected", header: http.Header{"Authorization": {"Bearer"}}, wantStatus: 400, wantChallenge: htBadRequest("bearer scheme without a token"), wantBody: htBadRequestObj("bearer scheme without a token")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := echo.calls.Load()
			got := htDo(t, srv.Client(), http.MethodGet, srv.URL, tt.header)
			htAssertResponse(t, got, tt.wantStatus, tt.wantChallenge, tt.wantBody)
			if tt.wantStatus != http.StatusOK {
				assert.Equal(t, before, echo.calls.Load(), "the handler must not run")
			}
		})
	}
}

// TestRequireScopeAndRole checks the 403 helpers nested inside Handler,
// inside Optional, and standing alone.
func TestRequireScopeAndRole(t *testing.T) {
	mw := htNew(t)
	good := "Bearer " + htToken(t, nil) // scope "orders:read orders:write", roles [reader]
	forbidden := func(scope string) string {
		c := htChallenge("insufficient_scope", "insufficient scope")
		if scope != "" {
			c += `, scope="` + scope + `"`
		}
		return c
	}
	type wrap func(http.Handler) http.Handler
	nested := func(inner wrap) wrap { return func(h http.Handler) http.Handler { return mw.Handler(inner(h)) } }

	tests := []struct {
		name          string
		wrap          wrap
		authorization string
		wantStatus    int
		wantChallenge string
		wantBody      string
	}{
		{name: "nested scope granted", wrap: nested(mw.RequireScope("orders:read")), authorization: good, wantStatus: 200, wantBody: "sub=user-1"},
		{name: "nested scopes all granted", wrap: nested(mw.RequireScope("orders:read", "orders:write")), authorization: good, wantStatus: 200, wantBody: "sub=user-1"},
		{name: "nested scope missing", wrap: nested(mw.RequireScope("admin")), authorization: good, wantStatus: 403, wantChallenge: forbidden("admin"), wantBody: htForbiddenBody},
		{name: "nested scopes, one missing", wrap: nested(mw.RequireScope("orders:read", "admin")), authorization: good, wantStatus: 403, wantChallenge: forbidden("orders:read admin"), wantBody: htForbiddenBody},
		{name: "scope prefix is not the scope", wrap: nested(mw.RequireScope("orders")), authorization: good, wantStatus: 403, wantChallenge: forbidden("orders"), wantBody: htForbiddenBody},
		{name: "no scopes required denies", wrap: nested(mw.RequireScope()), authorization: good, wantStatus: 403, wantChallenge: forbidden(""), wantBody: htForbiddenBody},
		{name: "nested role granted", wrap: nested(mw.RequireRole("reader")), authorization: good, wantStatus: 200, wantBody: "sub=user-1"},
		{name: "nested role missing, named, no scope in the challenge", wrap: nested(mw.RequireRole("admin")), authorization: good, wantStatus: 403,
			wantChallenge: htChallenge("insufficient_scope", "role required: admin"), wantBody: htBody("insufficient_scope", "role required: admin")},
		{name: "nested roles, one missing, named", wrap: nested(mw.RequireRole("reader", "admin")), authorization: good, wantStatus: 403,
			wantChallenge: htChallenge("insufficient_scope", "roles required: reader admin"), wantBody: htBody("insufficient_scope", "roles required: reader admin")},
		{name: "no roles required denies", wrap: nested(mw.RequireRole()), authorization: good, wantStatus: 403, wantChallenge: forbidden(""), wantBody: htForbiddenBody},
		{name: "nested: no token stops at Handler", wrap: nested(mw.RequireScope("admin")), wantStatus: 401, wantChallenge: htBare, wantBody: htNoTokenBody},
		{name: "standalone scope granted", wrap: mw.RequireScope("orders:write"), authorization: good, wantStatus: 200, wantBody: "sub=user-1"},
		{name: "standalone scope missing", wrap: mw.RequireScope("admin"), authorization: good, wantStatus: 403, wantChallenge: forbidden("admin"), wantBody: htForbiddenBody},
		{name: "standalone scope, no token", wrap: mw.RequireScope("orders:read"), wantStatus: 401, wantChallenge: htBare, wantBody: htNoTokenBody},
		{name: "standalone scope, expired token", wrap: mw.RequireScope("orders:read"), authorization: "Bearer " + htToken(t, map[string]any{"exp": testNow.Unix() - 1}), wantStatus: 401, wantChallenge: htChallenge("invalid_token", "token expired"), wantBody: htBody("invalid_token", "token expired")},
		{name: "standalone scope, Bearer alone", wrap: mw.RequireScope("orders:read"), authorization: "Bearer", wantStatus: 400, wantChallenge: htBadRequest("bearer scheme without a token"), wantBody: htBadRequestObj("bearer scheme without a token")},
		{name: "standalone role granted", wrap: mw.RequireRole("reader"), authorization: good, wantStatus: 200, wantBody: "sub=user-1"},
		{name: "standalone role missing", wrap: mw.RequireRole("admin"), authorization: good, wantStatus: 403,
			wantChallenge: htChallenge("insufficient_scope", "role required: admin"), wantBody: htBody("insufficient_scope", "role required: admin")},
		{name: "inside Optional: no token still needs one", wrap: func(h http.Handler) http.Handler { return mw.Optional(mw.RequireScope("orders:read")(h)) }, wantStatus: 401, wantChallenge: htBare, wantBody: htNoTokenBody},
		{name: "inside Optional: token with the scope", wrap: func(h http.Handler) http.Handler { return mw.Optional(mw.RequireScope("orders:read")(h)) }, authorization: good, wantStatus: 200, wantBody: "sub=user-1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			echo := &htEcho{}
			srv := httptest.NewServer(tt.wrap(echo))
			defer srv.Close()
			var header http.Header
			if tt.authorization != "" {
				header = http.Header{"Authorization": {tt.authorization}}
			}
			got := htDo(t, srv.Client(), http.MethodGet, srv.URL, header)
			htAssertResponse(t, got, tt.wantStatus, tt.wantChallenge, tt.wantBody)
			wantCalls := int64(0)
			if tt.wantStatus == http.StatusOK {
				wantCalls = 1
			}
			assert.Equal(t, wantCalls, echo.calls.Load())
		})
	}
}

// TestRequireScopeDecidesOnTokenClaims checks what RequireScope and
// RequireRole decide on the claims of a token, for claims types with and
// without HasScope and HasRole.
func TestRequireScopeDecidesOnTokenClaims(t *testing.T) {
	type plainClaims struct {
		Subject string `json:"sub"`
	}
	mw := htNew(t)
	custom := htNew(t, jwtguard.WithClaimsType[htCustomClaims]())
	plain := htNew(t, jwtguard.WithClaimsType[plainClaims]())
	tok := func(changes map[string]any) string { return "Bearer " + htToken(t, changes) }
	tests := []struct {
		name          string
		guard         func(http.Handler) http.Handler
		authorization string
		wantStatus    int
	}{
		{name: "scope granted", guard: mw.RequireScope("admin"), authorization: tok(map[string]any{"scope": "admin"}), wantStatus: 200},
		{name: "scope missing", guard: mw.RequireScope("admin"), authorization: tok(map[string]any{"scope": "orders:read"}), wantStatus: 403},
		{name: "role granted", guard: mw.RequireRole("admin"), authorization: tok(map[string]any{"roles": []string{"admin"}}), wantStatus: 200},
		{name: "role missing", guard: mw.RequireRole("admin"), authorization: tok(map[string]any{"roles": []string{"reader"}}), wantStatus: 403},
		{name: "custom claims embedding Claims", guard: custom.RequireScope("admin"), authorization: tok(map[string]any{"scope": "admin"}), wantStatus: 200},
		{name: "claims type without HasScope is denied", guard: plain.RequireScope("admin"), authorization: tok(map[string]any{"scope": "admin"}), wantStatus: 403},
		{name: "claims type without HasRole is denied", guard: plain.RequireRole("admin"), authorization: tok(map[string]any{"roles": []string{"admin"}}), wantStatus: 403},
		{name: "no claims and no token", guard: mw.RequireScope("admin"), wantStatus: 401},
		{name: "space-separated scopes in one argument, all granted", guard: mw.RequireScope("admin orders:read"),
			authorization: tok(map[string]any{"scope": "orders:read admin"}), wantStatus: 200},
		{name: "space-separated scopes in one argument, one missing", guard: mw.RequireScope("admin orders:read"),
			authorization: tok(map[string]any{"scope": "admin"}), wantStatus: 403},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var calls int
			h := tt.guard(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { calls++ }))
			got := htRecord(h, htRequest(t, tt.authorization))
			assert.Equal(t, tt.wantStatus, got.status)
			assert.Equal(t, tt.wantStatus == http.StatusOK, calls == 1)
		})
	}
}

// TestRequireScopeTrustsOnlyEqualGuards: RequireScope and RequireRole rely
// on claims in the context only when a middleware that accepts the same
// tokens verified them; otherwise they authenticate the request themselves.
func TestRequireScopeTrustsOnlyEqualGuards(t *testing.T) {
	k1, k2 := secret256, otherSecret
	outer, err := jwtguard.New(jwtguard.WithKey("HS256", k1), jwtguard.WithAudience("public-api"), jwtguard.WithClock(fixedClock))
	require.NoError(t, err)
	var adminVerified atomic.Int64
	admin, err := jwtguard.New(jwtguard.WithKey("HS256", k2), jwtguard.WithAudience("admin-api"), jwtguard.WithClock(fixedClock),
		jwtguard.WithSuccessHook(func(*http.Request, any) { adminVerified.Add(1) }))
	require.NoError(t, err)
	// The same keys as outer, for another audience.
	sameKey, err := jwtguard.New(jwtguard.WithKey("HS256", k1), jwtguard.WithAudience("admin-api"), jwtguard.WithClock(fixedClock),
		jwtguard.WithSuccessHook(func(*http.Request, any) { adminVerified.Add(1) }))
	require.NoError(t, err)
	// Another middleware made with outer's options: it accepts the same tokens.
	twin, err := jwtguard.New(jwtguard.WithKey("HS256", k1), jwtguard.WithAudience("public-api"), jwtguard.WithClock(fixedClock),
		jwtguard.WithSuccessHook(func(*http.Request, any) { adminVerified.Add(1) }))
	require.NoError(t, err)

	mint := func(secret []byte, aud any) string {
		return "Bearer " + sign(t, jwt.SigningMethodHS256, secret, claimsWith(map[string]any{"aud": aud, "roles": []string{"admin"}}), nil)
	}
	public := mint(k1, "public-api")
	tests := []struct {
		name          string
		handler       func(http.Handler) http.Handler
		authorization string
		wantStatus    int
		wantVerified  int64 // times the inner middleware verified the token itself
	}{
		{name: "another guard's claims are not trusted", handler: func(h http.Handler) http.Handler {
			return outer.Handler(admin.RequireRole("admin")(h))
		}, authorization: public, wantStatus: 401},
		{name: "the inner guard alone", handler: admin.RequireRole("admin"), authorization: public, wantStatus: 401},
		{name: "the inner guard's own token, refused by the outer one", handler: func(h http.Handler) http.Handler {
			return outer.Handler(admin.RequireRole("admin")(h))
		}, authorization: mint(k2, "admin-api"), wantStatus: 401},
		{name: "the same keys for another audience are not trusted", handler: func(h http.Handler) http.Handler {
			return outer.Handler(sameKey.RequireRole("admin")(h))
		}, authorization: public, wantStatus: 401},
		{name: "a token for both audiences passes both, verified by each", handler: func(h http.Handler) http.Handler {
			return outer.Handler(sameKey.RequireRole("admin")(h))
		}, authorization: mint(k1, []string{"public-api", "admin-api"}), wantStatus: 200, wantVerified: 1},
		{name: "a guard accepting the same tokens is trusted: one verification", handler: func(h http.Handler) http.Handler {
			return outer.Handler(twin.RequireRole("admin")(h))
		}, authorization: public, wantStatus: 200},
		{name: "the same guard", handler: func(h http.Handler) http.Handler {
			return outer.Handler(outer.RequireRole("admin")(h))
		}, authorization: public, wantStatus: 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			adminVerified.Store(0)
			var calls int
			h := tt.handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { calls++ }))
			got := htRecord(h, htRequest(t, tt.authorization))
			assert.Equal(t, tt.wantStatus, got.status)
			assert.Equal(t, tt.wantStatus == http.StatusOK, calls == 1)
			assert.Equal(t, tt.wantVerified, adminVerified.Load())
		})
	}
}

// TestRequireScopeDoesNotTrustNewContext: claims put in the context with
// NewContext reach handlers, but RequireScope and RequireRole decide on the
// request's own token.
func TestRequireScopeDoesNotTrustNewContext(t *testing.T) {
	mw := htNew(t)
	adminClaims := &jwtguard.Claims{Scope: "admin", Roles: []string{"admin"}}
	tests := []struct {
		name          string
		claims        *jwtguard.Claims
		guard         func(http.Handler) http.Handler
		authorization string
		wantStatus    int
		wantBody      string
	}{
		{name: "scope in NewContext claims, no token", claims: adminClaims, guard: mw.RequireScope("admin"), wantStatus: 401},
		{name: "role in NewContext claims, no token", claims: adminClaims, guard: mw.RequireRole("admin"), wantStatus: 401},
		{name: "nil NewContext claims, no token: not a panic", guard: mw.RequireScope("admin"), wantStatus: 401},
		{name: "the token's claims decide, not NewContext's", claims: adminClaims, guard: mw.RequireRole("admin"),
			authorization: "Bearer " + htToken(t, nil), wantStatus: 403},
		{name: "the token's claims reach the handler", claims: &jwtguard.Claims{RegisteredClaims: jwt.RegisteredClaims{Subject: "someone-else"}},
			guard: mw.RequireRole("reader"), authorization: "Bearer " + htToken(t, nil), wantStatus: 200, wantBody: "sub=user-1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			echo := &htEcho{}
			r := htRequest(t, tt.authorization)
			r = r.WithContext(jwtguard.NewContext(r.Context(), tt.claims))
			got := htRecord(tt.guard(echo), r)
			assert.Equal(t, tt.wantStatus, got.status)
			assert.Equal(t, tt.wantStatus == http.StatusOK, echo.calls.Load() == 1)
			if tt.wantBody != "" {
				assert.Equal(t, tt.wantBody, got.body)
			}
		})
	}
}

// TestPreflight checks that a CORS preflight request needs a token like any
// other request, that WithInsecurePreflightPassthrough lets it through, and
// that other OPTIONS requests need a token either way.
func TestPreflight(t *testing.T) {
	preflight := http.Header{"Origin": {"https://app.example"}, "Access-Control-Request-Method": {"POST"}}
	passthrough := []jwtguard.Option{jwtguard.WithInsecurePreflightPassthrough()}
	scope := func(mw *jwtguard.Middleware) func(http.Handler) http.Handler { return mw.RequireScope("admin") }
	tests := []struct {
		name       string
		opts       []jwtguard.Option
		guard      func(mw *jwtguard.Middleware) func(http.Handler) http.Handler
		method     string
		header     http.Header
		wantStatus int
		wantBody   string
	}{
		{name: "preflight: Handler", method: "OPTIONS", header: preflight, wantStatus: 401, wantBody: htNoTokenBody},
		{name: "preflight: standalone RequireScope", guard: scope, method: "OPTIONS", header: preflight, wantStatus: 401, wantBody: htNoTokenBody},
		{name: "WithInsecurePreflightPassthrough: Handler", opts: passthrough, method: "OPTIONS", header: preflight, wantStatus: 200, wantBody: "anonymous"},
		{name: "WithInsecurePreflightPassthrough: RequireScope", opts: passthrough, guard: scope, method: "OPTIONS", header: preflight, wantStatus: 200, wantBody: "anonymous"},
		{name: "OPTIONS without CORS headers", method: "OPTIONS", wantStatus: 401, wantBody: htNoTokenBody},
		{name: "OPTIONS with Origin only", method: "OPTIONS", header: http.Header{"Origin": {"https://app.example"}}, wantStatus: 401, wantBody: htNoTokenBody},
		{name: "OPTIONS with Access-Control-Request-Method only", method: "OPTIONS", header: http.Header{"Access-Control-Request-Method": {"POST"}}, wantStatus: 401, wantBody: htNoTokenBody},
		{name: "GET with preflight headers", method: "GET", header: preflight, wantStatus: 401, wantBody: htNoTokenBody},
		{name: "WithInsecurePreflightPassthrough: OPTIONS without CORS headers", opts: passthrough, method: "OPTIONS", wantStatus: 401, wantBody: htNoTokenBody},
		{name: "WithInsecurePreflightPassthrough: GET with preflight headers", opts: passthrough, method: "GET", header: preflight, wantStatus: 401, wantBody: htNoTokenBody},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mw := htNew(t, tt.opts...)
			guard := mw.Handler
			if tt.guard != nil {
				guard = tt.guard(mw)
			}
			echo := &htEcho{}
			srv := httptest.NewServer(guard(echo))
			defer srv.Close()
			got := htDo(t, srv.Client(), tt.method, srv.URL, tt.header)
			challenge := ""
			if tt.wantStatus == http.StatusUnauthorized {
				challenge = htBare
			}
			htAssertResponse(t, got, tt.wantStatus, challenge, tt.wantBody)
			assert.Equal(t, tt.wantStatus == http.StatusOK, echo.calls.Load() == 1)
		})
	}
}

// TestHooks checks that the success hook gets the claims and the failure
// hook an errors.Is-able reason, each at most once per request.
func TestHooks(t *testing.T) {
	good := "Bearer " + htToken(t, nil)
	tests := []struct {
		name          string
		guard         func(mw *jwtguard.Middleware) http.Handler
		authorization string
		wantSuccess   int
		wantFailure   int
		wantErr       []error // the failure reason matches all of them
		wantStatus    int
	}{
		{name: "success", authorization: good, wantSuccess: 1, wantStatus: 200},
		{name: "no token", wantFailure: 1, wantErr: []error{jwtguard.ErrNoToken}, wantStatus: 401},
		{name: "malformed request", authorization: "Bearer", wantFailure: 1, wantErr: []error{jwtguard.ErrMalformedRequest}, wantStatus: 400},
		{name: "expired", authorization: "Bearer " + htToken(t, map[string]any{"exp": testNow.Unix() - 1}), wantFailure: 1,
			wantErr: []error{jwtguard.ErrExpired, jwtguard.ErrInvalidToken, jwt.ErrTokenExpired}, wantStatus: 401},
		{name: "bad signature", authorization: "Bearer " + rawHS256(t, `{"alg":"HS256"}`, mustJSON(t, htClaims(nil)), []byte("another-secret-another-secret-32")), wantFailure: 1,
			wantErr: []error{jwtguard.ErrSignature, jwtguard.ErrInvalidToken, jwt.ErrTokenSignatureInvalid}, wantStatus: 401},
		{name: "wrong audience", authorization: "Bearer " + htToken(t, map[string]any{"aud": "other"}), wantFailure: 1,
			wantErr: []error{jwtguard.ErrAudience, jwtguard.ErrInvalidToken, jwt.ErrTokenInvalidAudience}, wantStatus: 401},
		{name: "optional, no token: no hook", guard: func(mw *jwtguard.Middleware) http.Handler { return mw.Optional(&htEcho{}) }, wantStatus: 200},
		{name: "optional, good token", guard: func(mw *jwtguard.Middleware) http.Handler { return mw.Optional(&htEcho{}) }, authorization: good, wantSuccess: 1, wantStatus: 200},
		{name: "nested scope granted: success once", guard: func(mw *jwtguard.Middleware) http.Handler {
			return mw.Handler(mw.RequireScope("orders:read")(&htEcho{}))
		}, authorization: good, wantSuccess: 1, wantStatus: 200},
		{name: "nested scope denied: authenticated, then refused", guard: func(mw *jwtguard.Middleware) http.Handler {
			return mw.Handler(mw.RequireScope("admin")(&htEcho{}))
		}, authorization: good, wantSuccess: 1, wantFailure: 1, wantErr: []error{jwtguard.ErrInsufficientScope}, wantStatus: 403},
		{name: "nested scope, no token: failure once", guard: func(mw *jwtguard.Middleware) http.Handler {
			return mw.Handler(mw.RequireScope("admin")(&htEcho{}))
		}, wantFailure: 1, wantErr: []error{jwtguard.ErrNoToken}, wantStatus: 401},
		{name: "standalone scope granted: success once", guard: func(mw *jwtguard.Middleware) http.Handler {
			return mw.RequireScope("orders:read")(&htEcho{})
		}, authorization: good, wantSuccess: 1, wantStatus: 200},
		{name: "standalone role denied: authenticated, then refused", guard: func(mw *jwtguard.Middleware) http.Handler {
			return mw.RequireRole("admin")(&htEcho{})
		}, authorization: good, wantSuccess: 1, wantFailure: 1, wantErr: []error{jwtguard.ErrInsufficientScope}, wantStatus: 403},
		{name: "standalone scope, expired: failure once", guard: func(mw *jwtguard.Middleware) http.Handler {
			return mw.RequireScope("admin")(&htEcho{})
		}, authorization: "Bearer " + htToken(t, map[string]any{"exp": testNow.Unix() - 1}), wantFailure: 1, wantErr: []error{jwtguard.ErrExpired}, wantStatus: 401},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var (
				successes, failures int
				subject             string
				reason              error
				failureHadClaims    bool
			)
			mw := htNew(t,
				jwtguard.WithSuccessHook(func(r *http.Request, claims any) {
					successes++
					subject = claims.(*jwtguard.Claims).Subject
					// The hook sees the request that next will get.
					c, ok := jwtguard.FromContext(r.Context())
					assert.True(t, ok)
					assert.Same(t, claims, c)
				}),
				jwtguard.WithFailureHook(func(r *http.Request, err error) {
					failures++
					reason = err
					_, failureHadClaims = jwtguard.FromContext(r.Context())
				}),
			)
			var h http.Handler = mw.Handler(&htEcho{})
			if tt.guard != nil {
				h = tt.guard(mw)
			}
			got := htRecord(h, htRequest(t, tt.authorization))
			assert.Equal(t, tt.wantStatus, got.status)
			assert.Equal(t, tt.wantSuccess, successes, "success hook calls")
			assert.Equal(t, tt.wantFailure, failures, "failure hook calls")
			if tt.wantSuccess > 0 {
				assert.Equal(t, "user-1", subject)
			}
			for _, want := range tt.wantErr {
				assert.ErrorIs(t, reason, want)
			}
			if tt.wantStatus == http.StatusUnauthorized || tt.wantStatus == http.StatusBadRequest {
				assert.False(t, failureHadClaims, "a rejected request carries no claims")
			}
		})
	}
}

// TestErrorHandler checks that WithErrorHandler replaces the default
// response entirely and gets the reason and a request without claims.
func TestErrorHandler(t *testing.T) {
	var (
		mu       sync.Mutex
		reason   error
		claimsIn bool
	)
	mw := htNew(t, jwtguard.WithRealm("never-seen"), jwtguard.WithErrorHandler(func(w http.ResponseWriter, r *http.Request, err error) {
		mu.Lock()
		reason = err
		_, claimsIn = jwtguard.FromContext(r.Context())
		mu.Unlock()
		w.Header().Set("Content-Type", "text/plain")
		w.WriteHeader(http.StatusTeapot)
		_, _ = io.WriteString(w, "custom")
	}))
	echo := &htEcho{}
	srv := httptest.NewServer(mw.Handler(echo))
	t.Cleanup(srv.Close)

	tests := []struct {
		name    string
		header  http.Header
		wantErr error
	}{
		{name: "no token", wantErr: jwtguard.ErrNoToken},
		{name: "malformed request", header: http.Header{"Authorization": {"Bearer", "Bearer"}}, wantErr: jwtguard.ErrMalformedRequest},
		{name: "expired", header: http.Header{"Authorization": {"Bearer " + htToken(t, map[string]any{"exp": testNow.Unix() - 60})}}, wantErr: jwtguard.ErrExpired},
		{name: "wrong issuer", header: http.Header{"Authorization": {"Bearer " + htToken(t, map[string]any{"iss": "https://evil.test"})}}, wantErr: jwtguard.ErrIssuer},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := htDo(t, srv.Client(), http.MethodGet, srv.URL, tt.header)
			htAssertResponse(t, got, http.StatusTeapot, "", "custom")
			assert.Equal(t, "text/plain", got.header.Get("Content-Type"))
			assert.Empty(t, got.header.Get("Cache-Control"))
			mu.Lock()
			defer mu.Unlock()
			assert.ErrorIs(t, reason, tt.wantErr)
			assert.False(t, claimsIn)
		})
	}
	t.Run("insufficient scope", func(t *testing.T) {
		h := mw.Handler(mw.RequireScope("admin")(echo))
		got := htRecord(h, htRequest(t, "Bearer "+htToken(t, nil)))
		htAssertResponse(t, got, http.StatusTeapot, "", "custom")
		assert.ErrorIs(t, reason, jwtguard.ErrInsufficientScope)
	})
	assert.Zero(t, echo.calls.Load())
}

// TestCheck uses the pure check, with no ResponseWriter at all.
func TestCheck(t *testing.T) {
	mw := htNew(t)
	tests := []struct {
		name    string
		req     func(t *testing.T) *http.Request
		wantSub string
		wantErr error
	}{
		{name: "valid", req: func(t *testing.T) *http.Request { return htRequest(t, "Bearer "+htToken(t, nil)) }, wantSub: "user-1"},
		{name: "no token", req: func(t *testing.T) *http.Request { return htRequest(t, "") }, wantErr: jwtguard.ErrNoToken},
		{name: "Basic", req: func(t *testing.T) *http.Request { return htRequest(t, "Basic Zm9vOmJhcg==") }, wantErr: jwtguard.ErrNoToken},
		{name: "Bearer alone", req: func(t *testing.T) *http.Request { return htRequest(t, "Bearer ") }, wantErr: jwtguard.ErrMalformedRequest},
		{name: "not yet valid", req: func(t *testing.T) *http.Request {
			return htRequest(t, "Bearer "+htToken(t, map[string]any{"nbf": testNow.Add(time.Hour).Unix()}))
		}, wantErr: jwtguard.ErrNotYetValid},
		{name: "refresh token", req: func(t *testing.T) *http.Request {
			return htRequest(t, "Bearer "+htToken(t, map[string]any{"type": jwtguard.TypeRefresh}))
		}, wantErr: jwtguard.ErrTokenType},
		{name: "hand-built server request (no URL scheme or host)", req: func(t *testing.T) *http.Request {
			return &http.Request{Method: "GET", URL: &url.URL{Path: "/"}, Header: http.Header{"Authorization": {"Bearer " + htToken(t, nil)}}}
		}, wantSub: "user-1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			claims, err := mw.Check(tt.req(t))
			if tt.wantErr != nil {
				assert.ErrorIs(t, err, tt.wantErr)
				assert.Nil(t, claims)
				return
			}
			require.NoError(t, err)
			c, ok := claims.(*jwtguard.Claims)
			require.True(t, ok, "%T", claims)
			assert.Equal(t, tt.wantSub, c.Subject)
		})
	}
	t.Run("Verify takes a bare token", func(t *testing.T) {
		claims, err := mw.Verify(t.Context(), htToken(t, nil))
		require.NoError(t, err)
		assert.Equal(t, "user-1", claims.(*jwtguard.Claims).Subject)
		_, err = mw.Verify(t.Context(), "")
		assert.ErrorIs(t, err, jwtguard.ErrNoToken)
	})
}

// TestNilHandlerPanics checks that wrapping a nil handler fails at once,
// not on the first request.
func TestNilHandlerPanics(t *testing.T) {
	mw := htNew(t)
	tests := []struct {
		name string
		wrap func(http.Handler) http.Handler
	}{
		{name: "Handler", wrap: mw.Handler},
		{name: "Optional", wrap: mw.Optional},
		{name: "RequireScope", wrap: mw.RequireScope("a")},
		{name: "RequireRole", wrap: mw.RequireRole("a")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.PanicsWithValue(t, "jwtguard: nil handler", func() { tt.wrap(nil) })
		})
	}
}

// TestConcurrentRequests sends many requests at once through one
// Middleware, with handlers that change their claims; run it with -race.
func TestConcurrentRequests(t *testing.T) {
	var failures atomic.Int64
	mw := htNew(t, jwtguard.WithFailureHook(func(*http.Request, error) { failures.Add(1) }))
	srv := httptest.NewServer(mw.Handler(mw.RequireRole("reader")(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, _ := jwtguard.FromContext(r.Context())
		sub := c.Subject
		c.Subject = "changed"
		c.Roles = append(c.Roles, "admin")
		_, _ = io.WriteString(w, sub)
	}))))
	t.Cleanup(srv.Close)

	const workers, perWorker = 8, 20
	tokens := make([]string, workers)
	for i := range tokens {
		tokens[i] = htToken(t, map[string]any{"sub": fmt.Sprintf("user-%d", i)})
	}
	expired := htToken(t, map[string]any{"exp": testNow.Unix() - 1})
	client := srv.Client()

	var wg sync.WaitGroup
	errs := make(chan error, workers*perWorker)
	for w := range workers {
		wg.Go(func() {
			for i := range perWorker {
				tok, want, status := tokens[w], fmt.Sprintf("user-%d", w), http.StatusOK
				if i%4 == 3 {
					tok, want, status = expired, "", http.StatusUnauthorized
				}
				req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, srv.URL, nil)
				if err != nil {
					errs <- err
					return
				}
				req.Header.Set("Authorization", "Bearer "+tok)
				resp, err := client.Do(req)
				if err != nil {
					errs <- err
					return
				}
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != status || status == http.StatusOK && string(b) != want {
					errs <- fmt.Errorf("worker %d: got %d %q, want %d %q", w, resp.StatusCode, b, status, want)
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		assert.NoError(t, err)
	}
	assert.Equal(t, int64(workers*perWorker/4), failures.Load())
}

// htDiscard is a ResponseWriter that keeps nothing, for allocation counts.
type htDiscard struct{ h http.Header }

func (d htDiscard) Header() http.Header       { return d.h }
func (htDiscard) Write(b []byte) (int, error) { return len(b), nil }
func (htDiscard) WriteHeader(int)             {}

// TestRequireScopeAllocations: finding the claims an equal guard verified
// allocates nothing: Handler with RequireScope inside costs what Handler
// alone costs. test.sh runs it without the race detector.
func TestRequireScopeAllocations(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts through sync.Pool are random under -race")
	}
	mw, twin := htNew(t), htNew(t)
	r := htRequest(t, "Bearer "+htToken(t, nil))
	w := htDiscard{h: http.Header{}}
	next := http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})
	alone := mw.Handler(next)
	for name, h := range map[string]http.Handler{
		"the same guard": mw.Handler(mw.RequireScope("orders:read")(next)),
		"an equal guard": mw.Handler(twin.RequireRole("reader")(next)),
	} {
		t.Run(name, func(t *testing.T) {
			base := testing.AllocsPerRun(100, func() { alone.ServeHTTP(w, r) })
			nested := testing.AllocsPerRun(100, func() { h.ServeHTTP(w, r) })
			assert.Equal(t, base, nested, "Handler alone: %v allocations", base)
		})
	}
}
