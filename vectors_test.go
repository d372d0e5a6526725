package jwtguard_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/jwtguard/jwtguard"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The standard test vectors of testdata/vectors (see its README): RFC 7515
// appendix A.1, A.2, A.3, RFC 7519 §3.1 and RFC 8037 A.4/A.5, copied
// exactly.

// vectorNow is before the RFC tokens' exp, 1300819380 (2011-03-22).
var vectorNow = time.Unix(1300819000, 0)

type vector struct {
	name, token string
	key         jwtguard.Key
}

func readVector(t testing.TB, name string) string {
	t.Helper()
	return strings.TrimSpace(string(readTestdataFile(t, filepath.Join("vectors", name))))
}

// loadVectors returns the JWT vectors with their keys, each bound to the
// algorithm of its token.
func loadVectors(t testing.TB) []vector {
	t.Helper()
	var vs []vector
	for _, v := range []struct{ name, token, jwk, alg string }{
		{"RFC 7515 A.1 HS256", "rfc7515-a1.jwt", "rfc7515-a1.jwk.json", "HS256"},
		{"RFC 7519 3.1 HS256", "rfc7519-3.1.jwt", "rfc7515-a1.jwk.json", "HS256"},
		{"RFC 7515 A.2 RS256", "rfc7515-a2.jwt", "rfc7515-a2.jwk.json", "RS256"},
		{"RFC 7515 A.3 ES256", "rfc7515-a3.jwt", "rfc7515-a3.jwk.json", "ES256"},
	} {
		key, err := jwtguard.ParseJWK([]byte(readVector(t, v.jwk)), v.alg)
		require.NoError(t, err, v.jwk)
		vs = append(vs, vector{name: v.name, token: readVector(t, v.token), key: key})
	}
	return vs
}

// vectorGuard verifies the RFC tokens: they have no type claim (they
// predate this package's explicit typing) and no sub (they are not access
// tokens), iss "joe", and expired in 2011.
func vectorGuard(t testing.TB, key jwtguard.Key, clock func() time.Time) *jwtguard.Middleware {
	t.Helper()
	mw, err := jwtguard.New(
		jwtguard.WithKeys(key),
		jwtguard.WithInsecureNoTokenType(),
		jwtguard.WithSubjectOptional(),
		jwtguard.WithIssuer("joe"),
		jwtguard.WithClock(clock),
	)
	require.NoError(t, err)
	return mw
}

func TestStandardVectorsAccepted(t *testing.T) {
	for _, v := range loadVectors(t) {
		t.Run(v.name, func(t *testing.T) {
			mw := vectorGuard(t, v.key, func() time.Time { return vectorNow })
			claims, err := mw.Verify(context.Background(), v.token)
			require.NoError(t, err)
			c := claims.(*jwtguard.Claims)
			assert.Equal(t, "joe", c.Issuer)
			assert.Equal(t, int64(1300819380), c.ExpiresAt.Unix())

			// And through the HTTP handler.
			var got *jwtguard.Claims
			h := mw.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				got, _ = jwtguard.FromContext(r.Context())
			}))
			r := httptest.NewRequest(http.MethodGet, "/", nil)
			r.Header.Set("Authorization", "Bearer "+v.token)
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			assert.Equal(t, http.StatusOK, w.Code)
			require.NotNil(t, got)
			assert.Equal(t, "joe", got.Issuer)
		})
	}
}

