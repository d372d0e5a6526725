package jwtguard_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/http/httptest"
	"runtime"
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
// (impl=jwtguard), the same with the cache, the token repeated
// (impl=jwtguard-cached), golang-jwt's ParseWithClaims into
// jwt.RegisteredClaims with the same checks and no HTTP (impl=golang-jwt),
// the reference every Go JWT middleware is built on, and the floor of any
// verification: base64url-decoding the signature and an HMAC-SHA256 of the
// signing input with a reused keyed hash, compared in constant time, no
// JSON (impl=hmac). Compare them with benchstat -col /impl.
func BenchmarkHS256(b *testing.B) {
	tok := benchToken(b)
	for _, cached := range []bool{false, true} {
		name := "impl=jwtguard"
		opts := []jwtguard.Option{jwtguard.WithKey("HS256", benchSecret),
			jwtguard.WithIssuer(benchIss), jwtguard.WithAudience(benchAud)}
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
	b.Run("impl=hmac", func(b *testing.B) {
		dot := strings.LastIndexByte(tok, '.')
		input, sigText := []byte(tok[:dot]), tok[dot+1:]
		mac := hmac.New(sha256.New, benchSecret)
		sig := make([]byte, 0, 64)
		sum := make([]byte, 0, 64)
		b.ReportAllocs()
		for b.Loop() {
			var err error
			sig, err = base64.RawURLEncoding.AppendDecode(sig[:0], []byte(sigText))
			mac.Reset()
			mac.Write(input)
			sum = mac.Sum(sum[:0])
			if err != nil || !hmac.Equal(sum, sig) {
				b.Fatal("signature")
			}
		}
	})
}

// BenchmarkCachedParallel serves a cached token through the whole chain,
// sequentially (run=seq) and under b.RunParallel with GOMAXPROCS goroutines
// (run=par): ns/op is wall time per request, so perfect scaling on 2 cores
// halves it. Compare with benchstat -col /run. heap=min runs with the
// benchmark's own tiny live heap, so the garbage collector runs every few
// megabytes allocated; heap=64MiB keeps 64 MiB live meanwhile, as a server
// would, which spaces collections out.
func BenchmarkCachedParallel(b *testing.B) {
	keys := benchKeys(b)
	keys["HS256"] = jwtguard.Key{ID: "hs-1", Algorithm: "HS256", Key: benchSecret}
	for _, heap := range []int{0, 64} {
		var ballast [][]byte
		for range heap * 16 {
			ballast = append(ballast, make([]byte, 64<<10))
		}
		heapName := "heap=min"
		if heap > 0 {
			heapName = fmt.Sprintf("heap=%dMiB", heap)
		}
		for _, alg := range []string{"HS256", "ES256"} {
			k := keys[alg]
			tok := benchTokenFor(b, k)
			mw, err := jwtguard.New(jwtguard.WithKeys(k), jwtguard.WithIssuer(benchIss),
				jwtguard.WithAudience(benchAud), jwtguard.WithCache(1024))
			if err != nil {
				b.Fatal(err)
			}
			b.Run(heapName+"/alg="+alg+"/run=seq", func(b *testing.B) { benchChain(b, mw, tok) })
			b.Run(heapName+"/alg="+alg+"/run=par", func(b *testing.B) {
				h := mw.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					if c, ok := jwtguard.FromContext(r.Context()); !ok || c.Subject == "" {
						w.WriteHeader(http.StatusTeapot)
						return
					}
					w.WriteHeader(http.StatusNoContent)
				}))
				b.ReportAllocs()
				b.RunParallel(func(pb *testing.PB) {
					req := httptest.NewRequest(http.MethodGet, "/", nil)
					req.Header.Set("Authorization", "Bearer "+tok)
					w := &discardWriter{h: http.Header{}}
					for pb.Next() {
						w.code = 0
						h.ServeHTTP(w, req)
						if w.code != http.StatusNoContent {
							b.Errorf("status %d", w.code)
							return
						}
					}
				})
			})
		}
		runtime.KeepAlive(ballast)
	}
}

// BenchmarkReject sends tokens that must be refused before any decoding or
// allocation (beyond the error, which is built once): garbage characters,
// a token over the size limit, and random base64url with the cache on (the
// lookup hashes it first). Each must take well under a microsecond.
func BenchmarkReject(b *testing.B) {
	garbage := strings.Repeat("not a token!", 40)
	cases := []struct {
		name, token string
		opts        []jwtguard.Option
	}{
		{"input=garbage", garbage, nil},
		{"input=oversized", strings.Repeat("A", 64<<10), nil},
		{"input=no-dots", strings.Repeat("QUJD", 120), nil},
		{"input=garbage-cached", garbage, []jwtguard.Option{jwtguard.WithCache(1024)}},
		{"input=no-dots-cached", strings.Repeat("QUJD", 120), []jwtguard.Option{jwtguard.WithCache(1024)}},
	}
	for _, tc := range cases {
		b.Run(tc.name, func(b *testing.B) {
			mw, err := jwtguard.New(append([]jwtguard.Option{jwtguard.WithKey("HS256", benchSecret)}, tc.opts...)...)
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := mw.Verify(b.Context(), tc.token); err == nil {
					b.Fatal("accepted")
				}
			}
		})
	}
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

