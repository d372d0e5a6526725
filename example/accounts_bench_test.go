package main

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"
)

// BenchmarkLogin measures a login over HTTP on loopback (JSON body, the
// API's /login, tokens issued) at bcrypt's lowest cost (4: what is not
// bcrypt), at the lowest the configuration allows (10) and at the default
// (12), for the right password, a wrong one and an unknown email, next to
// one bcrypt comparison alone: bcrypt is nearly all of it, and the three
// cases cost the same.
//
//	go test -run '^$' -bench Login -benchtime 10x ./example
func BenchmarkLogin(b *testing.B) {
	for _, cost := range []int{bcrypt.MinCost, minBcryptCost, defaultBcryptCost} {
		s := newTestServer(b, testConfig(b), func(a *App) {
			a.passwords = bcryptHasher{cost: cost}
			var err error
			if a.dummyHash, err = a.passwords.Hash([]byte("not a password anyone has")); err != nil {
				b.Fatal(err)
			}
		})
		post := func(path, body string) int {
			resp, err := s.Client().Post(s.URL+path, "application/json", strings.NewReader(body))
			if err != nil {
				b.Fatal(err)
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			return resp.StatusCode
		}
		if st := post(registerPath, jsonObject("email", "ada@example.com", "password", testPassword)); st != http.StatusCreated {
			b.Fatalf("register: %d", st)
		}
		for _, c := range []struct {
			name, username, password string
			status                   int
		}{
			{"right password", "ada@example.com", testPassword, http.StatusOK},
			{"wrong password", "ada@example.com", "wrong password", http.StatusUnauthorized},
			{"unknown email", "nobody@example.com", testPassword, http.StatusUnauthorized},
		} {
			body := jsonObject("username", c.username, "password", c.password)
			b.Run(fmt.Sprintf("cost=%d/%s", cost, c.name), func(b *testing.B) {
				for b.Loop() {
					if st := post(loginPath, body); st != c.status {
						b.Fatalf("login: %d, want %d", st, c.status)
					}
				}
			})
		}
		b.Run(fmt.Sprintf("cost=%d/bcrypt comparison alone", cost), func(b *testing.B) {
			h := bcryptHasher{cost: cost}
			hash, err := h.Hash([]byte(testPassword))
			if err != nil {
				b.Fatal(err)
			}
			for b.Loop() {
				if err := h.Compare(hash, []byte(testPassword)); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
