package jwtguard_test

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
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

// This file tests the rules that decide whether a token is accepted, through
// Middleware.Verify. Every table row names the one sentinel the error must
// match (and that it matches no other kind), together with golang-jwt's
// cause.

// verdict is the expected outcome of a verification: the package sentinel
// and golang-jwt's cause, or the zero verdict for an accepted token.
type verdict struct{ kind, cause error }

var (
	isAccepted      = verdict{}
	isMalformed     = verdict{jwtguard.ErrMalformedToken, jwt.ErrTokenMalformed}
	isWrongJSONType = verdict{jwtguard.ErrMalformedToken, jwt.ErrInvalidType}
	isBadAlg        = verdict{jwtguard.ErrAlgorithm, jwt.ErrTokenSignatureInvalid}
	isCrit          = verdict{jwtguard.ErrAlgorithm, jwt.ErrTokenUnverifiable}
	isUnknownKey    = verdict{jwtguard.ErrUnknownKey, jwt.ErrTokenUnverifiable}
	isBadSignature  = verdict{jwtguard.ErrSignature, jwt.ErrTokenSignatureInvalid}
	isNoExp         = verdict{jwtguard.ErrMissingClaim, jwt.ErrTokenRequiredClaimMissing}
	isExpired       = verdict{jwtguard.ErrExpired, jwt.ErrTokenExpired}
	isNotYetValid   = verdict{jwtguard.ErrNotYetValid, jwt.ErrTokenNotValidYet}
	isIssuedFuture  = verdict{jwtguard.ErrNotYetValid, jwt.ErrTokenUsedBeforeIssued}
	isWrongIssuer   = verdict{jwtguard.ErrIssuer, jwt.ErrTokenInvalidIssuer}
	isNoIssuer      = verdict{jwtguard.ErrIssuer, jwt.ErrTokenRequiredClaimMissing}
	isWrongAudience = verdict{jwtguard.ErrAudience, jwt.ErrTokenInvalidAudience}
	isNoAudience    = verdict{jwtguard.ErrAudience, jwt.ErrTokenRequiredClaimMissing}
	isWrongType     = verdict{jwtguard.ErrTokenType, jwt.ErrTokenInvalidClaims}
	isNoType        = verdict{jwtguard.ErrTokenType, jwt.ErrTokenRequiredClaimMissing}
	isNoSub         = verdict{jwtguard.ErrMissingClaim, jwt.ErrTokenRequiredClaimMissing}
	isNoToken       = verdict{kind: jwtguard.ErrNoToken}
)

// tokenKinds are the sentinels that classify a refused token.
var tokenKinds = []error{
	jwtguard.ErrMalformedToken, jwtguard.ErrAlgorithm, jwtguard.ErrUnknownKey,
	jwtguard.ErrSignature, jwtguard.ErrMissingClaim, jwtguard.ErrExpired,
	jwtguard.ErrNotYetValid, jwtguard.ErrIssuer, jwtguard.ErrAudience,
	jwtguard.ErrTokenType,
}

// verifyCase is one row of a verification table.
type verifyCase struct {
	name  string
	opts  []jwtguard.Option // nil: the HS256 test key alone (see hsOpts)
	token string
	want  verdict
}

// runVerifyCases verifies each row's token with a Middleware made of the
// row's options on the fixed test clock.
func runVerifyCases(t *testing.T, cases []verifyCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			opts := tc.opts
			if opts == nil {
				opts = hsOpts()
			}
			mw := newVerifier(t, opts...)
			claims, err := mw.Verify(t.Context(), tc.token)
			assertVerdict(t, tc.token, claims, err, tc.want)
		})
	}
}

// assertVerdict checks the result of Verify against want: an accepted token
// has claims and no error; a refused one has no claims and an error that
// matches want's kind, ErrInvalidToken and want's cause, and no other kind.
// A refusal for a missing required claim (cause
// jwt.ErrTokenRequiredClaimMissing) also matches ErrMissingClaim, as its
// documentation says.
func assertVerdict(t *testing.T, token string, claims any, err error, want verdict) {
	t.Helper()
	if want.kind == nil {
		require.NoError(t, err)
		require.NotNil(t, claims)
		return
	}
	require.Error(t, err)
	assert.Nil(t, claims)
	require.ErrorIs(t, err, want.kind)
	if want.kind == jwtguard.ErrNoToken {
		assert.NotErrorIs(t, err, jwtguard.ErrInvalidToken)
		return
	}
	require.NotNil(t, want.cause, "a row for a refused token names golang-jwt's cause")
	assert.ErrorIs(t, err, jwtguard.ErrInvalidToken)
	assert.ErrorIs(t, err, want.cause)
	missing := errors.Is(want.cause, jwt.ErrTokenRequiredClaimMissing)
	if missing {
		assert.ErrorIs(t, err, jwtguard.ErrMissingClaim)
	}
	for _, k := range tokenKinds {
		if k != want.kind && !(missing && k == jwtguard.ErrMissingClaim) {
			assert.NotErrorIs(t, err, k)
		}
	}
	if len(token) >= 16 {
		assert.NotContains(t, err.Error(), token, "errors never carry the token")
	}
}

// newVerifier returns a Middleware on the fixed test clock configured by
// opts (which come after the clock, so a row may replace it).
func newVerifier(t testing.TB, opts ...jwtguard.Option) *jwtguard.Middleware {
	t.Helper()
	mw, err := jwtguard.New(append([]jwtguard.Option{jwtguard.WithClock(fixedClock)}, opts...)...)
	require.NoError(t, err)
	return mw
}

// hsOpts returns the HS256 test key followed by opts.
func hsOpts(opts ...jwtguard.Option) []jwtguard.Option {
	return append([]jwtguard.Option{jwtguard.WithKey("HS256", secret256)}, opts...)
}

// Times around testNow, in NumericDate seconds.
var (
	nowSec = testNow.Unix()
	expOK  = nowSec + 1800
)

// hdrHS256 is the usual header of a test token.
const hdrHS256 = `{"alg":"HS256","typ":"JWT"}`

// minPayload returns the smallest valid access-token payload, with members
// (each starting with a comma) appended.
func minPayload(members string) string {
	return fmt.Sprintf(`{"exp":%d,"sub":"user-1","type":"access"%s}`, expOK, members)
}

// subPayload is minPayload without sub, for rows that set sub themselves.
func subPayload(members string) string {
	return fmt.Sprintf(`{"exp":%d,"type":"access"%s}`, expOK, members)
}

// rawTok signs a literal payload under the usual header with the test key.
func rawTok(t testing.TB, payload string) string {
	t.Helper()
	return rawHS256(t, hdrHS256, payload, secret256)
}

// rawHdr signs the minimal payload under a literal header with the test key.
func rawHdr(t testing.TB, header string) string {
	t.Helper()
	return rawHS256(t, header, minPayload(""), secret256)
}

// claimsWith returns validClaims with set applied and del removed.
func claimsWith(set map[string]any, del ...string) jwt.MapClaims {
	c := validClaims()
	for k, v := range set {
		c[k] = v
	}
	for _, k := range del {
		delete(c, k)
	}
	return c
}

// seg base64url-encodes s without padding, as a token segment.
func seg(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

// signInput signs an already encoded "header.payload" with HS256 and the
// test key, so tests can send segments that are not canonical encodings.
func signInput(t testing.TB, input string) string {
	t.Helper()
	sig, err := jwt.SigningMethodHS256.Sign(input, secret256)
	require.NoError(t, err)
	return input + "." + seg(string(sig))
}

// otherSecret is a second valid HS256 secret; attackerSecret is one the
// middleware never knows.
var (
	otherSecret    = []byte("another-hs256-secret-of-32-bytes")
	attackerSecret = []byte("attacker-chosen-hs256-secret-32b")
)

// moreKeys are asymmetric keys beyond asym(): second keys of each kind, to
// sign with a key the middleware does not know, and the other ECDSA curves.
var moreKeys = sync.OnceValue(func() (k struct {
	rsa          *rsa.PrivateKey
	ec, ec384    *ecdsa.PrivateKey
	ec521        *ecdsa.PrivateKey
	ed           ed25519.PrivateKey
	rsaPublicPEM []byte // asym().rsa's public key as PEM
}) {
	var err error
	if k.rsa, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
		panic(err)
	}
	for _, c := range []struct {
		dst   **ecdsa.PrivateKey
		curve elliptic.Curve
	}{{&k.ec, elliptic.P256()}, {&k.ec384, elliptic.P384()}, {&k.ec521, elliptic.P521()}} {
		if *c.dst, err = ecdsa.GenerateKey(c.curve, rand.Reader); err != nil {
			panic(err)
		}
	}
	if _, k.ed, err = ed25519.GenerateKey(rand.Reader); err != nil {
		panic(err)
	}
	der, err := x509.MarshalPKIXPublicKey(&asym().rsa.PublicKey)
	if err != nil {
		panic(err)
	}
	k.rsaPublicPEM = pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
	return k
})

