package jwtguard_test

import (
	"context"
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

// The quick start: protect one route of a mux and read the claims in the
// handler.
func ExampleNew() {
	// In a real server the secret comes from configuration, such as the
	// JWT_SECRET environment variable: at least 32 random bytes for HS256.
	secret := []byte("example-secret-example-secret-32")

	mw, err := jwtguard.New(
		jwtguard.WithKey("HS256", secret),
		jwtguard.WithIssuer("https://auth.example.com"),
		jwtguard.WithAudience("orders-api"),
	)
	if err != nil {
		log.Fatal(err)
	}

	mux := http.NewServeMux()
	mux.HandleFunc("GET /health", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "ok")
	})
	mux.Handle("GET /orders", mw.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		claims, _ := jwtguard.FromContext(r.Context())
		fmt.Fprintf(w, "orders of %s", claims.Subject)
	})))
	srv := httptest.NewServer(mux)
	defer srv.Close()

	// An access token, as the issuer mints it.
	token, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{
		"iss":  "https://auth.example.com",
		"aud":  "orders-api",
		"sub":  "user-42",
		"type": "access",
		"exp":  time.Now().Add(time.Hour).Unix(),
	}).SignedString(secret)
	if err != nil {
		log.Fatal(err)
	}

	for _, auth := range []string{"Bearer " + token, ""} {
		req, _ := http.NewRequest(http.MethodGet, srv.URL+"/orders", nil)
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			log.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			fmt.Println(resp.StatusCode, string(body))
		} else {
			fmt.Println(resp.StatusCode, resp.Header.Get("WWW-Authenticate"))
		}
	}
	// Output:
	// 200 orders of user-42
	// 401 Bearer realm="api"
}

// Decode the claims into your own type, embedding jwtguard.Claims to keep
// the registered claims, roles and scope.
func ExampleWithClaimsType() {
	type OrderClaims struct {
		jwtguard.Claims
		Email  string `json:"email"`
		Tenant string `json:"tenant"`
	}
	secret := []byte("example-secret-example-secret-32")
	mw, err := jwtguard.New(
		jwtguard.WithKey("HS256", secret),
		jwtguard.WithClaimsType[OrderClaims](),
	)
	if err != nil {
		log.Fatal(err)
	}
	h := mw.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		claims, ok := jwtguard.ClaimsFromContext[OrderClaims](r.Context())
		if !ok {
			http.Error(w, "no claims", http.StatusInternalServerError)
			return
		}
		fmt.Fprintf(w, "%s <%s> of %s, roles %v", claims.Subject, claims.Email, claims.Tenant, claims.Roles)
	}))

	token, _ := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{
		"sub":    "user-42",
		"email":  "ada@example.com",
		"tenant": "acme",
		"roles":  []string{"buyer"},
		"type":   "access",
		"exp":    time.Now().Add(time.Hour).Unix(),
	}).SignedString(secret)

	req := httptest.NewRequest(http.MethodGet, "/orders", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	fmt.Println(rec.Code, rec.Body.String())
	// Output:
	// 200 user-42 <ada@example.com> of acme, roles [buyer]
}

