package jwtguard_test

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/jwtguard/jwtguard"
)

// benchKeys are the asymmetric keys of the benchmarks, one per algorithm.
func benchKeys(b *testing.B) map[string]jwtguard.Key {
	b.Helper()
	r, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		b.Fatal(err)
	}
	e, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		b.Fatal(err)
	}
	_, ed, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		b.Fatal(err)
	}
	return map[string]jwtguard.Key{
		"RS256": {ID: "rsa-1", Algorithm: "RS256", Key: r},
		"ES256": {ID: "ec-1", Algorithm: "ES256", Key: e},
		"EdDSA": {ID: "ed-1", Algorithm: "EdDSA", Key: ed},
	}
}

// benchTokenFor is benchToken's access token signed with k, naming its kid.
func benchTokenFor(b *testing.B, k jwtguard.Key) string {
	b.Helper()
	now := time.Now()
	tok := jwt.NewWithClaims(jwt.GetSigningMethod(k.Algorithm), jwt.MapClaims{
		"sub": "user-1234567890", "iss": benchIss, "aud": []string{benchAud},
		"exp": now.Add(time.Hour).Unix(), "iat": now.Unix(), "nbf": now.Unix(),
		"jti": "6c1b8f0e-7a52-4d4e-9d1c-2f4b5a6e7d8c", "type": "access",
		"roles": []string{"orders:read", "orders:write"}, "email": "user@example.com",
	})
	tok.Header["kid"] = k.ID
	s, err := tok.SignedString(k.Key)
	if err != nil {
		b.Fatal(err)
	}
	return s
}

// benchChain serves token through mw into a handler reading the claims.
func benchChain(b *testing.B, mw *jwtguard.Middleware, token string) {
	b.Helper()
	var sub string
	h := mw.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, ok := jwtguard.FromContext(r.Context())
		if !ok {
			b.Fatal("no claims")
		}
		sub = c.Subject
		w.WriteHeader(http.StatusNoContent)
	}))
	req := httptest.NewRequest(http.MethodGet, "/", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	w := &discardWriter{h: http.Header{}}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		w.code = 0
		h.ServeHTTP(w, req)
		if w.code != http.StatusNoContent {
			b.Fatalf("status %d", w.code)
		}
	}
	_ = sub
}