func TestVerifyAlgorithms(t *testing.T) {
	runVerifyCases(t, algorithmCases(t))
}

// algorithmCases: the allow-list, "none", key confusion, and every family
// accepted with its typed key and refused with another.
func algorithmCases(t testing.TB) []verifyCase {
	a, m := asym(), moreKeys()
	rsaPub, ecPub := &a.rsa.PublicKey, &a.ec.PublicKey
	edPub := a.ed.Public().(ed25519.PublicKey)
	claims := validClaims()
	signed := func(method jwt.SigningMethod, key any) string {
		return sign(t, method, key, claims, nil)
	}
	cases := []verifyCase{
		{name: "HS256 with its key", token: hs256(t, claims), want: isAccepted},
		{name: "HS384 with its key", opts: []jwtguard.Option{jwtguard.WithKey("HS384", secret384)},
			token: signed(jwt.SigningMethodHS384, secret384), want: isAccepted},
		{name: "HS512 with its key", opts: []jwtguard.Option{jwtguard.WithKey("HS512", secret512)},
			token: signed(jwt.SigningMethodHS512, secret512), want: isAccepted},
		{name: "HS256 with another secret", token: sign(t, jwt.SigningMethodHS256, otherSecret, claims, nil),
			want: isBadSignature},
		{name: "HS384 token to an HS256-only middleware", token: signed(jwt.SigningMethodHS384, secret384),
			want: isBadAlg},
		{name: "HS512 token to an HS256-only middleware", token: signed(jwt.SigningMethodHS512, secret512),
			want: isBadAlg},
		{name: "HS256 token to an HS384-only middleware", opts: []jwtguard.Option{jwtguard.WithKey("HS384", secret384)},
			token: hs256(t, claims), want: isBadAlg},
		{name: "HS256 token with a tampered payload",
			token: tamperPayload(t, hs256(t, claims)), want: isBadSignature},
		{name: "HS256 token with the signature of another token",
			token: swapSignature(hs256(t, claims), hs256(t, claimsWith(map[string]any{"sub": "user-2"}))),
			want:  isBadSignature},

		// The allow-list is exact and case-sensitive, and alg is never
		// unescaped into an allowed name.
		{name: "alg hs256 lower case", token: rawHdr(t, `{"alg":"hs256"}`), want: isBadAlg},
		{name: "alg Hs256", token: rawHdr(t, `{"alg":"Hs256"}`), want: isBadAlg},
		{name: "alg with a trailing space", token: rawHdr(t, `{"alg":"HS256 "}`), want: isBadAlg},
		{name: "alg with a NUL", token: rawHdr(t, `{"alg":"HS256\u0000"}`), want: isBadAlg},
		{name: "alg escaped", token: rawHdr(t, `{"alg":"HS\u0032\u0035\u0036"}`), want: isBadAlg},
		{name: "alg with an escaped solidus", token: rawHdr(t, `{"alg":"HS256\/"}`), want: isBadAlg},
		{name: "alg empty", token: rawHdr(t, `{"alg":""}`), want: isBadAlg},
		{name: "alg missing", token: rawHdr(t, `{"typ":"JWT"}`), want: isMalformed},
		{name: "alg missing, Alg present", token: rawHdr(t, `{"Alg":"HS256"}`), want: isMalformed},
		{name: "alg a number", token: rawHdr(t, `{"alg":256}`), want: isMalformed},
		{name: "alg null", token: rawHdr(t, `{"alg":null}`), want: isMalformed},
		{name: "alg an array", token: rawHdr(t, `{"alg":["HS256"]}`), want: isMalformed},
		{name: "alg an object", token: rawHdr(t, `{"alg":{"name":"HS256"}}`), want: isMalformed},
		{name: "alg true", token: rawHdr(t, `{"alg":true}`), want: isMalformed},

		// Key confusion: an HMAC token whose secret is the RSA public key.
		{name: "HS256 signed with the RSA public key PEM to an RS256 middleware",
			opts:  []jwtguard.Option{jwtguard.WithKey("RS256", rsaPub)},
			token: signed(jwt.SigningMethodHS256, m.rsaPublicPEM), want: isBadAlg},
		{name: "HS256 signed with the RSA public key PEM naming the RSA kid",
			opts: []jwtguard.Option{jwtguard.WithKeys(
				jwtguard.Key{ID: "rsa", Algorithm: "RS256", Key: rsaPub},
				jwtguard.Key{ID: "hmac", Algorithm: "HS256", Key: secret256})},
			token: sign(t, jwt.SigningMethodHS256, m.rsaPublicPEM, claims, map[string]any{"kid": "rsa"}),
			want:  isUnknownKey},
		{name: "HS256 signed with the RSA public key PEM naming the HMAC kid",
			opts: []jwtguard.Option{jwtguard.WithKeys(
				jwtguard.Key{ID: "rsa", Algorithm: "RS256", Key: rsaPub},
				jwtguard.Key{ID: "hmac", Algorithm: "HS256", Key: secret256})},
			token: sign(t, jwt.SigningMethodHS256, m.rsaPublicPEM, claims, map[string]any{"kid": "hmac"}),
			want:  isBadSignature},
		{name: "RS256 token to a PS256 middleware with the same key",
			opts:  []jwtguard.Option{jwtguard.WithKey("PS256", rsaPub)},
			token: signed(jwt.SigningMethodRS256, a.rsa), want: isBadAlg},
		{name: "ES256 token to an RS256 middleware",
			opts:  []jwtguard.Option{jwtguard.WithKey("RS256", rsaPub)},
			token: signed(jwt.SigningMethodES256, a.ec), want: isBadAlg},
		{name: "RS256 token to an HS256 middleware", token: signed(jwt.SigningMethodRS256, a.rsa), want: isBadAlg},
		{name: "ES256 signature in DER form",
			opts:  []jwtguard.Option{jwtguard.WithKey("ES256", ecPub)},
			token: derSignedES256(t, a.ec, claims), want: isBadSignature},
	}

	// Every asymmetric family: accepted with its typed public key, refused
	// when signed with another key.
	for _, f := range []struct {
		alg           string
		method        jwt.SigningMethod
		pub, priv     any
		otherPriv     any
		otherPrivName string
	}{
		{"RS256", jwt.SigningMethodRS256, rsaPub, a.rsa, m.rsa, "RSA"},
		{"RS384", jwt.SigningMethodRS384, rsaPub, a.rsa, m.rsa, "RSA"},
		{"RS512", jwt.SigningMethodRS512, rsaPub, a.rsa, m.rsa, "RSA"},
		{"PS256", jwt.SigningMethodPS256, rsaPub, a.rsa, m.rsa, "RSA"},
		{"PS384", jwt.SigningMethodPS384, rsaPub, a.rsa, m.rsa, "RSA"},
		{"PS512", jwt.SigningMethodPS512, rsaPub, a.rsa, m.rsa, "RSA"},
		{"ES256", jwt.SigningMethodES256, ecPub, a.ec, m.ec, "P-256"},
		{"ES384", jwt.SigningMethodES384, &m.ec384.PublicKey, m.ec384, nil, ""},
		{"ES512", jwt.SigningMethodES512, &m.ec521.PublicKey, m.ec521, nil, ""},
		{"EdDSA", jwt.SigningMethodEdDSA, edPub, a.ed, m.ed, "Ed25519"},
	} {
		opts := []jwtguard.Option{jwtguard.WithKey(f.alg, f.pub)}
		cases = append(cases, verifyCase{name: f.alg + " with its typed public key", opts: opts,
			token: signed(f.method, f.priv), want: isAccepted})
		if f.otherPriv != nil {
			cases = append(cases, verifyCase{name: f.alg + " signed with another " + f.otherPrivName + " key",
				opts: opts, token: signed(f.method, f.otherPriv), want: isBadSignature})
		}
	}
	cases = append(cases, verifyCase{name: "RS256 token with a tampered payload",
		opts:  []jwtguard.Option{jwtguard.WithKey("RS256", rsaPub)},
		token: tamperPayload(t, signed(jwt.SigningMethodRS256, a.rsa)), want: isBadSignature})

	// "none" in any casing, with an empty signature (not a three-segment
	// JWS), any signature, or even a valid HS256 signature.
	for _, alg := range []string{"none", "None", "NONE", "nOnE"} {
		header := `{"alg":"` + alg + `","typ":"JWT"}`
		input := seg(header) + "." + seg(minPayload(""))
		cases = append(cases,
			verifyCase{name: "alg " + alg + " with an empty signature", token: input + ".", want: isMalformed},
			verifyCase{name: "alg " + alg + " with a junk signature", token: input + "." + seg("sig"), want: isBadAlg},
			verifyCase{name: "alg " + alg + " with a valid HS256 signature", token: signInput(t, input), want: isBadAlg},
		)
	}
	return cases
}

