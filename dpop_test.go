package jwtguard_test

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jwtguard/jwtguard"
)

const dpopURL = "https://api.test/orders/7"

// dpopCase is one request to a middleware with DPoP on: a proof built by
// mutating a valid one, and what the middleware must answer.
type dpopCase struct {
	name    string
	client  string // the proof's alg ("" ES256); "other" signs with another P-256 key
	mode    jwtguard.DPoPMode
	opts    []jwtguard.DPoPOption
	method  string // "" GET
	target  string // "" dpopURL
	htu     string // "" dpopURL
	token   func(c *dpopClient) string
	header  func(h map[string]any)
	claims  func(p map[string]any)
	raw     func(proof string) string // replaces the serialised proof
	request func(r *http.Request)     // changes the request last
	status  int
	err     error  // what errors.Is must match
	detail  string // a part of the error message
	code    string // the error code in the challenge
}

// TestDPoPProofChecks has a row for every check of RFC 9449 §4.3 and the
// binding rules: each row changes one thing in a request that otherwise
// passes, so removing the check turns that row green.
func TestDPoPProofChecks(t *testing.T) {
	later := func(d time.Duration) func(p map[string]any) {
		return func(p map[string]any) { p["iat"] = fixedClock().Add(d).Unix() }
	}
	del := func(name string) func(p map[string]any) { return func(p map[string]any) { delete(p, name) } }
	set := func(name string, v any) func(p map[string]any) { return func(p map[string]any) { p[name] = v } }
	cases := []dpopCase{
		{name: "ES256 proof", status: 200},
		{name: "ES384 proof", client: "ES384", status: 200},
		{name: "ES512 proof", client: "ES512", status: 200},
		{name: "EdDSA proof", client: "EdDSA", status: 200},
		{name: "PS256 proof", client: "PS256", status: 200},
		{name: "RS256 proof", client: "RS256", status: 200},
		{name: "required mode", mode: jwtguard.DPoPRequired, status: 200},
		{name: "scheme in lower case", request: func(r *http.Request) {
			r.Header.Set("Authorization", strings.Replace(r.Header.Get("Authorization"), "DPoP ", "dpop  ", 1))
		}, status: 200},

		// One DPoP header, a compact JWS of bounded size.
		{name: "no DPoP header", request: func(r *http.Request) { r.Header.Del("DPoP") },
			status: 401, err: jwtguard.ErrDPoPProof, detail: "DPoP header required", code: "invalid_dpop_proof"},
		{name: "two DPoP headers", request: func(r *http.Request) { r.Header.Add("DPoP", r.Header.Get("DPoP")) },
			status: 401, err: jwtguard.ErrDPoPProof, detail: "more than one DPoP header", code: "invalid_dpop_proof"},
		{name: "not a JWS", raw: func(string) string { return "not-a-jws" },
			status: 401, err: jwtguard.ErrDPoPProof, detail: "compact JWS", code: "invalid_dpop_proof"},
		{name: "JWS in JSON serialisation", raw: func(p string) string { return `{"payload":"` + p + `"}` },
			status: 401, err: jwtguard.ErrDPoPProof, detail: "compact JWS"},
		{name: "over 8 KiB", header: func(h map[string]any) { h["pad"] = strings.Repeat("a", 9000) },
			status: 401, err: jwtguard.ErrDPoPProof, detail: "too large"},
		{name: "duplicate header member", raw: func(p string) string {
			parts := strings.SplitN(p, ".", 2)
			h := decodeSeg(t, parts[0])
			return b64.EncodeToString([]byte(strings.Replace(h, `{`, `{"alg":"ES256",`, 1))) + "." + parts[1]
		}, status: 401, err: jwtguard.ErrDPoPProof, detail: "header is not a valid JSON object"},

		// typ.
		{name: "typ missing", header: func(h map[string]any) { delete(h, "typ") },
			status: 401, err: jwtguard.ErrDPoPProof, detail: "typ must be dpop+jwt"},
		{name: "typ JWT", header: func(h map[string]any) { h["typ"] = "JWT" },
			status: 401, err: jwtguard.ErrDPoPProof, detail: "typ must be dpop+jwt"},
		{name: "typ with application/ prefix", header: func(h map[string]any) { h["typ"] = "application/dpop+jwt" }, status: 200},

		// alg.
		{name: "alg none", header: func(h map[string]any) { h["alg"] = "none" },
			status: 401, err: jwtguard.ErrDPoPProof, detail: "alg not allowed"},
		{name: "alg HS256", header: func(h map[string]any) { h["alg"] = "HS256" },
			status: 401, err: jwtguard.ErrDPoPProof, detail: "alg not allowed"},
		{name: "alg outside the configured list", client: "EdDSA", opts: []jwtguard.DPoPOption{jwtguard.DPoPAlgorithms("ES256")},
			status: 401, err: jwtguard.ErrDPoPProof, detail: "alg not allowed"},
		{name: "alg in another case", header: func(h map[string]any) { h["alg"] = "es256" },
			status: 401, err: jwtguard.ErrDPoPProof, detail: "alg not allowed"},
		{name: "crit header", header: func(h map[string]any) { h["crit"] = []string{"exp"} },
			status: 401, err: jwtguard.ErrDPoPProof, detail: "crit"},

		// jwk.
		{name: "no jwk", header: func(h map[string]any) { delete(h, "jwk") },
			status: 401, err: jwtguard.ErrDPoPProof, detail: "no jwk"},
		{name: "jwk with a private member d", header: func(h map[string]any) {
			h["jwk"].(map[string]any)["d"] = b64.EncodeToString(make([]byte, 32))
		}, status: 401, err: jwtguard.ErrDPoPProof, detail: "private key"},
		{name: "oct jwk", header: func(h map[string]any) { h["jwk"] = map[string]any{"kty": "oct", "k": "c2VjcmV0"} },
			status: 401, err: jwtguard.ErrDPoPProof, detail: "private key"},
		{name: "jwk on another curve than the alg", client: "ES256", header: func(h map[string]any) {
			h["jwk"], _ = proofJWKOf(t, dpopKeys()["ES384"].Public())
		}, status: 401, err: jwtguard.ErrDPoPProof, detail: "not a usable public key"},
		{name: "EC jwk with RS256", header: func(h map[string]any) { h["alg"] = "RS256" },
			status: 401, err: jwtguard.ErrDPoPProof, detail: "not a usable public key"},
		{name: "jwk point off the curve", header: func(h map[string]any) {
			h["jwk"].(map[string]any)["y"] = h["jwk"].(map[string]any)["x"]
		}, status: 401, err: jwtguard.ErrDPoPProof, detail: "not a usable public key"},
		{name: "jwk coordinate padded", header: func(h map[string]any) {
			j := h["jwk"].(map[string]any)
			j["x"] = j["x"].(string) + "="
		}, status: 401, err: jwtguard.ErrDPoPProof, detail: "not a usable public key"},

		// Signature.
		{name: "signature of another key", header: func(h map[string]any) {
			h["jwk"], _ = proofJWKOf(t, dpopKeys()["other"].Public())
		}, status: 401, err: jwtguard.ErrDPoPProof, detail: "signature does not verify"},
		{name: "signature altered", raw: func(p string) string {
			i := strings.LastIndexByte(p, '.') + 5
			c := byte('A')
			if p[i] == 'A' {
				c = 'B'
			}
			return p[:i] + string(c) + p[i+1:]
		}, status: 401, err: jwtguard.ErrDPoPProof, detail: "signature does not verify"},

		// Required claims.
		{name: "no jti", claims: del("jti"), status: 401, err: jwtguard.ErrDPoPProof, detail: "jti is required"},
		{name: "empty jti", claims: set("jti", ""), status: 401, err: jwtguard.ErrDPoPProof, detail: "jti is required"},
		{name: "jti over 256 bytes", claims: set("jti", strings.Repeat("j", 257)), status: 401, err: jwtguard.ErrDPoPProof, detail: "longer than 256"},
		{name: "no htm", claims: del("htm"), status: 401, err: jwtguard.ErrDPoPProof, detail: "htm is required"},
		{name: "no htu", claims: del("htu"), status: 401, err: jwtguard.ErrDPoPProof, detail: "htu is required"},
		{name: "no iat", claims: del("iat"), status: 401, err: jwtguard.ErrDPoPProof, detail: "iat is required"},
		{name: "iat a string", claims: set("iat", "1700000000"), status: 401, err: jwtguard.ErrDPoPProof, detail: "wrong JSON type"},

		// htm.
		{name: "htm of another method", claims: set("htm", "POST"), status: 401, err: jwtguard.ErrDPoPProof, detail: "htm"},
		{name: "htm in lower case", claims: set("htm", "get"), status: 401, err: jwtguard.ErrDPoPProof, detail: "htm"},
		{name: "POST with htm POST", method: "POST", status: 200},

		// htu.
		{name: "htu of another path", htu: "https://api.test/orders/8", status: 401, err: jwtguard.ErrDPoPProof, detail: "htu"},
		{name: "htu of another host", htu: "https://evil.test/orders/7", status: 401, err: jwtguard.ErrDPoPProof, detail: "htu"},
		{name: "htu of another scheme", htu: "http://api.test/orders/7", status: 401, err: jwtguard.ErrDPoPProof, detail: "htu"},
		{name: "htu of another port", htu: "https://api.test:8443/orders/7", status: 401, err: jwtguard.ErrDPoPProof, detail: "htu"},
		{name: "htu with a trailing slash", htu: dpopURL + "/", status: 401, err: jwtguard.ErrDPoPProof, detail: "htu"},
		{name: "htu relative", htu: "/orders/7", status: 401, err: jwtguard.ErrDPoPProof, detail: "htu"},
		{name: "htu with user information", htu: "https://user@api.test/orders/7", status: 401, err: jwtguard.ErrDPoPProof, detail: "htu"},
		{name: "request with a query, htu without", target: dpopURL + "?x=1&y=2", status: 200},
		{name: "htu with query and fragment", htu: dpopURL + "?x=2#frag", target: dpopURL + "?x=1", status: 200},
		{name: "htu with the default port and upper-case host", htu: "HTTPS://API.Test:443/orders/7", status: 200},
		{name: "htu with an encoded unreserved character", htu: "https://api.test/%6Frders/7", status: 200},
		{name: "htu with dot segments", htu: "https://api.test/a/../orders/./7", status: 200},
		{name: "encoded slash is another path", htu: "https://api.test/orders%2F7", status: 401, err: jwtguard.ErrDPoPProof, detail: "htu"},
		{name: "percent-encoding case", target: "https://api.test/a%2fb", htu: "https://api.test/a%2Fb", status: 200},
		{name: "plain HTTP request", target: "http://api.test/orders/7", htu: "http://api.test:80/orders/7", status: 200},
		{name: "forwarded header from an untrusted sender", target: "http://api.test/orders/7", request: func(r *http.Request) {
			r.Header.Set("X-Forwarded-Proto", "https")
		}, status: 401, err: jwtguard.ErrDPoPProof, detail: "htu"},

		// iat.
		{name: "iat at the past edge of the window", claims: later(-jwtguard.DefaultDPoPWindow), status: 200},
		{name: "iat at the future edge of the window", claims: later(jwtguard.DefaultDPoPWindow), status: 200},
		{name: "iat too old", claims: later(-jwtguard.DefaultDPoPWindow - time.Second),
			status: 401, err: jwtguard.ErrDPoPProof, detail: "iat is too old"},
		{name: "iat in the future", claims: later(jwtguard.DefaultDPoPWindow + time.Second),
			status: 401, err: jwtguard.ErrDPoPProof, detail: "iat is in the future"},
		{name: "shorter window", opts: []jwtguard.DPoPOption{jwtguard.DPoPWindow(30 * time.Second)}, claims: later(-31 * time.Second),
			status: 401, err: jwtguard.ErrDPoPProof, detail: "iat is too old"},

		// ath.
		{name: "no ath", claims: del("ath"), status: 401, err: jwtguard.ErrDPoPProof, detail: "ath is required"},
		{name: "ath of another token", claims: func(p map[string]any) {
			sum := sha256.Sum256([]byte("another token"))
			p["ath"] = b64.EncodeToString(sum[:])
		}, status: 401, err: jwtguard.ErrDPoPProof, detail: "ath is not the hash"},

		// Key binding.
		{name: "proof by a key the token is not bound to", client: "other",
			status: 401, err: jwtguard.ErrDPoPBinding, detail: "cnf.jkt", code: "invalid_token"},
		{name: "token without cnf under the DPoP scheme", token: func(*dpopClient) string { return boundToken(t, "") },
			status: 401, err: jwtguard.ErrDPoPBinding, detail: "no cnf.jkt", code: "invalid_token"},
		{name: "token without cnf under the DPoP scheme, required mode", mode: jwtguard.DPoPRequired,
			token:  func(*dpopClient) string { return boundToken(t, "") },
			status: 401, err: jwtguard.ErrDPoPBinding, code: "invalid_token"},
		{name: "token with an empty cnf", token: func(*dpopClient) string {
			c := validClaims()
			c["cnf"] = map[string]any{}
			return sign(t, jwt.SigningMethodES256, dpopTokenKey(), c, nil)
		}, status: 401, err: jwtguard.ErrDPoPBinding},
		{name: "token whose cnf is not an object", token: func(*dpopClient) string {
			c := validClaims()
			c["cnf"] = "jkt"
			return sign(t, jwt.SigningMethodES256, dpopTokenKey(), c, nil)
		}, status: 401, err: jwtguard.ErrMalformedToken},
		{name: "token with cnf in another case", token: func(c *dpopClient) string {
			cl := validClaims()
			cl["CNF"] = map[string]any{"jkt": c.jkt}
			return sign(t, jwt.SigningMethodES256, dpopTokenKey(), cl, nil)
		}, status: 401, err: jwtguard.ErrMalformedToken},
		{name: "invalid token", token: func(c *dpopClient) string { return boundToken(t, c.jkt) + "x" },
			status: 401, err: jwtguard.ErrInvalidToken, code: "invalid_token"},

		// The Authorization header.
		{name: "DPoP scheme without a token", request: func(r *http.Request) { r.Header.Set("Authorization", "DPoP ") },
			status: 400, err: jwtguard.ErrMalformedRequest, detail: "DPoP scheme without a token"},
		{name: "DPoP token with a space", request: func(r *http.Request) { r.Header.Set("Authorization", "DPoP a b") },
			status: 400, err: jwtguard.ErrMalformedRequest, detail: "DPoP token contains white space"},
		{name: "DPoP scheme and token separated by a tab", request: func(r *http.Request) {
			r.Header.Set("Authorization", "DPoP\t"+boundToken(t, "x"))
		}, status: 400, err: jwtguard.ErrMalformedRequest, detail: "separate the DPoP scheme from the token with a space"},
		{name: "DPoP token and a bearer token in a cookie", opts: nil, request: func(r *http.Request) {
			r.AddCookie(&http.Cookie{Name: "at", Value: "x.y.z"})
		}, status: 400, err: jwtguard.ErrMalformedRequest},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			runDPoPCase(t, tc)
		})
	}
}

