package jwtguard_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"os"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/jwtguard/jwtguard"
)

// The whole token lifecycle in one program: one Sessions serves login,
// refresh and logout, to API clients in JSON and to browsers in HttpOnly
// cookies, and its guard, sessions.Handler, refuses the token of a session
// that logged out.
func Example_lifecycle() {
	issuer, err := jwtguard.NewIssuer(jwtguard.IssuerConfig{
		Key:    jwtguard.Key{Algorithm: "HS256", Key: []byte("at-least-32-random-bytes-from-env")},
		Issuer: "https://auth.example.com",
	})
	if err != nil {
		log.Fatal(err)
	}
	store, err := jwtguard.NewMemoryStore() // redisstore when several instances serve the users
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close()
	sessions, err := jwtguard.NewSessions(issuer, store, jwtguard.WithCookiesForBrowsers(),
		jwtguard.WithAccessOptions(jwtguard.WithLogger(slog.Default(), slog.LevelInfo))) // why a request was refused
	if err != nil {
		log.Fatal(err)
	}
	checkPassword := func(ctx context.Context, username, password string) (string, map[string]any, error) {
		if username != "ada" || password != "correct horse battery staple" { // look the user up here
			return "", nil, jwtguard.ErrInvalidCredentials
		}
		return "42", map[string]any{"roles": []string{"admin"}}, nil
	}
	mux := http.NewServeMux()
	mux.Handle("POST /auth/login", sessions.LoginHandler(checkPassword))
	mux.Handle("POST /auth/refresh", sessions.RefreshHandler())
	mux.Handle("POST /auth/logout", sessions.LogoutHandler())
	mux.Handle("GET /me", sessions.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		claims, _ := jwtguard.FromContext(r.Context())
		fmt.Fprintln(w, "user", claims.Subject, claims.Roles)
	})))
	srv := httptest.NewServer(mux)
	defer srv.Close()

	// An API client. A browser's fetch sends X-Requested-With: fetch, and
	// gets the tokens in cookies instead.
	var pair struct {
		Access  string `json:"access_token"`
		Refresh string `json:"refresh_token"`
	}
	send := func(method, path, body string) {
		req, _ := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+pair.Access)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			log.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if strings.Contains(string(b), `"access_token"`) {
			_ = json.Unmarshal(b, &pair)
			b = []byte("a new pair")
		}
		fmt.Println(strings.TrimSpace(fmt.Sprintf("%s %s %d %s", method, path, resp.StatusCode, b)))
	}
	send("POST", "/auth/login", `{"username": "ada", "password": "correct horse battery staple"}`)
	send("GET", "/me", "")
	send("POST", "/auth/refresh", `{"refresh_token": "`+pair.Refresh+`"}`)
	send("POST", "/auth/logout", "")
	send("GET", "/me", "")
	// Output:
	// POST /auth/login 200 a new pair
	// GET /me 200 user 42 [admin]
	// POST /auth/refresh 200 a new pair
	// POST /auth/logout 204
	// GET /me 401 {"error":"invalid_token","error_description":"token revoked"}
}

// One set of endpoints for browsers and API clients: a request with the
// CSRF header (X-Requested-With, which a page sends anyway) is a browser's
// and gets HttpOnly cookies, which its next requests carry; any other gets
// the tokens in the JSON body.
func ExampleWithCookiesForBrowsers() {
	issuer, err := jwtguard.NewIssuer(jwtguard.IssuerConfig{
		Key:    jwtguard.Key{Algorithm: "HS256", Key: []byte("at-least-32-random-bytes-from-env")},
		Issuer: "https://auth.example.com",
	})
	if err != nil {
		log.Fatal(err)
	}
	store, err := jwtguard.NewMemoryStore()
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close()
	sessions, err := jwtguard.NewSessions(issuer, store, jwtguard.WithCookiesForBrowsers())
	if err != nil {
		log.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("POST /auth/login", sessions.LoginHandler(func(context.Context, string, string) (string, map[string]any, error) {
		return "42", nil, nil // every password is right, in this example
	}))
	mux.Handle("GET /me", sessions.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {})))
	srv := httptest.NewTLSServer(mux) // Secure cookies need HTTPS
	defer srv.Close()

	login := func(name string, client *http.Client, headers ...string) {
		req, _ := http.NewRequest("POST", srv.URL+"/auth/login", strings.NewReader(`{"username":"ada","password":"pw"}`))
		req.Header.Set("Content-Type", "application/json")
		for i := 0; i+1 < len(headers); i += 2 {
			req.Header.Set(headers[i], headers[i+1])
		}
		resp, err := client.Do(req)
		if err != nil {
			log.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		fmt.Printf("%s: %d cookies, tokens in the body: %v\n", name, len(resp.Cookies()), strings.Contains(string(body), "access_token"))
	}
	jar, _ := cookiejar.New(nil)
	browser := &http.Client{Transport: srv.Client().Transport, Jar: jar}
	login("browser", browser, "X-Requested-With", "fetch")
	login("API client", srv.Client())

	resp, err := browser.Get(srv.URL + "/me")
	if err != nil {
		log.Fatal(err)
	}
	resp.Body.Close()
	fmt.Println("browser, GET /me with its cookie:", resp.StatusCode)
	// Output:
	// browser: 2 cookies, tokens in the body: false
	// API client: 0 cookies, tokens in the body: true
	// browser, GET /me with its cookie: 200
}

