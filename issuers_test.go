package jwtguard_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/jwtguard/jwtguard"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// idp is an OpenID provider for tests: one TLS server that answers the
// discovery and JWKS requests of every issuer https://<name>.example.com/
// it holds, by Host, and counts them. Its client (Client) sends every
// request for example.com and its subdomains to it, with TLS.
type idp struct {
	*httptest.Server
	mu          sync.Mutex
	docs        map[string][]byte // by host: the JWKS document
	status      map[string]int    // by host + path: a status other than 200
	hits        map[string]int    // by host + path
	strays      atomic.Int64      // requests for hosts it does not hold
	onDiscovery func(host string) // called before a discovery answer; may block
}

func newIDP(t testing.TB) *idp {
	t.Helper()
	p := &idp{docs: map[string][]byte{}, status: map[string]int{}, hits: map[string]int{}}
	p.Server = httptest.NewTLSServer(http.HandlerFunc(p.serve))
	t.Cleanup(p.Close)
	return p
}

// add serves the public keys of keys for the issuer https://<name>.example.com/
// and returns that issuer.
func (p *idp) add(t testing.TB, name string, keys ...jwtguard.Key) string {
	t.Helper()
	host := name + ".example.com"
	doc := map[string][]map[string]string{"keys": {}}
	for _, k := range keys {
		doc["keys"] = append(doc["keys"], publicJWK(t, k))
	}
	b, err := json.Marshal(doc)
	require.NoError(t, err)
	p.mu.Lock()
	defer p.mu.Unlock()
	p.docs[host] = b
	return "https://" + host + "/"
}

// fail makes requests for path of the issuer's host answer status (200:
// answer normally again).
func (p *idp) fail(issuer, path string, status int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.status[hostOf(issuer)+path] = status
}

// count returns the number of requests for path of the issuer's host.
func (p *idp) count(issuer, path string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.hits[hostOf(issuer)+path]
}

func (p *idp) serve(w http.ResponseWriter, r *http.Request) {
	p.mu.Lock()
	doc, ok := p.docs[r.Host]
	p.hits[r.Host+r.URL.Path]++
	status := p.status[r.Host+r.URL.Path]
	hook := p.onDiscovery
	p.mu.Unlock()
	if !ok {
		p.strays.Add(1)
		http.NotFound(w, r)
		return
	}
	if r.URL.Path == discoveryPath && hook != nil {
		hook(r.Host)
	}
	if status != 0 && status != http.StatusOK {
		w.WriteHeader(status)
		return
	}
	switch r.URL.Path {
	case discoveryPath:
		fmt.Fprintf(w, `{"issuer":"https://%s/","jwks_uri":"https://%s/jwks"}`, r.Host, r.Host)
	case "/jwks":
		w.Header().Set("Cache-Control", "max-age=3600")
		_, _ = w.Write(doc)
	default:
		http.NotFound(w, r)
	}
}

const discoveryPath = "/.well-known/openid-configuration"

func hostOf(issuer string) string {
	return strings.TrimSuffix(strings.TrimPrefix(issuer, "https://"), "/")
}

// jwksOptions are the JWKSOptions of an issuer served by p.
func (p *idp) jwksOptions(more ...jwtguard.JWKSOption) []jwtguard.JWKSOption {
	return append([]jwtguard.JWKSOption{
		jwtguard.WithJWKSHTTPClient(p.Client()),
		jwtguard.WithJWKSTimeout(10 * time.Second),
		jwtguard.WithJWKSCacheBounds(time.Hour, time.Hour),
	}, more...)
}

// publicJWK writes the public half of k as a JWK by hand (RFC 7518 §6),
// independently of the package.
func publicJWK(t testing.TB, k jwtguard.Key) map[string]string {
	t.Helper()
	b64 := base64.RawURLEncoding.EncodeToString
	switch key := k.Key.(type) {
	case *ecdsa.PrivateKey:
		x, y := make([]byte, 32), make([]byte, 32)
		key.X.FillBytes(x)
		key.Y.FillBytes(y)
		return map[string]string{"kty": "EC", "crv": "P-256", "x": b64(x), "y": b64(y), "kid": k.ID, "alg": k.Algorithm, "use": "sig"}
	case *rsa.PrivateKey:
		e := big.NewInt(int64(key.E)).Bytes()
		return map[string]string{"kty": "RSA", "n": b64(key.N.Bytes()), "e": b64(e), "kid": k.ID, "alg": k.Algorithm, "use": "sig"}
	}
	t.Fatalf("no JWK for %T", k.Key)
	return nil
}

