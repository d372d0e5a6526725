package jwtguard_test

import (
	"crypto/ecdsa"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/jwtguard/jwtguard"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestJWKSHandler(t *testing.T) {
	f := fixtures(t)
	rsaKey, err := jwtguard.ParsePEM(readTestdata(t, f.Files["rsa-pkcs8"]), "PS256", "rsa")
	require.NoError(t, err)
	edKey, err := jwtguard.ParsePEM(readTestdata(t, f.Files["ed25519-pkcs8"]), "EdDSA", "ed")
	require.NoError(t, err)
	ec := ecKey(t, "ec")
	hmacKey := jwtguard.Key{ID: "hmac", Algorithm: "HS256", Key: secret256}
	ks, err := jwtguard.NewKeySet(ec, rsaKey, hmacKey, edKey)
	require.NoError(t, err)
	h := ks.JWKSHandler(10 * time.Minute)

	get := func(method string, header http.Header) *httptest.ResponseRecorder {
		r := httptest.NewRequest(method, "/.well-known/jwks.json", nil)
		for k, v := range header {
			r.Header[k] = v
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w
	}
	w := get(http.MethodGet, nil)
	require.Equal(t, http.StatusOK, w.Code)
	assert.Equal(t, "application/jwk-set+json", w.Header().Get("Content-Type"))
	assert.Equal(t, "public, max-age=600", w.Header().Get("Cache-Control"))
	etag := w.Header().Get("ETag")
	require.NotEmpty(t, etag)

	var doc struct {
		Keys []map[string]any `json:"keys"`
	}
	require.NoError(t, json.Unmarshal(w.Body.Bytes(), &doc))
	require.Len(t, doc.Keys, 3, "the HMAC key is never served")
	for i, want := range []struct{ kid, alg, kty string }{{"ec", "ES256", "EC"}, {"rsa", "PS256", "RSA"}, {"ed", "EdDSA", "OKP"}} {
		k := doc.Keys[i]
		assert.Equal(t, want.kid, k["kid"])
		assert.Equal(t, want.alg, k["alg"])
		assert.Equal(t, want.kty, k["kty"])
		assert.Equal(t, "sig", k["use"])
		for _, private := range []string{"d", "p", "q", "dp", "dq", "qi", "k"} {
			assert.NotContains(t, k, private)
		}
	}
	// The document reads back into the public keys.
	keys, err := jwtguard.ParseJWKS(w.Body.Bytes(), "")
	require.NoError(t, err)
	require.Len(t, keys, 3)
	assert.True(t, keys[0].Key.(*ecdsa.PublicKey).Equal(&ec.Key.(*ecdsa.PrivateKey).PublicKey))

	t.Run("conditional", func(t *testing.T) {
		w := get(http.MethodGet, http.Header{"If-None-Match": {etag}})
		assert.Equal(t, http.StatusNotModified, w.Code)
		assert.Empty(t, w.Body.Bytes())
	})
	t.Run("HEAD", func(t *testing.T) {
		w := get(http.MethodHead, nil)
		assert.Equal(t, http.StatusOK, w.Code)
		assert.Empty(t, w.Body.Bytes())
	})
	t.Run("POST", func(t *testing.T) {
		w := get(http.MethodPost, nil)
		assert.Equal(t, http.StatusMethodNotAllowed, w.Code)
		assert.Equal(t, "GET, HEAD", w.Header().Get("Allow"))
	})
	t.Run("follows rotation", func(t *testing.T) {
		require.NoError(t, ks.Rotate(ecKey(t, "next")))
		w := get(http.MethodGet, http.Header{"If-None-Match": {etag}})
		require.Equal(t, http.StatusOK, w.Code)
		assert.NotEqual(t, etag, w.Header().Get("ETag"))
		require.NoError(t, json.Unmarshal(w.Body.Bytes(), &doc))
		assert.Equal(t, "next", doc.Keys[0]["kid"])
		assert.Len(t, doc.Keys, 4)
	})
	t.Run("no max-age", func(t *testing.T) {
		w := httptest.NewRecorder()
		ks.JWKSHandler(0).ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/", nil))
		assert.Equal(t, "no-cache", w.Header().Get("Cache-Control"))
	})
}