func decodeSeg(t testing.TB, s string) string {
	t.Helper()
	b, err := b64.DecodeString(s)
	require.NoError(t, err)
	return string(b)
}

func runDPoPCase(t *testing.T, tc dpopCase) {
	t.Helper()
	alg := tc.client
	var c *dpopClient
	switch alg {
	case "":
		c = newDPoPClient(t, "ES256")
	case "other":
		c = newDPoPClient(t, "ES256", "other")
	default:
		c = newDPoPClient(t, alg)
	}
	mode := tc.mode
	if mode == jwtguard.DPoPDisabled {
		mode = jwtguard.DPoPAllowed
	}
	opts := dpopOptions(mode, tc.opts...)
	opts = append(opts, jwtguard.WithExtractors(jwtguard.AuthorizationHeader(), jwtguard.Cookie("at")))
	var failed error
	opts = append(opts, jwtguard.WithFailureHook(func(_ *http.Request, err error) { failed = err }))
	mw, err := jwtguard.New(opts...)
	require.NoError(t, err)

	method, target, htu := or(tc.method, "GET"), or(tc.target, dpopURL), or(tc.htu, dpopURL)
	holder := newDPoPClient(t, "ES256") // the key the token is bound to
	if alg != "" && alg != "other" {
		holder = c
	}
	token := boundToken(t, holder.jkt)
	if tc.token != nil {
		token = tc.token(holder)
	}
	h, p := c.proofHeader(), c.proofClaims(method, htu, token)
	if tc.header != nil {
		tc.header(h)
	}
	if tc.claims != nil {
		tc.claims(p)
	}
	proof := c.sign(t, h, p)
	if tc.raw != nil {
		proof = tc.raw(proof)
	}
	r := dpopRequest(method, target, token, proof)
	if tc.request != nil {
		tc.request(r)
	}
	rec := httptest.NewRecorder()
	mw.Handler(okHandler).ServeHTTP(rec, r)
	require.Equal(t, tc.status, rec.Code, "body %s, error %v", rec.Body, failed)
	if tc.status == 200 {
		return
	}
	require.Error(t, failed)
	if tc.err != nil {
		assert.ErrorIs(t, failed, tc.err)
	}
	assert.Contains(t, failed.Error(), tc.detail)
	if tc.status == http.StatusBadRequest {
		assert.Contains(t, rec.Body.String(), tc.detail, "a malformed request is described to the client")
	}
	assert.NotContains(t, rec.Body.String(), token, "the token is never echoed")
	if tc.code != "" {
		ch := rec.Header().Values("WWW-Authenticate")
		require.Len(t, ch, 1)
		assert.True(t, strings.HasPrefix(ch[0], `DPoP algs="`), ch[0])
		assert.Contains(t, ch[0], `error="`+tc.code+`"`)
		var b struct{ Error string }
		require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &b))
		assert.Equal(t, tc.code, b.Error)
	}
}

