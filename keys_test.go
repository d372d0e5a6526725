package jwtguard_test

import (
	"crypto"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"math/big"
	"sync"
	"testing"

	"github.com/golang-jwt/jwt/v5"
	"github.com/jwtguard/jwtguard"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// This file tests the validation of keys by New, and that accepted keys
// verify what their private halves sign.

// weakRSA is a 1024-bit RSA key, too small to be accepted.
var weakRSA = sync.OnceValue(func() *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		panic(err)
	}
	return k
})

func TestKeyValidation(t *testing.T) {
	// 2^31+1, a variable so that the conversion to int compiles where int
	// has 32 bits.
	hugeExponent := int64(1<<31 + 1)
	a, m := asym(), moreKeys()
	rsaPub, ecPub := &a.rsa.PublicKey, &a.ec.PublicKey
	edPub := a.ed.Public().(ed25519.PublicKey)
	ecdhKey, err := ecdh.P256().GenerateKey(rand.Reader)
	require.NoError(t, err)
	bytes := func(n int) []byte { return make([]byte, n) }

	cases := []struct {
		name    string
		alg     string
		key     any
		wantErr string // a part of the error; "" when the key is accepted
	}{
		// HMAC: a []byte at least as long as the hash.
		{name: "HS256 32 bytes", alg: "HS256", key: bytes(32)},
		{name: "HS256 31 bytes", alg: "HS256", key: bytes(31), wantErr: "HS256 secret is 31 bytes, at least 32"},
		{name: "HS256 empty", alg: "HS256", key: []byte{}, wantErr: "at least 32"},
		{name: "HS256 nil slice", alg: "HS256", key: []byte(nil), wantErr: "at least 32"},
		{name: "HS384 48 bytes", alg: "HS384", key: bytes(48)},
		{name: "HS384 47 bytes", alg: "HS384", key: bytes(47), wantErr: "at least 48"},
		{name: "HS384 32 bytes", alg: "HS384", key: bytes(32), wantErr: "at least 48"},
		{name: "HS512 64 bytes", alg: "HS512", key: bytes(64)},
		{name: "HS512 63 bytes", alg: "HS512", key: bytes(63), wantErr: "at least 64"},
		{name: "HS256 a string", alg: "HS256", key: string(secret256), wantErr: "needs a []byte secret, got a string: pass []byte(secret)"},
		{name: "HS256 an RSA public key", alg: "HS256", key: rsaPub, wantErr: "needs a []byte"},
		{name: "HS256 nil", alg: "HS256", key: nil, wantErr: "needs a []byte"},
		{name: "HS256 a byte array", alg: "HS256", key: [32]byte{}, wantErr: "needs a []byte"},

		// RSA: *rsa.PublicKey or *rsa.PrivateKey of at least 2048 bits.
		{name: "RS256 public key", alg: "RS256", key: rsaPub},
		{name: "RS256 private key", alg: "RS256", key: a.rsa},
		{name: "RS384 public key", alg: "RS384", key: rsaPub},
		{name: "RS512 public key", alg: "RS512", key: rsaPub},
		{name: "PS256 public key", alg: "PS256", key: rsaPub},
		{name: "PS384 private key", alg: "PS384", key: a.rsa},
		{name: "PS512 public key", alg: "PS512", key: rsaPub},
		{name: "RS256 1024 bits", alg: "RS256", key: &weakRSA().PublicKey, wantErr: "1024 bits, at least 2048"},
		{name: "PS256 1024-bit private key", alg: "PS256", key: weakRSA(), wantErr: "at least 2048"},
		{name: "RS256 public key by value", alg: "RS256", key: *rsaPub, wantErr: "needs an *rsa.PublicKey"},
		{name: "RS256 PEM bytes", alg: "RS256", key: m.rsaPublicPEM, wantErr: `jwtguard: invalid configuration: RS256 needs an *rsa.PublicKey or *rsa.PrivateKey, got PEM text: load it with ParsePEM(data, "RS256", id)`},
		{name: "RS256 PEM string", alg: "RS256", key: string(m.rsaPublicPEM), wantErr: "got PEM text: load it with ParsePEM"},
		{name: "RS256 JWK text", alg: "RS256", key: []byte(` {"kty":"RSA"}`), wantErr: `got JSON text: load a JWK with ParseJWK(data, "RS256")`},
		{name: "RS256 nil public key", alg: "RS256", key: (*rsa.PublicKey)(nil), wantErr: "nil RSA key"},
		{name: "RS256 exponent 1", alg: "RS256", key: &rsa.PublicKey{N: rsaPub.N, E: 1}, wantErr: "exponent 1 is not an odd number"},
		{name: "RS256 even exponent", alg: "RS256", key: &rsa.PublicKey{N: rsaPub.N, E: 65536}, wantErr: "exponent 65536"},
		{name: "PS256 negative exponent", alg: "PS256", key: &rsa.PublicKey{N: rsaPub.N, E: -3}, wantErr: "exponent -3"},
		{name: "RS256 exponent 2^31+1", alg: "RS256", key: &rsa.PublicKey{N: rsaPub.N, E: int(hugeExponent)}, wantErr: "not an odd number in [3, 2^31)"},
		{name: "RS256 exponent 3", alg: "RS256", key: &rsa.PublicKey{N: rsaPub.N, E: 3}},
		{name: "RS256 even modulus", alg: "RS256", key: &rsa.PublicKey{N: new(big.Int).Lsh(rsaPub.N, 1), E: 65537}, wantErr: "modulus is even"},
		{name: "RS256 empty public key", alg: "RS256", key: &rsa.PublicKey{}, wantErr: "nil RSA key"},
		{name: "RS256 nil private key", alg: "RS256", key: (*rsa.PrivateKey)(nil), wantErr: "nil RSA key"},
		{name: "RS256 an ECDSA key", alg: "RS256", key: ecPub, wantErr: "needs an *rsa.PublicKey"},
		{name: "RS256 a crypto.Signer", alg: "RS256", key: crypto.Signer(a.ed), wantErr: "needs an *rsa.PublicKey"},

		// ECDSA: the curve of the algorithm.
		{name: "ES256 public key", alg: "ES256", key: ecPub},
		{name: "ES256 private key", alg: "ES256", key: a.ec},
		{name: "ES384 public key", alg: "ES384", key: &m.ec384.PublicKey},
		{name: "ES512 public key", alg: "ES512", key: &m.ec521.PublicKey},
		{name: "ES256 P-384 key", alg: "ES256", key: &m.ec384.PublicKey, wantErr: "ES256 needs a key on P-256, got P-384"},
		{name: "ES384 P-256 key", alg: "ES384", key: ecPub, wantErr: "needs a key on P-384"},
		{name: "ES512 P-384 private key", alg: "ES512", key: m.ec384, wantErr: "needs a key on P-521"},
		{name: "ES256 public key by value", alg: "ES256", key: *ecPub, wantErr: "needs an *ecdsa.PublicKey"},
		{name: "ES256 nil public key", alg: "ES256", key: (*ecdsa.PublicKey)(nil), wantErr: "nil ECDSA key"},
		{name: "ES256 key without a curve", alg: "ES256", key: &ecdsa.PublicKey{}, wantErr: "nil ECDSA key"},
		{name: "ES256 nil private key", alg: "ES256", key: (*ecdsa.PrivateKey)(nil), wantErr: "nil ECDSA key"},
		{name: "ES256 key without a point", alg: "ES256", key: &ecdsa.PublicKey{Curve: elliptic.P256()},
			wantErr: "not a point on P-256"},
		{name: "ES256 key with a nil Y", alg: "ES256", key: &ecdsa.PublicKey{Curve: elliptic.P256(), X: big.NewInt(1)},
			wantErr: "not a point on P-256"},
		{name: "ES256 key off the curve", alg: "ES256",
			key:     &ecdsa.PublicKey{Curve: elliptic.P256(), X: big.NewInt(1), Y: big.NewInt(1)},
			wantErr: "not a point on P-256"},
		{name: "ES384 key off the curve", alg: "ES384",
			key:     &ecdsa.PublicKey{Curve: elliptic.P384(), X: m.ec384.X, Y: new(big.Int).Add(m.ec384.Y, big.NewInt(1))},
			wantErr: "not a point on P-384"},
		{name: "ES256 an ecdh key", alg: "ES256", key: ecdhKey.PublicKey(), wantErr: "needs an *ecdsa.PublicKey"},
		{name: "ES256 an RSA key", alg: "ES256", key: rsaPub, wantErr: "needs an *ecdsa.PublicKey"},
		{name: "ES256 a secret", alg: "ES256", key: secret256, wantErr: "needs an *ecdsa.PublicKey"},

		// Ed25519.
		{name: "EdDSA public key", alg: "EdDSA", key: edPub},
		{name: "EdDSA public key as crypto.PublicKey", alg: "EdDSA", key: a.ed.Public()},
		{name: "EdDSA private key", alg: "EdDSA", key: a.ed},
		{name: "EdDSA 31-byte public key", alg: "EdDSA", key: edPub[:31], wantErr: "must be 32 bytes"},
		{name: "EdDSA 63-byte private key", alg: "EdDSA", key: a.ed[:63], wantErr: "must be 64 bytes"},
		{name: "EdDSA bytes", alg: "EdDSA", key: []byte(edPub), wantErr: "needs an ed25519.PublicKey or ed25519.PrivateKey, got []uint8: load PEM with ParsePEM"},
		// Raw key bytes that happen to start with '{' are not JSON text.
		{name: "EdDSA bytes starting with a brace", alg: "EdDSA", key: append([]byte("{"), edPub[1:]...), wantErr: "got []uint8: load PEM with ParsePEM"},
		{name: "EdDSA JWK text", alg: "EdDSA", key: []byte(` {"kty":"OKP"}`), wantErr: `got JSON text: load a JWK with ParseJWK(data, "EdDSA")`},
		{name: "EdDSA pointer to a public key", alg: "EdDSA", key: &edPub, wantErr: "needs an ed25519.PublicKey"},
		{name: "EdDSA an ECDSA key", alg: "EdDSA", key: ecPub, wantErr: "needs an ed25519.PublicKey"},

		// Algorithms.
		{name: "none", alg: "none", key: secret256, wantErr: `"none" is never allowed`},
		{name: "NONE", alg: "NONE", key: secret256, wantErr: `"none" is never allowed`},
		{name: "None", alg: "None", key: secret256, wantErr: `"none" is never allowed`},
		{name: "empty algorithm", alg: "", key: secret256, wantErr: "empty algorithm"},
		{name: "hs256 lower case", alg: "hs256", key: secret256, wantErr: `unsupported algorithm "hs256"`},
		{name: "ES256K", alg: "ES256K", key: ecPub, wantErr: "unsupported algorithm"},
		{name: "RSA-OAEP, an encryption algorithm", alg: "RSA-OAEP", key: rsaPub, wantErr: "unsupported algorithm"},
		{name: "Ed25519 as an alg", alg: "Ed25519", key: edPub, wantErr: "unsupported algorithm"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var mw *jwtguard.Middleware
			var err error
			require.NotPanics(t, func() { mw, err = jwtguard.New(jwtguard.WithKey(tc.alg, tc.key)) })
			if tc.wantErr == "" {
				require.NoError(t, err)
				require.NotNil(t, mw)
				return
			}
			require.Error(t, err)
			assert.Nil(t, mw)
			assert.Contains(t, err.Error(), tc.wantErr)
			assert.NotErrorIs(t, err, jwtguard.ErrInvalidToken, "a configuration error is not a token error")
		})
	}
}