// BenchmarkKeyAlgorithms compares, per asymmetric algorithm, one request
// through the whole middleware chain (impl=jwtguard), the same with the
// cache, the token repeated (impl=jwtguard-cached), golang-jwt's bare
// ParseWithClaims into jwt.RegisteredClaims with the same key and checks
// (impl=bare), and the bare signature check with the standard library over
// the signing input, the signature decoded, no JSON (impl=sig). Compare
// with: benchstat -col /impl.
func BenchmarkKeyAlgorithms(b *testing.B) {
	keys := benchKeys(b)
	for _, alg := range []string{"RS256", "ES256", "EdDSA"} {
		k := keys[alg]
		tok := benchTokenFor(b, k)
		for _, cached := range []bool{false, true} {
			name := "alg=" + alg + "/impl=jwtguard"
			opts := []jwtguard.Option{jwtguard.WithKeys(k), jwtguard.WithIssuer(benchIss), jwtguard.WithAudience(benchAud)}
			if cached {
				name += "-cached"
				opts = append(opts, jwtguard.WithCache(1024))
			}
			b.Run(name, func(b *testing.B) {
				mw, err := jwtguard.New(opts...)
				if err != nil {
					b.Fatal(err)
				}
				benchChain(b, mw, tok)
			})
		}
		b.Run("alg="+alg+"/impl=bare", func(b *testing.B) {
			pub := publicOf(k.Key)
			p := jwt.NewParser(jwt.WithValidMethods([]string{alg}), jwt.WithIssuer(benchIss),
				jwt.WithAudience(benchAud), jwt.WithExpirationRequired(), jwt.WithIssuedAt())
			keyFunc := func(*jwt.Token) (any, error) { return pub, nil }
			b.ReportAllocs()
			for b.Loop() {
				var c jwt.RegisteredClaims
				if _, err := p.ParseWithClaims(tok, &c, keyFunc); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run("alg="+alg+"/impl=sig", func(b *testing.B) {
			verify := sigVerifier(b, publicOf(k.Key))
			dot := strings.LastIndexByte(tok, '.')
			input, sigText := []byte(tok[:dot]), []byte(tok[dot+1:])
			sig := make([]byte, 0, 512)
			b.ReportAllocs()
			for b.Loop() {
				var err error
				sig, err = base64.RawURLEncoding.AppendDecode(sig[:0], sigText)
				if err != nil || !verify(input, sig) {
					b.Fatal("signature")
				}
			}
		})
	}
}

// sigVerifier returns the standard library's verification of a JWS
// signature with pub: RS256, ES256 (r||s) or EdDSA.
func sigVerifier(b *testing.B, pub any) func(input, sig []byte) bool {
	switch k := pub.(type) {
	case *rsa.PublicKey:
		return func(input, sig []byte) bool {
			h := sha256.Sum256(input)
			return rsa.VerifyPKCS1v15(k, crypto.SHA256, h[:], sig) == nil
		}
	case *ecdsa.PublicKey:
		return func(input, sig []byte) bool {
			h := sha256.Sum256(input)
			var r, s big.Int
			return len(sig) == 64 && ecdsa.Verify(k, h[:], r.SetBytes(sig[:32]), s.SetBytes(sig[32:]))
		}
	case ed25519.PublicKey:
		return func(input, sig []byte) bool { return ed25519.Verify(k, input, sig) }
	}
	b.Fatalf("no verifier for %T", pub)
	return nil
}

// BenchmarkKeySources serves an ES256 token through the whole chain with the
// key configured statically, in a KeySet of three keys, and fetched by a
// JWKS client (cached: the fetch happens before the timer starts). Compare
// with: benchstat -col /source.
func BenchmarkKeySources(b *testing.B) {
	keys := benchKeys(b)
	k := keys["ES256"]
	tok := benchTokenFor(b, k)
	common := []jwtguard.Option{jwtguard.WithIssuer(benchIss), jwtguard.WithAudience(benchAud)}
	ks, err := jwtguard.NewKeySet(keys["EdDSA"], keys["RS256"], k)
	if err != nil {
		b.Fatal(err)
	}
	srv := httptest.NewServer(ks.JWKSHandler(time.Hour))
	defer srv.Close()
	jwks, err := jwtguard.NewJWKS(b.Context(), srv.URL, []string{"ES256", "RS256", "EdDSA"}, jwtguard.WithJWKSInsecureHTTP())
	if err != nil {
		b.Fatal(err)
	}
	defer jwks.Close()
	if err := jwks.Refresh(b.Context()); err != nil {
		b.Fatal(err)
	}
	for _, src := range []struct {
		name string
		opt  jwtguard.Option
	}{
		{"static", jwtguard.WithKeys(k)},
		{"keyset", jwtguard.WithKeySet(ks)},
		{"jwks", jwtguard.WithJWKS(jwks)},
	} {
		b.Run("source="+src.name, func(b *testing.B) {
			mw, err := jwtguard.New(append(common, src.opt)...)
			if err != nil {
				b.Fatal(err)
			}
			benchChain(b, mw, tok)
		})
	}
}

// BenchmarkUnknownKid is a token naming a kid a JWKS does not hold, within
// the refetch interval: refused from memory, without I/O.
func BenchmarkUnknownKid(b *testing.B) {
	keys := benchKeys(b)
	ks, err := jwtguard.NewKeySet(keys["ES256"])
	if err != nil {
		b.Fatal(err)
	}
	srv := httptest.NewServer(ks.JWKSHandler(time.Hour))
	defer srv.Close()
	jwks, err := jwtguard.NewJWKS(b.Context(), srv.URL, []string{"ES256"}, jwtguard.WithJWKSInsecureHTTP(),
		jwtguard.WithJWKSRefetchInterval(time.Hour))
	if err != nil {
		b.Fatal(err)
	}
	defer jwks.Close()
	mw, err := jwtguard.New(jwtguard.WithJWKS(jwks))
	if err != nil {
		b.Fatal(err)
	}
	other := keys["ES256"]
	other.ID = "made-up"
	tok := benchTokenFor(b, other)
	_, _ = mw.Verify(b.Context(), tok) // the one fetch the interval allows
	b.ReportAllocs()
	for b.Loop() {
		if _, err := mw.Verify(b.Context(), tok); err == nil {
			b.Fatal("accepted")
		}
	}
}

// publicOf returns the public half of a private key.
func publicOf(key any) any {
	switch k := key.(type) {
	case *rsa.PrivateKey:
		return &k.PublicKey
	case *ecdsa.PrivateKey:
		return &k.PublicKey
	case ed25519.PrivateKey:
		return k.Public()
	}
	return key
}