func or(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// TestDPoPBearer covers tokens that come without the DPoP scheme, in each
// mode.
func TestDPoPBearer(t *testing.T) {
	c := newDPoPClient(t, "ES256")
	bound, unbound := boundToken(t, c.jkt), boundToken(t, "")
	const withBearer = "a DPoP header needs Authorization: DPoP <token>, not Bearer"
	cases := []struct {
		name   string
		mode   jwtguard.DPoPMode
		auth   string
		proof  bool
		status int
		err    error
		desc   string // the error_description, when not ""
	}{
		{name: "disabled: unbound bearer", mode: jwtguard.DPoPDisabled, auth: "Bearer " + unbound, status: 200},
		{name: "disabled: bound bearer, as a server unaware of DPoP", mode: jwtguard.DPoPDisabled, auth: "Bearer " + bound, status: 200},
		{name: "disabled: the DPoP scheme is no token", mode: jwtguard.DPoPDisabled, auth: "DPoP " + bound, proof: true, status: 401, err: jwtguard.ErrNoToken},
		{name: "allowed: unbound bearer", mode: jwtguard.DPoPAllowed, auth: "Bearer " + unbound, status: 200},
		{name: "allowed: bound bearer", mode: jwtguard.DPoPAllowed, auth: "Bearer " + bound, status: 401, err: jwtguard.ErrDPoPRequired},
		{name: "allowed: bound bearer with a proof", mode: jwtguard.DPoPAllowed, auth: "Bearer " + bound, proof: true, status: 400, err: jwtguard.ErrMalformedRequest, desc: withBearer},
		{name: "allowed: unbound bearer with a proof", mode: jwtguard.DPoPAllowed, auth: "Bearer " + unbound, proof: true, status: 400, err: jwtguard.ErrMalformedRequest, desc: withBearer},
		{name: "required: unbound bearer", mode: jwtguard.DPoPRequired, auth: "Bearer " + unbound, status: 401, err: jwtguard.ErrDPoPRequired},
		{name: "required: bound bearer", mode: jwtguard.DPoPRequired, auth: "Bearer " + bound, status: 401, err: jwtguard.ErrDPoPRequired},
		{name: "allowed: no token", mode: jwtguard.DPoPAllowed, status: 401, err: jwtguard.ErrNoToken},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var failed error
			mw, err := jwtguard.New(append(dpopOptions(tc.mode),
				jwtguard.WithFailureHook(func(_ *http.Request, err error) { failed = err }))...)
			require.NoError(t, err)
			r := httptest.NewRequest("GET", dpopURL, nil)
			if tc.auth != "" {
				r.Header.Set("Authorization", tc.auth)
			}
			if tc.proof {
				r.Header.Set("DPoP", c.proof(t, "GET", dpopURL, bound))
			}
			rec := httptest.NewRecorder()
			mw.Handler(okHandler).ServeHTTP(rec, r)
			require.Equal(t, tc.status, rec.Code, rec.Body.String())
			if tc.err != nil {
				assert.ErrorIs(t, failed, tc.err)
			}
			if tc.desc != "" {
				var body map[string]string
				require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &body))
				assert.Equal(t, tc.desc, body["error_description"])
				assert.Contains(t, rec.Header().Get("WWW-Authenticate"), `error_description="`+tc.desc+`"`)
			}
			// Verify takes a token as a bearer token.
			_, err = mw.Verify(r.Context(), bound)
			if tc.mode == jwtguard.DPoPDisabled {
				assert.NoError(t, err)
			} else {
				assert.ErrorIs(t, err, jwtguard.ErrDPoPRequired)
			}
		})
	}
}

