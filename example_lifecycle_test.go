package jwtguard_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"time"

	"github.com/jwtguard/jwtguard"
)

// An Issuer mints access/refresh pairs; any jwtguard.Middleware configured
// with the same key, issuer and audience, and the store that records
// logouts, verifies them, and keeps the two kinds apart. (NewSessions makes
// that middleware for you: Sessions.Handler.)
func ExampleNewIssuer() {
	// A secret from configuration: at least 32 random bytes for HS256,
	// never a password and never in source code.
	secret := []byte("example-secret-of-32-bytes-min!!")
	issuer, err := jwtguard.NewIssuer(jwtguard.IssuerConfig{
		Key:      jwtguard.Key{ID: "2026-01", Algorithm: "HS256", Key: secret},
		Issuer:   "https://auth.example.com",
		Audience: []string{"orders-api"},
		// AccessTTL: 30 minutes and RefreshTTL: 7 days by default.
	})
	if err != nil {
		log.Fatal(err)
	}
	pair, err := issuer.Issue(context.Background(), "user-42", map[string]any{"roles": []string{"reader"}})
	if err != nil {
		log.Fatal(err)
	}

	store, err := jwtguard.NewMemoryStore() // shared with the Sessions that log users out
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close()
	mw, err := jwtguard.New(
		jwtguard.WithKeys(jwtguard.Key{ID: "2026-01", Algorithm: "HS256", Key: secret}),
		jwtguard.WithIssuer("https://auth.example.com"),
		jwtguard.WithAudience("orders-api"),
		jwtguard.WithStore(store),
	)
	if err != nil {
		log.Fatal(err)
	}
	claims, err := mw.Verify(context.Background(), pair.AccessToken)
	if err != nil {
		log.Fatal(err)
	}
	c := claims.(*jwtguard.Claims)
	fmt.Println(c.Subject, c.Type, c.Roles, c.ExpiresAt.Sub(c.IssuedAt.Time))

	_, err = mw.Verify(context.Background(), pair.RefreshToken)
	fmt.Println(errors.Is(err, jwtguard.ErrTokenType))
	// Output:
	// user-42 access [reader] 30m0s
	// true
}