func TestKeySetValidation(t *testing.T) {
	hs := func(id string) jwtguard.Key { return jwtguard.Key{ID: id, Algorithm: "HS256", Key: secret256} }
	cases := []struct {
		name    string
		keys    []jwtguard.Key
		wantErr []string // parts of the error; none when the keys are accepted
	}{
		{name: "no key", wantErr: []string{"no key"}},
		{name: "one key without an ID", keys: []jwtguard.Key{hs("")}},
		{name: "two keys with IDs", keys: []jwtguard.Key{hs("a"), hs("b")}},
		{name: "two keys, one without an ID", keys: []jwtguard.Key{hs("a"), hs("")},
			wantErr: []string{"HS256 key without an ID"}},
		{name: "two keys with one ID", keys: []jwtguard.Key{hs("a"), hs("a")},
			wantErr: []string{`duplicate key ID "a"`}},
		{name: "every problem at once",
			keys: []jwtguard.Key{
				{ID: "short", Algorithm: "HS256", Key: secret256[:16]},
				{ID: "small", Algorithm: "RS256", Key: &weakRSA().PublicKey},
				{ID: "curve", Algorithm: "ES384", Key: &asym().ec.PublicKey},
				{ID: "none", Algorithm: "none", Key: secret256},
			},
			wantErr: []string{`key "short"`, `key "small"`, `key "curve"`, `"none"`}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := jwtguard.New(jwtguard.WithKeys(tc.keys...))
			if len(tc.wantErr) == 0 {
				require.NoError(t, err)
				return
			}
			require.Error(t, err)
			for _, w := range tc.wantErr {
				assert.Contains(t, err.Error(), w)
			}
		})
	}
}