// TestDPoPChallenges checks the WWW-Authenticate challenges of RFC 9449
// §7.1 and §7.2.
func TestDPoPChallenges(t *testing.T) {
	const algs = `DPoP algs="ES256 ES384 ES512 EdDSA PS256 PS384 PS512 RS256 RS384 RS512"`
	c := newDPoPClient(t, "ES256")
	cases := []struct {
		name string
		mode jwtguard.DPoPMode
		opts []jwtguard.DPoPOption
		auth string
		want []string
	}{
		{name: "allowed, no credentials: both challenges", mode: jwtguard.DPoPAllowed, want: []string{`Bearer realm="api"`, algs}},
		{name: "required, no credentials: DPoP only", mode: jwtguard.DPoPRequired, want: []string{algs}},
		{name: "configured algorithms", mode: jwtguard.DPoPRequired, opts: []jwtguard.DPoPOption{jwtguard.DPoPAlgorithms("ES256", "EdDSA")},
			want: []string{`DPoP algs="ES256 EdDSA"`}},
		{name: "allowed, bad bearer token: Bearer challenge", mode: jwtguard.DPoPAllowed, auth: "Bearer x.y.z",
			want: []string{`Bearer realm="api", error="invalid_token", error_description="malformed token"`}},
		{name: "bad token under the DPoP scheme: DPoP challenge", mode: jwtguard.DPoPAllowed, auth: "DPoP x.y.z",
			want: []string{algs + `, error="invalid_token", error_description="malformed token"`}},
		{name: "required, bearer token", mode: jwtguard.DPoPRequired, auth: "Bearer " + boundToken(t, ""),
			want: []string{algs + `, error="invalid_token", error_description="bearer tokens are refused: use the DPoP scheme"`}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			mw, err := jwtguard.New(dpopOptions(tc.mode, tc.opts...)...)
			require.NoError(t, err)
			r := httptest.NewRequest("GET", dpopURL, nil)
			if tc.auth != "" {
				r.Header.Set("Authorization", tc.auth)
				r.Header.Set("DPoP", c.proof(t, "GET", dpopURL, "x.y.z"))
				if strings.HasPrefix(tc.auth, "Bearer") {
					r.Header.Del("DPoP")
				}
			}
			rec := httptest.NewRecorder()
			mw.Handler(okHandler).ServeHTTP(rec, r)
			assert.Equal(t, 401, rec.Code)
			assert.Equal(t, tc.want, rec.Header().Values("WWW-Authenticate"))
			assert.Equal(t, "no-store", rec.Header().Get("Cache-Control"))
		})
	}
}

