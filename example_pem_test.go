package jwtguard_test

import (
	"fmt"
	"log"
	"os"

	"github.com/jwtguard/jwtguard"
)

// Keys usually come as PEM files: the private key signs, where tokens are
// issued; the public key verifies, wherever they are checked. The argument
// order is that of ParseJWK: the data, the algorithm, then the key ID.
func ExampleParsePEM() {
	private, err := os.ReadFile("testdata/keys/ed25519-pkcs8.pem") // -----BEGIN PRIVATE KEY-----
	if err != nil {
		log.Fatal(err)
	}
	signing, err := jwtguard.ParsePEM(private, "EdDSA", "2026-01")
	if err != nil {
		log.Fatal(err)
	}
	public, err := os.ReadFile("testdata/keys/ed25519-spki.pem") // -----BEGIN PUBLIC KEY-----
	if err != nil {
		log.Fatal(err)
	}
	verifying, err := jwtguard.ParsePEM(public, "EdDSA", "2026-01")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%s %s %T\n", signing.Algorithm, signing.ID, signing.Key)
	fmt.Printf("%s %s %T\n", verifying.Algorithm, verifying.ID, verifying.Key)

	// Sign with one, verify with the other.
	if _, err := jwtguard.NewIssuer(jwtguard.IssuerConfig{Key: signing, Issuer: "https://auth.example.com"}); err != nil {
		log.Fatal(err)
	}
	if _, err := jwtguard.New(jwtguard.WithKeys(verifying), jwtguard.WithIssuer("https://auth.example.com")); err != nil {
		log.Fatal(err)
	}

	// The key must fit the algorithm.
	_, err = jwtguard.ParsePEM(public, "ES256", "2026-01")
	fmt.Println(err)
	// Output:
	// EdDSA 2026-01 ed25519.PrivateKey
	// EdDSA 2026-01 ed25519.PublicKey
	// jwtguard: ParsePEM: ES256 needs an *ecdsa.PublicKey or *ecdsa.PrivateKey, got ed25519.PublicKey
}