// issued signs, with golang-jwt, the valid access token of validClaims
// with iss and aud, changed by edit, naming k's kid and any header members
// of header.
func issued(t testing.TB, k jwtguard.Key, iss, aud string, edit func(jwt.MapClaims), header map[string]any) string {
	t.Helper()
	c := validClaims()
	c["iss"], c["aud"] = iss, aud
	if edit != nil {
		edit(c)
	}
	h := map[string]any{"kid": k.ID}
	for name, v := range header {
		h[name] = v
	}
	return sign(t, jwtMethod(k), k.Key, c, h)
}

func without(names ...string) func(jwt.MapClaims) {
	return func(c jwt.MapClaims) {
		for _, n := range names {
			delete(c, n)
		}
	}
}

// TestIssuersThreeProviders runs three identity providers on three real
// TLS servers: two whose keys the middleware discovers, and one whose JWKS
// the application made. A and B sign with keys of the same kid and
// different key material; each has its own audience and type rule.
func TestIssuersThreeProviders(t *testing.T) {
	idpA, idpB, idpC := newIDP(t), newIDP(t), newIDP(t)
	kA, kB := ecKey(t, "k1"), ecKey(t, "k1") // same kid, other keys
	kC := jwtguard.Key{ID: "r1", Algorithm: "RS256", Key: asym().rsa}
	issA, issB, issC := idpA.add(t, "a", kA), idpB.add(t, "b", kB), idpC.add(t, "c", kC)

	jwksURL, err := jwtguard.DiscoverJWKSURL(t.Context(), idpC.Client(), issC)
	require.NoError(t, err)
	jC, err := jwtguard.NewJWKS(t.Context(), jwksURL, []string{"RS256"}, idpC.jwksOptions()...)
	require.NoError(t, err)
	t.Cleanup(func() { _ = jC.Close() })

	mw, err := jwtguard.New(
		jwtguard.WithIssuers(
			jwtguard.TrustedIssuer{Issuer: issA, Algorithms: []string{"ES256"}, JWKSOptions: idpA.jwksOptions(),
				Audience: []string{"api-a"}},
			jwtguard.TrustedIssuer{Issuer: issB, Algorithms: []string{"ES256"}, JWKSOptions: idpB.jwksOptions(),
				Audience: []string{"api-b"}, TokenTypeHeader: "at+jwt"},
		),
		jwtguard.WithIssuers(jwtguard.TrustedIssuer{Issuer: issC, JWKS: jC, TypeClaim: "typ", TokenType: "Bearer"}),
		jwtguard.WithAudience("api.test"),
		jwtguard.WithClock(fixedClock),
	)
	require.NoError(t, err)
	t.Cleanup(func() { _ = mw.Close() })

	atJWT := map[string]any{"typ": "at+jwt"}
	bearer := func(c jwt.MapClaims) { delete(c, "type"); c["typ"] = "Bearer" }
	tests := []struct {
		name    string
		token   string
		wantErr error  // nil: accepted
		wantIss string // the issuer that verified it, or of its IssuerError; "" for none
	}{
		{name: "A", token: issued(t, kA, issA, "api-a", nil, nil), wantIss: issA},
		{name: "B", token: issued(t, kB, issB, "api-b", without("type"), atJWT), wantIss: issB},
		{name: "C", token: issued(t, kC, issC, "api.test", bearer, nil), wantIss: issC},
		{name: "A's key, B's iss", token: issued(t, kA, issB, "api-b", without("type"), atJWT),
			wantErr: jwtguard.ErrSignature, wantIss: issB},
		{name: "B's key, A's iss", token: issued(t, kB, issA, "api-a", nil, nil),
			wantErr: jwtguard.ErrSignature, wantIss: issA},
		{name: "C's key, A's iss", token: issued(t, kC, issA, "api-a", nil, nil),
			wantErr: jwtguard.ErrAlgorithm, wantIss: issA},
		{name: "A for B's audience", token: issued(t, kA, issA, "api-b", nil, nil),
			wantErr: jwtguard.ErrAudience, wantIss: issA},
		{name: "A for the middleware's audience", token: issued(t, kA, issA, "api.test", nil, nil),
			wantErr: jwtguard.ErrAudience, wantIss: issA},
		{name: "C for A's audience", token: issued(t, kC, issC, "api-a", bearer, nil),
			wantErr: jwtguard.ErrAudience, wantIss: issC},
		{name: "B without at+jwt", token: issued(t, kB, issB, "api-b", nil, nil),
			wantErr: jwtguard.ErrTokenType, wantIss: issB},
		{name: "C with A's type rule", token: issued(t, kC, issC, "api.test", nil, nil),
			wantErr: jwtguard.ErrTokenType, wantIss: issC},
		{name: "A with B's type rule", token: issued(t, kA, issA, "api-a", without("type"), atJWT),
			wantErr: jwtguard.ErrTokenType, wantIss: issA},
		{name: "unknown issuer", token: issued(t, kA, "https://d.example.com/", "api-a", nil, nil),
			wantErr: jwtguard.ErrIssuer},
		{name: "issuer in other case", token: issued(t, kA, "https://A.example.com/", "api-a", nil, nil),
			wantErr: jwtguard.ErrIssuer},
		{name: "no iss", token: issued(t, kA, "", "api-a", without("iss"), nil),
			wantErr: jwtguard.ErrIssuer},
		{name: "iss not a string", token: issued(t, kA, "", "api-a", func(c jwt.MapClaims) { c["iss"] = 1 }, nil),
			wantErr: jwtguard.ErrMalformedToken},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			claims, err := mw.Verify(t.Context(), tt.token)
			if tt.wantErr != nil {
				require.ErrorIs(t, err, tt.wantErr)
				assert.ErrorIs(t, err, jwtguard.ErrInvalidToken)
				var ie *jwtguard.IssuerError
				if tt.wantIss != "" {
					require.ErrorAs(t, err, &ie)
					assert.Equal(t, tt.wantIss, ie.Issuer)
				} else {
					assert.False(t, errors.As(err, &ie), "no IssuerError for an issuer that is not trusted")
				}
				assert.Equal(t, http.StatusUnauthorized, serveStatus(t, mw, tt.token))
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.wantIss, claims.(*jwtguard.Claims).Issuer, "the claims say which issuer verified them")
			assert.Equal(t, tt.wantIss, issuerInContext(t, mw, tt.token))
		})
	}
	t.Run("the missing type claim named is the issuer's own", func(t *testing.T) {
		_, err := mw.Verify(t.Context(), issued(t, kC, issC, "api.test", without("type"), nil))
		require.ErrorIs(t, err, jwtguard.ErrTokenType)
		assert.Contains(t, err.Error(), "missing required claim: typ")
	})
	for _, p := range []struct {
		idp *idp
		iss string
	}{{idpA, issA}, {idpB, issB}} {
		assert.Equal(t, 1, p.idp.count(p.iss, discoveryPath), "one discovery for %s", p.iss)
		assert.Equal(t, 1, p.idp.count(p.iss, "/jwks"), "one key set fetch for %s", p.iss)
	}
	for _, p := range []*idp{idpA, idpB, idpC} {
		assert.Zero(t, p.strays.Load(), "no request for an issuer that is not trusted")
	}
}

