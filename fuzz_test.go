package jwtguard_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/golang-jwt/jwt/v5"
	"github.com/jwtguard/jwtguard"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The fuzz targets of the HTTP surface: extractors, the whole middleware,
// the login and refresh handlers, and the key parsers. FuzzVerify and
// FuzzVerifyClaims (decode_test.go) cover the verifier itself. Seeds are
// given in code and committed under testdata/fuzz/<FuzzName>/ (the
// adversarial rows of adversarial_test.go among them; TestFuzzCorpus checks
// they are all there). .ci/run runs every target for a short time.

// fuzzGuard is the middleware of the fuzz targets and the adversarial
// tables: HS256 with secret256, a fixed clock, issuer and audience of
// validClaims, the Authorization header and the cookie "tok" as sources.
func fuzzGuard(t testing.TB, opts ...jwtguard.Option) *jwtguard.Middleware {
	t.Helper()
	mw, err := jwtguard.New(append([]jwtguard.Option{
		jwtguard.WithKey("HS256", secret256),
		jwtguard.WithClock(fixedClock),
		jwtguard.WithIssuer("https://issuer.test"),
		jwtguard.WithAudience("api.test"),
		jwtguard.WithExtractors(jwtguard.AuthorizationHeader(), jwtguard.Cookie("tok")),
		// No store, and the seeds include tokens of families: accept
		// them as the reference parser does.
		jwtguard.WithInsecureNoRevocationCheck(),
	}, opts...)...)
	require.NoError(t, err)
	return mw
}

// probe is a protected handler that records whether it ran.
type probe struct{ called bool }

func (p *probe) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p.called = true
	w.WriteHeader(http.StatusTeapot)
}

// FuzzExtractors feeds arbitrary Authorization and Cookie header values,
// one or several at once, to the extractors and to Check. Nothing panics;
// an extractor returns a token, nothing, or ErrMalformedRequest; a bearer
// token is a trimmed piece of the header without spaces; Check accepts
// only a valid token found in exactly one place.
func FuzzExtractors(f *testing.F) {
	for _, s := range []struct {
		auth1, auth2, cookie string
		twoAuth              bool
	}{
		{"Bearer abc.def.ghi", "", "", false},
		{"bearer    abc", "", "", false},
		{"BEARER\tabc", "", "", false},
		{"Bearer", "", "", false},
		{"Bearer ", "", "", false},
		{"  Bearer  a b ", "", "", false},
		{"Bearerx abc", "", "", false},
		{"Basic dXNlcjpwYXNz", "", "", false},
		{"Bearer a", "Bearer b", "", true},
		{"", "", "tok=a.b.c", false},
		{"", "", "tok=a; tok=b", false},
		{"", "", `tok="a.b.c"`, false},
		{"", "", `tok="`, false},
		{"", "", "tok=; other=1;;; =x; tok", false},
		{"Bearer a.b.c", "", "tok=a.b.c", false},
		{"Bearer \x00\r\n", "", "tok=\xff\xfe", false},
		{"Bearer " + strings.Repeat(".", 300), "", "", false},
	} {
		seed(f, s.auth1, s.auth2, s.cookie, s.twoAuth)
	}
	mw := fuzzGuard(f)
	header, cookie, custom := jwtguard.AuthorizationHeader(), jwtguard.Cookie("tok"), jwtguard.Header("X-Token")
	f.Fuzz(func(t *testing.T, auth1, auth2, cookieLine string, twoAuth bool) {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.Header["Authorization"] = []string{auth1}
		if twoAuth {
			r.Header["Authorization"] = append(r.Header["Authorization"], auth2)
		}
		if cookieLine != "" {
			r.Header["Cookie"] = []string{cookieLine, auth2}
		}
		r.Header["X-Token"] = []string{auth2}

		fromHeader, err := header.Extract(r)
		tok := fromHeader
		switch {
		case twoAuth:
			require.ErrorIs(t, err, jwtguard.ErrMalformedRequest)
		case err != nil:
			require.ErrorIs(t, err, jwtguard.ErrMalformedRequest)
			require.Empty(t, tok)
		case tok != "":
			require.Contains(t, auth1, tok)
			require.NotContains(t, tok, " ")
			require.NotContains(t, tok, "\t")
			require.True(t, strings.HasPrefix(strings.ToLower(strings.TrimSpace(auth1)), "bearer "))
		}

		fromCookie, err := cookie.Extract(r)
		tok = fromCookie
		if err != nil {
			require.ErrorIs(t, err, jwtguard.ErrMalformedRequest)
			require.Empty(t, tok)
		} else if tok != "" {
			require.True(t, strings.Contains(cookieLine, tok) || strings.Contains(auth2, tok))
		}

		tok, err = custom.Extract(r)
		require.NoError(t, err)
		require.Equal(t, strings.TrimSpace(auth2), tok)

		claims, err := mw.Check(r)
		if err == nil {
			// Only a seed's valid token passes, found in exactly one place.
			require.True(t, (fromHeader == "") != (fromCookie == ""), "a token accepted from two places")
			_, verr := mw.Verify(context.Background(), fromHeader+fromCookie)
			require.NoError(t, verr)
			return
		}
		require.Nil(t, claims)
		if !errors.Is(err, jwtguard.ErrNoToken) && !errors.Is(err, jwtguard.ErrMalformedRequest) {
			require.ErrorIs(t, err, jwtguard.ErrInvalidToken)
		}
	})
}

