package jwtguard_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/jwtguard/jwtguard"
	"github.com/stretchr/testify/require"
)

// fixtureSet is testdata/tokens.json, written by testdata/gen_fixtures.py
// with Python's cryptography package: tokens for every algorithm signed
// without golang-jwt.
type fixtureSet struct {
	Files  map[string]string `json:"files"`
	Tokens []struct {
		Alg    string `json:"alg"`
		Kid    string `json:"kid"`
		PEM    string `json:"pem"`
		Secret string `json:"secret"`
		Token  string `json:"token"`
	} `json:"tokens"`
	Confusion string `json:"confusion"`
}

var loadFixtures = sync.OnceValues(func() (fixtureSet, error) {
	var f fixtureSet
	b, err := os.ReadFile(filepath.Join("testdata", "tokens.json"))
	if err != nil {
		return f, err
	}
	return f, json.Unmarshal(b, &f)
})

func fixtures(t testing.TB) fixtureSet {
	t.Helper()
	f, err := loadFixtures()
	require.NoError(t, err)
	return f
}

// readTestdata reads a file under testdata.
func readTestdata(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	require.NoError(t, err)
	return b
}

// fixtureKey returns the verification key of fixture token i.
func fixtureKey(t testing.TB, f fixtureSet, i int) jwtguard.Key {
	t.Helper()
	tok := f.Tokens[i]
	if tok.Secret != "" {
		secret, err := base64.RawURLEncoding.DecodeString(tok.Secret)
		require.NoError(t, err)
		return jwtguard.Key{ID: tok.Kid, Algorithm: tok.Alg, Key: secret}
	}
	k, err := jwtguard.ParsePEM(readTestdata(t, tok.PEM), tok.Alg, tok.Kid)
	require.NoError(t, err)
	return k
}

// fixtureOptions are the options that accept the fixture tokens' claims.
func fixtureOptions(opts ...jwtguard.Option) []jwtguard.Option {
	return append([]jwtguard.Option{
		jwtguard.WithClock(fixedClock),
		jwtguard.WithIssuer("https://issuer.test"),
		jwtguard.WithAudience("api.test"),
	}, opts...)
}

// serve sends a request with token through mw and returns the status.
func serveStatus(t testing.TB, mw *jwtguard.Middleware, token string) int {
	t.Helper()
	h := mw.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, ok := jwtguard.FromContext(r.Context())
		if !ok {
			t.Error("no claims in the context")
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	if token != "" {
		r.Header.Set("Authorization", "Bearer "+token)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w.Code
}

// ecKey is a fresh P-256 signing key with id.
func ecKey(t testing.TB, id string) jwtguard.Key {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	return jwtguard.Key{ID: id, Algorithm: "ES256", Key: k}
}

// jwksDoc is the JWKS document of keys, as a KeySet's handler serves it.
func jwksDoc(t testing.TB, keys ...jwtguard.Key) []byte {
	t.Helper()
	ks, err := jwtguard.NewKeySet(keys[0], keys[1:]...)
	require.NoError(t, err)
	w := httptest.NewRecorder()
	ks.JWKSHandler(time.Minute).ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/", nil))
	require.Equal(t, http.StatusOK, w.Code)
	return w.Body.Bytes()
}

// tokenFor signs a valid access token (at testNow) with k, naming its kid.
func tokenFor(t testing.TB, k jwtguard.Key) string {
	t.Helper()
	return sign(t, jwt.GetSigningMethod(k.Algorithm), k.Key, validClaims(), map[string]any{"kid": k.ID})
}

// jwtMethod is golang-jwt's signing method for k.
func jwtMethod(k jwtguard.Key) jwt.SigningMethod { return jwt.GetSigningMethod(k.Algorithm) }

// ids lists the IDs of keys.
func ids(keys []jwtguard.Key) []string {
	out := make([]string, len(keys))
	for i, k := range keys {
		out[i] = k.ID
	}
	return out
}