// issuerInContext serves token through mw and returns the iss of the
// claims the handler finds in its context.
func issuerInContext(t testing.TB, mw *jwtguard.Middleware, token string) string {
	t.Helper()
	var iss string
	h := mw.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, ok := jwtguard.FromContext(r.Context())
		require.True(t, ok)
		iss = c.Issuer
	}))
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	r.Header.Set("Authorization", "Bearer "+token)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	require.Equal(t, http.StatusOK, w.Code)
	return iss
}

// TestIssuersSameKid: two issuers whose keys share a kid. A key of one
// never verifies a token that names the other, whichever way round, and
// with the cache on (the entries of tokens differing only by iss stay
// apart).
func TestIssuersSameKid(t *testing.T) {
	secretA := []byte("secret-of-issuer-a-32-bytes-long")
	secretB := []byte("secret-of-issuer-b-32-bytes-long")
	kA := jwtguard.Key{ID: "k1", Algorithm: "HS256", Key: secretA}
	kB := jwtguard.Key{ID: "k1", Algorithm: "HS256", Key: secretB}
	const issA, issB = "https://a.example.com/", "https://b.example.com/"
	for _, cached := range []bool{false, true} {
		t.Run(fmt.Sprintf("cache=%v", cached), func(t *testing.T) {
			opts := []jwtguard.Option{
				jwtguard.WithIssuers(
					jwtguard.TrustedIssuer{Issuer: issA, Keys: []jwtguard.Key{kA}},
					jwtguard.TrustedIssuer{Issuer: issB, Keys: []jwtguard.Key{kB}},
				),
				jwtguard.WithClock(fixedClock),
			}
			if cached {
				opts = append(opts, jwtguard.WithCache(64))
			}
			mw, err := jwtguard.New(opts...)
			require.NoError(t, err)
			tests := []struct {
				name    string
				key     jwtguard.Key
				iss     string
				wantErr error
			}{
				{"A signs as A", kA, issA, nil},
				{"B signs as B", kB, issB, nil},
				{"A signs as B", kA, issB, jwtguard.ErrSignature},
				{"B signs as A", kB, issA, jwtguard.ErrSignature},
			}
			for range 2 { // the second round is served from the cache
				for _, tt := range tests {
					claims, err := mw.Verify(t.Context(), issued(t, tt.key, tt.iss, "api.test", nil, nil))
					if tt.wantErr != nil {
						require.ErrorIs(t, err, tt.wantErr, tt.name)
						continue
					}
					require.NoError(t, err, tt.name)
					assert.Equal(t, tt.iss, claims.(*jwtguard.Claims).Issuer, tt.name)
				}
			}
		})
	}
}