// Check authenticates a request without writing a response, for example
// before upgrading a WebSocket. Its errors match the package's sentinels,
// and golang-jwt's where there is one.
func ExampleMiddleware_Check() {
	secret := []byte("example-secret-example-secret-32")
	now := time.Date(2026, 1, 2, 12, 0, 0, 0, time.UTC)
	mw, err := jwtguard.New(
		jwtguard.WithKey("HS256", secret),
		jwtguard.WithClock(func() time.Time { return now }),
	)
	if err != nil {
		log.Fatal(err)
	}
	mint := func(key []byte, exp time.Time) string {
		s, _ := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{
			"sub": "user-42", "type": "access", "exp": exp.Unix(),
		}).SignedString(key)
		return "Bearer " + s
	}

	for _, c := range []struct{ name, authorization string }{
		{"valid", mint(secret, now.Add(time.Hour))},
		{"expired", mint(secret, now.Add(-time.Hour))},
		{"forged", mint([]byte("not-the-secret-not-the-secret-32"), now.Add(time.Hour))},
		{"missing", ""},
		{"empty", "Bearer"},
		{"garbage", "Bearer abc"},
	} {
		req := httptest.NewRequest(http.MethodGet, "/ws", nil)
		if c.authorization != "" {
			req.Header.Set("Authorization", c.authorization)
		}
		claims, err := mw.Check(req)
		switch {
		case err == nil:
			fmt.Printf("%s: ok, subject %s\n", c.name, claims.(*jwtguard.Claims).Subject)
		case errors.Is(err, jwtguard.ErrNoToken):
			fmt.Printf("%s: no token\n", c.name)
		case errors.Is(err, jwtguard.ErrMalformedRequest):
			fmt.Printf("%s: malformed request\n", c.name)
		case errors.Is(err, jwtguard.ErrExpired):
			fmt.Printf("%s: expired (golang-jwt's ErrTokenExpired too: %t)\n", c.name, errors.Is(err, jwt.ErrTokenExpired))
		case errors.Is(err, jwtguard.ErrSignature):
			fmt.Printf("%s: bad signature\n", c.name)
		case errors.Is(err, jwtguard.ErrInvalidToken):
			fmt.Printf("%s: invalid token\n", c.name)
		}
	}
	// Output:
	// valid: ok, subject user-42
	// expired: expired (golang-jwt's ErrTokenExpired too: true)
	// forged: bad signature
	// missing: no token
	// empty: malformed request
	// garbage: invalid token
}

// RequireScope answers 403 insufficient_scope, naming the scope, when a
// valid token lacks it.
func ExampleMiddleware_RequireScope() {
	secret := []byte("example-secret-example-secret-32")
	mw, err := jwtguard.New(jwtguard.WithKey("HS256", secret))
	if err != nil {
		log.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("POST /orders", mw.Handler(mw.RequireScope("orders:write")(
		http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusCreated)
		}),
	)))

	for _, scope := range []string{"orders:read", "orders:read orders:write"} {
		token, _ := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{
			"sub": "user-42", "type": "access", "scope": scope,
			"exp": time.Now().Add(time.Hour).Unix(),
		}).SignedString(secret)
		req := httptest.NewRequest(http.MethodPost, "/orders", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, req)
		fmt.Println(rec.Code, rec.Header().Get("WWW-Authenticate"))
	}
	// Output:
	// 403 Bearer realm="api", error="insufficient_scope", error_description="insufficient scope", scope="orders:write"
	// 201
}

// NewContext lets a handler be tested without minting tokens.
func ExampleNewContext() {
	profile := func(w http.ResponseWriter, r *http.Request) {
		claims, ok := jwtguard.FromContext(r.Context())
		if !ok {
			http.Error(w, "unauthenticated", http.StatusUnauthorized)
			return
		}
		fmt.Fprintf(w, "hello %s", claims.Subject)
	}

	claims := &jwtguard.Claims{RegisteredClaims: jwt.RegisteredClaims{Subject: "user-42"}}
	req := httptest.NewRequest(http.MethodGet, "/me", nil)
	req = req.WithContext(jwtguard.NewContext(req.Context(), claims))
	rec := httptest.NewRecorder()
	profile(rec, req)
	fmt.Println(rec.Code, rec.Body.String())
	// Output:
	// 200 hello user-42
}

// A client-credentials token of an issuer that puts no sub in it: refused
// by default, accepted with WithSubjectOptional.
func ExampleWithSubjectOptional() {
	secret := []byte("example-secret-example-secret-32")
	token, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{
		"client_id": "billing-batch",
		"type":      "access",
		"exp":       time.Now().Add(time.Hour).Unix(),
	}).SignedString(secret)
	if err != nil {
		log.Fatal(err)
	}

	strict, err := jwtguard.New(jwtguard.WithKey("HS256", secret))
	if err != nil {
		log.Fatal(err)
	}
	_, err = strict.Verify(context.Background(), token)
	fmt.Println(err, errors.Is(err, jwtguard.ErrMissingClaim))

	lenient, err := jwtguard.New(jwtguard.WithKey("HS256", secret), jwtguard.WithSubjectOptional())
	if err != nil {
		log.Fatal(err)
	}
	claims, err := lenient.Verify(context.Background(), token)
	fmt.Printf("%q %v\n", claims.(*jwtguard.Claims).Subject, err)
	// Output:
	// jwtguard: missing required claim: sub true
	// "" <nil>
}
