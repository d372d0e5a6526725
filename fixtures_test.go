package jwtguard_test

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"

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
	k, err := jwtguard.ParsePEM(tok.Kid, tok.Alg, readTestdata(t, tok.PEM))
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
func serve(t testing.TB, mw *jwtguard.Middleware, token string) int {
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
