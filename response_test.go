package jwtguard_test

import (
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/jwtguard/jwtguard"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// htRejection is a request the middleware refuses, with the response the
// RFC 6750 table gives it.
type htRejection struct {
	name        string
	keys        bool   // use the two-key middleware (tokens need a kid)
	guard       string // "scope": behind RequireScope("admin")
	header      http.Header
	token       string // the token sent, to look for in the response
	wantErr     error
	wantStatus  int
	wantCode    string // "" for the bare challenge
	wantDesc    string
	wantScope   string
	invalidType bool // the error also matches ErrInvalidToken
}

// htRejections lists one request for each row of the response table.
func htRejections(t *testing.T) []htRejection {
	t.Helper()
	bearer := func(tok string) http.Header { return http.Header{"Authorization": {"Bearer " + tok}} }
	tok := func(changes map[string]any) string { return htToken(t, changes) }
	hour := testNow.Add(time.Hour).Unix()
	var rows []htRejection
	add := func(r htRejection) {
		if r.token == "" && r.header != nil {
			r.token = strings.TrimPrefix(r.header.Get("Authorization"), "Bearer ")
		}
		rows = append(rows, r)
	}
	invalid := func(name, token string, kind error, desc string) {
		add(htRejection{name: name, header: bearer(token), wantErr: kind, wantStatus: 401, wantCode: "invalid_token", wantDesc: desc, invalidType: true})
	}

	add(htRejection{name: "no token", wantErr: jwtguard.ErrNoToken, wantStatus: 401})
	add(htRejection{name: "Basic credentials", header: http.Header{"Authorization": {"Basic dXNlcjpwYXNz"}}, token: "dXNlcjpwYXNz", wantErr: jwtguard.ErrNoToken, wantStatus: 401})
	add(htRejection{name: "two Authorization headers", header: http.Header{"Authorization": {"Bearer " + tok(nil), "Bearer " + tok(nil)}}, token: tok(nil),
		wantErr: jwtguard.ErrMalformedRequest, wantStatus: 400, wantCode: "invalid_request", wantDesc: "more than one Authorization header"})
	add(htRejection{name: "space in the token", header: bearer("eyJh bGci"), wantErr: jwtguard.ErrMalformedRequest, wantStatus: 400, wantCode: "invalid_request", wantDesc: "bearer token contains white space"})
	invalid("not base64url", "eyJ!.eyJ.sig", jwtguard.ErrMalformedToken, "malformed token")
	invalid("two segments", "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0", jwtguard.ErrMalformedToken, "malformed token")
	invalid("larger than 4 KiB", tok(map[string]any{"pad": strings.Repeat("p", 4096)}), jwtguard.ErrMalformedToken, "token too large")
	invalid("20 KiB", "eyJ"+strings.Repeat("A", 20<<10)+".e30.sig", jwtguard.ErrMalformedToken, "token too large")
	invalid("payload not JSON", rawHS256(t, `{"alg":"HS256"}`, `not json`, secret256), jwtguard.ErrMalformedToken, "malformed token")
	invalid("HS384 not allowed", sign(t, jwt.SigningMethodHS384, secret384, htClaims(nil), nil), jwtguard.ErrAlgorithm, "algorithm not allowed")
	invalid("crit header", rawHS256(t, `{"alg":"HS256","crit":["exp"]}`, mustJSON(t, htClaims(nil)), secret256), jwtguard.ErrAlgorithm, "unsupported crit header: this verifier implements no JWS extension")
	invalid("signed with another secret", sign(t, jwt.SigningMethodHS256, []byte("another-secret-another-secret-32"), htClaims(nil), nil), jwtguard.ErrSignature, "invalid signature")
	invalid("no exp", tok(map[string]any{"exp": nil}), jwtguard.ErrMissingClaim, "missing required claim: exp")
	invalid("no type claim", tok(map[string]any{"type": nil}), jwtguard.ErrMissingClaim, "missing required claim: type")
	invalid("no iss", tok(map[string]any{"iss": nil}), jwtguard.ErrMissingClaim, "missing required claim: iss")
	invalid("no aud", tok(map[string]any{"aud": nil}), jwtguard.ErrMissingClaim, "missing required claim: aud")
	invalid("expired", tok(map[string]any{"exp": testNow.Add(-time.Second).Unix()}), jwtguard.ErrExpired, "token expired")
	invalid("nbf in the future", tok(map[string]any{"nbf": hour}), jwtguard.ErrNotYetValid, "token not valid yet")
	invalid("iat in the future", tok(map[string]any{"iat": hour, "nbf": nil}), jwtguard.ErrNotYetValid, "token not valid yet")
	invalid("wrong issuer", tok(map[string]any{"iss": "https://evil.test"}), jwtguard.ErrIssuer, "wrong issuer")
	invalid("wrong audience", tok(map[string]any{"aud": []string{"a", "b"}}), jwtguard.ErrAudience, "wrong audience")
	invalid("refresh token", tok(map[string]any{"type": jwtguard.TypeRefresh}), jwtguard.ErrTokenType, "wrong token type")
	for _, kid := range []string{"k9", `k1", error="none`, "<script>alert(1)</script>"} {
		add(htRejection{name: "unknown kid " + kid, keys: true,
			header:  bearer(sign(t, jwt.SigningMethodHS256, secret256, htClaims(nil), map[string]any{"kid": kid})),
			wantErr: jwtguard.ErrUnknownKey, wantStatus: 401, wantCode: "invalid_token", wantDesc: "unknown signing key", invalidType: true})
	}
	add(htRejection{name: "insufficient scope", guard: "scope", header: bearer(tok(nil)),
		wantErr: jwtguard.ErrInsufficientScope, wantStatus: 403, wantCode: "insufficient_scope", wantDesc: "insufficient scope", wantScope: "admin"})
	return rows
}

// htChallengeIn is the challenge of an error response in realm.
func htChallengeIn(realm, code, description, scope string) string {
	if code == "" {
		return `Bearer realm="` + realm + `"`
	}
	c := `Bearer realm="` + realm + `", error="` + code + `", error_description="` + description + `"`
	if scope != "" {
		c += `, scope="` + scope + `"`
	}
	return c
}

// TestResponses checks every row of the RFC 6750 response table over a real
// server, in the default realm and in a configured one, with the failure
// reason given to the hook.
func TestResponses(t *testing.T) {
	for _, realm := range []string{"", "orders api"} {
		t.Run("realm="+realm, func(t *testing.T) {
			var (
				mu     sync.Mutex
				reason error
			)
			opts := []jwtguard.Option{jwtguard.WithFailureHook(func(_ *http.Request, err error) {
				mu.Lock()
				reason = err
				mu.Unlock()
			})}
			wantRealm := jwtguard.DefaultRealm
			if realm != "" {
				opts = append(opts, jwtguard.WithRealm(realm))
				wantRealm = realm
			}
			echo := &htEcho{}
			one := htNew(t, opts...)
			twoKeys, err := jwtguard.New(append(opts,
				jwtguard.WithClock(fixedClock),
				jwtguard.WithKeys(
					jwtguard.Key{ID: "k1", Algorithm: "HS256", Key: secret256},
					jwtguard.Key{ID: "k2", Algorithm: "HS512", Key: secret512},
				))...)
			require.NoError(t, err)
			mux := http.NewServeMux()
			mux.Handle("/one", one.Handler(echo))
			mux.Handle("/two", twoKeys.Handler(echo))
			mux.Handle("/scope", one.Handler(one.RequireScope("admin")(echo)))
			srv := httptest.NewServer(mux)
			defer srv.Close()

			for _, tt := range htRejections(t) {
				t.Run(tt.name, func(t *testing.T) {
					path := "/one"
					switch {
					case tt.keys:
						path = "/two"
					case tt.guard == "scope":
						path = "/scope"
					}
					got := htDo(t, srv.Client(), http.MethodGet, srv.URL+path, tt.header)
					body := htBody(tt.wantCode, tt.wantDesc)
					if tt.wantCode == "" {
						body = htNoTokenBody
					}
					htAssertResponse(t, got, tt.wantStatus, htChallengeIn(wantRealm, tt.wantCode, tt.wantDesc, tt.wantScope), body)
					mu.Lock()
					defer mu.Unlock()
					assert.ErrorIs(t, reason, tt.wantErr)
					assert.Equal(t, tt.invalidType, errors.Is(reason, jwtguard.ErrInvalidToken), "matches ErrInvalidToken")
				})
			}
			assert.Zero(t, echo.calls.Load(), "the protected handler never runs")
		})
	}
}

// TestResponsesDoNotLeak checks that no response repeats the token, a part
// of it, golang-jwt's messages or this package's error strings.
func TestResponsesDoNotLeak(t *testing.T) {
	mw := htNew(t)
	twoKeys, err := jwtguard.New(jwtguard.WithClock(fixedClock), jwtguard.WithKeys(
		jwtguard.Key{ID: "k1", Algorithm: "HS256", Key: secret256},
		jwtguard.Key{ID: "k2", Algorithm: "HS512", Key: secret512},
	))
	require.NoError(t, err)
	forbidden := []string{"jwtguard", "signature is", "invalid type", "key is", "crypto/", "base64", "illegal", "panic", "goroutine"}
	for _, e := range []error{
		jwt.ErrTokenMalformed, jwt.ErrTokenUnverifiable, jwt.ErrTokenSignatureInvalid, jwt.ErrTokenRequiredClaimMissing,
		jwt.ErrTokenInvalidAudience, jwt.ErrTokenExpired, jwt.ErrTokenUsedBeforeIssued, jwt.ErrTokenInvalidIssuer,
		jwt.ErrTokenNotValidYet, jwt.ErrTokenInvalidClaims, jwt.ErrInvalidType, jwt.ErrSignatureInvalid, jwt.ErrInvalidKey, jwt.ErrInvalidKeyType,
	} {
		forbidden = append(forbidden, e.Error())
	}

	for _, tt := range htRejections(t) {
		t.Run(tt.name, func(t *testing.T) {
			h := mw.Handler(&htEcho{})
			switch {
			case tt.keys:
				h = twoKeys.Handler(&htEcho{})
			case tt.guard == "scope":
				h = mw.Handler(mw.RequireScope("admin")(&htEcho{}))
			}
			r := htRequest(t, "")
			r.Header = tt.header.Clone()
			if r.Header == nil {
				r.Header = http.Header{}
			}
			got := htRecord(h, r)
			require.Equal(t, tt.wantStatus, got.status)

			var texts []string
			texts = append(texts, got.body)
			for _, vs := range got.header {
				texts = append(texts, vs...)
			}
			all := strings.Join(texts, "\n")
			for _, f := range forbidden {
				assert.NotContains(t, all, f)
			}
			if tt.token != "" {
				assert.NotContains(t, all, tt.token)
				for _, seg := range strings.Split(tt.token, ".") {
					if len(seg) >= 8 {
						assert.NotContains(t, all, seg)
					}
				}
			}
			// Claims of the token never appear either.
			for _, claim := range []string{"user-1", htIssuer, "jti-1", "orders:read"} {
				assert.NotContains(t, all, claim)
			}
			// The only reflected data is the configured scope name.
			if tt.wantScope == "" {
				assert.NotContains(t, all, "scope=")
			}
		})
	}

	t.Run("a header-injection attempt in the kid is not reflected", func(t *testing.T) {
		kid := "k1\", error=\"none\"\r\nSet-Cookie: a=b"
		raw := rawHS256(t, `{"alg":"HS256","kid":`+mustJSON(t, kid)+`}`, mustJSON(t, htClaims(nil)), secret256)
		got := htRecord(twoKeys.Handler(&htEcho{}), htRequest(t, "Bearer "+raw))
		htAssertResponse(t, got, http.StatusUnauthorized, htChallenge("invalid_token", "unknown signing key"), htBody("invalid_token", "unknown signing key"))
		assert.Empty(t, got.header.Values("Set-Cookie"))
		decoded, err := base64.RawURLEncoding.DecodeString(strings.Split(raw, ".")[0])
		require.NoError(t, err)
		assert.NotContains(t, got.body, string(decoded))
	})
}

// TestRequireScopeChallengeIsQuotable checks that a scope name that could
// break out of the quoted-string of the challenge is stripped of the
// characters that would.
func TestRequireScopeChallengeIsQuotable(t *testing.T) {
	mw := htNew(t)
	tests := []struct {
		name      string
		scopes    []string
		wantScope string
	}{
		{name: "plain", scopes: []string{"orders:admin"}, wantScope: `, scope="orders:admin"`},
		{name: "several", scopes: []string{"a", "b"}, wantScope: `, scope="a b"`},
		{name: "quote and backslash removed", scopes: []string{`a"b\c`}, wantScope: `, scope="abc"`},
		{name: "CR LF is a separator, never in the header", scopes: []string{"a\r\nSet-Cookie: x=y"}, wantScope: `, scope="a Set-Cookie: x=y"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := mw.Handler(mw.RequireScope(tt.scopes...)(&htEcho{}))
			got := htRecord(h, htRequest(t, "Bearer "+htToken(t, nil)))
			assert.Equal(t, http.StatusForbidden, got.status)
			assert.Equal(t, []string{htChallenge("insufficient_scope", "insufficient scope") + tt.wantScope}, got.header.Values("WWW-Authenticate"))
		})
	}
}

// TestErrorDescription: the description of an error is the one its HTTP
// response carries when it has its own, else "".
func TestErrorDescription(t *testing.T) {
	mw, err := jwtguard.New(jwtguard.WithKey("HS256", secret256), jwtguard.WithClock(fixedClock))
	require.NoError(t, err)
	noSub := validClaims()
	delete(noSub, "sub")
	tests := []struct {
		name, token, want string
	}{
		{"too large", strings.Repeat("a", 9000), "token too large"},
		{"missing claim", hs256(t, noSub), "missing required claim: sub"},
		{"garbage", "not-a-jwt", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := mw.Verify(t.Context(), tt.token)
			require.Error(t, err)
			assert.Equal(t, tt.want, jwtguard.ErrorDescription(err))
			assert.Equal(t, tt.want, jwtguard.ErrorDescription(fmt.Errorf("wrapped: %w", err)))
		})
	}
	assert.Empty(t, jwtguard.ErrorDescription(nil))
	assert.Empty(t, jwtguard.ErrorDescription(jwtguard.ErrExpired))
}
