package jwtguard_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"fmt"
	"testing"

	"github.com/jwtguard/jwtguard"
)

// BenchmarkIssuers serves a valid token of the second of three issuers,
// each with its own key, through the whole chain (issuers=3), against the
// same token with one issuer configured (issuers=1): what reading iss
// before the signature check and choosing the issuer's verifier add. For
// HS256 that is most of what is left beside the HMAC; for ES256 it is lost
// in the signature check. Compare with benchstat -col /issuers.
func BenchmarkIssuers(b *testing.B) {
	for _, alg := range []string{"HS256", "ES256"} {
		keys := make([]jwtguard.Key, 3)
		for i := range keys {
			keys[i] = jwtguard.Key{ID: fmt.Sprintf("key-%d", i), Algorithm: alg}
			if alg == "HS256" {
				keys[i].Key = []byte(fmt.Sprintf("bench-secret-bench-secret-32by-%d", i))
				continue
			}
			ec, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
			if err != nil {
				b.Fatal(err)
			}
			keys[i].Key = ec
		}
		tok := benchTokenFor(b, keys[1]) // iss is benchIss
		issuers := []jwtguard.TrustedIssuer{
			{Issuer: "https://login.example.org/", Keys: keys[:1]},
			{Issuer: benchIss, Keys: keys[1:2]},
			{Issuer: "https://svc.example.net", Keys: keys[2:]},
		}
		for _, n := range []int{1, 3} {
			opts := []jwtguard.Option{jwtguard.WithKeys(keys[1]), jwtguard.WithIssuer(benchIss)}
			if n == 3 {
				opts = []jwtguard.Option{jwtguard.WithIssuers(issuers...)}
			}
			mw, err := jwtguard.New(append(opts, jwtguard.WithAudience(benchAud))...)
			if err != nil {
				b.Fatal(err)
			}
			b.Run(fmt.Sprintf("alg=%s/issuers=%d", alg, n), func(b *testing.B) { benchChain(b, mw, tok) })
		}
	}
}