// TestIssuersUnverifiedIss sends crafted payloads: the iss read before the
// signature check is read strictly, and nothing else of the payload is
// used before it (a claim of the wrong type in a token with a bad
// signature is reported as a bad signature, as with one issuer).
func TestIssuersUnverifiedIss(t *testing.T) {
	secretA := []byte("secret-of-issuer-a-32-bytes-long")
	secretB := []byte("secret-of-issuer-b-32-bytes-long")
	mw, err := jwtguard.New(
		jwtguard.WithIssuers(
			jwtguard.TrustedIssuer{Issuer: "https://a.example/", Keys: []jwtguard.Key{{Algorithm: "HS256", Key: secretA}}},
			jwtguard.TrustedIssuer{Issuer: "https://b.example/", Keys: []jwtguard.Key{{Algorithm: "HS256", Key: secretB}}},
		),
		jwtguard.WithClock(fixedClock),
	)
	require.NoError(t, err)
	const header = `{"alg":"HS256","typ":"JWT"}`
	exp := fmt.Sprint(testNow.Add(time.Hour).Unix())
	rest := `"sub":"u","exp":` + exp + `,"type":"access"`
	tests := []struct {
		name    string
		payload string
		secret  []byte
		wantErr error // nil: accepted
	}{
		{"plain", `{"iss":"https://a.example/",` + rest + `}`, secretA, nil},
		{"escaped iss", `{"iss":"https:\/\/a.example\/",` + rest + `}`, secretA, nil},
		{"escaped name", `{"\u0069ss":"https://a.example/",` + rest + `}`, secretA, nil},
		{"iss last", `{` + rest + `,"iss":"https://b.example/"}`, secretB, nil},
		{"duplicate iss", `{"iss":"https://a.example/","iss":"https://b.example/",` + rest + `}`, secretA, jwtguard.ErrMalformedToken},
		{"duplicate iss, escaped", `{"iss":"https://b.example/","\u0069ss":"https://a.example/",` + rest + `}`, secretA, jwtguard.ErrMalformedToken},
		{"iss in other case too", `{"iss":"https://a.example/","ISS":"https://b.example/",` + rest + `}`, secretA, jwtguard.ErrMalformedToken},
		{"only ISS", `{"ISS":"https://a.example/",` + rest + `}`, secretA, jwtguard.ErrMalformedToken},
		{"iss null", `{"iss":null,` + rest + `}`, secretA, jwtguard.ErrMalformedToken},
		{"iss array", `{"iss":["https://a.example/"],` + rest + `}`, secretA, jwtguard.ErrMalformedToken},
		{"not an object", `["iss","https://a.example/"]`, secretA, jwtguard.ErrMalformedToken},
		{"trailing garbage", `{"iss":"https://a.example/",` + rest + `}x`, secretA, jwtguard.ErrMalformedToken},
		{"invalid UTF-8", "{\"iss\":\"https://a.example/\",\"n\":\"\xff\"," + rest + `}`, secretA, jwtguard.ErrMalformedToken},
		{"iss of B, key of A", `{"iss":"https://b.example/",` + rest + `}`, secretA, jwtguard.ErrSignature},
		{"exp a string, bad signature", `{"iss":"https://a.example/","exp":"` + exp + `","type":"access"}`, secretB, jwtguard.ErrSignature},
		{"exp a string", `{"iss":"https://a.example/","exp":"` + exp + `","type":"access"}`, secretA, jwtguard.ErrMalformedToken},
		{"no iss", `{` + rest + `}`, secretA, jwtguard.ErrIssuer},
		{"empty iss", `{"iss":"",` + rest + `}`, secretA, jwtguard.ErrIssuer},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := mw.Verify(t.Context(), rawHS256(t, header, tt.payload, tt.secret))
			if tt.wantErr == nil {
				require.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, tt.wantErr)
		})
	}
	t.Run("too large", func(t *testing.T) {
		big := `{"iss":"https://a.example/","pad":"` + strings.Repeat("x", jwtguard.DefaultMaxTokenSize) + `",` + rest + `}`
		_, err := mw.Verify(t.Context(), rawHS256(t, header, big, secretA))
		require.ErrorIs(t, err, jwtguard.ErrMalformedToken)
	})
}