// FuzzHandler sends arbitrary token strings through Handler, in the
// Authorization header or in the token cookie. Nothing panics. A rejected
// request is answered 400 or 401 with an RFC 6750 challenge, without the
// token in the body, and the failure hook sees no claims in the context.
// The protected handler runs only for a token golang-jwt's strict parser
// accepts too (with the same key, issuer, audience and clock) and whose
// type is access: the seeds hold tokens a byte or two away from valid ones,
// which the fuzzer does find again.
func FuzzHandler(f *testing.F) {
	addSeeds(f, "FuzzHandler")
	valid := hs256(f, validClaims())
	for _, s := range []string{
		"", " ", "a.b.c", "..", "a..c", valid + "x", valid[:len(valid)-1],
		rawHS256(f, `{"alg":"none"}`, `{}`, secret256),
		strings.Repeat("A", 5000),
	} {
		seed(f, s, false)
		seed(f, s, true)
	}
	var leaked bool
	mw := fuzzGuard(f, jwtguard.WithFailureHook(func(r *http.Request, err error) {
		if _, ok := jwtguard.FromContext(r.Context()); ok {
			leaked = true
		}
	}))
	header, cookie := jwtguard.AuthorizationHeader(), jwtguard.Cookie("tok")
	f.Fuzz(func(t *testing.T, token string, inCookie bool) {
		p := &probe{}
		h := mw.Handler(p)
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		extractor := header
		if inCookie {
			r.Header["Cookie"] = []string{"tok=" + token}
			extractor = cookie
		} else {
			r.Header["Authorization"] = []string{"Bearer " + token}
		}
		leaked = false
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if p.called {
			extracted, err := extractor.Extract(r)
			require.NoError(t, err)
			require.True(t, referenceAccepts(extracted), "accepted a token golang-jwt refuses: %q", extracted)
			return
		}
		require.False(t, leaked, "claims in the context of a rejected request")
		require.Contains(t, []int{http.StatusBadRequest, http.StatusUnauthorized}, w.Code)
		challenge := w.Header().Get("WWW-Authenticate")
		require.True(t, strings.HasPrefix(challenge, `Bearer realm="api"`), challenge)
		if len(token) >= 8 {
			require.NotContains(t, w.Body.String(), token, "the token is echoed")
		}
	})
}

// referenceAccepts verifies an access token as fuzzGuard should, with
// golang-jwt's own parser in its strictest setting: an independent second
// opinion.
func referenceAccepts(token string) bool { return referenceType(token, "access") }

var tokenPattern = regexp.MustCompile(`[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+`)

// hasRefreshToken reports whether body holds a refresh token of
// fuzzSessions' issuer that golang-jwt accepts.
func hasRefreshToken(body []byte) bool {
	for _, tok := range tokenPattern.FindAllString(string(body), -1) {
		if referenceType(tok, "refresh") {
			return true
		}
	}
	return false
}