// tamperPayload replaces the payload of token with a variant granting an
// admin role, keeping the header and signature.
func tamperPayload(t testing.TB, token string) string {
	t.Helper()
	parts := strings.Split(token, ".")
	require.Len(t, parts, 3)
	parts[1] = seg(mustJSON(t, claimsWith(map[string]any{"roles": []string{"admin"}})))
	return strings.Join(parts, ".")
}

// swapSignature puts the signature of donor on token.
func swapSignature(token, donor string) string {
	return token[:strings.LastIndexByte(token, '.')] + donor[strings.LastIndexByte(donor, '.'):]
}

// derSignedES256 signs claims with ES256 but an ASN.1 DER signature instead
// of the fixed-size r||s of RFC 7518 §3.4.
func derSignedES256(t testing.TB, key *ecdsa.PrivateKey, claims jwt.MapClaims) string {
	t.Helper()
	input := seg(`{"alg":"ES256","typ":"JWT"}`) + "." + seg(mustJSON(t, claims))
	h := jwt.SigningMethodES256.Hash.New()
	h.Write([]byte(input))
	sig, err := ecdsa.SignASN1(rand.Reader, key, h.Sum(nil))
	require.NoError(t, err)
	return input + "." + seg(string(sig))
}

func TestVerifyHeader(t *testing.T) {
	runVerifyCases(t, headerCases(t))
}

// headerCases: crit, key-bearing parameters, kid lookup, and the shape of
// the header.
func headerCases(t testing.TB) []verifyCase {
	a, m := asym(), moreKeys()
	claims := validClaims()
	withHeader := func(extra map[string]any) string {
		return sign(t, jwt.SigningMethodHS256, secret256, claims, extra)
	}
	attackerJWK := map[string]any{"kty": "RSA", "e": "AQAB",
		"n": base64.RawURLEncoding.EncodeToString(m.rsa.N.Bytes())}
	twoKeys := []jwtguard.Option{jwtguard.WithKeys(
		jwtguard.Key{ID: "a", Algorithm: "HS256", Key: secret256},
		jwtguard.Key{ID: "b", Algorithm: "HS256", Key: otherSecret})}
	mixedKeys := []jwtguard.Option{jwtguard.WithKeys(
		jwtguard.Key{ID: "hs", Algorithm: "HS256", Key: secret256},
		jwtguard.Key{ID: "rs", Algorithm: "RS256", Key: &a.rsa.PublicKey})}
	withID := []jwtguard.Option{jwtguard.WithKeys(jwtguard.Key{ID: "k1", Algorithm: "HS256", Key: secret256})}
	kid := func(id any, secret []byte) string {
		return sign(t, jwt.SigningMethodHS256, secret, claims, map[string]any{"kid": id})
	}
	big := func(n int) string { // a header of exactly n bytes
		h := `{"alg":"HS256","x":""}`
		return h[:len(h)-2] + strings.Repeat("a", n-len(h)) + `"}`
	}
	members := func(n int) string { // a header of n members
		var b strings.Builder
		b.WriteString(`{"alg":"HS256"`)
		for i := 1; i < n; i++ {
			fmt.Fprintf(&b, `,"x%d":%d`, i, i)
		}
		return b.String() + "}"
	}

	return []verifyCase{
		// crit names extensions the package would have to understand; it
		// implements none, so any crit is refused, whatever its value.
		{name: "crit naming exp", token: withHeader(map[string]any{"crit": []string{"exp"}, "exp": 1}), want: isCrit},
		{name: "crit naming b64", token: withHeader(map[string]any{"crit": []string{"b64"}, "b64": false}), want: isCrit},
		{name: "crit empty array", token: rawHdr(t, `{"alg":"HS256","crit":[]}`), want: isCrit},
		{name: "crit null", token: rawHdr(t, `{"alg":"HS256","crit":null}`), want: isCrit},
		{name: "crit a string", token: rawHdr(t, `{"alg":"HS256","crit":"exp"}`), want: isCrit},
		{name: "crit before alg", token: rawHdr(t, `{"crit":["x"],"alg":"HS256"}`), want: isCrit},
		{name: "crit escaped", token: rawHdr(t, `{"alg":"HS256","\u0063rit":["x"]}`), want: isCrit},

		// Keys never come from the token.
		{name: "attacker jwk, signed with the attacker RSA key",
			opts:  []jwtguard.Option{jwtguard.WithKey("RS256", &a.rsa.PublicKey)},
			token: sign(t, jwt.SigningMethodRS256, m.rsa, claims, map[string]any{"jwk": attackerJWK}),
			want:  isBadSignature},
		{name: "attacker oct jwk, signed with the attacker secret",
			token: sign(t, jwt.SigningMethodHS256, attackerSecret, claims, map[string]any{"jwk": map[string]any{
				"kty": "oct", "k": base64.RawURLEncoding.EncodeToString(attackerSecret)}}),
			want: isBadSignature},
		{name: "attacker jku, signed with the attacker secret",
			token: sign(t, jwt.SigningMethodHS256, attackerSecret, claims,
				map[string]any{"jku": "https://attacker.test/jwks.json"}),
			want: isBadSignature},
		{name: "attacker x5c, signed with the attacker RSA key",
			opts: []jwtguard.Option{jwtguard.WithKey("RS256", &a.rsa.PublicKey)},
			token: sign(t, jwt.SigningMethodRS256, m.rsa, claims,
				map[string]any{"x5c": []string{base64.StdEncoding.EncodeToString([]byte("cert"))}}),
			want: isBadSignature},
		{name: "junk jku, signed with our key",
			token: withHeader(map[string]any{"jku": "https://attacker.test/jwks.json"}), want: isAccepted},
		{name: "junk jwk, signed with our key", token: withHeader(map[string]any{"jwk": attackerJWK}), want: isAccepted},
		{name: "junk x5u, signed with our key", token: withHeader(map[string]any{"x5u": "http://169.254.169.254/"}),
			want: isAccepted},
		{name: "junk x5c, signed with our key", token: withHeader(map[string]any{"x5c": []string{"!!"}}),
			want: isAccepted},
		{name: "x5t and a number jku, signed with our key",
			token: rawHdr(t, `{"alg":"HS256","x5t":"abc","jku":42}`), want: isAccepted},

		// kid is only a lookup among configured keys.
		{name: "several keys, kid a", opts: twoKeys, token: kid("a", secret256), want: isAccepted},
		{name: "several keys, kid b", opts: twoKeys, token: kid("b", otherSecret), want: isAccepted},
		{name: "several keys, kid a signed with b's key", opts: twoKeys, token: kid("a", otherSecret),
			want: isBadSignature},
		{name: "several keys, unknown kid", opts: twoKeys, token: kid("c", secret256), want: isUnknownKey},
		{name: "several keys, kid differing in case", opts: twoKeys, token: kid("A", secret256),
			want: isUnknownKey},
		{name: "several keys, empty kid", opts: twoKeys, token: kid("", secret256), want: isUnknownKey},
		{name: "several keys, no kid", opts: twoKeys, token: hs256(t, claims), want: isUnknownKey},
		{name: "several keys, kid path traversal", opts: twoKeys, token: kid("../../../dev/null", secret256),
			want: isUnknownKey},
		{name: "several keys, kid SQL injection", opts: twoKeys, token: kid("x' UNION SELECT 'secret", secret256),
			want: isUnknownKey},
		{name: "several keys, kid with a NUL", opts: twoKeys, token: kid("a\x00", secret256), want: isUnknownKey},
		{name: "several keys, kid escaped", opts: twoKeys,
			token: rawHdr(t, `{"alg":"HS256","kid":"\u0061"}`), want: isAccepted},
		{name: "several keys, kid a number", opts: twoKeys, token: kid(1, secret256), want: isMalformed},
		{name: "several keys, kid null", opts: twoKeys, token: kid(nil, secret256), want: isMalformed},
		{name: "kid of an RS256 key on an HS256 token", opts: mixedKeys, token: kid("rs", secret256),
			want: isUnknownKey},
		{name: "kid of an HS256 key on an RS256 token", opts: mixedKeys,
			token: sign(t, jwt.SigningMethodRS256, a.rsa, claims, map[string]any{"kid": "hs"}), want: isUnknownKey},
		{name: "mixed keys, RS256 token with its kid", opts: mixedKeys,
			token: sign(t, jwt.SigningMethodRS256, a.rsa, claims, map[string]any{"kid": "rs"}), want: isAccepted},
		{name: "single key without ID, any kid", token: kid("whatever", secret256), want: isAccepted},
		{name: "single key without ID, no kid", token: hs256(t, claims), want: isAccepted},
		{name: "single key with ID, its kid", opts: withID, token: kid("k1", secret256), want: isAccepted},
		{name: "single key with ID, another kid", opts: withID, token: kid("k2", secret256), want: isUnknownKey},
		{name: "single key with ID, no kid", opts: withID, token: hs256(t, claims), want: isAccepted},

		// The header is one small JSON object with no duplicate members.
		{name: "duplicate alg", token: rawHdr(t, `{"alg":"HS256","alg":"HS256"}`), want: isMalformed},
		{name: "duplicate alg, none first", token: rawHdr(t, `{"alg":"none","alg":"HS256"}`), want: isMalformed},
		{name: "duplicate alg differing in case", token: rawHdr(t, `{"alg":"HS256","ALG":"none"}`),
			want: isMalformed},
		{name: "duplicate alg escaped", token: rawHdr(t, `{"alg":"HS256","\u0061lg":"none"}`), want: isMalformed},
		{name: "duplicate kid", opts: twoKeys, token: rawHdr(t, `{"alg":"HS256","kid":"a","kid":"b"}`),
			want: isMalformed},
		{name: "duplicate typ", token: rawHdr(t, `{"alg":"HS256","typ":"JWT","typ":"refresh+jwt"}`),
			want: isMalformed},
		{name: "duplicate unknown member", token: rawHdr(t, `{"alg":"HS256","x":1,"x":2}`), want: isMalformed},
		{name: "header an array", token: rawHdr(t, `["HS256"]`), want: isMalformed},
		{name: "header a string", token: rawHdr(t, `"HS256"`), want: isMalformed},
		{name: "header null", token: rawHdr(t, `null`), want: isMalformed},
		{name: "header a number", token: rawHdr(t, `256`), want: isMalformed},
		{name: "header with trailing garbage", token: rawHdr(t, `{"alg":"HS256"}x`), want: isMalformed},
		{name: "header followed by a second object", token: rawHdr(t, `{"alg":"HS256"}{}`), want: isMalformed},
		{name: "header with a trailing comma", token: rawHdr(t, `{"alg":"HS256",}`), want: isMalformed},
		{name: "header unterminated", token: rawHdr(t, `{"alg":"HS256"`), want: isMalformed},
		{name: "header with single quotes", token: rawHdr(t, `{'alg':'HS256'}`), want: isMalformed},
		{name: "header with invalid UTF-8", token: rawHdr(t, "{\"alg\":\"HS256\",\"x\":\"\xff\"}"),
			want: isMalformed},
		{name: "header with a lone surrogate", token: rawHdr(t, `{"alg":"HS256","x":"\ud800"}`),
			want: isMalformed},
		{name: "header nested too deep", token: rawHdr(t, `{"alg":"HS256","x":`+nested(40)+`}`),
			want: isMalformed},
		{name: "header of 512 bytes", token: rawHdr(t, big(512)), want: isAccepted},
		{name: "header of 513 bytes", token: rawHdr(t, big(513)), want: isMalformed},
		{name: "header of 4000 bytes", opts: hsOpts(jwtguard.WithMaxTokenSize(64 << 10)),
			token: rawHdr(t, big(4000)), want: isMalformed},
		{name: "header of 16 members", token: rawHdr(t, members(16)), want: isAccepted},
		{name: "header of 17 members", token: rawHdr(t, members(17)), want: isMalformed},
	}
}

