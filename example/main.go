// Command example is a small server protected by jwtguard: GET /public
// answers anyone, GET /api/hello only requests with a valid access token.
//
// Configuration comes from the environment:
//
//	ADDR        listen address (default localhost:8080)
//	JWT_SECRET  HS256 secret, at least 32 bytes (default: random, so tokens
//	            do not survive a restart)
//
// At start it prints a demo access token and the curl line that uses it.
package main

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/jwtguard/jwtguard"
)

const issuer, audience = "jwtguard-example", "jwtguard-example"

func main() {
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	if err := run(log); err != nil {
		log.Error("example stopped", "err", err)
		os.Exit(1)
	}
}

func run(log *slog.Logger) error {
	addr := envOr("ADDR", "localhost:8080")
	secret, err := loadSecret(log)
	if err != nil {
		return err
	}
	handler, err := newHandler(secret, log)
	if err != nil {
		return err
	}
	srv := &http.Server{
		Addr:              addr,
		Handler:           handler,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      10 * time.Second,
		IdleTimeout:       60 * time.Second,
	}

	token, err := demoToken(secret, time.Now())
	if err != nil {
		return err
	}
	fmt.Printf("listening on http://%s\ntry:\n  curl -i http://%s/api/hello -H 'Authorization: Bearer %s'\n", addr, addr, token)

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	errc := make(chan error, 1)
	go func() { errc <- srv.ListenAndServe() }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down")
	shutdown, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return srv.Shutdown(shutdown)
}

// newHandler builds the routes: /public for anyone, /api/hello behind
// jwtguard.
func newHandler(secret []byte, log *slog.Logger) (http.Handler, error) {
	guard, err := jwtguard.New(
		jwtguard.WithKey("HS256", secret),
		jwtguard.WithIssuer(issuer),
		jwtguard.WithAudience(audience),
		jwtguard.WithFailureHook(func(r *http.Request, err error) {
			log.Info("rejected", "path", r.URL.Path, "reason", err)
		}),
	)
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /public", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, "hello, anyone")
	})
	mux.Handle("GET /api/hello", guard.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		claims, _ := jwtguard.FromContext(r.Context())
		fmt.Fprintf(w, "hello, %s\n", claims.Subject)
	})))
	return mux, nil
}

// loadSecret reads JWT_SECRET, or makes a random secret when it is unset.
func loadSecret(log *slog.Logger) ([]byte, error) {
	s := os.Getenv("JWT_SECRET")
	if s == "" {
		log.Warn("JWT_SECRET is not set: using a random secret; tokens will not survive a restart")
		secret := make([]byte, 32)
		_, err := rand.Read(secret)
		return secret, err
	}
	if len(s) < 32 {
		return nil, errors.New("JWT_SECRET must be at least 32 bytes")
	}
	return []byte(s), nil
}

// demoToken mints a 30-minute access token for a demo user.
func demoToken(secret []byte, now time.Time) (string, error) {
	return jwt.NewWithClaims(jwt.SigningMethodHS256, jwtguard.Claims{
		RegisteredClaims: jwt.RegisteredClaims{
			Subject:   "demo-user",
			Issuer:    issuer,
			Audience:  jwt.ClaimStrings{audience},
			IssuedAt:  jwt.NewNumericDate(now),
			NotBefore: jwt.NewNumericDate(now),
			ExpiresAt: jwt.NewNumericDate(now.Add(30 * time.Minute)),
		},
		Type: jwtguard.TypeAccess,
	}).SignedString(secret)
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}