func referenceType(token, typ string) bool {
	claims := jwt.MapClaims{}
	_, err := jwt.NewParser(
		jwt.WithValidMethods([]string{"HS256"}), jwt.WithStrictDecoding(), jwt.WithExpirationRequired(),
		jwt.WithIssuer("https://issuer.test"), jwt.WithAudience("api.test"), jwt.WithIssuedAt(),
		jwt.WithTimeFunc(fixedClock),
	).ParseWithClaims(token, claims, func(*jwt.Token) (any, error) { return secret256, nil })
	return err == nil && claims["type"] == typ
}

// fuzzSessions returns body-mode Sessions over a fixed clock and a memory
// store, and a valid login body and refresh token for seeds.
func fuzzSessions(t testing.TB) (*jwtguard.Sessions, string) {
	t.Helper()
	iss, err := jwtguard.NewIssuer(jwtguard.IssuerConfig{
		Key:    jwtguard.Key{Algorithm: "HS256", Key: secret256},
		Issuer: "https://issuer.test", Audience: []string{"api.test"},
		Clock: fixedClock,
	})
	require.NoError(t, err)
	store, err := jwtguard.NewMemoryStore(jwtguard.MemoryStoreClock(fixedClock))
	require.NoError(t, err)
	t.Cleanup(func() { _ = store.Close() })
	s, err := jwtguard.NewSessions(iss, store)
	require.NoError(t, err)
	pair, err := iss.Issue(context.Background(), "user-1", nil)
	require.NoError(t, err)
	return s, pair.RefreshToken
}

// fuzzLogin accepts alice with the password "pw"; "down" is a failing
// user database.
func fuzzLogin(_ context.Context, username, password string) (string, map[string]any, error) {
	switch {
	case username == "alice" && password == "pw":
		return "1", map[string]any{"roles": []string{"reader"}}, nil
	case username == "down":
		return "", nil, errors.New("database down")
	}
	return "", nil, jwtguard.ErrInvalidCredentials
}

// checkLifecycleAnswer checks what the login and refresh handlers may
// answer to arbitrary input: never 500, a JSON body, no-store, and a token
// pair exactly when the status is 200.
func checkLifecycleAnswer(t *testing.T, w *httptest.ResponseRecorder, allowed ...int) {
	t.Helper()
	require.Contains(t, allowed, w.Code, "status")
	require.Equal(t, "application/json", w.Header().Get("Content-Type"))
	require.Equal(t, "no-store", w.Header().Get("Cache-Control"))
	var body map[string]any
	require.NoError(t, json.Unmarshal(w.Body.Bytes(), &body))
	if w.Code == http.StatusOK {
		require.NotEmpty(t, body["access_token"])
		require.NotEmpty(t, body["refresh_token"])
	} else {
		require.NotEmpty(t, body["error"])
		require.NotContains(t, body, "access_token")
	}
}

// FuzzLoginHandler posts arbitrary bodies with arbitrary content types to
// the login handler: never a panic, never 500; 200 only for alice's
// password.
func FuzzLoginHandler(f *testing.F) {
	addSeeds(f, "FuzzLoginHandler")
	for _, s := range []struct{ ct, body string }{
		{"application/json", `{"username":"alice","password":"pw"}`},
		{"application/json; charset=utf-8", `{"username":"alice","password":"nope"}`},
		{"application/json", `{"username":"alice","password":"pw","username":"bob"}`},
		{"application/json", `{"username":"alice","Password":"pw","password":"pw"}`},
		{"application/json", `{"username":["alice"],"password":"pw"}`},
		{"application/json", `[1,2]`},
		{"application/json", "{\"username\":\"\xff\",\"password\":\"pw\"}"},
		{"application/json", `{"username":"down","password":"x"}`},
		{"application/x-www-form-urlencoded", "username=alice&password=pw&grant_type=password"},
		{"application/x-www-form-urlencoded", "username=alice&username=bob&password=pw"},
		{"application/x-www-form-urlencoded", "grant_type=client_credentials&username=a&password=b"},
		{"application/x-www-form-urlencoded", "%zz"},
		{"text/plain", "username=alice"},
		{"", ""},
		{"multipart/form-data; boundary=x", "--x--"},
		{"application/json", strings.Repeat(`{"a":`, 40)},
		{"application/json", `{"username":"alice","password":"pw","x":"` + strings.Repeat("a", 17<<10) + `"}`},
	} {
		seed(f, s.ct, []byte(s.body))
	}
	s, _ := fuzzSessions(f)
	h := s.LoginHandler(fuzzLogin)
	f.Fuzz(func(t *testing.T, contentType string, body []byte) {
		r := httptest.NewRequest(http.MethodPost, "/login", bytes.NewReader(body))
		r.Header["Content-Type"] = []string{contentType}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		checkLifecycleAnswer(t, w, http.StatusOK, http.StatusBadRequest, http.StatusUnauthorized,
			http.StatusRequestEntityTooLarge, http.StatusUnsupportedMediaType, http.StatusServiceUnavailable)
		if w.Code == http.StatusServiceUnavailable {
			require.Contains(t, string(body), "down") // only the failing user database answers 503
		}
	})
}

