package jwtguard_test

import (
	"fmt"
	"io"
	"log"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/jwtguard/jwtguard"
)

// The quick start: verify tokens that another service (an identity
// provider, an auth service) mints, on one route of a mux, and log why
// requests are refused. When this package mints the tokens too, protect
// routes with the guard from Sessions instead (see NewSessions): only that
// one refuses tokens after a logout.
func Example_quickStart() {
	os.Setenv("JWT_SECRET", "example-secret-example-secret-32") // stands in for the deployment's configuration

	secret := []byte(os.Getenv("JWT_SECRET")) // at least 32 random bytes
	guard, err := jwtguard.New(
		jwtguard.WithKey("HS256", secret),
		jwtguard.WithIssuer("https://auth.example.com"),
		jwtguard.WithAudience("orders-api"),
		jwtguard.WithLogger(slog.Default(), slog.LevelInfo), // why a request was refused, never the token
	)
	if err != nil {
		log.Fatal(err) // every configuration problem, reported together
	}

	mux := http.NewServeMux()
	mux.HandleFunc("GET /health", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") })
	mux.Handle("GET /orders", guard.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		claims, _ := jwtguard.FromContext(r.Context())
		fmt.Fprintf(w, "orders of %s", claims.Subject)
	})))
	// A server runs http.ListenAndServe(":8080", mux); this example uses a
	// test server, and mints a token as the identity provider would.
	srv := httptest.NewServer(mux)
	defer srv.Close()
	token, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{
		"iss": "https://auth.example.com", "aud": "orders-api", "sub": "user-42",
		"type": "access", "exp": time.Now().Add(time.Hour).Unix(),
	}).SignedString(secret)
	if err != nil {
		log.Fatal(err)
	}

	for _, authorization := range []string{"Bearer " + token, ""} {
		req, _ := http.NewRequest(http.MethodGet, srv.URL+"/orders", nil)
		if authorization != "" {
			req.Header.Set("Authorization", authorization)
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
