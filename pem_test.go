package jwtguard_test

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"encoding/pem"
	"testing"

	"github.com/jwtguard/jwtguard"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParsePEM(t *testing.T) {
	f := fixtures(t)
	file := func(name string) []byte { return readTestdata(t, f.Files[name]) }
	tests := []struct {
		name    string
		alg     string
		data    []byte
		want    any    // an example of the key type expected
		wantErr string // a part of the error message
	}{
		{name: "PKCS#1 private", alg: "RS256", data: file("rsa-pkcs1"), want: &rsa.PrivateKey{}},
		{name: "PKCS#8 RSA private", alg: "PS512", data: file("rsa-pkcs8"), want: &rsa.PrivateKey{}},
		{name: "SPKI RSA public", alg: "RS384", data: file("rsa-spki"), want: &rsa.PublicKey{}},
		{name: "PKCS#1 public", alg: "RS256", data: file("rsa-pkcs1-public"), want: &rsa.PublicKey{}},
		{name: "certificate", alg: "RS256", data: file("rsa-cert"), want: &rsa.PublicKey{}},
		{name: "SEC 1 EC private", alg: "ES256", data: file("p256-sec1"), want: &ecdsa.PrivateKey{}},
		{name: "PKCS#8 EC private", alg: "ES384", data: file("p384-pkcs8"), want: &ecdsa.PrivateKey{}},
		{name: "SPKI EC public P-521", alg: "ES512", data: file("p521-spki"), want: &ecdsa.PublicKey{}},
		{name: "PKCS#8 Ed25519", alg: "EdDSA", data: file("ed25519-pkcs8"), want: ed25519.PrivateKey{}},
		{name: "SPKI Ed25519", alg: "EdDSA", data: file("ed25519-spki"), want: ed25519.PublicKey{}},
		{
			name: "EC PARAMETERS block skipped", alg: "ES256", want: &ecdsa.PrivateKey{},
			data: append(pem.EncodeToMemory(&pem.Block{Type: "EC PARAMETERS", Bytes: []byte{6, 8, 42, 134, 72, 206, 61, 3, 1, 7}}), file("p256-sec1")...),
		},
		{name: "certificate chain: first taken", alg: "RS256", data: append(file("rsa-cert"), file("rsa-cert")...), want: &rsa.PublicKey{}},

		{name: "weak RSA", alg: "RS256", data: file("rsa1024-spki"), wantErr: "1024 bits"},
		{name: "wrong curve", alg: "ES256", data: file("p384-spki"), wantErr: "P-256"},
		{name: "RSA key for ES256", alg: "ES256", data: file("rsa-spki"), wantErr: "ecdsa"},
		{name: "EC key for EdDSA", alg: "EdDSA", data: file("p256-spki"), wantErr: "ed25519"},
		{name: "HMAC algorithm", alg: "HS256", data: file("rsa-spki"), wantErr: "HMAC algorithm"},
		{name: "none", alg: "none", data: file("rsa-spki"), wantErr: "unsupported algorithm"},
		{name: "two keys", alg: "RS256", data: append(file("rsa-spki"), file("rsa-pkcs1")...), wantErr: "more than one key"},
		{name: "no PEM", alg: "RS256", data: []byte("not pem"), wantErr: "no PEM block"},
		{name: "empty", alg: "RS256", data: nil, wantErr: "no PEM block"},
		{
			name: "encrypted", alg: "RS256", wantErr: "encrypted",
			data: pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Headers: map[string]string{"Proc-Type": "4,ENCRYPTED", "DEK-Info": "AES-128-CBC,00"}, Bytes: []byte{1}}),
		},
		{name: "encrypted PKCS#8", alg: "RS256", data: pem.EncodeToMemory(&pem.Block{Type: "ENCRYPTED PRIVATE KEY", Bytes: []byte{1}}), wantErr: "encrypted"},
		{name: "garbage DER", alg: "RS256", data: pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: []byte{1, 2, 3}}), wantErr: "PUBLIC KEY"},
		{name: "unknown block", alg: "RS256", data: pem.EncodeToMemory(&pem.Block{Type: "OPENSSH PRIVATE KEY", Bytes: []byte{1}}), wantErr: "unsupported PEM block"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k, err := jwtguard.ParsePEM(tt.data, tt.alg, "kid-1")
			if tt.wantErr != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tt.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, "kid-1", k.ID)
			assert.Equal(t, tt.alg, k.Algorithm)
			assert.IsType(t, tt.want, k.Key)
		})
	}
}

// TestHMACSecretNotPEM: PEM text given as an HMAC secret is refused, so a
// public key can never become a secret by mistake.
func TestHMACSecretNotPEM(t *testing.T) {
	pemBytes := readTestdata(t, fixtures(t).Files["rsa-spki"])
	_, err := jwtguard.New(jwtguard.WithKey("HS256", pemBytes))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "PEM")
}
