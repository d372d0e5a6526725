package jwtguard_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/jwtguard/jwtguard"
)

// exampleToken signs claims with k, naming its kid, and typ in the header
// when it is not empty, as an identity provider does.
func exampleToken(k jwtguard.Key, typ string, claims jwt.MapClaims) string {
	claims["exp"] = time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC).Unix()
	tok := jwt.NewWithClaims(jwt.GetSigningMethod(k.Algorithm), claims)
	tok.Header["kid"] = k.ID
	if typ != "" {
		tok.Header["typ"] = typ
	}
	s, err := tok.SignedString(k.Key)
	if err != nil {
		log.Fatal(err)
	}
	return s
}

// A migration between identity providers: tokens of the old one and of the
// new one are both accepted, each checked only with its own keys, its own
// audience and its own type rule.
func ExampleWithIssuers() {
	oldKey, newKey := exampleKey("2026-01", 1), exampleKey("2026-01", 2) // the same kid
	mw, err := jwtguard.New(
		jwtguard.WithIssuers(
			jwtguard.TrustedIssuer{
				Issuer: "https://login.old.example",
				Keys:   []jwtguard.Key{oldKey}, // or KeySet, or JWKS
			},
			jwtguard.TrustedIssuer{
				Issuer:          "https://id.new.example/",
				Keys:            []jwtguard.Key{newKey},
				Audience:        []string{"api://orders"}, // instead of "orders-api"
				TokenTypeHeader: "at+jwt",                 // RFC 9068 access tokens
			},
		),
		jwtguard.WithAudience("orders-api"),
		jwtguard.WithClock(func() time.Time { return time.Date(2029, 1, 1, 0, 0, 0, 0, time.UTC) }),
	)
	if err != nil {
		log.Fatal(err)
	}
	check := func(name, token string) {
		claims, err := mw.Verify(context.Background(), token)
		switch {
		case err == nil:
			fmt.Printf("%s: verified by %s\n", name, claims.(*jwtguard.Claims).Issuer)
		case errors.Is(err, jwtguard.ErrIssuer):
			fmt.Printf("%s: issuer not trusted\n", name)
		default:
			fmt.Printf("%s: %v\n", name, err)
		}
	}
	check("old", exampleToken(oldKey, "", jwt.MapClaims{
		"iss": "https://login.old.example", "aud": "orders-api", "sub": "alice", "type": "access"}))
	check("new", exampleToken(newKey, "at+jwt", jwt.MapClaims{
		"iss": "https://id.new.example/", "aud": "api://orders", "sub": "alice"}))
	check("old key, new iss", exampleToken(oldKey, "at+jwt", jwt.MapClaims{
		"iss": "https://id.new.example/", "aud": "api://orders", "sub": "mallory"}))
	check("other", exampleToken(oldKey, "", jwt.MapClaims{
		"iss": "https://evil.example", "aud": "orders-api", "sub": "mallory", "type": "access"}))
	// Output:
	// old: verified by https://login.old.example
	// new: verified by https://id.new.example/
	// old key, new iss: jwtguard: invalid signature (issuer "https://id.new.example/")
	// other: issuer not trusted
}

// A multi-tenant service: each tenant has its own identity provider at
// https://{tenant}.example.com/, whose keys are discovered when a token
// first names it. Here the providers are one test server.
func ExampleWithIssuerResolver() {
	acme := exampleKey("k1", 3)
	var fetches atomic.Int64
	provider := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fetches.Add(1)
		tenant, _, _ := strings.Cut(r.Host, ".")
		if tenant != "acme" {
			http.NotFound(w, r)
			return
		}
		switch r.URL.Path {
		case "/.well-known/openid-configuration":
			fmt.Fprintf(w, `{"issuer":"https://%s/","jwks_uri":"https://%s/jwks"}`, r.Host, r.Host)
		case "/jwks":
			ks, _ := jwtguard.NewKeySet(acme)
			ks.JWKSHandler(time.Hour).ServeHTTP(w, r)
		}
	}))
	defer provider.Close()

	tenants := map[string]bool{"acme": true, "globex": true}
	resolve := func(_ context.Context, issuer string) (jwtguard.TrustedIssuer, bool) {
		// Exactly https://{tenant}.example.com/ for a known tenant.
		u, err := url.Parse(issuer)
		if err != nil || u.Scheme != "https" || u.Path != "/" || u.String() != issuer || u.Port() != "" {
			return jwtguard.TrustedIssuer{}, false
		}
		tenant, ok := strings.CutSuffix(u.Host, ".example.com")
		if !ok || !tenants[tenant] {
			return jwtguard.TrustedIssuer{}, false
		}
		return jwtguard.TrustedIssuer{
			Algorithms: []string{"EdDSA"},
			JWKSOptions: []jwtguard.JWKSOption{
				jwtguard.WithJWKSHTTPClient(provider.Client()), // trusts the test server
				jwtguard.WithJWKSErrorHook(func(err error) { log.Print(err) }),
			},
		}, true
	}
	mw, err := jwtguard.New(
		jwtguard.WithIssuerResolver(resolve, jwtguard.ResolverMaxIssuers(1000)),
		jwtguard.WithAudience("orders-api"),
		jwtguard.WithClock(func() time.Time { return time.Date(2029, 1, 1, 0, 0, 0, 0, time.UTC) }),
	)
	if err != nil {
		log.Fatal(err)
	}
	defer mw.Close() // stops the key sets of the tenants

	for _, iss := range []string{"https://acme.example.com/", "https://acme.example.com/", "https://initech.example.com/"} {
		_, err := mw.Verify(context.Background(), exampleToken(acme, "", jwt.MapClaims{
			"iss": iss, "aud": "orders-api", "sub": "alice", "type": "access"}))
		fmt.Printf("%s: %v, %d requests so far\n", iss, err, fetches.Load())
	}
	fmt.Println(mw.IssuerCacheStats().Entries, "tenant cached")
	// Output:
	// https://acme.example.com/: <nil>, 2 requests so far
	// https://acme.example.com/: <nil>, 2 requests so far
	// https://initech.example.com/: jwtguard: wrong issuer: issuer not trusted, 2 requests so far
	// 1 tenant cached
}
