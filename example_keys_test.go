package jwtguard_test

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/jwtguard/jwtguard"
)

// exampleKey is an Ed25519 key made from a fixed seed, so that the examples'
// output does not change. Real keys come from configuration (ParsePEM).
func exampleKey(id string, seed byte) jwtguard.Key {
	s := make([]byte, ed25519.SeedSize)
	s[0] = seed
	return jwtguard.Key{ID: id, Algorithm: "EdDSA", Key: ed25519.NewKeyFromSeed(s)}
}

// exampleMint signs an access token with the key set's current key, as an
// issuer does: the key's algorithm, and its ID in the kid header.
func exampleMint(ks *jwtguard.KeySet) string {
	k, err := ks.SigningKey()
	if err != nil {
		log.Fatal(err)
	}
	tok := jwt.NewWithClaims(jwt.GetSigningMethod(k.Algorithm), jwt.MapClaims{
		"sub": "alice", "type": "access", "exp": time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC).Unix(),
	})
	tok.Header["kid"] = k.ID
	s, err := tok.SignedString(k.Key)
	if err != nil {
		log.Fatal(err)
	}
	return s
}

// A key set rotated at runtime: tokens signed with the previous key keep
// working until that key is removed.
func ExampleKeySet() {
	ks, err := jwtguard.NewKeySet(exampleKey("2026-01", 1))
	if err != nil {
		log.Fatal(err)
	}
	mw, err := jwtguard.New(jwtguard.WithKeySet(ks),
		jwtguard.WithClock(func() time.Time { return time.Date(2029, 1, 1, 0, 0, 0, 0, time.UTC) }))
	if err != nil {
		log.Fatal(err)
	}
	check := func(name, token string) {
		_, err := mw.Verify(context.Background(), token)
		fmt.Printf("%s: %v\n", name, err)
	}

	january := exampleMint(ks)
	check("january", january)

	if err := ks.Rotate(exampleKey("2026-02", 2)); err != nil {
		log.Fatal(err)
	}
	february := exampleMint(ks)
	check("february", february)
	check("january after rotation", january)

	if err := ks.Remove("2026-01"); err != nil {
		log.Fatal(err)
	}
	_, err = mw.Verify(context.Background(), january)
	fmt.Println("january after removal is unknown:", errors.Is(err, jwtguard.ErrUnknownKey))
	check("february after removal", february)
	// Output:
	// january: <nil>
	// february: <nil>
	// january after rotation: <nil>
	// january after removal is unknown: true
	// february after removal: <nil>
}

// Serving a key set's public keys for other services.
func ExampleKeySet_JWKSHandler() {
	ks, err := jwtguard.NewKeySet(exampleKey("2026-02", 2), exampleKey("2026-01", 1))
	if err != nil {
		log.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /.well-known/jwks.json", ks.JWKSHandler(5*time.Minute))
	srv := httptest.NewServer(mux)
	defer srv.Close()

	resp, err := http.Get(srv.URL + "/.well-known/jwks.json")
	if err != nil {
		log.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	fmt.Println(resp.Status)
	fmt.Println(resp.Header.Get("Content-Type"))
	fmt.Println(resp.Header.Get("Cache-Control"))
	fmt.Print(string(body))
	// Output:
	// 200 OK
	// application/jwk-set+json
	// public, max-age=300
	// {"keys":[{"kty":"OKP","kid":"2026-02","use":"sig","alg":"EdDSA","crv":"Ed25519","x":"a3nFfmoJUjkoLASBjpYRLz8DpAAbqXpWTCOFKj8epfw"},{"kty":"OKP","kid":"2026-01","use":"sig","alg":"EdDSA","crv":"Ed25519","x":"zswVB9wd3XKVlRwpCIjwla25BE0bc9aW5t8GXWg71Pw"}]}
}

// Verifying tokens with the keys of a remote JWKS, such as an identity
// provider's. Here the provider is a test server; a real URL is https.
func ExampleNewJWKS() {
	issuer, err := jwtguard.NewKeySet(exampleKey("2026-01", 1))
	if err != nil {
		log.Fatal(err)
	}
	provider := httptest.NewServer(issuer.JWKSHandler(time.Hour))
	defer provider.Close()

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel() // stops the background refreshes, as Close does
	keys, err := jwtguard.NewJWKS(ctx, provider.URL, []string{"EdDSA"},
		jwtguard.WithJWKSInsecureHTTP(), // for the test server only
		jwtguard.WithJWKSErrorHook(func(err error) { log.Print(err) }))
	if err != nil {
		log.Fatal(err)
	}
	if err := keys.Refresh(ctx); err != nil { // optional: fail fast at start-up
		log.Fatal(err)
	}
	mw, err := jwtguard.New(jwtguard.WithJWKS(keys),
		jwtguard.WithClock(func() time.Time { return time.Date(2029, 1, 1, 0, 0, 0, 0, time.UTC) }))
	if err != nil {
		log.Fatal(err)
	}
	claims, err := mw.Verify(ctx, exampleMint(issuer))
	fmt.Println(claims.(*jwtguard.Claims).Subject, err)
	// Output:
	// alice <nil>
}