// TestIssuersRequireScope: the route requirements and the claims in the
// context work as with one issuer, whichever issuer verified the token.
func TestIssuersRequireScope(t *testing.T) {
	kA, kB := ecKey(t, "a1"), ecKey(t, "b1")
	const issA, issB = "https://a.example.com/", "https://b.example.com/"
	mw, err := jwtguard.New(
		jwtguard.WithIssuers(
			jwtguard.TrustedIssuer{Issuer: issA, Keys: []jwtguard.Key{kA}},
			jwtguard.TrustedIssuer{Issuer: issB, Keys: []jwtguard.Key{kB}, Audience: []string{"api-b"}},
		),
		jwtguard.WithAudience("api.test"),
		jwtguard.WithClock(fixedClock),
		jwtguard.WithCache(64),
	)
	require.NoError(t, err)
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, _ := jwtguard.FromContext(r.Context())
		_, _ = w.Write([]byte(c.Issuer))
	})
	scoped := mw.Handler(mw.RequireScope("orders:read")(ok))
	admin := mw.RequireRole("admin")(ok) // authenticates on its own
	admins := func(c jwt.MapClaims) { c["roles"] = []string{"admin"} }
	tests := []struct {
		name   string
		h      http.Handler
		token  string
		status int
	}{
		{"scope, A", scoped, issued(t, kA, issA, "api.test", nil, nil), http.StatusOK},
		{"scope, B", scoped, issued(t, kB, issB, "api-b", nil, nil), http.StatusOK},
		{"no scope, B", scoped, issued(t, kB, issB, "api-b", func(c jwt.MapClaims) { c["scope"] = "orders:write" }, nil), http.StatusForbidden},
		{"role, A", admin, issued(t, kA, issA, "api.test", admins, nil), http.StatusOK},
		{"no role, B", admin, issued(t, kB, issB, "api-b", nil, nil), http.StatusForbidden},
		{"role, B's key as A", admin, issued(t, kB, issA, "api.test", admins, nil), http.StatusUnauthorized},
	}
	for range 2 { // the second round is served from the cache
		for _, tt := range tests {
			r := httptest.NewRequest(http.MethodGet, "/", nil)
			r.Header.Set("Authorization", "Bearer "+tt.token)
			w := httptest.NewRecorder()
			tt.h.ServeHTTP(w, r)
			require.Equal(t, tt.status, w.Code, tt.name)
			if w.Code == http.StatusOK {
				assert.Contains(t, []string{issA, issB}, w.Body.String(), tt.name)
			}
		}
	}
}