func TestStandardVectorsRefused(t *testing.T) {
	vs := loadVectors(t)
	before := func() time.Time { return vectorNow }
	for _, v := range vs {
		t.Run(v.name+"/real clock", func(t *testing.T) {
			_, err := vectorGuard(t, v.key, time.Now).Verify(context.Background(), v.token)
			require.ErrorIs(t, err, jwtguard.ErrExpired)
		})
		t.Run(v.name+"/at exp", func(t *testing.T) {
			_, err := vectorGuard(t, v.key, func() time.Time { return time.Unix(1300819380, 0) }).Verify(context.Background(), v.token)
			require.ErrorIs(t, err, jwtguard.ErrExpired)
		})
		t.Run(v.name+"/type checked", func(t *testing.T) {
			// Without WithInsecureNoTokenType the missing type claim refuses it.
			mw, err := jwtguard.New(jwtguard.WithKeys(v.key), jwtguard.WithIssuer("joe"), jwtguard.WithClock(before))
			require.NoError(t, err)
			_, err = mw.Verify(context.Background(), v.token)
			require.ErrorIs(t, err, jwtguard.ErrTokenType)
		})
		t.Run(v.name+"/sub required", func(t *testing.T) {
			// Without WithSubjectOptional the missing sub refuses it.
			mw, err := jwtguard.New(jwtguard.WithKeys(v.key), jwtguard.WithInsecureNoTokenType(),
				jwtguard.WithIssuer("joe"), jwtguard.WithClock(before))
			require.NoError(t, err)
			_, err = mw.Verify(context.Background(), v.token)
			require.ErrorIs(t, err, jwtguard.ErrMissingClaim)
			assert.ErrorIs(t, err, jwt.ErrTokenRequiredClaimMissing)
			assert.ErrorIs(t, err, jwtguard.ErrInvalidToken)
			assert.EqualError(t, err, "jwtguard: missing required claim: sub")
		})
		t.Run(v.name+"/another issuer", func(t *testing.T) {
			mw, err := jwtguard.New(jwtguard.WithKeys(v.key), jwtguard.WithInsecureNoTokenType(),
				jwtguard.WithIssuer("jane"), jwtguard.WithClock(before))
			require.NoError(t, err)
			_, err = mw.Verify(context.Background(), v.token)
			require.ErrorIs(t, err, jwtguard.ErrIssuer)
		})
		// Every other key: the keys of the other vectors (other algorithms,
		// or for the HS256 pair the same key, skipped), and a fresh key of
		// the same algorithm.
		for _, other := range append(otherVectorKeys(t, v.key.Algorithm), vs...) {
			other := other
			if other.key.Algorithm == v.key.Algorithm && other.token != "" {
				continue // the same key (RFC 7519 3.1 reuses A.1's)
			}
			t.Run(v.name+"/key of "+other.name, func(t *testing.T) {
				_, err := vectorGuard(t, other.key, before).Verify(context.Background(), v.token)
				require.Error(t, err)
				if other.key.Algorithm == v.key.Algorithm {
					require.ErrorIs(t, err, jwtguard.ErrSignature)
				} else {
					require.ErrorIs(t, err, jwtguard.ErrAlgorithm)
				}
			})
		}
		// The right key bound to another algorithm of its family.
		for _, alg := range sameFamily(v.key.Algorithm) {
			t.Run(v.name+"/its key as "+alg, func(t *testing.T) {
				k := v.key
				k.Algorithm = alg
				_, err := vectorGuard(t, k, before).Verify(context.Background(), v.token)
				require.ErrorIs(t, err, jwtguard.ErrAlgorithm)
			})
		}
	}
}

// otherVectorKeys returns a fresh key of alg, which no vector is signed
// with.
func otherVectorKeys(t testing.TB, alg string) []vector {
	t.Helper()
	var key any
	switch alg {
	case "HS256":
		key = []byte(strings.Repeat("k", 64))
	case "RS256":
		key = &asym().rsa.PublicKey
	case "ES256":
		ec, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		require.NoError(t, err)
		key = &ec.PublicKey
	}
	return []vector{{name: "a fresh " + alg + " key", key: jwtguard.Key{Algorithm: alg, Key: key}}}
}

func sameFamily(alg string) []string {
	switch alg {
	case "HS256":
		return []string{"HS384", "HS512"}
	case "RS256":
		return []string{"RS384", "RS512", "PS256"}
	}
	return nil // ES384 and ES512 need keys on other curves
}

// TestRFC8037Ed25519 checks the RFC 8037 A.4 JWS: its signature verifies
// with the A.2 key (ed25519.Verify confirms the copy is exact), but its
// payload, "Example of Ed25519 signing", is not a claims set, so the
// middleware refuses it as a malformed token, after the signature: with
// any other key it is refused for the signature.
func TestRFC8037Ed25519(t *testing.T) {
	token := readVector(t, "rfc8037-a4.jws")
	key, err := jwtguard.ParseJWK([]byte(readVector(t, "rfc8037-a2.jwk.json")), "EdDSA")
	require.NoError(t, err)

	parts := strings.Split(token, ".")
	require.Len(t, parts, 3)
	payload, err := base64.RawURLEncoding.Strict().DecodeString(parts[1])
	require.NoError(t, err)
	assert.Equal(t, "Example of Ed25519 signing", string(payload))
	sig, err := base64.RawURLEncoding.Strict().DecodeString(parts[2])
	require.NoError(t, err)
	pub := key.Key.(ed25519.PublicKey)
	require.True(t, ed25519.Verify(pub, []byte(parts[0]+"."+parts[1]), sig), "the vector is not copied exactly")

	for _, clock := range []func() time.Time{func() time.Time { return vectorNow }, time.Now} {
		_, err = vectorGuard(t, key, clock).Verify(context.Background(), token)
		require.ErrorIs(t, err, jwtguard.ErrMalformedToken)
	}

	w := httptest.NewRecorder()
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	r.Header.Set("Authorization", "Bearer "+token)
	p := &probe{}
	vectorGuard(t, key, time.Now).Handler(p).ServeHTTP(w, r)
	assert.False(t, p.called)
	assert.Equal(t, http.StatusUnauthorized, w.Code)
	assert.Contains(t, w.Header().Get("WWW-Authenticate"), `error="invalid_token", error_description="malformed token"`)

	_, other, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	_, err = vectorGuard(t, jwtguard.Key{Algorithm: "EdDSA", Key: other.Public()}, time.Now).Verify(context.Background(), token)
	require.ErrorIs(t, err, jwtguard.ErrSignature)
	for _, v := range loadVectors(t) {
		_, err = vectorGuard(t, v.key, time.Now).Verify(context.Background(), token)
		require.ErrorIs(t, err, jwtguard.ErrAlgorithm, v.name)
	}
}