// BenchmarkEscapedNames verifies a signed payload of 250 member names
// written with \u escapes: each is unescaped once, so checking them for
// duplicates stays cheap.
func BenchmarkEscapedNames(b *testing.B) {
	var sb strings.Builder
	sb.WriteString(`{"exp":4102444800,"type":"access"`)
	for i := range 250 {
		fmt.Fprintf(&sb, `,"\u0061\u0062%03d":1`, i)
	}
	sb.WriteString("}")
	enc := base64.RawURLEncoding
	input := enc.EncodeToString([]byte(`{"alg":"HS256"}`)) + "." + enc.EncodeToString([]byte(sb.String()))
	sig, err := jwt.SigningMethodHS256.Sign(input, benchSecret)
	if err != nil {
		b.Fatal(err)
	}
	tok := input + "." + enc.EncodeToString(sig)
	mw, err := jwtguard.New(jwtguard.WithKey("HS256", benchSecret), jwtguard.WithMaxTokenSize(64<<10))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := mw.Verify(b.Context(), tok); err != nil {
			b.Fatal(err)
		}
	}
}

// benchClaims is a user's claims type, like the peer harness's: the
// default claims and an email.
type benchClaims struct {
	jwtguard.Claims
	Email string `json:"email"`
}

// BenchmarkClaimsType verifies the same HS256 token through the whole
// chain into the default *Claims (claims=default), into a type embedding
// Claims (claims=embedding, decoded by the scan plus encoding/json for the
// other members), and into a map (claims=map, encoding/json for the whole
// payload), and the first two with the cache, the token repeated
// (-cached). Compare with: benchstat -col /claims.
func BenchmarkClaimsType(b *testing.B) {
	tok := benchToken(b)
	for _, tc := range []struct {
		name  string
		opt   jwtguard.Option
		cache jwtguard.Option
	}{
		{"default", nil, nil},
		{"embedding", jwtguard.WithClaimsType[benchClaims](), nil},
		{"map", jwtguard.WithClaimsType[jwt.MapClaims](), nil},
		{"default-cached", nil, jwtguard.WithCache(1024)},
		{"embedding-cached", jwtguard.WithClaimsType[benchClaims](), jwtguard.WithCache(1024)},
	} {
		b.Run("claims="+tc.name, func(b *testing.B) {
			mw, err := jwtguard.New(jwtguard.WithKey("HS256", benchSecret), jwtguard.WithIssuer(benchIss),
				jwtguard.WithAudience(benchAud), tc.opt, tc.cache)
			if err != nil {
				b.Fatal(err)
			}
			h := mw.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
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
	}
}

// BenchmarkCacheMemory fills a cache with 100,000 distinct realistic
// tokens (476 bytes, as benchToken) that nothing else keeps, and reports
// the live heap it then holds per entry (B/entry, slots included) and the
// token size (B/token). It runs the fill once, whatever b.N.
func BenchmarkCacheMemory(b *testing.B) {
	const n = 100_000
	now := time.Now()
	mint := func(i int) string {
		tok, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{
			"sub": "user-1234567890", "iss": benchIss, "aud": []string{benchAud},
			"exp": now.Add(time.Hour).Unix(), "iat": now.Unix(), "nbf": now.Unix(),
			"jti": fmt.Sprintf("6c1b8f0e-7a52-4d4e-9d1c-%012d", i), "type": "access",
			"roles": []string{"orders:read", "orders:write"}, "email": "user@example.com",
		}).SignedString(benchSecret)
		if err != nil {
			b.Fatal(err)
		}
		return tok
	}
	size := len(mint(0))
	for b.Loop() {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		mw, err := jwtguard.New(jwtguard.WithKey("HS256", benchSecret), jwtguard.WithIssuer(benchIss),
			jwtguard.WithAudience(benchAud), jwtguard.WithCache(2*n))
		if err != nil {
			b.Fatal(err)
		}
		for i := range n {
			if _, err := mw.Verify(b.Context(), mint(i)); err != nil {
				b.Fatal(err)
			}
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		entries := mw.CacheStats().Entries
		b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/float64(entries), "B/entry")
		b.ReportMetric(float64(size), "B/token")
		runtime.KeepAlive(mw)
	}
}