// TestDPoPReplay sends one proof twice, and proofs under -race from many
// goroutines: of the requests with one proof exactly one passes.
func TestDPoPReplay(t *testing.T) {
	c := newDPoPClient(t, "ES256")
	token := boundToken(t, c.jkt)
	mw, err := jwtguard.New(dpopOptions(jwtguard.DPoPAllowed)...)
	require.NoError(t, err)
	h := mw.Handler(okHandler)
	proof := c.proof(t, "GET", dpopURL, token)

	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, dpopRequest("GET", dpopURL, token, proof))
	require.Equal(t, 200, rec.Code)
	var failed error
	mw2, err := jwtguard.New(append(dpopOptions(jwtguard.DPoPAllowed),
		jwtguard.WithFailureHook(func(_ *http.Request, err error) { failed = err }))...)
	require.NoError(t, err)
	for _, m := range []*jwtguard.Middleware{mw, mw2} {
		rec = httptest.NewRecorder()
		m.Handler(okHandler).ServeHTTP(rec, dpopRequest("GET", dpopURL, token, proof))
		if m == mw {
			require.Equal(t, 401, rec.Code)
			assert.Contains(t, rec.Header().Get("WWW-Authenticate"), `error="invalid_dpop_proof", error_description="DPoP proof jti already used"`)
		} else {
			// Another middleware has a cache of its own: only a shared
			// cache catches a replay across instances.
			require.Equal(t, 200, rec.Code, failed)
		}
	}

	t.Run("parallel", func(t *testing.T) {
		const proofs, copies = 16, 8
		list := make([]string, proofs)
		for i := range list {
			list[i] = c.proof(t, "GET", dpopURL, token)
		}
		var ok, replayed atomic.Int32
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := 0; i < proofs*copies; i++ {
			wg.Add(1)
			go func(p string) {
				defer wg.Done()
				<-start
				_, err := mw.Check(dpopRequest("GET", dpopURL, token, p))
				switch {
				case err == nil:
					ok.Add(1)
				case errors.Is(err, jwtguard.ErrDPoPReplay):
					replayed.Add(1)
				default:
					t.Error(err)
				}
			}(list[i%proofs])
		}
		close(start)
		wg.Wait()
		assert.Equal(t, int32(proofs), ok.Load())
		assert.Equal(t, int32(proofs*(copies-1)), replayed.Load())
	})
}

// failingReplayCache fails every call.
type failingReplayCache struct{}

func (failingReplayCache) Remember(context.Context, string, time.Time) (bool, error) {
	return false, errors.New("down")
}