// nested returns n nested JSON arrays.
func nested(n int) string { return strings.Repeat("[", n) + strings.Repeat("]", n) }

func TestVerifyTokenType(t *testing.T) {
	runVerifyCases(t, tokenTypeCases(t))
}

// TestMissingTypeClaimHint: an RFC 9068 access token (typ header at+jwt,
// no type claim) refused for the missing claim gets, in the error that the
// logger and the failure hook see, the option that accepts it; the client's
// description stays the claim's name.
func TestMissingTypeClaimHint(t *testing.T) {
	const hint = `WithTokenTypeHeader("at+jwt")`
	untyped := htClaims(map[string]any{"type": nil})
	cases := []struct {
		name     string
		opts     []jwtguard.Option
		issuers  bool   // one issuer given with WithIssuers rather than opts
		claim    string // the type claim ("" type)
		typ      string // the typ header
		wantHint bool
	}{
		{name: "typ at+jwt", typ: "at+jwt", wantHint: true},
		{name: "typ application/AT+JWT", typ: "application/AT+JWT", wantHint: true},
		{name: "typ at+jwt, another type claim", opts: []jwtguard.Option{jwtguard.WithTypeClaim("token_use")}, claim: "token_use", typ: "at+jwt", wantHint: true},
		{name: "typ JWT", typ: "JWT"},
		{name: "typ at+jwt at a refresh endpoint", opts: []jwtguard.Option{jwtguard.WithTokenType(jwtguard.TypeRefresh)}, typ: "at+jwt"},
		{name: "typ at+jwt, an issuer of WithIssuers with its own type claim", issuers: true, claim: "token_use", typ: "at+jwt", wantHint: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var mw *jwtguard.Middleware
			if tc.issuers {
				var err error
				mw, err = jwtguard.New(jwtguard.WithClock(fixedClock), jwtguard.WithIssuers(jwtguard.TrustedIssuer{
					Issuer: htIssuer, Keys: []jwtguard.Key{{Algorithm: "HS256", Key: secret256}},
					Audience: []string{htAudience}, TypeClaim: "token_use",
				}))
				require.NoError(t, err)
			} else {
				mw = htNew(t, tc.opts...)
			}
			token := sign(t, jwt.SigningMethodHS256, secret256, untyped, map[string]any{"typ": tc.typ})
			_, err := mw.Check(htRequest(t, "Bearer "+token))
			require.ErrorIs(t, err, jwtguard.ErrTokenType)
			require.ErrorIs(t, err, jwtguard.ErrMissingClaim)
			if tc.wantHint {
				assert.Contains(t, err.Error(), hint)
			} else {
				assert.NotContains(t, err.Error(), hint)
			}
			rec := httptest.NewRecorder()
			mw.Handler(http.NotFoundHandler()).ServeHTTP(rec, htRequest(t, "Bearer "+token))
			var body map[string]string
			require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &body))
			assert.Equal(t, 401, rec.Code)
			claim := tc.claim
			if claim == "" {
				claim = "type"
			}
			assert.Equal(t, "missing required claim: "+claim, body["error_description"])
			assert.Contains(t, err.Error(), "missing required claim: "+claim)
		})
	}
}

