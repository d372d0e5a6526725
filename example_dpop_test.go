package jwtguard_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/jwtguard/jwtguard"
)

// ExampleWithDPoP protects a handler with DPoP-bound tokens allowed beside
// bearer tokens. A request without credentials is challenged for both
// schemes; the DPoP challenge names the proof algorithms.
func ExampleWithDPoP() {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader) // the token issuer's key
	if err != nil {
		panic(err)
	}
	mw, err := jwtguard.New(
		jwtguard.WithKey("ES256", &key.PublicKey),
		jwtguard.WithDPoP(jwtguard.DPoPAllowed, jwtguard.DPoPAlgorithms("ES256", "EdDSA")),
	)
	if err != nil {
		panic(err)
	}
	srv := httptest.NewServer(mw.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, "hello")
	})))
	defer srv.Close()

	resp, err := http.Get(srv.URL)
	if err != nil {
		panic(err)
	}
	resp.Body.Close()
	fmt.Println(resp.StatusCode)
	for _, c := range resp.Header.Values("WWW-Authenticate") {
		fmt.Println(c)
	}
	// Output:
	// 401
	// Bearer realm="api"
	// DPoP algs="ES256 EdDSA"
}