// TestIssuersFailureHook: failures are counted per issuer through the
// failure hook; a token naming an issuer that is not trusted gets the
// same 401 invalid_token as a wrong issuer with one issuer, and its iss is
// repeated nowhere.
func TestIssuersFailureHook(t *testing.T) {
	kA, kB := ecKey(t, "k1"), ecKey(t, "k1")
	const issA, issB = "https://a.example.com/", "https://b.example.com/"
	var mu sync.Mutex
	perIssuer := map[string]int{}
	mw, err := jwtguard.New(
		jwtguard.WithIssuers(
			jwtguard.TrustedIssuer{Issuer: issA, Keys: []jwtguard.Key{kA}},
			jwtguard.TrustedIssuer{Issuer: issB, Keys: []jwtguard.Key{kB}},
		),
		jwtguard.WithClock(fixedClock),
		jwtguard.WithFailureHook(func(_ *http.Request, err error) {
			issuer := "(untrusted)"
			if ie := (*jwtguard.IssuerError)(nil); errors.As(err, &ie) {
				issuer = ie.Issuer
			}
			mu.Lock()
			perIssuer[issuer]++
			mu.Unlock()
		}),
	)
	require.NoError(t, err)
	const evil = "https://evil.example.com/<script>"
	for _, tok := range []string{
		issued(t, kA, issB, "api.test", nil, nil), // bad signature for B
		issued(t, kB, issB, "api.test", func(c jwt.MapClaims) { c["exp"] = testNow.Add(-time.Hour).Unix() }, nil),
		issued(t, kB, issA, "api.test", nil, nil), // bad signature for A
		issued(t, kA, evil, "api.test", nil, nil),
	} {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.Header.Set("Authorization", "Bearer "+tok)
		w := httptest.NewRecorder()
		mw.Handler(http.NotFoundHandler()).ServeHTTP(w, r)
		require.Equal(t, http.StatusUnauthorized, w.Code)
		assert.Contains(t, w.Header().Get("WWW-Authenticate"), `error="invalid_token"`)
		assert.NotContains(t, w.Header().Get("WWW-Authenticate")+w.Body.String(), "evil")
	}
	assert.Equal(t, map[string]int{issA: 1, issB: 2, "(untrusted)": 1}, perIssuer)
	_, err = mw.Verify(t.Context(), issued(t, kA, evil, "api.test", nil, nil))
	assert.NotContains(t, err.Error(), "evil", "the iss of an untrusted token is not repeated")
}