// TestKeysVerify checks that every accepted form of a key verifies tokens
// signed by its private half, and that New keeps its own copy of an HMAC
// secret.
func TestKeysVerify(t *testing.T) {
	a, m := asym(), moreKeys()
	cases := []struct {
		name   string
		alg    string
		key    any // given to New
		method jwt.SigningMethod
		signer any
	}{
		{"HS256 secret", "HS256", secret256, jwt.SigningMethodHS256, secret256},
		{"HS512 secret", "HS512", secret512, jwt.SigningMethodHS512, secret512},
		{"RS256 private key", "RS256", a.rsa, jwt.SigningMethodRS256, a.rsa},
		{"PS512 private key", "PS512", a.rsa, jwt.SigningMethodPS512, a.rsa},
		{"ES256 private key", "ES256", a.ec, jwt.SigningMethodES256, a.ec},
		{"ES512 private key", "ES512", m.ec521, jwt.SigningMethodES512, m.ec521},
		{"EdDSA private key", "EdDSA", a.ed, jwt.SigningMethodEdDSA, a.ed},
		{"EdDSA crypto.PublicKey", "EdDSA", a.ed.Public(), jwt.SigningMethodEdDSA, a.ed},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			mw := newVerifier(t, jwtguard.WithKey(tc.alg, tc.key))
			_, err := mw.Verify(t.Context(), sign(t, tc.method, tc.signer, validClaims(), nil))
			require.NoError(t, err)
		})
	}

	t.Run("HMAC secret copied", func(t *testing.T) {
		secret := append([]byte(nil), secret256...)
		mw := newVerifier(t, jwtguard.WithKey("HS256", secret))
		copy(secret, otherSecret)
		_, err := mw.Verify(t.Context(), hs256(t, validClaims()))
		require.NoError(t, err, "changing the caller's slice after New changes nothing")
		_, err = mw.Verify(t.Context(), sign(t, jwt.SigningMethodHS256, otherSecret, validClaims(), nil))
		require.ErrorIs(t, err, jwtguard.ErrSignature)
	})
}