// FuzzRefreshHandler posts arbitrary bodies with arbitrary content types
// to the refresh handler: never a panic, never 500, and 200 only with a
// refresh token the issuer minted.
func FuzzRefreshHandler(f *testing.F) {
	addSeeds(f, "FuzzRefreshHandler")
	s, refresh := fuzzSessions(f)
	for _, s := range []struct{ ct, body string }{
		{"application/json", `{"refresh_token":"` + refresh + `"}`},
		{"application/x-www-form-urlencoded", "grant_type=refresh_token&refresh_token=" + refresh},
		{"application/x-www-form-urlencoded", "grant_type=password&refresh_token=" + refresh},
		{"application/json", `{"refresh_token":"` + refresh + `","refresh_token":"x"}`},
		{"application/json", `{"refresh_token":"` + refresh + `x"}`},
		{"application/json", `{"refresh_token":null}`},
		{"application/json", `{"refresh_token":1}`},
		{"application/json", `{}`},
		{"application/json", ``},
		{"application/json", `"a"`},
		{"text/html", `{"refresh_token":"a.b.c"}`},
		{"", ""},
		{"application/x-www-form-urlencoded", "refresh_token=a.b.c&refresh_token=a.b.c"},
		{"application/json;;", `{}`},
	} {
		seed(f, s.ct, []byte(s.body))
	}
	h := s.RefreshHandler()
	f.Fuzz(func(t *testing.T, contentType string, body []byte) {
		r := httptest.NewRequest(http.MethodPost, "/refresh", bytes.NewReader(body))
		r.Header["Content-Type"] = []string{contentType}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		checkLifecycleAnswer(t, w, http.StatusOK, http.StatusBadRequest, http.StatusUnauthorized,
			http.StatusRequestEntityTooLarge, http.StatusUnsupportedMediaType)
		if w.Code == http.StatusOK {
			require.True(t, hasRefreshToken(body), "200 without a refresh token the issuer minted")
		}
	})
}

// jwkSeeds are JWKs of every kind the parsers meet, good and bad.
var jwkSeeds = []string{
	`{"kty":"RSA","alg":"RS256","kid":"r","n":"0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw","e":"AQAB"}`,
	`{"kty":"EC","crv":"P-256","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0","kid":"e"}`,
	`{"kty":"EC","crv":"P-256","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a1"}`,
	`{"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo","alg":"EdDSA"}`,
	`{"kty":"oct","k":"dGVzdC1zZWNyZXQtZm9yLWhzMjU2LTMyLWJ5dGVzISE","alg":"HS256"}`,
	`{"kty":"oct","k":"c2hvcnQ"}`,
	`{"kty":"RSA","n":"AQAB","e":"AQAB","d":"AQAB"}`,
	`{"kty":"RSA","n":"","e":"AA"}`,
	`{"kty":"EC","crv":"P-521","x":"AA==","y":"AA=="}`,
	`{"kty":"OKP","crv":"X25519","x":"AA"}`,
	`{"kty":"none","alg":"none"}`,
	`{"kty":"RSA","alg":"RS256","use":"enc","key_ops":["encrypt"],"n":"AQAB","e":"AQAB"}`,
	`{"kty":1}`, `[]`, `null`, `{}`, ``,
}

// checkParsedKey checks a key a parser returned: it has an algorithm other
// than none, and New accepts it as it is.
func checkParsedKey(t *testing.T, k jwtguard.Key) {
	t.Helper()
	require.NotEmpty(t, k.Algorithm)
	require.NotEqual(t, "none", strings.ToLower(k.Algorithm))
	_, err := jwtguard.New(jwtguard.WithKeys(k))
	require.NoError(t, err, "a parsed key that New refuses")
}

