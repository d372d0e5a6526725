package jwtguard_test

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"encoding/json"
	"strings"
	"testing"

	"github.com/jwtguard/jwtguard"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fixtureJWKs returns the keys of testdata/jwks.json (written by Python) by
// kid, as JSON objects tests can change.
func fixtureJWKs(t *testing.T) map[string]map[string]any {
	t.Helper()
	var set struct {
		Keys []map[string]any `json:"keys"`
	}
	require.NoError(t, json.Unmarshal(readTestdata(t, "jwks.json"), &set))
	out := map[string]map[string]any{}
	for _, k := range set.Keys {
		out[k["kid"].(string)] = k
	}
	return out
}

// edit returns a copy of k with changes applied; a nil value deletes.
func edit(k map[string]any, changes map[string]any) []byte {
	c := map[string]any{}
	for n, v := range k {
		c[n] = v
	}
	for n, v := range changes {
		if v == nil {
			delete(c, n)
		} else {
			c[n] = v
		}
	}
	b, _ := json.Marshal(c)
	return b
}

func TestParseJWK(t *testing.T) {
	keys := fixtureJWKs(t)
	rsaKey, ecKey, edKey := keys["rsa-rs256"], keys["ec-es256"], keys["ed-1"]
	const secret = "dGVzdC1zZWNyZXQtZm9yLWhzMjU2LTMyLWJ5dGVzISE" // 32 bytes
	tests := []struct {
		name    string
		data    []byte
		alg     string
		wantAlg string
		want    any
		wantErr string
	}{
		{name: "RSA with alg", data: edit(rsaKey, nil), wantAlg: "RS256", want: &rsa.PublicKey{}},
		{name: "RSA alg given too", data: edit(rsaKey, nil), alg: "RS256", wantAlg: "RS256", want: &rsa.PublicKey{}},
		{name: "RSA without alg, given", data: edit(rsaKey, map[string]any{"alg": nil}), alg: "PS256", wantAlg: "PS256", want: &rsa.PublicKey{}},
		{name: "EC P-256", data: edit(ecKey, nil), wantAlg: "ES256", want: &ecdsa.PublicKey{}},
		{name: "EC P-384", data: edit(keys["ec-es384"], nil), wantAlg: "ES384", want: &ecdsa.PublicKey{}},
		{name: "EC P-521", data: edit(keys["ec-es512"], nil), wantAlg: "ES512", want: &ecdsa.PublicKey{}},
		{name: "Ed25519", data: edit(edKey, nil), wantAlg: "EdDSA", want: ed25519.PublicKey{}},
		{name: "no use member", data: edit(edKey, map[string]any{"use": nil}), wantAlg: "EdDSA", want: ed25519.PublicKey{}},
		{name: "key_ops verify", data: edit(edKey, map[string]any{"key_ops": []string{"verify"}}), wantAlg: "EdDSA", want: ed25519.PublicKey{}},
		{name: "oct for HS256 asked", data: []byte(`{"kty":"oct","kid":"h","k":"` + secret + `"}`), alg: "HS256", wantAlg: "HS256", want: []byte{}},

		{name: "no alg anywhere", data: edit(rsaKey, map[string]any{"alg": nil}), wantErr: "no alg"},
		{name: "alg mismatch", data: edit(rsaKey, nil), alg: "PS256", wantErr: "does not match"},
		{name: "alg none", data: edit(rsaKey, map[string]any{"alg": "none"}), wantErr: `"none"`},
		{name: "RSA as ES256", data: edit(rsaKey, map[string]any{"alg": "ES256"}), wantErr: "ecdsa"},
		{name: "EC curve vs alg", data: edit(ecKey, map[string]any{"alg": "ES384"}), wantErr: "P-384"},
		{name: "RSA as HS256", data: edit(rsaKey, map[string]any{"alg": "HS256"}), wantErr: "[]byte"},
		{name: "oct without asking", data: []byte(`{"kty":"oct","alg":"HS256","k":"` + secret + `"}`), wantErr: "explicitly"},
		{name: "oct for RS256", data: []byte(`{"kty":"oct","k":"` + secret + `"}`), alg: "RS256", wantErr: "HMAC algorithm"},
		{name: "short oct", data: []byte(`{"kty":"oct","k":"c2hvcnQ"}`), alg: "HS256", wantErr: "at least 32"},
		{name: "use enc", data: edit(rsaKey, map[string]any{"use": "enc"}), wantErr: "use"},
		{name: "key_ops sign only", data: edit(rsaKey, map[string]any{"key_ops": []string{"sign"}}), wantErr: "key_ops"},
		{name: "private", data: edit(edKey, map[string]any{"d": "AAAA"}), wantErr: "private"},
		{name: "unknown kty", data: edit(rsaKey, map[string]any{"kty": "XYZ"}), wantErr: "kty"},
		{name: "no kty", data: edit(rsaKey, map[string]any{"kty": nil}), wantErr: "kty"},
		{name: "weak RSA", data: edit(rsaKey, map[string]any{"n": strings.Repeat("w", 171)}), wantErr: "at least 2048"},
		{name: "RSA e even", data: edit(rsaKey, map[string]any{"e": "AQAC"}), wantErr: "exponent"},
		{name: "RSA e huge", data: edit(rsaKey, map[string]any{"e": "AQAAAAAB"}), wantErr: "exponent"},
		{name: "RSA no n", data: edit(rsaKey, map[string]any{"n": nil}), wantErr: `"n"`},
		{name: "bad base64", data: edit(rsaKey, map[string]any{"n": "!!"}), wantErr: "base64url"},
		{name: "EC point off the curve", data: edit(ecKey, map[string]any{"y": ecKey["x"]}), wantErr: "EC point"},
		{name: "EC short coordinate", data: edit(ecKey, map[string]any{"x": "AAEC"}), wantErr: "32 bytes"},
		{name: "EC unknown curve", data: edit(ecKey, map[string]any{"crv": "secp256k1"}), wantErr: "curve"},
		{name: "OKP X25519", data: edit(edKey, map[string]any{"crv": "X25519"}), wantErr: "curve"},
		{name: "OKP short", data: edit(edKey, map[string]any{"x": "AAEC"}), wantErr: "32 bytes"},
		{name: "not JSON", data: []byte("{"), wantErr: "JSON"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k, err := jwtguard.ParseJWK(tt.data, tt.alg)
			if tt.wantErr != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tt.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.wantAlg, k.Algorithm)
			assert.IsType(t, tt.want, k.Key)
		})
	}
}

func TestParseJWKS(t *testing.T) {
	t.Run("the Python set", func(t *testing.T) {
		keys, err := jwtguard.ParseJWKS(readTestdata(t, "jwks.json"), "")
		require.NoError(t, err)
		require.Len(t, keys, 10)
		// Every key verifies its fixture token: the JWK encoding agrees with
		// an independent implementation.
		mw, err := jwtguard.New(fixtureOptions(jwtguard.WithKeys(keys...))...)
		require.NoError(t, err)
		for _, tok := range fixtures(t).Tokens {
			if tok.Secret == "" {
				_, err := mw.Verify(t.Context(), tok.Token)
				assert.NoError(t, err, tok.Alg)
			}
		}
	})
	t.Run("one bad key fails the set", func(t *testing.T) {
		_, err := jwtguard.ParseJWKS([]byte(`{"keys":[`+string(edit(fixtureJWKs(t)["ed-1"], nil))+`,{"kty":"RSA","kid":"x"}]}`), "")
		require.Error(t, err)
		assert.Contains(t, err.Error(), `kid "x"`)
	})
	t.Run("empty", func(t *testing.T) {
		_, err := jwtguard.ParseJWKS([]byte(`{"keys":[]}`), "")
		require.Error(t, err)
	})
}