// The refresh handler rotates refresh tokens: each one works once, plus
// replays within the reuse interval after that use (10 seconds by
// default), which get a new pair of the same family: a second browser tab,
// a retried request. A use after the interval is taken for theft and
// revokes the whole family.
func ExampleSessions_RefreshHandler() {
	// The clock the issuer and the store share, moved by hand below. A
	// service leaves both on time.Now.
	var now atomic.Int64
	now.Store(time.Now().UnixNano())
	clock := func() time.Time { return time.Unix(0, now.Load()) }

	issuer, err := jwtguard.NewIssuer(jwtguard.IssuerConfig{
		Key:    jwtguard.Key{Algorithm: "HS256", Key: []byte("example-secret-of-32-bytes-min!!")},
		Issuer: "https://auth.example.com",
		Clock:  clock,
	})
	if err != nil {
		log.Fatal(err)
	}
	store, err := jwtguard.NewMemoryStore(jwtguard.MemoryStoreClock(clock))
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close()
	sessions, err := jwtguard.NewSessions(issuer, store) // WithReuseInterval(10 * time.Second)
	if err != nil {
		log.Fatal(err)
	}

	mux := http.NewServeMux()
	mux.Handle("/auth/refresh", sessions.RefreshHandler())
	mux.Handle("GET /orders", sessions.Middleware().Handler(http.HandlerFunc(
		func(w http.ResponseWriter, r *http.Request) { fmt.Fprintln(w, "orders") })))
	srv := httptest.NewServer(mux)
	defer srv.Close()

	// A login handler (sessions.LoginHandler) would hand out this pair.
	pair, err := issuer.Issue(context.Background(), "user-42", nil)
	if err != nil {
		log.Fatal(err)
	}

	type tokenBody struct {
		AccessToken  string `json:"access_token"`
		RefreshToken string `json:"refresh_token"`
		TokenType    string `json:"token_type"`
		Error        string `json:"error"`
	}
	refresh := func(token string) (status int, next tokenBody) {
		resp, err := http.Post(srv.URL+"/auth/refresh", "application/json",
			strings.NewReader(`{"refresh_token":"`+token+`"}`))
		if err != nil {
			log.Fatal(err)
		}
		defer resp.Body.Close()
		_ = json.NewDecoder(resp.Body).Decode(&next)
		return resp.StatusCode, next
	}
	orders := func(token string) int {
		req, _ := http.NewRequest("GET", srv.URL+"/orders", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			log.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}

	status, next := refresh(pair.RefreshToken)
	fmt.Println("refresh:", status, next.TokenType)
	fmt.Println("new access token:", orders(next.AccessToken))
	status, sibling := refresh(pair.RefreshToken)
	fmt.Println("old refresh token again, at once:", status, sibling.RefreshToken != next.RefreshToken)

	now.Add(int64(jwtguard.DefaultReuseInterval)) // 10 seconds after its first use
	status, again := refresh(pair.RefreshToken)
	fmt.Println("old refresh token again, 10s later:", status, again.Error)
	fmt.Println("new access token after reuse:", orders(next.AccessToken))
	status, _ = refresh(next.RefreshToken)
	fmt.Println("new refresh token after reuse:", status)
	status, _ = refresh(sibling.RefreshToken)
	fmt.Println("sibling refresh token after reuse:", status)
	// Output:
	// refresh: 200 bearer
	// new access token: 200
	// old refresh token again, at once: 200 true
	// old refresh token again, 10s later: 401 invalid_token
	// new access token after reuse: 401
	// new refresh token after reuse: 401
	// sibling refresh token after reuse: 401
}

// WithReuseInterval sets how long after its first use a refresh token may
// be used again (a second browser tab, a retried request) and get a new
// pair of its family. 0 is strict rotation: the second use revokes the
// family at once. More than a minute is refused.
func ExampleWithReuseInterval() {
	// A clock that stands still, so that "at once" is exact; a service
	// leaves the issuer and the store on time.Now.
	start := time.Now()
	clock := func() time.Time { return start }
	issuer, err := jwtguard.NewIssuer(jwtguard.IssuerConfig{
		Key:    jwtguard.Key{Algorithm: "HS256", Key: []byte("example-secret-of-32-bytes-min!!")},
		Issuer: "https://auth.example.com",
		Clock:  clock,
	})
	if err != nil {
		log.Fatal(err)
	}
	store, err := jwtguard.NewMemoryStore(jwtguard.MemoryStoreClock(clock))
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close()

	for _, interval := range []time.Duration{jwtguard.DefaultReuseInterval, 0} {
		sessions, err := jwtguard.NewSessions(issuer, store, jwtguard.WithReuseInterval(interval))
		if err != nil {
			log.Fatal(err)
		}
		refresh := func(token string) int {
			r := httptest.NewRequest("POST", "/auth/refresh", strings.NewReader(`{"refresh_token":"`+token+`"}`))
			r.Header.Set("Content-Type", "application/json")
			w := httptest.NewRecorder()
			sessions.RefreshHandler().ServeHTTP(w, r)
			return w.Code
		}
		pair, err := issuer.Issue(context.Background(), "user-42", nil)
		if err != nil {
			log.Fatal(err)
		}
		fmt.Printf("interval %v: first use %d, second use at once %d\n",
			interval, refresh(pair.RefreshToken), refresh(pair.RefreshToken))
	}

	_, err = jwtguard.NewSessions(issuer, store, jwtguard.WithReuseInterval(2*time.Minute))
	fmt.Println("2m refused:", err != nil)
	// Output:
	// interval 10s: first use 200, second use at once 200
	// interval 0s: first use 200, second use at once 401
	// 2m refused: true
}