// tokenTypeCases: access and refresh tokens fail each other's validation,
// by the type claim and by the typ header, in every mode.
func tokenTypeCases(t testing.TB) []verifyCase {
	access, refresh := validClaims(), claimsWith(map[string]any{"type": "refresh"})
	untyped := claimsWith(nil, "type")
	typ := func(claims jwt.MapClaims, typ string) string {
		return sign(t, jwt.SigningMethodHS256, secret256, claims, map[string]any{"typ": typ})
	}
	noTyp := func(claims jwt.MapClaims) string {
		return rawHS256(t, `{"alg":"HS256"}`, mustJSON(t, claims), secret256)
	}
	forRefresh := hsOpts(jwtguard.WithTokenType(jwtguard.TypeRefresh))
	tokenUse := hsOpts(jwtguard.WithTypeClaim("token_use"))
	byHeader := hsOpts(jwtguard.WithTokenTypeHeader("at+jwt"))
	unchecked := hsOpts(jwtguard.WithInsecureNoTokenType())
	keycloak := hsOpts(jwtguard.WithTypeClaim("typ"), jwtguard.WithTokenType("Bearer"))

	return []verifyCase{
		// The default expects access tokens.
		{name: "access, typ JWT", token: typ(access, "JWT"), want: isAccepted},
		{name: "access, typ jwt", token: typ(access, "jwt"), want: isAccepted},
		{name: "access, typ at+jwt", token: typ(access, "at+jwt"), want: isAccepted},
		{name: "access, typ application/at+jwt", token: typ(access, "application/at+jwt"), want: isAccepted},
		{name: "access, typ AT+JWT", token: typ(access, "AT+JWT"), want: isAccepted},
		{name: "access, typ access+jwt", token: typ(access, "access+jwt"), want: isAccepted},
		{name: "access, typ escaped at+jwt", token: rawHS256(t, `{"alg":"HS256","typ":"at\u002bjwt"}`,
			mustJSON(t, access), secret256), want: isAccepted},
		{name: "access, no typ", token: noTyp(access), want: isAccepted},
		{name: "access claim, typ refresh+jwt", token: typ(access, "refresh+jwt"), want: isWrongType},
		{name: "access claim, typ application/refresh+jwt", token: typ(access, "application/refresh+jwt"),
			want: isWrongType},
		{name: "access claim, typ JOSE", token: typ(access, "JOSE"), want: isWrongType},
		{name: "access claim, typ empty", token: typ(access, ""), want: isWrongType},
		{name: "access claim, typ a number", token: rawHS256(t, `{"alg":"HS256","typ":1}`,
			mustJSON(t, access), secret256), want: isMalformed},
		{name: "refresh token", token: typ(refresh, "JWT"), want: isWrongType},
		{name: "refresh token, typ refresh+jwt", token: typ(refresh, "refresh+jwt"), want: isWrongType},
		{name: "refresh claim, typ at+jwt", token: typ(refresh, "at+jwt"), want: isWrongType},
		{name: "type missing", token: typ(untyped, "JWT"), want: isNoType},
		{name: "type missing, typ at+jwt", token: typ(untyped, "at+jwt"), want: isNoType},
		{name: "type Access", token: typ(claimsWith(map[string]any{"type": "Access"}), "JWT"), want: isWrongType},
		{name: "type with a trailing space", token: typ(claimsWith(map[string]any{"type": "access "}), "JWT"),
			want: isWrongType},
		{name: "type empty", token: typ(claimsWith(map[string]any{"type": ""}), "JWT"), want: isWrongType},
		{name: "type a number", token: typ(claimsWith(map[string]any{"type": 1}), "JWT"), want: isWrongJSONType},
		{name: "type null", token: rawTok(t, fmt.Sprintf(`{"exp":%d,"type":null}`, expOK)), want: isWrongJSONType},
		{name: "type an array", token: typ(claimsWith(map[string]any{"type": []string{"access"}}), "JWT"),
			want: isWrongJSONType},
		{name: "type escaped", token: rawTok(t, fmt.Sprintf(`{"exp":%d,"sub":"u","type":"\u0061ccess"}`, expOK)),
			want: isAccepted},
		{name: "type member name escaped", token: rawTok(t, fmt.Sprintf(`{"exp":%d,"sub":"u","\u0074ype":"access"}`, expOK)),
			want: isAccepted},

		// A refresh endpoint expects refresh tokens.
		{name: "refresh endpoint, refresh token", opts: forRefresh, token: typ(refresh, "JWT"), want: isAccepted},
		{name: "refresh endpoint, refresh token, typ refresh+jwt", opts: forRefresh,
			token: typ(refresh, "refresh+jwt"), want: isAccepted},
		{name: "refresh endpoint, refresh token, no typ", opts: forRefresh, token: noTyp(refresh),
			want: isAccepted},
		{name: "refresh endpoint, refresh claim, typ at+jwt", opts: forRefresh, token: typ(refresh, "at+jwt"),
			want: isWrongType},
		{name: "refresh endpoint, access token", opts: forRefresh, token: typ(access, "JWT"), want: isWrongType},
		{name: "refresh endpoint, access token, typ refresh+jwt", opts: forRefresh,
			token: typ(access, "refresh+jwt"), want: isWrongType},
		{name: "refresh endpoint, type missing", opts: forRefresh, token: typ(untyped, "refresh+jwt"),
			want: isNoType},

		// Another type claim.
		{name: "token_use access", opts: tokenUse,
			token: typ(claimsWith(map[string]any{"token_use": "access"}, "type"), "JWT"), want: isAccepted},
		{name: "token_use refresh", opts: tokenUse,
			token: typ(claimsWith(map[string]any{"token_use": "refresh"}, "type"), "JWT"), want: isWrongType},
		{name: "token_use missing, type access", opts: tokenUse, token: typ(access, "JWT"), want: isNoType},
		{name: "token_use a number", opts: tokenUse,
			token: typ(claimsWith(map[string]any{"token_use": 1}), "JWT"), want: isWrongJSONType},
		{name: "Token_Use differing in case", opts: tokenUse,
			token: typ(claimsWith(map[string]any{"Token_Use": "access"}), "JWT"), want: isMalformed},
		{name: "token_use access, typ refresh+jwt", opts: tokenUse,
			token: typ(claimsWith(map[string]any{"token_use": "access"}), "refresh+jwt"), want: isWrongType},
		{name: "Keycloak typ claim Bearer", opts: keycloak,
			token: typ(claimsWith(map[string]any{"typ": "Bearer"}), "JWT"), want: isAccepted},
		{name: "Keycloak typ claim Refresh", opts: keycloak,
			token: typ(claimsWith(map[string]any{"typ": "Refresh"}), "JWT"), want: isWrongType},

		// The type in the typ header (RFC 9068).
		{name: "typ header at+jwt, no type claim", opts: byHeader, token: typ(untyped, "at+jwt"), want: isAccepted},
		{name: "typ header application/at+jwt", opts: byHeader, token: typ(untyped, "application/at+jwt"),
			want: isAccepted},
		{name: "typ header AT+JWT", opts: byHeader, token: typ(untyped, "AT+JWT"), want: isAccepted},
		{name: "typ header JWT", opts: byHeader, token: typ(access, "JWT"), want: isWrongType},
		{name: "typ header refresh+jwt", opts: byHeader, token: typ(access, "refresh+jwt"), want: isWrongType},
		{name: "typ header missing", opts: byHeader, token: noTyp(access), want: isWrongType},
		{name: "typ header at+jwt, refresh type claim ignored", opts: byHeader, token: typ(refresh, "at+jwt"),
			want: isAccepted},

		// No type check at all.
		{name: "unchecked, refresh token", opts: unchecked, token: typ(refresh, "JWT"), want: isAccepted},
		{name: "unchecked, type missing", opts: unchecked, token: typ(untyped, "JWT"), want: isAccepted},
		{name: "unchecked, typ refresh+jwt", opts: unchecked, token: typ(access, "refresh+jwt"), want: isAccepted},
		{name: "unchecked, type still a string", opts: unchecked,
			token: typ(claimsWith(map[string]any{"type": 1}), "JWT"), want: isWrongJSONType},
	}
}

func TestVerifyTimeClaims(t *testing.T) {
	runVerifyCases(t, timeCases(t))
}

