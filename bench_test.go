package jwtguard_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/jwtguard/jwtguard"
)

// benchSecret, benchIss and benchAud configure every benchmark alike.
var (
	benchSecret = []byte("bench-secret-bench-secret-32byte")
	benchIss    = "https://auth.example.com"
	benchAud    = "orders-api"
)

// benchToken is a realistic access token, like the peer harness's: 476 bytes.
func benchToken(b *testing.B) string {
	b.Helper()
	now := time.Now()
	tok, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{
		"sub": "user-1234567890", "iss": benchIss, "aud": []string{benchAud},
		"exp": now.Add(time.Hour).Unix(), "iat": now.Unix(), "nbf": now.Unix(),
		"jti": "6c1b8f0e-7a52-4d4e-9d1c-2f4b5a6e7d8c", "type": "access",
		"roles": []string{"orders:read", "orders:write"}, "email": "user@example.com",
	}).SignedString(benchSecret)
	if err != nil {
		b.Fatal(err)
	}
	return tok
}

// BenchmarkHS256 compares, in one run, a valid HS256 token served through
// the whole jwtguard chain into a handler that reads the claims
// (impl=jwtguard) with golang-jwt's ParseWithClaims into
// jwt.RegisteredClaims with the same checks and no HTTP (impl=golang-jwt),
// the reference every Go JWT middleware is built on. Compare them with
// benchstat -col /impl.
func BenchmarkHS256(b *testing.B) {
	tok := benchToken(b)
	b.Run("impl=jwtguard", func(b *testing.B) {
		mw, err := jwtguard.New(jwtguard.WithKey("HS256", benchSecret),
			jwtguard.WithIssuer(benchIss), jwtguard.WithAudience(benchAud))
		if err != nil {
			b.Fatal(err)
		}
		h := mw.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			c, ok := jwtguard.FromContext(r.Context())
			if !ok || c.Subject != "user-1234567890" || len(c.Roles) != 2 {
				w.WriteHeader(http.StatusTeapot)
				return
			}
			w.WriteHeader(http.StatusNoContent)
		}))
		req := httptest.NewRequest(http.MethodGet, "/", nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		w := &discardWriter{h: http.Header{}}
		b.ReportAllocs()
		for b.Loop() {
			w.code = 0
			h.ServeHTTP(w, req)
			if w.code != http.StatusNoContent {
				b.Fatalf("status %d", w.code)
			}
		}
	})
	b.Run("impl=golang-jwt", func(b *testing.B) {
		p := jwt.NewParser(jwt.WithValidMethods([]string{"HS256"}), jwt.WithIssuer(benchIss),
			jwt.WithAudience(benchAud), jwt.WithExpirationRequired(), jwt.WithIssuedAt())
		key := func(*jwt.Token) (any, error) { return benchSecret, nil }
		b.ReportAllocs()
		for b.Loop() {
			var c jwt.RegisteredClaims
			if _, err := p.ParseWithClaims(tok, &c, key); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkRejectDots sends a 64 KiB token of dots: it must be refused by
// the size check before any decoding.
func BenchmarkRejectDots(b *testing.B) {
	mw, err := jwtguard.New(jwtguard.WithKey("HS256", benchSecret))
	if err != nil {
		b.Fatal(err)
	}
	tok := strings.Repeat(".", 64<<10)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := mw.Verify(b.Context(), tok); err == nil {
			b.Fatal("accepted")
		}
	}
}

// discardWriter is a ResponseWriter that only remembers the status.
type discardWriter struct {
	h    http.Header
	code int
}

func (w *discardWriter) Header() http.Header { return w.h }
func (w *discardWriter) Write(p []byte) (int, error) {
	if w.code == 0 {
		w.code = http.StatusOK
	}
	return len(p), nil
}
func (w *discardWriter) WriteHeader(code int) { w.code = code }