// FuzzParseJWK: ParseJWK never panics, and every key it returns is one
// New accepts.
func FuzzParseJWK(f *testing.F) {
	addSeeds(f, "FuzzParseJWK")
	for _, s := range jwkSeeds {
		for _, alg := range []string{"", "RS256", "ES256", "HS256", "EdDSA", "none", "PS512"} {
			seed(f, []byte(s), alg)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte, alg string) {
		k, err := jwtguard.ParseJWK(data, alg)
		if err != nil {
			require.Equal(t, jwtguard.Key{}, k)
			return
		}
		checkParsedKey(t, k)
		if alg != "" {
			require.Equal(t, alg, k.Algorithm)
		}
	})
}

// FuzzParseJWKS: ParseJWKS never panics, and every key it returns is one
// New accepts.
func FuzzParseJWKS(f *testing.F) {
	addSeeds(f, "FuzzParseJWKS")
	seed(f, readTestdataFile(f, "jwks.json"), "")
	seed(f, []byte(`{"keys":[`+strings.Join(jwkSeeds[:5], ",")+`]}`), "HS256")
	seed(f, []byte(`{"keys":[`+jwkSeeds[1]+`]}`), "ES256")
	seed(f, []byte(`{"keys":[]}`), "RS256")
	seed(f, []byte(`{"keys":null}`), "RS256")
	seed(f, []byte(`{"keys":{}}`), "RS256")
	f.Fuzz(func(t *testing.T, data []byte, alg string) {
		keys, err := jwtguard.ParseJWKS(data, alg)
		if err != nil {
			require.Nil(t, keys)
			return
		}
		require.NotEmpty(t, keys)
		for _, k := range keys {
			checkParsedKey(t, k)
		}
	})
}

// FuzzParsePEM: ParsePEM never panics, never binds a key to an HMAC
// algorithm, and every key it returns is one New accepts.
func FuzzParsePEM(f *testing.F) {
	addSeeds(f, "FuzzParsePEM")
	names, err := filepath.Glob(filepath.Join("testdata", "keys", "*.pem"))
	require.NoError(f, err)
	for _, name := range names {
		b, err := os.ReadFile(name)
		require.NoError(f, err)
		for _, alg := range []string{"RS256", "PS384", "ES256", "ES512", "EdDSA", "HS256"} {
			seed(f, b, alg)
		}
	}
	seed(f, []byte("-----BEGIN PUBLIC KEY-----\n-----END PUBLIC KEY-----\n"), "RS256")
	seed(f, []byte("-----BEGIN EC PARAMETERS-----\nBggqhkjOPQMBBw==\n-----END EC PARAMETERS-----\n"), "ES256")
	seed(f, []byte("-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\n\nAAAA\n-----END RSA PRIVATE KEY-----\n"), "RS256")
	f.Fuzz(func(t *testing.T, data []byte, alg string) {
		k, err := jwtguard.ParsePEM(data, alg, "kid")
		if err != nil {
			require.Equal(t, jwtguard.Key{}, k)
			return
		}
		require.NotContains(t, []string{"HS256", "HS384", "HS512"}, k.Algorithm)
		require.Equal(t, alg, k.Algorithm)
		checkParsedKey(t, k)
	})
}

// readTestdataFile reads testdata/name.
func readTestdataFile(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	require.NoError(t, err)
	return b
}

// seed adds a seed; with JWTGUARD_WRITE_CORPUS=1 it also writes it to the
// committed corpus, testdata/fuzz/<FuzzName>/seed-<hash>.
func seed(f *testing.F, values ...any) {
	f.Helper()
	f.Add(values...)
	if os.Getenv("JWTGUARD_WRITE_CORPUS") != "1" {
		return
	}
	b := corpusFile(values...)
	require.NoError(f, os.WriteFile(filepath.Join("testdata", "fuzz", f.Name(), corpusName(b)), b, 0o644))
}

// addSeeds is a placeholder for seeds that only exist as corpus files: go
// test reads testdata/fuzz/<name> by itself. It checks the folder exists,
// so that a renamed target does not silently lose its corpus.
func addSeeds(f *testing.F, name string) {
	f.Helper()
	_, err := os.Stat(filepath.Join("testdata", "fuzz", name))
	assert.NoError(f, err, "seed corpus of %s", name)
}