// timeCases: exp, nbf and iat, as JSON numbers only, with the leeway.
func timeCases(t testing.TB) []verifyCase {
	at := func(member string, value any) string { // the minimal payload with member set to value
		if member == "exp" {
			return rawTok(t, fmt.Sprintf(`{"exp":%v,"sub":"user-1","type":"access"}`, value))
		}
		return rawTok(t, minPayload(fmt.Sprintf(`,%q:%v`, member, value)))
	}
	leeway := func(d time.Duration) []jwtguard.Option { return hsOpts(jwtguard.WithLeeway(d)) }
	return []verifyCase{
		{name: "exp missing", token: hs256(t, claimsWith(nil, "exp")), want: isNoExp},
		{name: "exp missing, EXP present", token: rawTok(t, fmt.Sprintf(`{"EXP":%d,"type":"access"}`, expOK)),
			want: isMalformed},
		{name: "exp a string", token: at("exp", `"123"`), want: isWrongJSONType},
		{name: "exp a string of a future time", token: at("exp", fmt.Sprintf(`"%d"`, expOK)), want: isWrongJSONType},
		{name: "exp null", token: at("exp", `null`), want: isWrongJSONType},
		{name: "exp true", token: at("exp", `true`), want: isWrongJSONType},
		{name: "exp an array", token: at("exp", fmt.Sprintf(`[%d]`, expOK)), want: isWrongJSONType},
		{name: "exp an object", token: at("exp", `{}`), want: isWrongJSONType},
		{name: "exp with a plus sign", token: at("exp", fmt.Sprintf(`+%d`, expOK)), want: isWrongJSONType},
		{name: "exp with a leading zero", token: at("exp", fmt.Sprintf(`0%d`, expOK)), want: isMalformed},
		{name: "exp with a trailing dot", token: at("exp", fmt.Sprintf(`%d.`, expOK)), want: isWrongJSONType},
		{name: "exp hexadecimal", token: at("exp", `0x7fffffff`), want: isMalformed},
		{name: "exp Infinity", token: at("exp", `Infinity`), want: isWrongJSONType},
		{name: "exp NaN", token: at("exp", `NaN`), want: isWrongJSONType},
		{name: "exp 0", token: at("exp", 0), want: isExpired},
		{name: "exp -0", token: at("exp", `-0`), want: isExpired},
		{name: "exp negative", token: at("exp", -1), want: isExpired},
		{name: "exp at the start of year 1", token: at("exp", `-62135596800`), want: isExpired},
		{name: "exp before year 1", token: at("exp", `-62135596801`), want: isWrongJSONType},
		{name: "exp -1e300", token: at("exp", `-1e300`), want: isWrongJSONType},
		{name: "exp equal to now", token: at("exp", nowSec), want: isExpired},
		{name: "exp a second ago", token: at("exp", nowSec-1), want: isExpired},
		{name: "exp in a second", token: at("exp", nowSec+1), want: isAccepted},
		{name: "exp fractional, valid", token: at("exp", fmt.Sprintf(`%d.5`, nowSec)), want: isAccepted},
		{name: "exp fractional, just valid", token: at("exp", fmt.Sprintf(`%d.000001`, nowSec)), want: isAccepted},
		{name: "exp fractional, expired", token: at("exp", fmt.Sprintf(`%d.5`, nowSec-1)), want: isExpired},
		{name: "exp with an exponent", token: at("exp", fmt.Sprintf(`%de0`, expOK)), want: isAccepted},
		{name: "exp with a fraction and an exponent", token: at("exp", `1.7955e9`), want: isAccepted},
		// NumericDates are refused outside years 1 to 9999: beyond them the
		// claims handed to handlers cannot say what was checked (exp 1e300
		// overflows int64 and became a date in year -292277022657).
		{name: "exp at the end of year 9999", token: at("exp", `253402300799`), want: isAccepted},
		{name: "exp after year 9999", token: at("exp", `253402300800`), want: isWrongJSONType},
		{name: "exp of 16 digits", token: at("exp", `1000000000000000`), want: isWrongJSONType},
		{name: "exp max int64", token: at("exp", `9223372036854775807`), want: isWrongJSONType},
		{name: "exp 1e300", token: at("exp", `1e300`), want: isWrongJSONType},
		{name: "exp 1e400 overflows", token: at("exp", `1e400`), want: isWrongJSONType},
		{name: "exp 10s ago, leeway 30s", opts: leeway(30 * time.Second), token: at("exp", nowSec-10),
			want: isAccepted},
		{name: "exp 10s ago, leeway 5s", opts: leeway(5 * time.Second), token: at("exp", nowSec-10),
			want: isExpired},
		{name: "exp 30s ago, leeway 30s", opts: leeway(30 * time.Second), token: at("exp", nowSec-30),
			want: isExpired},
		{name: "exp in a second, clock a second later", opts: hsOpts(jwtguard.WithClock(func() time.Time {
			return testNow.Add(time.Second)
		})), token: at("exp", nowSec+1), want: isExpired},

		{name: "nbf in the future", token: at("nbf", nowSec+60), want: isNotYetValid},
		{name: "nbf in a second", token: at("nbf", nowSec+1), want: isNotYetValid},
		{name: "nbf fractional, in the future", token: at("nbf", fmt.Sprintf(`%d.5`, nowSec)), want: isNotYetValid},
		{name: "nbf equal to now", token: at("nbf", nowSec), want: isAccepted},
		{name: "nbf 0", token: at("nbf", 0), want: isAccepted},
		{name: "nbf in 10s, leeway 30s", opts: leeway(30 * time.Second), token: at("nbf", nowSec+10),
			want: isAccepted},
		{name: "nbf in 10s, leeway 5s", opts: leeway(5 * time.Second), token: at("nbf", nowSec+10),
			want: isNotYetValid},
		{name: "nbf a string", token: at("nbf", fmt.Sprintf(`"%d"`, nowSec)), want: isWrongJSONType},
		{name: "nbf null", token: at("nbf", `null`), want: isWrongJSONType},
		{name: "nbf -1e400", token: at("nbf", `-1e400`), want: isWrongJSONType},
		{name: "nbf -1e300", token: at("nbf", `-1e300`), want: isWrongJSONType},
		{name: "iat -1e300", token: at("iat", `-1e300`), want: isWrongJSONType},

		{name: "iat in the future", token: at("iat", nowSec+60), want: isIssuedFuture},
		{name: "iat in a second", token: at("iat", nowSec+1), want: isIssuedFuture},
		{name: "iat equal to now", token: at("iat", nowSec), want: isAccepted},
		{name: "iat in 10s, leeway 30s", opts: leeway(30 * time.Second), token: at("iat", nowSec+10),
			want: isAccepted},
		{name: "iat in 10s, leeway 5s", opts: leeway(5 * time.Second), token: at("iat", nowSec+10),
			want: isIssuedFuture},
		{name: "iat a string", token: at("iat", fmt.Sprintf(`"%d"`, nowSec)), want: isWrongJSONType},
		{name: "iat a boolean", token: at("iat", `false`), want: isWrongJSONType},
		{name: "nbf and iat missing", token: hs256(t, claimsWith(nil, "nbf", "iat")), want: isAccepted},
	}
}

func TestVerifyIssuerAudience(t *testing.T) {
	runVerifyCases(t, issuerAudienceCases(t))
}

