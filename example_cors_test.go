package jwtguard_test

import (
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/jwtguard/jwtguard"
)

// A cross-origin API: the CORS layer goes outside the guard and answers
// preflights itself, since browsers send them without credentials; the guard
// then needs a token for every request that reaches the handlers, preflights
// included. With a CORS package the chain is cors.Handler(guard.Handler(mux));
// here a few lines of net/http do it.
func ExampleMiddleware_Handler_cors() {
	secret := []byte("example-secret-example-secret-32")
	guard, err := jwtguard.New(
		jwtguard.WithKey("HS256", secret),
		jwtguard.WithIssuer("https://auth.example.com"),
		jwtguard.WithAudience("orders-api"),
	)
	if err != nil {
		log.Fatal(err)
	}

	// cors answers the preflights of the allowed origin before the guard
	// sees them, and adds Access-Control-Allow-Origin to the other answers.
	// Other origins get no CORS headers, so browsers refuse them.
	const origin = "https://app.example.com"
	cors := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			h := w.Header()
			h.Add("Vary", "Origin")
			if r.Header.Get("Origin") != origin {
				next.ServeHTTP(w, r)
				return
			}
			h.Set("Access-Control-Allow-Origin", origin)
			if r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != "" {
				h.Set("Access-Control-Allow-Methods", "GET, DELETE")
				h.Set("Access-Control-Allow-Headers", "Authorization")
				h.Set("Access-Control-Max-Age", "600")
				w.WriteHeader(http.StatusNoContent)
				return
			}
			next.ServeHTTP(w, r)
		})
	}

	mux := http.NewServeMux()
	mux.HandleFunc("GET /orders", func(w http.ResponseWriter, r *http.Request) {
		claims, _ := jwtguard.FromContext(r.Context())
		fmt.Fprintf(w, "orders of %s", claims.Subject)
	})
	srv := httptest.NewServer(cors(guard.Handler(mux)))
	defer srv.Close()

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

	send := func(method string, header map[string]string) {
		req, _ := http.NewRequest(method, srv.URL+"/orders", nil)
		req.Header.Set("Origin", origin)
		for k, v := range header {
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			log.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		fmt.Println(strings.TrimSpace(fmt.Sprint(method, " ", resp.StatusCode, " ", string(body))))
		for _, k := range []string{"Access-Control-Allow-Origin", "Access-Control-Allow-Methods", "Access-Control-Allow-Headers", "WWW-Authenticate"} {
			if v := resp.Header.Get(k); v != "" {
				fmt.Printf("  %s: %s\n", k, v)
			}
		}
	}
	// The browser's preflight, answered by cors: the guard never sees it.
	send(http.MethodOptions, map[string]string{
		"Access-Control-Request-Method":  "GET",
		"Access-Control-Request-Headers": "authorization",
	})
	// The request itself, without and with a token.
	send(http.MethodGet, nil)
	send(http.MethodGet, map[string]string{"Authorization": "Bearer " + token})
	// Output:
	// OPTIONS 204
	//   Access-Control-Allow-Origin: https://app.example.com
	//   Access-Control-Allow-Methods: GET, DELETE
	//   Access-Control-Allow-Headers: Authorization
	// GET 401 {"error":"unauthorized","error_description":"a bearer token is required"}
	//   Access-Control-Allow-Origin: https://app.example.com
	//   WWW-Authenticate: Bearer realm="api"
	// GET 200 orders of user-42
	//   Access-Control-Allow-Origin: https://app.example.com
}
