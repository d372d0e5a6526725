package redisstore_test

import (
	"context"
	"log"
	"net/http"
	"os"
	"time"

	"github.com/jwtguard/jwtguard"
	"github.com/jwtguard/jwtguard/redisstore"
	"github.com/redis/go-redis/v9"
)

// Every instance of a service runs this with the same Redis and the same
// prefix: a logout on one is refused by all within milliseconds, and a
// refresh token rotates once whichever instance receives it. The example
// compiles and documents usage; it has no output to check, since it needs
// a Redis.
func ExampleNew() {
	ctx := context.Background()
	// A UniversalClient: one address for a single node, a MasterName for
	// Sentinel, several addresses for a Cluster.
	client := redis.NewUniversalClient(&redis.UniversalOptions{
		Addrs: []string{os.Getenv("REDIS_ADDR")},
		// Give up on a stalled Redis well within the reuse interval of
		// refresh tokens (10 s), so that the client's retry of a refresh
		// answered 503 falls within it.
		ReadTimeout: 500 * time.Millisecond,
	})
	defer client.Close()

	startCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	store, err := redisstore.New(startCtx, client, // waits for the mirror's first fill until startCtx is done
		redisstore.WithPrefix("orders-api:"),         // keys and channel of this service
		redisstore.WithStalenessBound(2*time.Second), // 503 once the mirror is older (the default)
	)
	if err != nil {
		log.Fatal(err) // Redis unreachable at start
	}
	defer store.Close() // stops its goroutines; the client is yours to close

	issuer, err := jwtguard.NewIssuer(jwtguard.IssuerConfig{
		Key:    jwtguard.Key{ID: "2026-01", Algorithm: "HS256", Key: []byte(os.Getenv("JWT_SECRET"))},
		Issuer: "https://auth.example.com",
	})
	if err != nil {
		log.Fatal(err)
	}
	sessions, err := jwtguard.NewSessions(issuer, store)
	if err != nil {
		log.Fatal(err)
	}

	mux := http.NewServeMux()
	mux.Handle("/api/v1/auth/refresh", sessions.RefreshHandler())
	mux.Handle("/api/v1/auth/logout", sessions.LogoutHandler())
	mux.Handle("GET /api/v1/orders", sessions.Middleware().Handler(http.HandlerFunc(
		func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte("orders")) })))
	// A readiness probe: not ready while the mirror is stale.
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		if store.Ready() != nil { // the mirror is stale: this instance answers 503
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	})
	log.Fatal(http.ListenAndServe(":8080", mux))
}
