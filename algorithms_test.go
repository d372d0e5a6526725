package jwtguard_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"errors"
	"net/http"
	"testing"

	"github.com/golang-jwt/jwt/v5"
	"github.com/jwtguard/jwtguard"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestIndependentTokens verifies tokens of every algorithm signed by
// Python's cryptography package (testdata/gen_fixtures.py), each with its
// key loaded from PEM (or, for HMAC, raw bytes), and refuses each of them
// under every other key.
func TestIndependentTokens(t *testing.T) {
	f := fixtures(t)
	require.Len(t, f.Tokens, 13)
	for i, tok := range f.Tokens {
		t.Run(tok.Alg, func(t *testing.T) {
			key := fixtureKey(t, f, i)
			mw, err := jwtguard.New(fixtureOptions(jwtguard.WithKeys(key))...)
			require.NoError(t, err)
			claims, err := mw.Verify(t.Context(), tok.Token)
			require.NoError(t, err)
			assert.Equal(t, "user-1", claims.(*jwtguard.Claims).Subject)
			assert.Equal(t, http.StatusNoContent, serveStatus(t, mw, tok.Token))

			for j, other := range f.Tokens {
				if j != i {
					_, err := mw.Verify(t.Context(), other.Token)
					assert.ErrorIs(t, err, jwtguard.ErrInvalidToken, "%s token under the %s key", other.Alg, tok.Alg)
				}
			}
		})
	}
}

// TestGolangJWTTokens signs with golang-jwt, for every algorithm, with the
// private key a KeySet hands out, and verifies through the middleware.
func TestGolangJWTTokens(t *testing.T) {
	f := fixtures(t)
	rsaKey, err := jwtguard.ParsePEM(readTestdata(t, f.Files["rsa-pkcs1"]), "RS256", "")
	require.NoError(t, err)
	private := map[string]any{"RS": rsaKey.Key, "PS": rsaKey.Key}
	for alg, name := range map[string]string{"ES256": "p256-sec1", "ES384": "p384-pkcs8", "ES512": "p521-sec1", "EdDSA": "ed25519-pkcs8"} {
		k, err := jwtguard.ParsePEM(readTestdata(t, f.Files[name]), alg, "")
		require.NoError(t, err)
		private[alg] = k.Key
	}
	secrets := map[string][]byte{"HS256": secret256, "HS384": secret384, "HS512": secret512}
	for _, alg := range []string{"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA", "HS256", "HS384", "HS512"} {
		t.Run(alg, func(t *testing.T) {
			var key any
			switch {
			case secrets[alg] != nil:
				key = secrets[alg]
			case private[alg] != nil:
				key = private[alg]
			default:
				key = private[alg[:2]]
			}
			ks, err := jwtguard.NewKeySet(jwtguard.Key{ID: "k-" + alg, Algorithm: alg, Key: key})
			require.NoError(t, err)
			sk, err := ks.SigningKey()
			require.NoError(t, err)
			tok := sign(t, jwt.GetSigningMethod(sk.Algorithm), sk.Key, validClaims(), map[string]any{"kid": sk.ID})
			mw, err := jwtguard.New(jwtguard.WithKeySet(ks), jwtguard.WithClock(fixedClock))
			require.NoError(t, err)
			_, err = mw.Verify(t.Context(), tok)
			require.NoError(t, err)
		})
	}
}

// TestAlgorithmConfusion: an HS256 token whose HMAC secret is the RSA public
// key's PEM text is refused whatever holds the RSA key.
func TestAlgorithmConfusion(t *testing.T) {
	f := fixtures(t)
	pemBytes := readTestdata(t, f.Files["rsa-spki"])
	key, err := jwtguard.ParsePEM(pemBytes, "RS256", "rsa-rs256")
	require.NoError(t, err)
	// The same forgery made here with golang-jwt, without kid.
	forged := sign(t, jwt.SigningMethodHS256, pemBytes, validClaims(), nil)

	ks, err := jwtguard.NewKeySet(key)
	require.NoError(t, err)
	srv := jwksServer(t, readTestdata(t, "jwks.json"))
	jwks := newTestJWKS(t, srv.URL, []string{"RS256"})
	for name, opt := range map[string]jwtguard.Option{
		"static": jwtguard.WithKeys(key),
		"KeySet": jwtguard.WithKeySet(ks),
		"JWKS":   jwtguard.WithJWKS(jwks),
	} {
		t.Run(name, func(t *testing.T) {
			mw, err := jwtguard.New(fixtureOptions(opt)...)
			require.NoError(t, err)
			// The honest RS256 token passes, the forgeries do not.
			_, err = mw.Verify(t.Context(), f.Tokens[0].Token)
			require.NoError(t, err)
			for _, tok := range []string{f.Confusion, forged} {
				_, err = mw.Verify(t.Context(), tok)
				assert.ErrorIs(t, err, jwtguard.ErrAlgorithm)
				assert.Equal(t, http.StatusUnauthorized, serveStatus(t, mw, tok))
			}
		})
	}
}

// TestStaticKeyOnWrongCurve: the configured key's curve binds the algorithm.
func TestStaticKeyOnWrongCurve(t *testing.T) {
	k, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	require.NoError(t, err)
	_, err = jwtguard.New(jwtguard.WithKey("ES256", &k.PublicKey))
	require.Error(t, err)
	assert.False(t, errors.Is(err, jwtguard.ErrInvalidToken))
}