func TestIssuersConfig(t *testing.T) {
	ok := jwtguard.TrustedIssuer{Issuer: "https://a.example.com/", Keys: []jwtguard.Key{{Algorithm: "HS256", Key: secret256}}}
	ks, err := jwtguard.NewKeySet(jwtguard.Key{ID: "k1", Algorithm: "HS256", Key: secret256})
	require.NoError(t, err)
	with := func(edit func(*jwtguard.TrustedIssuer)) jwtguard.TrustedIssuer {
		t := ok
		edit(&t)
		return t
	}
	resolve := func(context.Context, string) (jwtguard.TrustedIssuer, bool) { return jwtguard.TrustedIssuer{}, false }
	tests := []struct {
		name string
		opts []jwtguard.Option
		want string // a part of the error; "" for none
	}{
		{"one", []jwtguard.Option{jwtguard.WithIssuers(ok)}, ""},
		{"key set", []jwtguard.Option{jwtguard.WithIssuers(with(func(t *jwtguard.TrustedIssuer) { t.Keys, t.KeySet = nil, ks }))}, ""},
		{"discovered", []jwtguard.Option{jwtguard.WithIssuers(with(func(t *jwtguard.TrustedIssuer) {
			t.Keys, t.Algorithms = nil, []string{"RS256", "ES256"}
		}))}, ""},
		{"resolver only", []jwtguard.Option{jwtguard.WithIssuerResolver(resolve)}, ""},
		{"no issuer", []jwtguard.Option{jwtguard.WithIssuers()}, "WithIssuers: no issuer"},
		{"with WithKey", []jwtguard.Option{jwtguard.WithIssuers(ok), jwtguard.WithKey("HS256", secret256)}, "give each TrustedIssuer its keys"},
		{"with WithIssuer", []jwtguard.Option{jwtguard.WithIssuer("https://a.example.com/"), jwtguard.WithIssuers(ok)}, "each TrustedIssuer names its issuer"},
		{"twice", []jwtguard.Option{jwtguard.WithIssuers(ok, ok)}, `issuer "https://a.example.com/" given twice`},
		{"empty issuer", []jwtguard.Option{jwtguard.WithIssuers(with(func(t *jwtguard.TrustedIssuer) { t.Issuer = "" }))}, "empty Issuer"},
		{"two sources", []jwtguard.Option{jwtguard.WithIssuers(with(func(t *jwtguard.TrustedIssuer) { t.KeySet = ks }))}, "more than one of Keys, KeySet and JWKS"},
		{"weak key", []jwtguard.Option{jwtguard.WithIssuers(with(func(t *jwtguard.TrustedIssuer) {
			t.Keys = []jwtguard.Key{{Algorithm: "HS256", Key: []byte("short")}}
		}))}, `issuer 0 ("https://a.example.com/"): HS256 secret is 5 bytes`},
		{"none", []jwtguard.Option{jwtguard.WithIssuers(with(func(t *jwtguard.TrustedIssuer) {
			t.Keys = []jwtguard.Key{{Algorithm: "none", Key: []byte{}}}
		}))}, `"none" is never allowed`},
		{"algorithms with keys", []jwtguard.Option{jwtguard.WithIssuers(with(func(t *jwtguard.TrustedIssuer) { t.Algorithms = []string{"HS256"} }))}, "only for discovered keys"},
		{"no algorithms", []jwtguard.Option{jwtguard.WithIssuers(with(func(t *jwtguard.TrustedIssuer) { t.Keys = nil }))}, "discovered keys need Algorithms"},
		{"HMAC discovered", []jwtguard.Option{jwtguard.WithIssuers(with(func(t *jwtguard.TrustedIssuer) {
			t.Keys, t.Algorithms = nil, []string{"HS256"}
		}))}, "never holds HMAC secrets"},
		{"not a URL", []jwtguard.Option{jwtguard.WithIssuers(with(func(t *jwtguard.TrustedIssuer) {
			t.Issuer, t.Keys, t.Algorithms = "svc", nil, []string{"ES256"}
		}))}, "https issuer URL to discover them"},
		{"http", []jwtguard.Option{jwtguard.WithIssuers(with(func(t *jwtguard.TrustedIssuer) {
			t.Issuer, t.Keys, t.Algorithms = "http://a.example.com/", nil, []string{"ES256"}
		}))}, "http issuer: use https"},
		{"bad JWKS option", []jwtguard.Option{jwtguard.WithIssuers(with(func(t *jwtguard.TrustedIssuer) {
			t.Keys, t.Algorithms = nil, []string{"ES256"}
			t.JWKSOptions = []jwtguard.JWKSOption{jwtguard.WithJWKSTimeout(-1)}
		}))}, "WithJWKSTimeout"},
		{"empty audience", []jwtguard.Option{jwtguard.WithIssuers(with(func(t *jwtguard.TrustedIssuer) { t.Audience = []string{""} }))}, "empty audience"},
		{"type in header and claim", []jwtguard.Option{jwtguard.WithIssuers(with(func(t *jwtguard.TrustedIssuer) {
			t.TokenTypeHeader, t.TokenType = "at+jwt", "access"
		}))}, "not both"},
		{"no type and a type", []jwtguard.Option{jwtguard.WithIssuers(with(func(t *jwtguard.TrustedIssuer) {
			t.InsecureNoTokenType, t.TypeClaim = true, "typ"
		}))}, "InsecureNoTokenType with a token type"},
		{"type claim of its own", []jwtguard.Option{jwtguard.WithIssuers(with(func(t *jwtguard.TrustedIssuer) { t.TypeClaim = "sub" }))}, `"sub" is a claim of its own`},
		{"nil resolver", []jwtguard.Option{jwtguard.WithIssuerResolver(nil)}, "nil resolver"},
		{"resolver twice", []jwtguard.Option{jwtguard.WithIssuerResolver(resolve), jwtguard.WithIssuerResolver(resolve)}, "given twice"},
		{"no room", []jwtguard.Option{jwtguard.WithIssuerResolver(resolve, jwtguard.ResolverMaxIssuers(0))}, "ResolverMaxIssuers(0)"},
		{"no idle time", []jwtguard.Option{jwtguard.WithIssuerResolver(resolve, jwtguard.ResolverMaxIdle(0))}, "ResolverMaxIdle(0s)"},
		{"no set-ups", []jwtguard.Option{jwtguard.WithIssuerResolver(resolve, jwtguard.ResolverMaxSetups(0, time.Second))}, "ResolverMaxSetups(0, 1s)"},
		{"no set-up period", []jwtguard.Option{jwtguard.WithIssuerResolver(resolve, jwtguard.ResolverMaxSetups(1, 0))}, "ResolverMaxSetups(1, 0s)"},
		{"and a bad leeway", []jwtguard.Option{jwtguard.WithIssuers(ok), jwtguard.WithLeeway(-1)}, "WithLeeway"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mw, err := jwtguard.New(tt.opts...)
			if tt.want == "" {
				require.NoError(t, err)
				require.NoError(t, mw.Close())
				return
			}
			require.ErrorIs(t, err, jwtguard.ErrInvalidConfig)
			assert.Contains(t, err.Error(), tt.want)
			assert.Equal(t, 1, strings.Count(err.Error(), "invalid configuration"), "one prefix")
		})
	}
}

