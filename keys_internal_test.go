package jwtguard

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestCheckKeyKeepsOnlyPublicHalves checks what black-box tests cannot see:
// a Middleware given a private key keeps only its public half, and its own
// copy of an HMAC secret.
func TestCheckKeyKeepsOnlyPublicHalves(t *testing.T) {
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	edPub, edKey, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	secret := make([]byte, 32)

	cases := []struct {
		name string
		key  Key
		want any
	}{
		{"RSA private key", Key{Algorithm: "RS256", Key: rsaKey}, &rsaKey.PublicKey},
		{"ECDSA private key", Key{Algorithm: "ES256", Key: ecKey}, &ecKey.PublicKey},
		{"Ed25519 private key", Key{Algorithm: "EdDSA", Key: edKey}, edPub},
		{"HMAC secret", Key{Algorithm: "HS256", Key: secret}, secret},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			v, err := checkKey(tc.key)
			require.NoError(t, err)
			require.IsType(t, tc.want, v.key)
			require.Equal(t, tc.want, v.key)
			if b, ok := v.key.([]byte); ok {
				require.NotSame(t, &secret[0], &b[0], "the secret is copied")
			}
		})
	}
}