// A logger shows the developer why a request was refused; the client gets
// a description that names what is missing. Here a token as many tutorials
// mint it, with sub and exp but no type claim.
func ExampleWithLogger() {
	secret := []byte("at-least-32-random-bytes-from-env") // from configuration
	// Records without their time, so that the output does not change.
	logger := slog.New(slog.NewTextHandler(os.Stdout, &slog.HandlerOptions{
		ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey {
				return slog.Attr{}
			}
			return a
		},
	}))
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	mw, err := jwtguard.New(
		jwtguard.WithKey("HS256", secret),
		jwtguard.WithLogger(logger, slog.LevelInfo),
		jwtguard.WithClock(func() time.Time { return now }),
	)
	if err != nil {
		log.Fatal(err)
	}
	token, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{
		"sub": "42", "exp": now.Add(time.Hour).Unix(),
	}).SignedString(secret)
	if err != nil {
		log.Fatal(err)
	}

	r := httptest.NewRequest("GET", "/orders", nil)
	r.Header.Set("Authorization", "Bearer "+token)
	w := httptest.NewRecorder()
	mw.Handler(http.NotFoundHandler()).ServeHTTP(w, r)
	fmt.Print(w.Code, " ", w.Body.String())
	// Output:
	// level=INFO msg="jwtguard: request refused" method=GET path=/orders status=401 reason="jwtguard: wrong token type: missing required claim: type"
	// 401 {"error":"invalid_token","error_description":"missing required claim: type"}
}

// RequireRole from the sessions' guard: the token must be valid, its
// session not logged out, and its roles claim must hold the role.
func ExampleSessions_RequireRole() {
	secret := []byte("at-least-32-random-bytes-from-env") // from configuration
	issuer, err := jwtguard.NewIssuer(jwtguard.IssuerConfig{
		Key:    jwtguard.Key{Algorithm: "HS256", Key: secret},
		Issuer: "https://auth.example.com",
	})
	if err != nil {
		log.Fatal(err)
	}
	store, err := jwtguard.NewMemoryStore()
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close()
	sessions, err := jwtguard.NewSessions(issuer, store)
	if err != nil {
		log.Fatal(err)
	}
	admin := sessions.RequireRole("admin")(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, "welcome")
	}))

	// A LoginFunc returns the roles as claims; Issue is what it leads to.
	for _, roles := range [][]string{{"admin"}, {"reader"}} {
		pair, err := issuer.Issue(context.Background(), "42", map[string]any{"roles": roles})
		if err != nil {
			log.Fatal(err)
		}
		r := httptest.NewRequest("DELETE", "/users/7", nil)
		r.Header.Set("Authorization", "Bearer "+pair.AccessToken)
		w := httptest.NewRecorder()
		admin.ServeHTTP(w, r)
		fmt.Print(roles, " ", w.Code, " ", w.Body.String())
	}
	// Output:
	// [admin] 200 welcome
	// [reader] 403 {"error":"insufficient_scope","error_description":"role required: admin"}
}

// A middleware from New does not see the logouts recorded by Sessions. So
// that it cannot go on accepting the token of a session that logged out, it
// refuses the tokens an Issuer mints unless it has the store, or says that
// it accepts them until they expire.
func ExampleWithInsecureNoRevocationCheck() {
	secret := []byte("at-least-32-random-bytes-from-env") // from configuration
	issuer, err := jwtguard.NewIssuer(jwtguard.IssuerConfig{
		Key:    jwtguard.Key{Algorithm: "HS256", Key: secret},
		Issuer: "https://auth.example.com",
	})
	if err != nil {
		log.Fatal(err)
	}
	pair, err := issuer.Issue(context.Background(), "42", nil)
	if err != nil {
		log.Fatal(err)
	}
	for _, opts := range [][]jwtguard.Option{
		{jwtguard.WithKey("HS256", secret)},
		{jwtguard.WithKey("HS256", secret), jwtguard.WithInsecureNoRevocationCheck()},
	} {
		mw, err := jwtguard.New(opts...)
		if err != nil {
			log.Fatal(err)
		}
		_, err = mw.Verify(context.Background(), pair.AccessToken)
		fmt.Println(errors.Is(err, jwtguard.ErrUnavailable), err == nil)
	}
	// Output:
	// true false
	// false true
}

// A login endpoint that always answers in cookies, for a page that posts a
// form (which cannot set the X-Requested-With header), beside the login
// endpoint that answers each client in its form.
func ExampleSessions_CookieLoginHandler() {
	issuer, err := jwtguard.NewIssuer(jwtguard.IssuerConfig{
		Key:    jwtguard.Key{Algorithm: "HS256", Key: []byte("at-least-32-random-bytes-from-env")},
		Issuer: "https://auth.example.com",
	})
	if err != nil {
		log.Fatal(err)
	}
	store, err := jwtguard.NewMemoryStore()
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close()
	sessions, err := jwtguard.NewSessions(issuer, store, jwtguard.WithCookiesForBrowsers())
	if err != nil {
		log.Fatal(err)
	}
	checkPassword := func(context.Context, string, string) (string, map[string]any, error) {
		return "42", nil, nil // every password is right, in this example
	}
	mux := http.NewServeMux()
	mux.Handle("POST /auth/login", sessions.LoginHandler(checkPassword))
	mux.Handle("POST /auth/cookie-login", sessions.CookieLoginHandler(checkPassword))

	for _, path := range []string{"/auth/login", "/auth/cookie-login"} {
		r := httptest.NewRequest("POST", path, strings.NewReader("username=ada&password=pw"))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		w := httptest.NewRecorder()
		mux.ServeHTTP(w, r)
		fmt.Printf("%s: %d cookies, tokens in the body: %v\n", path, len(w.Result().Cookies()), strings.Contains(w.Body.String(), "access_token"))
	}
	// Output:
	// /auth/login: 0 cookies, tokens in the body: true
	// /auth/cookie-login: 2 cookies, tokens in the body: false
}