// TestKeyErrorsNameKeysWithoutID checks that a key without an ID is named
// by its algorithm in errors, never as key "".
func TestKeyErrorsNameKeysWithoutID(t *testing.T) {
	cases := []struct {
		name    string
		build   func() error
		wantErr string
	}{
		{"New, short secret", func() error {
			_, err := jwtguard.New(jwtguard.WithKey("HS256", secret256[:8]))
			return err
		}, "HS256 secret is 8 bytes"},
		{"New, unsupported algorithm", func() error {
			_, err := jwtguard.New(jwtguard.WithKey("HS257", secret256))
			return err
		}, `unsupported algorithm "HS257"`},
		{"NewIssuer, public key", func() error {
			_, err := jwtguard.NewIssuer(jwtguard.IssuerConfig{Issuer: "i", Key: jwtguard.Key{Algorithm: "EdDSA", Key: asym().ed.Public()}})
			return err
		}, "signing with EdDSA needs the private key"},
		{"NewKeySet, key without ID", func() error {
			_, err := jwtguard.NewKeySet(jwtguard.Key{Algorithm: "HS256", Key: secret256})
			return err
		}, "HS256 key without an ID"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.build()
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.wantErr)
			assert.NotContains(t, err.Error(), `key ""`)
		})
	}
}
