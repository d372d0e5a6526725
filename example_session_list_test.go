package jwtguard_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"time"

	"github.com/jwtguard/jwtguard"
)

// Every login starts a session; the session list shows the caller's
// sessions (with the User-Agent of each login) and ends one of them by id:
// from then on that session's tokens are refused, and only that session's.
func ExampleSessions_ListSessionsHandler() {
	issuer, err := jwtguard.NewIssuer(jwtguard.IssuerConfig{
		Key:    jwtguard.Key{Algorithm: "HS256", Key: []byte("example-secret-of-32-bytes-min!!")},
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
	mux.Handle("/auth/login", sessions.LoginHandler(func(_ context.Context, user, pw string) (string, map[string]any, error) {
		return "user-42", nil, nil // check the password here
	}))
	mux.Handle("GET /auth/sessions", sessions.ListSessionsHandler())
	mux.Handle("DELETE /auth/sessions/{id}", sessions.EndSessionHandler())
	mux.Handle("GET /me", sessions.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {})))
	srv := httptest.NewServer(mux)
	defer srv.Close()

	call := func(method, path, access, userAgent string) *http.Response {
		var body *strings.Reader
		if method == http.MethodPost {
			body = strings.NewReader(`{"username":"ada","password":"correct horse"}`)
		} else {
			body = strings.NewReader("")
		}
		req, _ := http.NewRequest(method, srv.URL+path, body)
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("User-Agent", userAgent)
		if access != "" {
			req.Header.Set("Authorization", "Bearer "+access)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			log.Fatal(err)
		}
		return resp
	}
	login := func(userAgent string) string {
		resp := call(http.MethodPost, "/auth/login", "", userAgent)
		defer resp.Body.Close()
		var tok struct {
			AccessToken string `json:"access_token"`
		}
		_ = json.NewDecoder(resp.Body).Decode(&tok)
		return tok.AccessToken
	}
	laptop, phone := login("Laptop"), login("Phone")

	resp := call(http.MethodGet, "/auth/sessions", laptop, "Laptop")
	var list struct {
		Sessions []struct {
			ID        string `json:"id"`
			Current   bool   `json:"current"`
			UserAgent string `json:"user_agent"`
		} `json:"sessions"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&list)
	resp.Body.Close()
	phoneID := ""
	for _, s := range list.Sessions {
		if s.UserAgent == "Phone" {
			phoneID = s.ID
		}
	}
	fmt.Println(len(list.Sessions), "sessions")

	resp = call(http.MethodDelete, "/auth/sessions/"+phoneID, laptop, "Laptop")
	resp.Body.Close()
	fmt.Println("end the phone's:", resp.StatusCode)
	for _, s := range []struct{ name, access string }{{"laptop", laptop}, {"phone", phone}} {
		resp := call(http.MethodGet, "/me", s.access, "")
		resp.Body.Close()
		fmt.Println(s.name, resp.StatusCode)
	}
	// Output:
	// 2 sessions
	// end the phone's: 204
	// laptop 200
	// phone 401
}

// RevokeSubject signs a user out everywhere: every token issued until now,
// of every session, is refused by every instance that shares the store;
// a login afterwards works. A change of password does it, then logs the
// user in again with Sessions.Login.
func ExampleSessions_RevokeSubject() {
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
	sessions, err := jwtguard.NewSessions(issuer, store)
	if err != nil {
		log.Fatal(err)
	}
	before, err := issuer.Issue(context.Background(), "user-42", nil)
	if err != nil {
		log.Fatal(err)
	}
	now.Add(int64(time.Second)) // a token's iat is whole seconds

	if err := sessions.RevokeSubject(context.Background(), "user-42"); err != nil {
		log.Fatal(err)
	}
	after, err := issuer.Issue(context.Background(), "user-42", nil)
	if err != nil {
		log.Fatal(err)
	}
	for _, tok := range []string{before.AccessToken, after.AccessToken} {
		_, err := sessions.Middleware().Verify(context.Background(), tok)
		fmt.Println(err)
	}
	// Output:
	// jwtguard: token revoked
	// <nil>
}

// A route that needs a recent login (a change of password, a payment)
// answers 401 with the RFC 9470 step-up challenge once the login is older
// than the route allows; refreshing does not help, logging in again does.
func ExampleSessions_RequireFreshLogin() {
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
	sessions, err := jwtguard.NewSessions(issuer, store)
	if err != nil {
		log.Fatal(err)
	}
	changePassword := sessions.RequireFreshLogin(5 * time.Minute)(
		http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte("changed")) }))

	pair, err := issuer.Issue(context.Background(), "user-42", nil) // a login
	if err != nil {
		log.Fatal(err)
	}
	now.Add(int64(10 * time.Minute))
	req := httptest.NewRequest(http.MethodPost, "/password", nil)
	req.Header.Set("Authorization", "Bearer "+pair.AccessToken)
	w := httptest.NewRecorder()
	changePassword.ServeHTTP(w, req)
	fmt.Println(w.Code)
	fmt.Println(w.Header().Get("WWW-Authenticate"))
	// Output:
	// 401
	// Bearer realm="api", error="insufficient_user_authentication", error_description="a login within the last 300 seconds is required: log in again", max_age=300
}

// A session ends at its maximum age however often it is refreshed: the
// refresh token's exp never goes past login + max age, and the refresh
// after it is refused with a description that says so.
func ExampleWithSessionMaxAge() {
	var now atomic.Int64
	now.Store(time.Now().UnixNano())
	clock := func() time.Time { return time.Unix(0, now.Load()) }
	issuer, err := jwtguard.NewIssuer(jwtguard.IssuerConfig{
		Key:        jwtguard.Key{Algorithm: "HS256", Key: []byte("example-secret-of-32-bytes-min!!")},
		Issuer:     "https://auth.example.com",
		AccessTTL:  5 * time.Minute,
		RefreshTTL: time.Hour, // the idle timeout
		Clock:      clock,
	})
	if err != nil {
		log.Fatal(err)
	}
	store, err := jwtguard.NewMemoryStore(jwtguard.MemoryStoreClock(clock))
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close()
	sessions, err := jwtguard.NewSessions(issuer, store, jwtguard.WithSessionMaxAge(90*time.Minute))
	if err != nil {
		log.Fatal(err)
	}
	login := sessions.LoginHandler(func(context.Context, string, string) (string, map[string]any, error) {
		return "user-42", nil, nil
	})
	refresh := sessions.RefreshHandler()
	post := func(h http.Handler, body string) (int, map[string]any) {
		req := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		var out map[string]any
		_ = json.Unmarshal(w.Body.Bytes(), &out)
		return w.Code, out
	}
	_, tok := post(login, `{"username":"ada","password":"correct horse"}`)
	for range 3 {
		now.Add(int64(45 * time.Minute)) // refreshed well within the idle timeout
		code, out := post(refresh, `{"refresh_token":"`+tok["refresh_token"].(string)+`"}`)
		if code != http.StatusOK {
			fmt.Println(code, out["error_description"])
			break
		}
		fmt.Println(code)
		tok = out
	}
	// Output:
	// 200
	// 401 the session reached its maximum age: log in again
}
