package jwtguard_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/jwtguard/jwtguard"
)

// The whole lifecycle: login, refresh, logout, and routes protected by the
// guard that Sessions hands out, which refuses the tokens of a session that
// logged out. The example then runs the flow with an HTTP client.
func ExampleNewSessions() {
	os.Setenv("JWT_SECRET", "example-secret-example-secret-32") // stands in for the deployment's configuration

	issuer, err := jwtguard.NewIssuer(jwtguard.IssuerConfig{
		Key:      jwtguard.Key{Algorithm: "HS256", Key: []byte(os.Getenv("JWT_SECRET"))}, // ≥ 32 random bytes
		Issuer:   "https://auth.example.com",
		Audience: []string{"orders-api"},
	})
	if err != nil {
		log.Fatal(err)
	}
	store, err := jwtguard.NewMemoryStore() // one instance; redisstore for several
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close()
	sessions, err := jwtguard.NewSessions(issuer, store)
	if err != nil {
		log.Fatal(err)
	}
	guard := sessions.Middleware() // checks logouts: use it, not jwtguard.New, on your routes

	checkPassword := func(ctx context.Context, username, password string) (string, map[string]any, error) {
		// Look the user up and compare the password hash (bcrypt, argon2id).
		if username != "ada@example.com" || password != "correct horse" {
			return "", nil, jwtguard.ErrInvalidCredentials // 401, the same for both
		}
		return "42", map[string]any{"roles": []string{"admin"}}, nil // subject: a stable user id
	}

	mux := http.NewServeMux()
	mux.Handle("/auth/login", sessions.LoginHandler(checkPassword))
	mux.Handle("/auth/refresh", sessions.RefreshHandler())
	mux.Handle("/auth/logout", sessions.LogoutHandler())
	mux.Handle("GET /me", guard.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		claims, _ := jwtguard.FromContext(r.Context())
		fmt.Fprintf(w, "user %s, roles %v", claims.Subject, claims.Roles)
	})))
	mux.Handle("GET /admin", guard.RequireRole("admin")(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "admin area")
	})))

	// A server runs http.ListenAndServe(":8080", mux); this example uses a
	// test server and a client.
	srv := httptest.NewServer(mux)
	defer srv.Close()
	call := func(method, path, bearer, body string) (status int, answer map[string]any, text string) {
		req, _ := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
		if body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		if bearer != "" {
			req.Header.Set("Authorization", "Bearer "+bearer)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			log.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		_ = json.Unmarshal(b, &answer)
		return resp.StatusCode, answer, string(b)
	}

	status, pair, _ := call("POST", "/auth/login", "", `{"username":"ada@example.com","password":"correct horse"}`)
	fmt.Println("login:", status, pair["token_type"])
	access, refresh := pair["access_token"].(string), pair["refresh_token"].(string)
	status, _, text := call("GET", "/me", access, "")
	fmt.Println("me:", status, text)
	status, _, text = call("GET", "/admin", access, "")
	fmt.Println("admin:", status, text)
	status, pair, _ = call("POST", "/auth/refresh", "", `{"refresh_token":"`+refresh+`"}`)
	fmt.Println("refresh:", status)
	access = pair["access_token"].(string)
	status, _, _ = call("POST", "/auth/logout", access, "")
	fmt.Println("logout:", status)
	status, answer, _ := call("GET", "/me", access, "")
	fmt.Println("me after logout:", status, answer["error"])
	// Output:
	// login: 200 bearer
	// me: 200 user 42, roles [admin]
	// admin: 200 admin area
	// refresh: 200
	// logout: 204
	// me after logout: 401 invalid_token
}