// FuzzIssuers signs arbitrary payloads with issuer A's key and checks the
// middleware with issuers A and B (keys of the same kid) against one made
// for A alone: they accept exactly the same tokens, with the same claims,
// and never as B's.
func FuzzIssuers(f *testing.F) {
	exp := fmt.Sprint(testNow.Add(time.Hour).Unix())
	rest := `"sub":"u","aud":"api.test","exp":` + exp + `,"type":"access"`
	for _, p := range []string{
		`{"iss":"https://a.example/",` + rest + `}`,
		`{"iss":"https://b.example/",` + rest + `}`,
		`{"iss":"https:\/\/a.example\/",` + rest + `}`,
		`{"\u0069ss":"https://a.example/",` + rest + `}`,
		`{"iss":"https://a.example/","iss":"https://b.example/",` + rest + `}`,
		`{"iss":"https://a.example/","ISS":"https://b.example/",` + rest + `}`,
		`{"iss":"https://a.example/","exp":"` + exp + `"}`,
		`{"iss":"https://a.example/","typ":"x",` + rest + `,"nested":{"iss":"https://b.example/"}}`,
		`{` + rest + `}`,
		`[]`, `{"iss":null}`, "{\"iss\":\"\xff\"}",
	} {
		f.Add(p)
	}
	kA := jwtguard.Key{ID: "k1", Algorithm: "HS256", Key: []byte("secret-of-issuer-a-32-bytes-long")}
	kB := jwtguard.Key{ID: "k1", Algorithm: "HS256", Key: []byte("secret-of-issuer-b-32-bytes-long")}
	common := []jwtguard.Option{jwtguard.WithAudience("api.test"), jwtguard.WithClock(fixedClock)}
	multi, err := jwtguard.New(append(common, jwtguard.WithIssuers(
		jwtguard.TrustedIssuer{Issuer: "https://a.example/", Keys: []jwtguard.Key{kA}},
		jwtguard.TrustedIssuer{Issuer: "https://b.example/", Keys: []jwtguard.Key{kB}},
	))...)
	require.NoError(f, err)
	single, err := jwtguard.New(append(common, jwtguard.WithKeys(kA), jwtguard.WithIssuer("https://a.example/"))...)
	require.NoError(f, err)
	f.Fuzz(func(t *testing.T, payload string) {
		tok := rawHS256(t, `{"alg":"HS256","kid":"k1"}`, payload, kA.Key.([]byte))
		cm, errM := multi.Verify(t.Context(), tok)
		cs, errS := single.Verify(t.Context(), tok)
		require.Equal(t, errS == nil, errM == nil, "multi: %v; single: %v", errM, errS)
		if errM != nil {
			require.ErrorIs(t, errM, jwtguard.ErrInvalidToken)
			return
		}
		require.Equal(t, cs, cm)
		require.Equal(t, "https://a.example/", cm.(*jwtguard.Claims).Issuer)
	})
}
