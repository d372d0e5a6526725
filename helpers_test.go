package jwtguard_test

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/stretchr/testify/require"
)

// Test keys: HMAC secrets of the minimum sizes, and asymmetric keys made once
// per test binary.
var (
	secret256 = []byte("test-secret-for-hs256-32-bytes!!")
	secret384 = []byte("test-secret-for-hs384-must-be-48-bytes-long-ok!!")
	secret512 = []byte("test-secret-for-hs512-must-be-64-bytes-long-ok-padding-padding!!")
)

// testNow is the fixed "now" of tests that use a clock.
var testNow = time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)

func fixedClock() time.Time { return testNow }

var asym = sync.OnceValue(func() (k struct {
	rsa *rsa.PrivateKey
	ec  *ecdsa.PrivateKey
	ed  ed25519.PrivateKey
}) {
	var err error
	if k.rsa, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
		panic(err)
	}
	if k.ec, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader); err != nil {
		panic(err)
	}
	if _, k.ed, err = ed25519.GenerateKey(rand.Reader); err != nil {
		panic(err)
	}
	return k
})

// validClaims returns the claims of a valid access token at testNow; tests
// change or delete members to make defects.
func validClaims() jwt.MapClaims {
	return jwt.MapClaims{
		"sub":   "user-1",
		"iss":   "https://issuer.test",
		"aud":   "api.test",
		"exp":   testNow.Add(30 * time.Minute).Unix(),
		"iat":   testNow.Add(-time.Minute).Unix(),
		"nbf":   testNow.Add(-time.Minute).Unix(),
		"jti":   "jti-1",
		"type":  "access",
		"roles": []string{"reader"},
		"scope": "orders:read orders:write",
	}
}

// sign signs claims with golang-jwt's signer for method and key, adding
// header members from extra (for example "kid" or "typ").
func sign(t testing.TB, method jwt.SigningMethod, key any, claims jwt.Claims, extra map[string]any) string {
	t.Helper()
	tok := jwt.NewWithClaims(method, claims)
	for k, v := range extra {
		tok.Header[k] = v
	}
	s, err := tok.SignedString(key)
	require.NoError(t, err)
	return s
}

// hs256 signs claims with secret256.
func hs256(t testing.TB, claims jwt.Claims) string {
	t.Helper()
	return sign(t, jwt.SigningMethodHS256, secret256, claims, nil)
}

// rawHS256 builds a token from literal header and payload JSON, signed with
// HS256 and secret, so tests can send exactly the bytes they mean.
func rawHS256(t testing.TB, header, payload string, secret []byte) string {
	t.Helper()
	enc := base64.RawURLEncoding
	input := enc.EncodeToString([]byte(header)) + "." + enc.EncodeToString([]byte(payload))
	sig, err := jwt.SigningMethodHS256.Sign(input, secret)
	require.NoError(t, err)
	return input + "." + enc.EncodeToString(sig)
}

// mustJSON marshals v.
func mustJSON(t testing.TB, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	require.NoError(t, err)
	return string(b)
}