// TestDPoPReplayCacheDown checks that a replay cache that fails refuses the
// request with 503, after every other check has passed.
func TestDPoPReplayCacheDown(t *testing.T) {
	c := newDPoPClient(t, "ES256")
	token := boundToken(t, c.jkt)
	mw, err := jwtguard.New(dpopOptions(jwtguard.DPoPAllowed, jwtguard.DPoPReplayCache(failingReplayCache{}))...)
	require.NoError(t, err)
	rec := httptest.NewRecorder()
	mw.Handler(okHandler).ServeHTTP(rec, dpopRequest("GET", dpopURL, token, c.proof(t, "GET", dpopURL, token)))
	assert.Equal(t, 503, rec.Code)
	_, err = mw.Check(dpopRequest("GET", dpopURL, token, c.proof(t, "GET", dpopURL, token)))
	assert.ErrorIs(t, err, jwtguard.ErrUnavailable)
	// A proof that fails another check never reaches the cache.
	_, err = mw.Check(dpopRequest("GET", dpopURL, token, c.proof(t, "POST", dpopURL, token)))
	assert.ErrorIs(t, err, jwtguard.ErrDPoPProof)
}

// TestDPoPNonces walks the nonce flow of RFC 9449 §9 with two instances
// that share the nonce secret, and a clock that moves.
func TestDPoPNonces(t *testing.T) {
	secret := []byte("a nonce secret of 32 bytes or more!!")
	clock := newTestClock()
	c := newDPoPClient(t, "ES256")
	c.now = clock.Now
	token := boundToken(t, c.jkt)
	newMW := func(secret []byte) *jwtguard.Middleware {
		opts := dpopOptions(jwtguard.DPoPAllowed, jwtguard.DPoPNonces(secret, time.Minute))
		opts = append(opts, jwtguard.WithClock(clock.Now))
		mw, err := jwtguard.New(opts...)
		require.NoError(t, err)
		return mw
	}
	a, b, other := newMW(secret), newMW(secret), newMW([]byte("another nonce secret of 32 bytes!!!"))
	send := func(mw *jwtguard.Middleware, nonce string) *httptest.ResponseRecorder {
		p := c.proofClaims("GET", dpopURL, token)
		if nonce != "" {
			p["nonce"] = nonce
		}
		rec := httptest.NewRecorder()
		mw.Handler(okHandler).ServeHTTP(rec, dpopRequest("GET", dpopURL, token, c.sign(t, c.proofHeader(), p)))
		return rec
	}
	useNonce := func(rec *httptest.ResponseRecorder) string {
		t.Helper()
		require.Equal(t, 401, rec.Code)
		assert.Contains(t, rec.Header().Get("WWW-Authenticate"), `error="use_dpop_nonce"`)
		n := rec.Header().Get("DPoP-Nonce")
		require.NotEmpty(t, n)
		return n
	}

	nonce := useNonce(send(a, "")) // no nonce: ask for one
	rec := send(a, nonce)
	require.Equal(t, 200, rec.Code, rec.Body.String())
	assert.Equal(t, nonce, rec.Header().Get("DPoP-Nonce"), "the current nonce on every DPoP answer")
	assert.Equal(t, 200, send(b, nonce).Code, "another instance with the secret accepts it")
	useNonce(send(other, nonce)) // another secret does not
	useNonce(send(a, "made-up-nonce"))
	useNonce(send(a, nonce[:31]+"A"))

	clock.Advance(time.Minute) // the next period: still accepted, and a new one offered
	rec = send(a, nonce)
	require.Equal(t, 200, rec.Code)
	next := rec.Header().Get("DPoP-Nonce")
	assert.NotEqual(t, nonce, next)
	clock.Advance(time.Minute) // two periods on: stale
	newest := useNonce(send(a, nonce))
	assert.NotEqual(t, next, newest)
	assert.Equal(t, 200, send(a, next).Code)
	assert.Equal(t, 200, send(a, newest).Code)

	// Bearer requests are not asked for nonces, and get none.
	rec = httptest.NewRecorder()
	r := httptest.NewRequest("GET", dpopURL, nil)
	r.Header.Set("Authorization", "Bearer "+boundToken(t, ""))
	a.Handler(okHandler).ServeHTTP(rec, r)
	assert.Equal(t, 200, rec.Code)
	assert.Empty(t, rec.Header().Get("DPoP-Nonce"))
}