// issuerAudienceCases: iss exact, aud containing ours, as string or array.
func issuerAudienceCases(t testing.TB) []verifyCase {
	const iss, aud = "https://issuer.test", "api.test"
	withIss := hsOpts(jwtguard.WithIssuer(iss))
	withAud := hsOpts(jwtguard.WithAudience(aud))
	withAuds := hsOpts(jwtguard.WithAudience("other.test", aud))
	set := func(member string, value any) string {
		return hs256(t, claimsWith(map[string]any{member: value}))
	}
	raw := func(member, value string) string {
		return rawTok(t, minPayload(`,"`+member+`":`+value))
	}
	return []verifyCase{
		{name: "iss exact", opts: withIss, token: hs256(t, validClaims()), want: isAccepted},
		{name: "iss escaped", opts: withIss, token: raw("iss", `"https:\/\/issuer.test"`), want: isAccepted},
		{name: "iss wrong", opts: withIss, token: set("iss", "https://evil.test"), want: isWrongIssuer},
		{name: "iss missing", opts: withIss, token: hs256(t, claimsWith(nil, "iss")), want: isNoIssuer},
		{name: "iss differing in case", opts: withIss, token: set("iss", "HTTPS://ISSUER.TEST"),
			want: isWrongIssuer},
		{name: "iss with a trailing slash", opts: withIss, token: set("iss", iss+"/"), want: isWrongIssuer},
		{name: "iss with a prefix", opts: withIss, token: set("iss", iss+".evil.test"), want: isWrongIssuer},
		{name: "iss empty", opts: withIss, token: set("iss", ""), want: isWrongIssuer},
		{name: "iss a number", opts: withIss, token: set("iss", 1), want: isWrongJSONType},
		{name: "iss an array", opts: withIss, token: set("iss", []string{iss}), want: isWrongJSONType},
		{name: "iss null", opts: withIss, token: raw("iss", `null`), want: isWrongJSONType},
		{name: "iss not configured, any iss", token: set("iss", "https://evil.test"), want: isAccepted},
		{name: "iss not configured, iss a number", token: set("iss", 1), want: isWrongJSONType},

		{name: "aud string, ours", opts: withAud, token: set("aud", aud), want: isAccepted},
		{name: "aud array, ours only", opts: withAud, token: set("aud", []string{aud}), want: isAccepted},
		{name: "aud array, ours last", opts: withAud, token: set("aud", []string{"x", "y", aud}), want: isAccepted},
		{name: "aud array, spaces and escapes", opts: withAud, token: raw("aud", `[ "x" , "api\u002etest" ]`),
			want: isAccepted},
		{name: "aud string, another", opts: withAud, token: set("aud", "other.test"), want: isWrongAudience},
		{name: "aud array, not ours", opts: withAud, token: set("aud", []string{"x", "y"}), want: isWrongAudience},
		{name: "aud differing in case", opts: withAud, token: set("aud", "API.TEST"), want: isWrongAudience},
		{name: "aud with a prefix of ours", opts: withAud, token: set("aud", "api.tes"), want: isWrongAudience},
		{name: "aud empty string", opts: withAud, token: set("aud", ""), want: isWrongAudience},
		{name: "aud empty array", opts: withAud, token: set("aud", []string{}), want: isWrongAudience},
		{name: "aud missing", opts: withAud, token: hs256(t, claimsWith(nil, "aud")), want: isNoAudience},
		{name: "aud array with a number", opts: withAud, token: raw("aud", `["api.test",1]`), want: isWrongJSONType},
		{name: "aud array with null", opts: withAud, token: raw("aud", `[null,"api.test"]`), want: isWrongJSONType},
		{name: "aud nested array", opts: withAud, token: raw("aud", `[["api.test"]]`), want: isWrongJSONType},
		{name: "aud a number", opts: withAud, token: set("aud", 1), want: isWrongJSONType},
		{name: "aud null", opts: withAud, token: raw("aud", `null`), want: isWrongJSONType},
		{name: "aud an object", opts: withAud, token: raw("aud", `{"aud":"api.test"}`), want: isWrongJSONType},
		{name: "aud array unterminated", opts: withAud, token: raw("aud", `["api.test"`), want: isWrongJSONType},
		{name: "aud array with a trailing comma", opts: withAud, token: raw("aud", `["api.test",]`),
			want: isWrongJSONType},
		{name: "two audiences, the second", opts: withAuds, token: set("aud", aud), want: isAccepted},
		{name: "two audiences, the first in an array", opts: withAuds, token: set("aud", []string{"x", "other.test"}),
			want: isAccepted},
		{name: "two audiences, neither", opts: withAuds, token: set("aud", []string{"x"}), want: isWrongAudience},
		{name: "aud not configured, aud a number", token: set("aud", 1), want: isWrongJSONType},
		{name: "iss and aud both wrong", opts: hsOpts(jwtguard.WithIssuer(iss), jwtguard.WithAudience(aud)),
			token: hs256(t, claimsWith(map[string]any{"iss": "x", "aud": "y"})), want: isWrongIssuer},
	}
}

// TestVerifySubject: sub is required (RFC 9068 §2.2) unless
// WithSubjectOptional says the issuer omits it.
func TestVerifySubject(t *testing.T) {
	optional := hsOpts(jwtguard.WithSubjectOptional())
	refresh := hsOpts(jwtguard.WithTokenType(jwtguard.TypeRefresh))
	custom := hsOpts(jwtguard.WithClaimsType[customClaims]())
	noSub := hs256(t, claimsWith(nil, "sub"))
	emptySub := hs256(t, claimsWith(map[string]any{"sub": ""}))
	runVerifyCases(t, []verifyCase{
		{name: "sub present", token: hs256(t, validClaims()), want: isAccepted},
		{name: "sub missing", token: noSub, want: isNoSub},
		{name: "sub empty", token: emptySub, want: isNoSub},
		{name: "sub escaped", token: rawTok(t, subPayload(`,"sub":"\u0075"`)), want: isAccepted},
		{name: "sub member name escaped", token: rawTok(t, subPayload(`,"s\u0075b":"u"`)), want: isAccepted},
		{name: "sub only nested", token: rawTok(t, subPayload(`,"ext":{"sub":"u"}`)), want: isNoSub},
		{name: "sub missing, custom claims type", opts: custom, token: noSub, want: isNoSub},
		{name: "sub missing, refresh token", opts: refresh,
			token: hs256(t, claimsWith(map[string]any{"type": "refresh"}, "sub")), want: isNoSub},
		{name: "sub missing, wrong type: the type is reported", token: hs256(t, claimsWith(map[string]any{"type": "refresh"}, "sub")),
			want: isWrongType},
		{name: "sub missing, WithSubjectOptional", opts: optional, token: noSub, want: isAccepted},
		{name: "sub empty, WithSubjectOptional", opts: optional, token: emptySub, want: isAccepted},
		{name: "sub a number, WithSubjectOptional", opts: optional, token: rawTok(t, subPayload(`,"sub":1`)),
			want: isWrongJSONType},
	})
	t.Run("the error names the claim", func(t *testing.T) {
		_, err := newVerifier(t, hsOpts()...).Verify(t.Context(), noSub)
		assert.EqualError(t, err, "jwtguard: missing required claim: sub")
		got := serveStatus(t, newVerifier(t, hsOpts()...), noSub)
		assert.Equal(t, 401, got)
	})
}

func TestVerifyClaimTypes(t *testing.T) {
	runVerifyCases(t, claimTypeCases(t))
}

// claimTypeCases: the claims of the default claims type have fixed JSON
// types, and names differing from them only in case are refused.
func claimTypeCases(t testing.TB) []verifyCase {
	raw := func(members string) string { return rawTok(t, minPayload(members)) }
	return []verifyCase{
		{name: "sub a number", token: rawTok(t, subPayload(`,"sub":1`)), want: isWrongJSONType},
		{name: "sub null", token: rawTok(t, subPayload(`,"sub":null`)), want: isWrongJSONType},
		{name: "sub an object", token: rawTok(t, subPayload(`,"sub":{"id":"user-1"}`)), want: isWrongJSONType},
		{name: "jti a number", token: raw(`,"jti":12345`), want: isWrongJSONType},
		{name: "jti an array", token: raw(`,"jti":["a"]`), want: isWrongJSONType},
		{name: "scope an array", token: raw(`,"scope":["orders:read"]`), want: isWrongJSONType},
		{name: "roles a string", token: raw(`,"roles":"admin"`), want: isWrongJSONType},
		{name: "roles with a number", token: raw(`,"roles":["admin",1]`), want: isWrongJSONType},
		{name: "roles nested", token: raw(`,"roles":[["admin"]]`), want: isWrongJSONType},
		{name: "roles null", token: raw(`,"roles":null`), want: isAccepted},
		{name: "roles empty", token: raw(`,"roles":[]`), want: isAccepted},
		{name: "Sub alone", token: raw(`,"Sub":"admin"`), want: isMalformed},
		{name: "ROLES alone", token: raw(`,"ROLES":["admin"]`), want: isMalformed},
		{name: "Iss alone", token: raw(`,"Iss":"https://issuer.test"`), want: isMalformed},
		{name: "AUD alone", token: raw(`,"AUD":"api.test"`), want: isMalformed},
		{name: "Type besides type", token: raw(`,"Type":"refresh"`), want: isMalformed},
		{name: "unknown members of any type", token: raw(`,"a":1,"b":"x","c":[true,null],"d":{"e":-1.5e3}`),
			want: isAccepted},
	}
}