// The login endpoint takes JSON or the OAuth 2.0 password grant form, and
// answers a token pair with Cache-Control: no-store. An unknown user and a
// wrong password get the same 401.
func ExampleSessions_LoginHandler() {
	issuer, err := jwtguard.NewIssuer(jwtguard.IssuerConfig{
		Key:    jwtguard.Key{Algorithm: "HS256", Key: []byte("example-secret-example-secret-32")},
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
	login := sessions.LoginHandler(func(ctx context.Context, username, password string) (string, map[string]any, error) {
		if username != "ada@example.com" || password != "correct horse" {
			return "", nil, jwtguard.ErrInvalidCredentials
		}
		return "42", nil, nil
	})

	for _, c := range []struct{ contentType, body string }{
		{"application/json", `{"username":"ada@example.com","password":"correct horse"}`},
		{"application/x-www-form-urlencoded", url.Values{
			"grant_type": {"password"}, "username": {"ada@example.com"}, "password": {"correct horse"},
		}.Encode()},
		{"application/json", `{"username":"ada@example.com","password":"wrong"}`},
		{"application/json", `{"username":"nobody@example.com","password":"correct horse"}`},
	} {
		req := httptest.NewRequest(http.MethodPost, "/auth/login", strings.NewReader(c.body))
		req.Header.Set("Content-Type", c.contentType)
		rec := httptest.NewRecorder()
		login.ServeHTTP(rec, req)
		var answer struct {
			AccessToken string `json:"access_token"`
			TokenType   string `json:"token_type"`
			Error       string `json:"error"`
		}
		_ = json.Unmarshal(rec.Body.Bytes(), &answer)
		fmt.Println(rec.Code, answer.TokenType, answer.AccessToken != "", answer.Error, rec.Header().Get("Cache-Control"))
	}
	// Output:
	// 200 bearer true  no-store
	// 200 bearer true  no-store
	// 401  false invalid_grant no-store
	// 401  false invalid_grant no-store
}

// Logout revokes the access token presented and the whole family of its
// login: the access and refresh tokens of that session stop working on
// every route the guard of Sessions protects. Logging out twice is
// harmless.
func ExampleSessions_LogoutHandler() {
	issuer, err := jwtguard.NewIssuer(jwtguard.IssuerConfig{
		Key:    jwtguard.Key{Algorithm: "HS256", Key: []byte("example-secret-example-secret-32")},
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
	mux := http.NewServeMux()
	mux.Handle("/auth/refresh", sessions.RefreshHandler())
	mux.Handle("/auth/logout", sessions.LogoutHandler())
	mux.Handle("GET /me", sessions.Middleware().Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {})))

	// The pair a login (Sessions.LoginHandler) hands out.
	pair, err := issuer.Issue(context.Background(), "42", nil)
	if err != nil {
		log.Fatal(err)
	}
	send := func(method, path, bearer, body string) int {
		req := httptest.NewRequest(method, path, strings.NewReader(body))
		if body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		if bearer != "" {
			req.Header.Set("Authorization", "Bearer "+bearer)
		}
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, req)
		return rec.Code
	}

	fmt.Println("me:", send("GET", "/me", pair.AccessToken, ""))
	fmt.Println("logout:", send("POST", "/auth/logout", pair.AccessToken, ""))
	fmt.Println("me after logout:", send("GET", "/me", pair.AccessToken, ""))
	fmt.Println("refresh after logout:", send("POST", "/auth/refresh", "", `{"refresh_token":"`+pair.RefreshToken+`"}`))
	fmt.Println("logout again:", send("POST", "/auth/logout", pair.AccessToken, ""))
	// Output:
	// me: 200
	// logout: 204
	// me after logout: 401
	// refresh after logout: 401
	// logout again: 204
}

// Cookie mode for browsers: the tokens travel in httpOnly, Secure,
// SameSite=Lax cookies that page scripts never see, and every unsafe
// request authenticated by a cookie must carry the X-Requested-With header
// (the CSRF defence). The client here is what a browser does: it keeps the
// cookies and sends them back.
func ExampleWithCookies() {
	issuer, err := jwtguard.NewIssuer(jwtguard.IssuerConfig{
		Key:    jwtguard.Key{Algorithm: "HS256", Key: []byte("example-secret-example-secret-32")},
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
	checkPassword := func(ctx context.Context, username, password string) (string, map[string]any, error) {
		if username != "ada@example.com" || password != "correct horse" {
			return "", nil, jwtguard.ErrInvalidCredentials
		}
		return "42", nil, nil
	}

	sessions, err := jwtguard.NewSessions(issuer, store,
		jwtguard.WithCookies(),                  // tokens in httpOnly cookies, never in the JSON body
		jwtguard.WithRefreshCookiePath("/auth"), // the refresh cookie goes to /auth/… only
	)
	if err != nil {
		log.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/auth/login", sessions.LoginHandler(checkPassword))
	mux.Handle("/auth/refresh", sessions.RefreshHandler())
	mux.Handle("/auth/logout", sessions.LogoutHandler())
	mux.Handle("GET /me", sessions.Middleware().Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		claims, _ := jwtguard.FromContext(r.Context())
		fmt.Fprintf(w, "user %s", claims.Subject)
	})))

	// Secure cookies need HTTPS (or localhost, in a browser).
	srv := httptest.NewTLSServer(mux)
	defer srv.Close()
	browser := srv.Client()
	browser.Jar, _ = cookiejar.New(nil)
	send := func(method, path, body string, csrfHeader bool) (*http.Response, string) {
		req, _ := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
		if body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		if csrfHeader {
			req.Header.Set("X-Requested-With", "fetch") // what the page's fetch calls send
		}
		resp, err := browser.Do(req)
		if err != nil {
			log.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, string(b)
	}

	resp, body := send("POST", "/auth/login", `{"username":"ada@example.com","password":"correct horse"}`, true)
	fmt.Println("login:", resp.StatusCode, strings.Contains(body, "access_token"))
	for _, c := range resp.Cookies() {
		fmt.Println("  cookie:", c.Name, "Path="+c.Path, "HttpOnly", c.HttpOnly, "Secure", c.Secure)
	}
	_, body = send("GET", "/me", "", false)
	fmt.Println("me:", body)
	resp, _ = send("POST", "/auth/refresh", "", false)
	fmt.Println("refresh without the header:", resp.StatusCode)
	resp, _ = send("POST", "/auth/refresh", "", true)
	fmt.Println("refresh:", resp.StatusCode)
	resp, _ = send("POST", "/auth/logout", "", true)
	fmt.Println("logout:", resp.StatusCode)
	resp, _ = send("GET", "/me", "", false)
	fmt.Println("me after logout:", resp.StatusCode)
	// Output:
	// login: 200 false
	//   cookie: __Host-access_token Path=/ HttpOnly true Secure true
	//   cookie: __Secure-refresh_token Path=/auth HttpOnly true Secure true
	// me: user 42
	// refresh without the header: 403
	// refresh: 200
	// logout: 204
	// me after logout: 401
}

// RequireRole lets through only tokens whose roles claim has every role
// named; a valid token without them gets 403 insufficient_scope. It uses
// the claims of an outer guard, or authenticates the request itself.
func ExampleMiddleware_RequireRole() {
	secret := []byte("example-secret-example-secret-32")
	guard, err := jwtguard.New(jwtguard.WithKey("HS256", secret))
	if err != nil {
		log.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("DELETE /orders/{id}", guard.RequireRole("admin")(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusNoContent)
	})))

	for _, roles := range [][]string{{"admin", "buyer"}, {"buyer"}, {}} {
		token, _ := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{
			"sub": "user-42", "type": "access", "roles": roles,
			"exp": time.Now().Add(time.Hour).Unix(),
		}).SignedString(secret)
		req := httptest.NewRequest(http.MethodDelete, "/orders/7", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, req)
		fmt.Println(roles, rec.Code)
	}
	req := httptest.NewRequest(http.MethodDelete, "/orders/7", nil)
	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, req)
	fmt.Println("no token", rec.Code)
	// Output:
	// [admin buyer] 204
	// [buyer] 403
	// [] 403
	// no token 401
}