// TestDPoPTrustedProxies checks where the scheme and host of htu come from.
func TestDPoPTrustedProxies(t *testing.T) {
	c := newDPoPClient(t, "ES256")
	token := boundToken(t, c.jkt)
	const public = "https://api.example/orders/7"
	cases := []struct {
		name    string
		proxies []string // CIDRs; none: no option
		header  string
		remote  string
		set     map[string]string
		htu     string
		status  int
	}{
		{name: "no proxy trusted: headers ignored", remote: "10.0.0.5:4000",
			set: map[string]string{"X-Forwarded-Proto": "https", "X-Forwarded-Host": "api.example"}, htu: public, status: 401},
		{name: "no proxy trusted: the request's own URI", remote: "10.0.0.5:4000", htu: "http://backend:8080/orders/7", status: 200},
		{name: "X-Forwarded from a trusted proxy", proxies: []string{"10.0.0.0/8"}, header: jwtguard.XForwardedHeaders, remote: "10.0.0.5:4000",
			set: map[string]string{"X-Forwarded-Proto": "https", "X-Forwarded-Host": "api.example"}, htu: public, status: 200},
		{name: "X-Forwarded from an untrusted address", proxies: []string{"10.0.0.0/8"}, header: jwtguard.XForwardedHeaders, remote: "192.0.2.9:4000",
			set: map[string]string{"X-Forwarded-Proto": "https", "X-Forwarded-Host": "api.example"}, htu: public, status: 401},
		{name: "X-Forwarded: the rightmost value", proxies: []string{"10.0.0.0/8"}, header: jwtguard.XForwardedHeaders, remote: "10.0.0.5:4000",
			set: map[string]string{"X-Forwarded-Proto": "http, https", "X-Forwarded-Host": "evil.test, api.example"}, htu: public, status: 200},
		{name: "X-Forwarded named, Forwarded sent", proxies: []string{"10.0.0.0/8"}, header: jwtguard.XForwardedHeaders, remote: "10.0.0.5:4000",
			set: map[string]string{"Forwarded": "proto=https;host=api.example"}, htu: public, status: 401},
		{name: "Forwarded from a trusted proxy", proxies: []string{"10.0.0.0/8"}, header: jwtguard.ForwardedHeader, remote: "10.0.0.5:4000",
			set: map[string]string{"Forwarded": `for=192.0.2.60;proto=https;host="api.example"`}, htu: public, status: 200},
		{name: "Forwarded: an element the client wrote is not used", proxies: []string{"10.0.0.0/8"}, header: jwtguard.ForwardedHeader, remote: "10.0.0.5:4000",
			set: map[string]string{"Forwarded": `proto=https;host=evil.test, for=192.0.2.60;proto=https;host=api.example`}, htu: public, status: 200},
		{name: "Forwarded: a chain of trusted proxies", proxies: []string{"10.0.0.0/8", "2001:db8::/32"}, header: jwtguard.ForwardedHeader, remote: "10.0.0.5:4000",
			set: map[string]string{"Forwarded": `for=192.0.2.60;proto=https;host=api.example, for="[2001:db8::1]";proto=http;host=lb.internal`}, htu: public, status: 200},
		{name: "Forwarded: IPv6 peer", proxies: []string{"2001:db8::/32"}, header: jwtguard.ForwardedHeader, remote: "[2001:db8::7]:4000",
			set: map[string]string{"Forwarded": `for=192.0.2.60;proto=https;host=api.example`}, htu: public, status: 200},
		{name: "Forwarded: X-Forwarded ignored", proxies: []string{"10.0.0.0/8"}, header: jwtguard.ForwardedHeader, remote: "10.0.0.5:4000",
			set: map[string]string{"X-Forwarded-Proto": "https", "X-Forwarded-Host": "api.example"}, htu: public, status: 401},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var opts []jwtguard.DPoPOption
			if tc.proxies != nil {
				opts = append(opts, jwtguard.DPoPTrustedProxies(tc.header, tc.proxies...))
			}
			mw, err := jwtguard.New(dpopOptions(jwtguard.DPoPAllowed, opts...)...)
			require.NoError(t, err)
			r := dpopRequest("GET", "http://backend:8080/orders/7", token, c.proof(t, "GET", tc.htu, token))
			r.RemoteAddr = tc.remote
			for k, v := range tc.set {
				r.Header.Set(k, v)
			}
			_, err = mw.Check(r)
			if tc.status == 200 {
				assert.NoError(t, err)
			} else {
				assert.ErrorIs(t, err, jwtguard.ErrDPoPProof)
			}
		})
	}
}

// TestDPoPConfig checks that New refuses every bad DPoP option, naming it.
func TestDPoPConfig(t *testing.T) {
	cases := []struct {
		name string
		opt  jwtguard.Option
		want string
	}{
		{"unknown mode", jwtguard.WithDPoP(7), "unknown mode"},
		{"HMAC proof algorithm", jwtguard.WithDPoP(jwtguard.DPoPAllowed, jwtguard.DPoPAlgorithms("HS256")), `"HS256" is not an asymmetric`},
		{"none", jwtguard.WithDPoP(jwtguard.DPoPAllowed, jwtguard.DPoPAlgorithms("none")), `"none"`},
		{"no algorithm", jwtguard.WithDPoP(jwtguard.DPoPAllowed, jwtguard.DPoPAlgorithms()), "no algorithm"},
		{"window too short", jwtguard.WithDPoP(jwtguard.DPoPAllowed, jwtguard.DPoPWindow(time.Second)), "DPoPWindow"},
		{"nil cache", jwtguard.WithDPoP(jwtguard.DPoPAllowed, jwtguard.DPoPReplayCache(nil)), "nil cache"},
		{"short nonce secret", jwtguard.WithDPoP(jwtguard.DPoPAllowed, jwtguard.DPoPNonces([]byte("short"), 0)), "at least 32"},
		{"nonce lifetime", jwtguard.WithDPoP(jwtguard.DPoPAllowed, jwtguard.DPoPNonces(make([]byte, 32), time.Second)), "outside [1m, 24h]"},
		{"proxy header", jwtguard.WithDPoP(jwtguard.DPoPAllowed, jwtguard.DPoPTrustedProxies("X-Real-IP", "10.0.0.0/8")), `"X-Real-IP"`},
		{"proxy address", jwtguard.WithDPoP(jwtguard.DPoPAllowed, jwtguard.DPoPTrustedProxies(jwtguard.ForwardedHeader, "10.0.0.1")), "not a CIDR"},
		{"no proxy", jwtguard.WithDPoP(jwtguard.DPoPAllowed, jwtguard.DPoPTrustedProxies(jwtguard.ForwardedHeader)), "no proxy"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := jwtguard.New(jwtguard.WithKey("ES256", &dpopTokenKey().PublicKey), tc.opt)
			require.ErrorIs(t, err, jwtguard.ErrInvalidConfig)
			assert.Contains(t, err.Error(), tc.want)
		})
	}
}