func TestVerifyDefaultClaimsMatchEncodingJSON(t *testing.T) {
	exp, past := expOK, nowSec-60
	cases := []struct {
		name    string
		opts    []jwtguard.Option // nil: the HS256 test key alone
		payload string
	}{
		{name: "valid claims", payload: mustJSON(t, validClaims())},
		{name: "aud a string", payload: minPayload(`,"aud":"api.test"`)},
		{name: "aud an array of one", payload: minPayload(`,"aud":["api.test"]`)},
		{name: "aud an array of several", payload: minPayload(`,"aud":["a","b","c"]`)},
		{name: "aud an empty array", payload: minPayload(`,"aud":[]`)},
		{name: "aud an empty array with space", payload: minPayload(`,"aud":[ ]`)},
		{name: "fractional dates", payload: fmt.Sprintf(`{"exp":%d.25,"nbf":%d.75,"iat":%d.5,"sub":"u","type":"access"}`,
			exp, past, past)},
		{name: "dates with exponents", payload: fmt.Sprintf(`{"exp":%de0,"nbf":1.7e9,"iat":17E8,"sub":"u","type":"access"}`,
			exp)},
		{name: "negative and zero dates", payload: minPayload(`,"nbf":-1,"iat":0`)},
		{name: "dates at the ends of the range",
			payload: `{"exp":253402300799,"nbf":-62135596800,"iat":-62135596799.5,"sub":"u","type":"access"}`},
		{name: "escaped strings", payload: subPayload(
			`,"sub":"a\"b\\c\/d\b\f\n\r\t\u0000\u00e9\ud83d\ude00","iss":"\u0068ttps://x","jti":"\u2028"`)},
		{name: "raw unicode", payload: subPayload(`,"sub":"józef 日本 😀","scope":"ä ö"`)},
		// An empty sub is a missing one: only WithSubjectOptional lets
		// this row be decoded.
		{name: "empty strings", opts: hsOpts(jwtguard.WithSubjectOptional()),
			payload: subPayload(`,"sub":"","iss":"","jti":"","scope":""`)},
		{name: "roles null", payload: minPayload(`,"roles":null`)},
		{name: "roles empty", payload: minPayload(`,"roles":[]`)},
		{name: "roles several", payload: minPayload(`,"roles":["reader","writer","\u0061dmin"]`)},
		{name: "scope", payload: minPayload(`,"scope":"orders:read orders:write"`)},
		{name: "extra unknown members", payload: minPayload(
			`,"email":"u@example.com","n":1.5,"b":true,"z":null,"l":[1,"x",null]`)},
		{name: "nested objects", payload: minPayload(`,"ext":{"a":[1,2,{"b":null,"sub":"nested"}],"c":{"d":{}}}`)},
		{name: "escaped member names", payload: fmt.Sprintf(`{"\u0065xp":%d,"\u0074ype":"access","s\u0075b":"x"}`,
			exp)},
		{name: "white space everywhere", payload: fmt.Sprintf(" {\n\t\"exp\" :\r %d ,\"type\"\t:\"access\" , \"sub\" : \"u\" ,"+
			"\"roles\" : [ \"a\" , \"b\" ] , \"aud\" : [ \"x\" ] }\n ", exp)},
		{name: "members in another order", payload: fmt.Sprintf(`{"type":"access","sub":"s","exp":%d}`, exp)},
		{name: "non-ASCII unknown member names", payload: minPayload(`,"é":1,"ſx":2,"日本":3`)},
		{name: "type claim token_use, type present too",
			opts:    hsOpts(jwtguard.WithTypeClaim("token_use")),
			payload: fmt.Sprintf(`{"exp":%d,"sub":"u","token_use":"access","type":"something"}`, exp)},
		{name: "type claim token_use, no type",
			opts:    hsOpts(jwtguard.WithTypeClaim("token_use")),
			payload: fmt.Sprintf(`{"exp":%d,"sub":"u","token_use":"access"}`, exp)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			opts := tc.opts
			if opts == nil {
				opts = hsOpts()
			}
			got, err := newVerifier(t, opts...).Verify(t.Context(), rawTok(t, tc.payload))
			require.NoError(t, err)
			var want jwtguard.Claims
			require.NoError(t, json.Unmarshal([]byte(tc.payload), &want))
			require.Equal(t, &want, got)
		})
	}
}

// customClaims is a user's claims type: the default claims and more.
type customClaims struct {
	jwtguard.Claims
	Email  string `json:"email"`
	Tenant struct {
		ID   int      `json:"id"`
		Tags []string `json:"tags"`
	} `json:"tenant"`
}

// bareClaims has none of the registered claims.
type bareClaims struct {
	Email string `json:"email"`
}

// lenientClaims would read exp from a string, as RegisteredClaims does.
type lenientClaims struct {
	Exp json.Number `json:"exp"`
}

func TestVerifyCustomClaimsType(t *testing.T) {
	custom := hsOpts(jwtguard.WithClaimsType[customClaims]())
	bare := hsOpts(jwtguard.WithClaimsType[bareClaims]())
	lenient := hsOpts(jwtguard.WithClaimsType[lenientClaims]())
	payload := subPayload(`,"sub":"user-1","email":"u@example.com","tenant":{"id":7,"tags":["a","b"]}`)

	t.Run("decoded into the custom type", func(t *testing.T) {
		got, err := newVerifier(t, custom...).Verify(t.Context(), rawTok(t, payload))
		require.NoError(t, err)
		var want customClaims
		require.NoError(t, json.Unmarshal([]byte(payload), &want))
		require.Equal(t, &want, got)
		c := got.(*customClaims)
		assert.Equal(t, "user-1", c.Subject)
		assert.Equal(t, 7, c.Tenant.ID)
	})
	t.Run("a type without registered claims", func(t *testing.T) {
		got, err := newVerifier(t, bare...).Verify(t.Context(), rawTok(t, payload))
		require.NoError(t, err)
		assert.Equal(t, &bareClaims{Email: "u@example.com"}, got)
	})
	t.Run("a new value each time", func(t *testing.T) {
		mw := newVerifier(t, custom...)
		tok := rawTok(t, payload)
		first, err := mw.Verify(t.Context(), tok)
		require.NoError(t, err)
		first.(*customClaims).Email = "changed"
		second, err := mw.Verify(t.Context(), tok)
		require.NoError(t, err)
		assert.Equal(t, "u@example.com", second.(*customClaims).Email)
	})

	// The decisions never depend on the claims type.
	runVerifyCases(t, []verifyCase{
		{name: "custom type, expired", opts: custom,
			token: hs256(t, claimsWith(map[string]any{"exp": nowSec - 1})), want: isExpired},
		{name: "bare type, expired", opts: bare,
			token: hs256(t, claimsWith(map[string]any{"exp": nowSec - 1})), want: isExpired},
		{name: "bare type, exp missing", opts: bare, token: hs256(t, claimsWith(nil, "exp")), want: isNoExp},
		{name: "bare type, refresh token", opts: bare,
			token: hs256(t, claimsWith(map[string]any{"type": "refresh"})), want: isWrongType},
		{name: "bare type, exp a string", opts: bare,
			token: rawTok(t, fmt.Sprintf(`{"exp":"%d","type":"access"}`, expOK)), want: isWrongJSONType},
		{name: "bare type, sub a number", opts: bare, token: rawTok(t, subPayload(`,"sub":1`)),
			want: isWrongJSONType},
		{name: "lenient type, exp a string", opts: lenient,
			token: rawTok(t, fmt.Sprintf(`{"exp":"%d","type":"access"}`, expOK)), want: isWrongJSONType},
		{name: "bare type, wrong issuer", opts: append(bare, jwtguard.WithIssuer("https://issuer.test")),
			token: hs256(t, claimsWith(map[string]any{"iss": "x"})), want: isWrongIssuer},
		{name: "custom type, a member that does not fit it", opts: custom,
			token: rawTok(t, minPayload(`,"email":42`)), want: isMalformed},
		{name: "custom type, a nested member that does not fit it", opts: custom,
			token: rawTok(t, minPayload(`,"tenant":{"id":"seven"}`)), want: isMalformed},
		{name: "custom type, duplicate member", opts: custom,
			token: rawTok(t, minPayload(`,"email":"a","email":"b"`)), want: isMalformed},
		{name: "custom type, duplicate member differing in case", opts: custom,
			token: rawTok(t, minPayload(`,"email":"a","Email":"b"`)), want: isMalformed},
	})
}