// TestDPoPOptionalAndRequire checks the other entry points: Optional lets a
// request without credentials through and checks a DPoP one in full;
// RequireScope authenticates on its own.
func TestDPoPOptionalAndRequire(t *testing.T) {
	c := newDPoPClient(t, "ES256")
	token := boundToken(t, c.jkt)
	mw, err := jwtguard.New(dpopOptions(jwtguard.DPoPRequired)...)
	require.NoError(t, err)
	for name, h := range map[string]http.Handler{
		"Optional":     mw.Optional(okHandler),
		"RequireScope": mw.RequireScope("orders:read")(okHandler),
	} {
		t.Run(name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, dpopRequest("GET", dpopURL, token, c.proof(t, "GET", dpopURL, token)))
			assert.Equal(t, 200, rec.Code)
			rec = httptest.NewRecorder()
			h.ServeHTTP(rec, dpopRequest("GET", dpopURL, token, c.proof(t, "GET", "https://api.test/other", token)))
			assert.Equal(t, 401, rec.Code)
			rec = httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest("GET", dpopURL, nil))
			if name == "Optional" {
				assert.Equal(t, 200, rec.Code)
			} else {
				assert.Equal(t, 401, rec.Code)
			}
		})
	}
}

// TestDPoPThumbprintVectors checks the thumbprints of RFC 7638 §3.1 and RFC
// 9449 §6.1: a token bound to the RFC's jkt is accepted with a proof whose
// jwk is the RFC's key (the proof's signature is refused, since we do not
// have the private key, after the thumbprint has been computed: so we check
// the thumbprint through the binding error instead).
func TestDPoPThumbprintVectors(t *testing.T) {
	// The test client's thumbprint function against the RFC vectors keeps
	// it honest; the package is then checked against the test client in
	// every other test.
	rfc7638 := struct {
		E   string `json:"e"`
		Kty string `json:"kty"`
		N   string `json:"n"`
	}{"AQAB", "RSA", "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw"}
	b, err := json.Marshal(rfc7638)
	require.NoError(t, err)
	sum := sha256.Sum256(b)
	assert.Equal(t, "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs", b64.EncodeToString(sum[:]))
}

// BenchmarkDPoP compares a request under the DPoP scheme (an ES256 proof,
// an ES256 token bound to its key, the in-memory replay cache) with a
// bearer request carrying an ES256 token, both through the middleware
// without the token cache. Each DPoP request has a proof of its own, made
// before the timer starts.
func BenchmarkDPoP(b *testing.B) {
	c := newDPoPClient(b, "ES256")
	bound, unbound := boundToken(b, c.jkt), boundToken(b, "")
	b.Run("scheme=bearer", func(b *testing.B) {
		mw, err := jwtguard.New(dpopOptions(jwtguard.DPoPAllowed)...)
		require.NoError(b, err)
		r := httptest.NewRequest("GET", dpopURL, nil)
		r.Header.Set("Authorization", "Bearer "+unbound)
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			if _, err := mw.Check(r); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("scheme=dpop", func(b *testing.B) {
		mw, err := jwtguard.New(dpopOptions(jwtguard.DPoPAllowed, jwtguard.DPoPReplayCache(jwtguard.NewMemoryReplayCache(4*b.N+1024)))...)
		require.NoError(b, err)
		reqs := make([]*http.Request, b.N)
		for i := range reqs {
			reqs[i] = dpopRequest("GET", dpopURL, bound, c.proof(b, "GET", dpopURL, bound))
		}
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			if _, err := mw.Check(reqs[i]); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// TestDPoPWithCache checks that a token served from the verified-token
// cache keeps its binding: its second use under the DPoP scheme passes,
// and as a bearer token it is refused.
func TestDPoPWithCache(t *testing.T) {
	c := newDPoPClient(t, "ES256")
	token := boundToken(t, c.jkt)
	var hits atomic.Int32
	mw, err := jwtguard.New(append(dpopOptions(jwtguard.DPoPAllowed),
		jwtguard.WithCache(64, jwtguard.CacheWithHooks(jwtguard.CacheHooks{OnHit: func() { hits.Add(1) }})))...)
	require.NoError(t, err)
	for i := 0; i < 3; i++ {
		_, err := mw.Check(dpopRequest("GET", dpopURL, token, c.proof(t, "GET", dpopURL, token)))
		require.NoError(t, err, i)
	}
	_, err = mw.Check(dpopRequest("GET", dpopURL, token, newDPoPClient(t, "ES256", "other").proof(t, "GET", dpopURL, token)))
	assert.ErrorIs(t, err, jwtguard.ErrDPoPBinding)
	r := httptest.NewRequest("GET", dpopURL, nil)
	r.Header.Set("Authorization", "Bearer "+token)
	_, err = mw.Check(r)
	assert.ErrorIs(t, err, jwtguard.ErrDPoPRequired)
	assert.Equal(t, int32(4), hits.Load(), "served from the cache")
}

func TestDPoPModeAccessor(t *testing.T) {
	for _, mode := range []jwtguard.DPoPMode{jwtguard.DPoPDisabled, jwtguard.DPoPAllowed, jwtguard.DPoPRequired} {
		mw, err := jwtguard.New(jwtguard.WithKey("HS256", secret256), jwtguard.WithDPoP(mode))
		require.NoError(t, err)
		assert.Equal(t, mode, mw.DPoPMode())
	}
	mw, err := jwtguard.New(jwtguard.WithKey("HS256", secret256))
	require.NoError(t, err)
	assert.Equal(t, jwtguard.DPoPDisabled, mw.DPoPMode(), "without WithDPoP")
}
