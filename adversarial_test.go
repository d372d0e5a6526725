package jwtguard_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/jwtguard/jwtguard"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The adversarial tables: one row per attack of ../shared/SECURITY.md, each
// sent through the real Handler (or a Sessions handler) with the exact
// status, WWW-Authenticate error code, and a check that the protected
// handler never ran. Every token row is also a seed of FuzzHandler, every
// header row a seed of FuzzExtractors (TestFuzzCorpus).

// advRow is one adversarial request.
type advRow struct {
	name   string
	token  string   // sent as "Authorization: Bearer <token>" unless auth is set
	auth   []string // raw Authorization values
	cookie string   // raw Cookie header
	method string   // default GET
	target string   // default "/"
	guard  *jwtguard.Middleware
	status int
	code   string // error code of the challenge; "" a bare challenge; "-" no challenge
}

const (
	advIss = "https://issuer.test"
	advAud = "api.test"
)

var (
	advNow = testNow.Unix()
	advExp = advNow + 1800
)

// advPayload is a valid access token payload with extra members appended
// (each starting with a comma) and members of drop removed.
func advPayload(extra string, drop ...string) string {
	members := []string{
		`"aud":"` + advAud + `"`,
		`"exp":` + strconv.FormatInt(advExp, 10),
		`"iat":` + strconv.FormatInt(advNow-60, 10),
		`"iss":"` + advIss + `"`,
		`"jti":"jti-1"`,
		`"nbf":` + strconv.FormatInt(advNow-60, 10),
		`"sub":"user-1"`,
		`"type":"access"`,
	}
	var kept []string
next:
	for _, m := range members {
		for _, d := range drop {
			if strings.HasPrefix(m, `"`+d+`"`) {
				continue next
			}
		}
		kept = append(kept, m)
	}
	return "{" + strings.Join(kept, ",") + extra + "}"
}

// advSigned builds a token from literal header and payload JSON signed with
// method and key.
func advSigned(t testing.TB, header, payload string, method jwt.SigningMethod, key any) string {
	t.Helper()
	enc := base64.RawURLEncoding
	input := enc.EncodeToString([]byte(header)) + "." + enc.EncodeToString([]byte(payload))
	sig, err := method.Sign(input, key)
	require.NoError(t, err)
	return input + "." + enc.EncodeToString(sig)
}

// advHS signs payload under a literal header with secret256.
func advHS(t testing.TB, header, payload string) string {
	t.Helper()
	return rawHS256(t, header, payload, secret256)
}

// advClaim is a valid token whose claim name has the raw JSON value v, or
// is absent when v is "".
func advClaim(t testing.TB, name, v string) string {
	t.Helper()
	if v == "" {
		return advHS(t, `{"alg":"HS256"}`, advPayload("", name))
	}
	return advHS(t, `{"alg":"HS256"}`, advPayload(`,"`+name+`":`+v, name))
}

// advNonCanonical sets a spare trailing bit of a base64url segment, so that
// it decodes (leniently) to the same bytes with another text.
func advNonCanonical(t testing.TB, seg string) string {
	t.Helper()
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	require.NotZero(t, len(seg)%4, "segment has no spare bits")
	last := strings.IndexByte(alphabet, seg[len(seg)-1])
	return seg[:len(seg)-1] + string(alphabet[last|1])
}

// advNonCanonicalPayload signs a payload whose encoding is not canonical:
// the rejection can only come from the decoding.
func advNonCanonicalPayload(t testing.TB) string {
	t.Helper()
	p := advPayload("")
	for len(p)%3 == 0 {
		p += " "
	}
	enc := base64.RawURLEncoding
	input := enc.EncodeToString([]byte(`{"alg":"HS256"}`)) + "." + advNonCanonical(t, enc.EncodeToString([]byte(p)))
	sig, err := jwt.SigningMethodHS256.Sign(input, secret256)
	require.NoError(t, err)
	return input + "." + enc.EncodeToString(sig)
}

// advKeys are fixed keys from testdata/keys, so that rows are reproducible.
type advKeys struct {
	rsa       *rsa.PrivateKey
	rsaPEM    []byte // its public key, SPKI PEM
	ed        ed25519.PrivateKey
	attacker  *rsa.PrivateKey
	jwksHits  *atomic.Int64
	jwksURL   string
	attackJWK string
}

func loadAdvKeys(t testing.TB) advKeys {
	t.Helper()
	var k advKeys
	key, err := jwtguard.ParsePEM(readTestdataFile(t, "keys/rsa2048-pkcs8.pem"), "RS256", "")
	require.NoError(t, err)
	k.rsa = key.Key.(*rsa.PrivateKey)
	k.rsaPEM = readTestdataFile(t, "keys/rsa2048-spki.pem")
	key, err = jwtguard.ParsePEM(readTestdataFile(t, "keys/ed25519-pkcs8.pem"), "EdDSA", "")
	require.NoError(t, err)
	k.ed = key.Key.(ed25519.PrivateKey)
	k.attacker = asym().rsa
	ks, err := jwtguard.NewKeySet(jwtguard.Key{ID: "attacker", Algorithm: "RS256", Key: k.attacker})
	require.NoError(t, err)
	doc := httptest.NewRecorder()
	ks.JWKSHandler(time.Minute).ServeHTTP(doc, httptest.NewRequest(http.MethodGet, "/", nil))
	var set struct {
		Keys []json.RawMessage `json:"keys"`
	}
	require.NoError(t, json.Unmarshal(doc.Body.Bytes(), &set))
	k.attackJWK = string(set.Keys[0])
	k.jwksHits = new(atomic.Int64)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		k.jwksHits.Add(1)
		_, _ = w.Write(doc.Body.Bytes())
	}))
	t.Cleanup(srv.Close)
	k.jwksURL = srv.URL
	return k
}

// advRows returns the adversarial rows for the middleware.
func advRows(t testing.TB, k advKeys) []advRow {
	t.Helper()
	valid := advHS(t, `{"alg":"HS256"}`, advPayload(""))
	guard := fuzzGuard(t)
	keyed, err := jwtguard.New(
		jwtguard.WithKeys(jwtguard.Key{ID: "k1", Algorithm: "HS256", Key: secret256}),
		jwtguard.WithClock(fixedClock), jwtguard.WithIssuer(advIss), jwtguard.WithAudience(advAud),
	)
	require.NoError(t, err)
	rsGuard, err := jwtguard.New(
		jwtguard.WithKey("RS256", &k.rsa.PublicKey),
		jwtguard.WithClock(fixedClock), jwtguard.WithIssuer(advIss), jwtguard.WithAudience(advAud),
	)
	require.NoError(t, err)
	mixed, err := jwtguard.New(
		jwtguard.WithKeys(
			jwtguard.Key{ID: "rsa", Algorithm: "RS256", Key: &k.rsa.PublicKey},
			jwtguard.Key{ID: "hs", Algorithm: "HS256", Key: secret256},
		),
		jwtguard.WithClock(fixedClock), jwtguard.WithIssuer(advIss), jwtguard.WithAudience(advAud),
	)
	require.NoError(t, err)

	enc := base64.RawURLEncoding
	p := advPayload("")
	pEnc := enc.EncodeToString([]byte(p))
	hEnc := enc.EncodeToString([]byte(`{"alg":"HS256"}`))
	parts := strings.Split(valid, ".")
	none := func(alg string) string {
		return enc.EncodeToString([]byte(`{"alg":"`+alg+`","typ":"JWT"}`)) + "." + pEnc + "."
	}
	rs := func(header string) string { return advSigned(t, header, p, jwt.SigningMethodRS256, k.rsa) }
	attacker := func(header string) string {
		return advSigned(t, header, p, jwt.SigningMethodRS256, k.attacker)
	}
	const inv, bad, bare = "invalid_token", "invalid_request", ""
	u := http.StatusUnauthorized
	b := http.StatusBadRequest

	rows := []advRow{
		// Extraction mistakes.
		{name: "no credentials", auth: []string{}, status: u, code: bare},
		{name: "basic scheme", auth: []string{"Basic dXNlcjpwYXNz"}, status: u, code: bare},
		{name: "digest scheme", auth: []string{"Digest username=x"}, status: u, code: bare},
		{name: "bearer without token", auth: []string{"Bearer"}, status: b, code: bad},
		{name: "bearer and spaces only", auth: []string{"Bearer    "}, status: b, code: bad},
		{name: "two authorization headers", auth: []string{"Bearer " + valid, "Bearer " + valid}, status: b, code: bad},
		{name: "space inside token", auth: []string{"Bearer " + parts[0] + " " + parts[1]}, status: b, code: bad},
		{name: "tab inside token", auth: []string{"Bearer " + parts[0] + "\t." + parts[1]}, status: b, code: bad},
		{name: "scheme glued to token", auth: []string{"Bearer" + valid}, status: u, code: bare},
		{name: "token without scheme", auth: []string{valid}, status: u, code: bare},
		{name: "token in header and cookie", auth: []string{"Bearer " + valid}, cookie: "tok=" + valid, status: b, code: bad},
		{name: "two token cookies", cookie: "tok=" + valid + "; tok=" + valid, status: b, code: bad},
		{name: "empty token cookie", cookie: "tok=", status: u, code: bare},
		{name: "token in query string", target: "/?access_token=" + valid, status: u, code: bare},
		{name: "lower-case scheme, bad token", auth: []string{"bearer x.y.z"}, status: u, code: inv},
		{name: "cookie token on POST without CSRF header", cookie: "tok=" + valid, method: http.MethodPost, status: http.StatusForbidden, code: "-"},
		{name: "cookie token on cross-site POST", cookie: "tok=" + valid, method: http.MethodPost, target: "https://api.test/", status: http.StatusForbidden, code: "-"},

		// Header tricks.
		{name: "alg none", token: none("none"), status: u, code: inv},
		{name: "alg None", token: none("None"), status: u, code: inv},
		{name: "alg NONE", token: none("NONE"), status: u, code: inv},
		{name: "alg nOnE", token: none("nOnE"), status: u, code: inv},
		{name: "alg none with a signature", token: advHS(t, `{"alg":"none"}`, p), status: u, code: inv},
		{name: "alg hs256 lower case", token: advHS(t, `{"alg":"hs256"}`, p), status: u, code: inv},
		{name: "alg with trailing space", token: advHS(t, `{"alg":"HS256 "}`, p), status: u, code: inv},
		{name: "alg escaped", token: advHS(t, `{"alg":"HS\u0032\u0035\u0036"}`, p), status: u, code: inv},
		{name: "alg HS384 outside allow-list", token: advSigned(t, `{"alg":"HS384"}`, p, jwt.SigningMethodHS384, secret256), status: u, code: inv},
		{name: "alg HS512 outside allow-list", token: advSigned(t, `{"alg":"HS512"}`, p, jwt.SigningMethodHS512, secret256), status: u, code: inv},
		{name: "alg RS256 outside allow-list", token: rs(`{"alg":"RS256"}`), status: u, code: inv},
		{name: "alg EdDSA outside allow-list", token: advSigned(t, `{"alg":"EdDSA"}`, p, jwt.SigningMethodEdDSA, k.ed), status: u, code: inv},
		{name: "alg missing", token: advHS(t, `{"typ":"JWT"}`, p), status: u, code: inv},
		{name: "alg a number", token: advHS(t, `{"alg":256}`, p), status: u, code: inv},
		{name: "alg an array", token: advHS(t, `{"alg":["HS256"]}`, p), status: u, code: inv},
		{name: "alg twice", token: advHS(t, `{"alg":"none","alg":"HS256"}`, p), status: u, code: inv},
		{name: "alg twice in other case", token: advHS(t, `{"alg":"HS256","ALG":"none"}`, p), status: u, code: inv},
		{name: "HS256 signed with the RSA public key PEM", guard: rsGuard, token: advSigned(t, `{"alg":"HS256"}`, p, jwt.SigningMethodHS256, k.rsaPEM), status: u, code: inv},
		{name: "HS256 with the RSA PEM naming the RSA kid", guard: mixed, token: advSigned(t, `{"alg":"HS256","kid":"rsa"}`, p, jwt.SigningMethodHS256, k.rsaPEM), status: u, code: inv},
		{name: "RS256 naming the HMAC kid", guard: mixed, token: rs(`{"alg":"RS256","kid":"hs"}`), status: u, code: inv},
		{name: "crit exp", token: advHS(t, `{"alg":"HS256","crit":["exp"],"exp":1}`, p), status: u, code: inv},
		{name: "crit empty", token: advHS(t, `{"alg":"HS256","crit":[]}`, p), status: u, code: inv},
		{name: "crit b64", token: advHS(t, `{"alg":"HS256","crit":["b64"],"b64":false}`, p), status: u, code: inv},
		{name: "jku to the attacker's key set", guard: rsGuard, token: attacker(`{"alg":"RS256","kid":"attacker","jku":"` + k.jwksURL + `"}`), status: u, code: inv},
		{name: "x5u to the attacker", guard: rsGuard, token: attacker(`{"alg":"RS256","x5u":"` + k.jwksURL + `"}`), status: u, code: inv},
		{name: "embedded jwk of the attacker", guard: rsGuard, token: attacker(`{"alg":"RS256","jwk":` + k.attackJWK + `}`), status: u, code: inv},
		{name: "x5c of the attacker", guard: rsGuard, token: attacker(`{"alg":"RS256","x5c":["MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA"]}`), status: u, code: inv},
		{name: "kid unknown", guard: keyed, token: advHS(t, `{"alg":"HS256","kid":"k2"}`, p), status: u, code: inv},
		{name: "kid path traversal", guard: keyed, token: advHS(t, `{"alg":"HS256","kid":"../../../../dev/null"}`, p), status: u, code: inv},
		{name: "kid SQL injection", guard: keyed, token: advHS(t, `{"alg":"HS256","kid":"x' UNION SELECT 'secret"}`, p), status: u, code: inv},
		{name: "kid empty", guard: keyed, token: advHS(t, `{"alg":"HS256","kid":""}`, p), status: u, code: inv},
		{name: "kid a number", guard: keyed, token: advHS(t, `{"alg":"HS256","kid":1}`, p), status: u, code: inv},
		{name: "kid absent with a kid-keyed set", guard: mixed, token: advHS(t, `{"alg":"HS256"}`, p), status: u, code: inv},
		{name: "kid with NUL", guard: keyed, token: advHS(t, `{"alg":"HS256","kid":"k1\u0000"}`, p), status: u, code: inv},
		{name: "right kid, wrong key", guard: keyed, token: advSigned(t, `{"alg":"HS256","kid":"k1"}`, p, jwt.SigningMethodHS256, secret384), status: u, code: inv},
		{name: "typ refresh+jwt on an access token", token: advHS(t, `{"alg":"HS256","typ":"refresh+jwt"}`, p), status: u, code: inv},
		{name: "header an array", token: advHS(t, `["HS256"]`, p), status: u, code: inv},
		{name: "header a string", token: advHS(t, `"HS256"`, p), status: u, code: inv},
		{name: "header too large", token: advHS(t, `{"alg":"HS256","x":"`+strings.Repeat("a", 600)+`"}`, p), status: u, code: inv},
		{name: "bad signature", token: parts[0] + "." + parts[1] + "." + enc.EncodeToString(make([]byte, 32)), status: u, code: inv},
		{name: "signature of another token", token: parts[0] + "." + enc.EncodeToString([]byte(advPayload(`,"admin":true`))) + "." + parts[2], status: u, code: inv},
		{name: "empty signature", token: parts[0] + "." + parts[1] + ".", status: u, code: inv},

		// Claim defects.
		{name: "exp missing", token: advClaim(t, "exp", ""), status: u, code: inv},
		{name: "exp a string", token: advClaim(t, "exp", `"`+strconv.FormatInt(advExp, 10)+`"`), status: u, code: inv},
		{name: "exp zero", token: advClaim(t, "exp", "0"), status: u, code: inv},
		{name: "exp negative", token: advClaim(t, "exp", "-1"), status: u, code: inv},
		{name: "exp huge", token: advClaim(t, "exp", "1e300"), status: u, code: inv},
		{name: "exp after year 9999", token: advClaim(t, "exp", "253402300800"), status: u, code: inv},
		{name: "exp fractional, half a second ago", token: advClaim(t, "exp", strconv.FormatInt(advNow-1, 10)+".5"), status: u, code: inv},
		{name: "exp now", token: advClaim(t, "exp", strconv.FormatInt(advNow, 10)), status: u, code: inv},
		{name: "exp null", token: advClaim(t, "exp", "null"), status: u, code: inv},
		{name: "exp true", token: advClaim(t, "exp", "true"), status: u, code: inv},
		{name: "exp an object", token: advClaim(t, "exp", `{"v":1}`), status: u, code: inv},
		{name: "exp an array", token: advClaim(t, "exp", `[`+strconv.FormatInt(advExp, 10)+`]`), status: u, code: inv},
		{name: "exp NaN", token: advClaim(t, "exp", "NaN"), status: u, code: inv},
		{name: "exp with leading zero", token: advClaim(t, "exp", "0"+strconv.FormatInt(advExp, 10)), status: u, code: inv},
		{name: "nbf in the future", token: advClaim(t, "nbf", strconv.FormatInt(advNow+60, 10)), status: u, code: inv},
		{name: "nbf a string", token: advClaim(t, "nbf", `"0"`), status: u, code: inv},
		{name: "iat in the future", token: advClaim(t, "iat", strconv.FormatInt(advNow+60, 10)), status: u, code: inv},
		{name: "iat a string", token: advClaim(t, "iat", `"0"`), status: u, code: inv},
		{name: "aud missing", token: advClaim(t, "aud", ""), status: u, code: inv},
		{name: "aud another string", token: advClaim(t, "aud", `"other.test"`), status: u, code: inv},
		{name: "aud an array without ours", token: advClaim(t, "aud", `["a.test","b.test"]`), status: u, code: inv},
		{name: "aud an empty array", token: advClaim(t, "aud", `[]`), status: u, code: inv},
		{name: "aud in another case", token: advClaim(t, "aud", `"API.test"`), status: u, code: inv},
		{name: "aud a number", token: advClaim(t, "aud", `1`), status: u, code: inv},
		{name: "aud an array with a number", token: advClaim(t, "aud", `["api.test",1]`), status: u, code: inv},
		{name: "aud nested array", token: advClaim(t, "aud", `[["api.test"]]`), status: u, code: inv},
		{name: "iss missing", token: advClaim(t, "iss", ""), status: u, code: inv},
		{name: "iss wrong", token: advClaim(t, "iss", `"https://evil.test"`), status: u, code: inv},
		{name: "iss in another case", token: advClaim(t, "iss", `"HTTPS://ISSUER.TEST"`), status: u, code: inv},
		{name: "iss with a trailing slash", token: advClaim(t, "iss", `"https://issuer.test/"`), status: u, code: inv},
		{name: "iss an array", token: advClaim(t, "iss", `["https://issuer.test"]`), status: u, code: inv},
		{name: "type missing", token: advClaim(t, "type", ""), status: u, code: inv},
		{name: "type refresh", token: advClaim(t, "type", `"refresh"`), status: u, code: inv},
		{name: "type in another case", token: advClaim(t, "type", `"Access"`), status: u, code: inv},
		{name: "sub a number", token: advClaim(t, "sub", `1`), status: u, code: inv},

		// Decoding defects.
		{name: "padding on the header", token: hEnc + "=." + pEnc + "." + parts[2], status: u, code: inv},
		{name: "padding on the payload", token: parts[0] + "." + parts[1] + "=." + parts[2], status: u, code: inv},
		{name: "padding on the signature", token: valid + "=", status: u, code: inv},
		{name: "non-canonical payload", token: advNonCanonicalPayload(t), status: u, code: inv},
		{name: "non-canonical signature", token: parts[0] + "." + parts[1] + "." + advNonCanonical(t, parts[2]), status: u, code: inv},
		{name: "standard base64 alphabet", token: strings.NewReplacer("-", "+", "_", "/").Replace(valid) + "+/", status: u, code: inv},
		{name: "invalid UTF-8 in the payload", token: advHS(t, `{"alg":"HS256"}`, advPayload(",\"x\":\"\xff\"")), status: u, code: inv},
		{name: "invalid UTF-8 in the header", token: advHS(t, "{\"alg\":\"HS256\",\"x\":\"\xc3\x28\"}", p), status: u, code: inv},
		{name: "lone surrogate escape", token: advHS(t, `{"alg":"HS256"}`, advPayload(`,"x":"\ud800"`)), status: u, code: inv},
		{name: "duplicate exp", token: advHS(t, `{"alg":"HS256"}`, advPayload(`,"exp":`+strconv.FormatInt(advNow-10, 10))), status: u, code: inv},
		{name: "duplicate type", token: advHS(t, `{"alg":"HS256"}`, advPayload(`,"type":"refresh"`)), status: u, code: inv},
		{name: "duplicate sub in another case", token: advHS(t, `{"alg":"HS256"}`, advPayload(`,"SUB":"admin"`)), status: u, code: inv},
		{name: "duplicate aud escaped", token: advHS(t, `{"alg":"HS256"}`, advPayload(`,"\u0061ud":"other"`)), status: u, code: inv},
		{name: "payload an array", token: advHS(t, `{"alg":"HS256"}`, `[`+p+`]`), status: u, code: inv},
		{name: "payload a string", token: advHS(t, `{"alg":"HS256"}`, `"sub"`), status: u, code: inv},
		{name: "payload a number", token: advHS(t, `{"alg":"HS256"}`, `1`), status: u, code: inv},
		{name: "payload null", token: advHS(t, `{"alg":"HS256"}`, `null`), status: u, code: inv},
		{name: "payload two objects", token: advHS(t, `{"alg":"HS256"}`, p+`{}`), status: u, code: inv},
		{name: "payload with trailing garbage", token: advHS(t, `{"alg":"HS256"}`, p+`x`), status: u, code: inv},
		{name: "payload with a BOM", token: advHS(t, `{"alg":"HS256"}`, "\ufeff"+p), status: u, code: inv},
		{name: "payload with a comment", token: advHS(t, `{"alg":"HS256"}`, `/**/`+p), status: u, code: inv},
		{name: "payload nested too deep", token: advHS(t, `{"alg":"HS256"}`, advPayload(`,"x":`+strings.Repeat("[", 40)+strings.Repeat("]", 40))), status: u, code: inv},
		{name: "payload not JSON", token: advHS(t, `{"alg":"HS256"}`, `exp=1`), status: u, code: inv},
		{name: "one segment", token: parts[0], status: u, code: inv},
		{name: "two segments", token: parts[0] + "." + parts[1], status: u, code: inv},
		{name: "four segments", token: valid + "." + parts[2], status: u, code: inv},
		{name: "five segments", token: valid + ".." + parts[1], status: u, code: inv},
		{name: "empty header segment", token: "." + parts[1] + "." + parts[2], status: u, code: inv},
		{name: "empty payload segment", token: advSigned(t, `{"alg":"HS256"}`, "", jwt.SigningMethodHS256, secret256), status: u, code: inv},
		{name: "dots only", token: "..", status: u, code: inv},
		{name: "many dots", token: strings.Repeat(".", 4000), status: u, code: inv},
		{name: "oversized token", token: advHS(t, `{"alg":"HS256"}`, advPayload(`,"x":"`+strings.Repeat("a", 4096)+`"`)), status: u, code: inv},
		{name: "oversized garbage", token: strings.Repeat("A", 64<<10), status: u, code: inv},
		{name: "NUL byte", token: parts[0] + "\x00." + parts[1] + "." + parts[2], status: u, code: inv},
		{name: "non-ASCII character", token: parts[0] + "é." + parts[1] + "." + parts[2], status: u, code: inv},
		{name: "percent-encoded dot", token: parts[0] + "%2E" + parts[1] + "." + parts[2], status: u, code: inv},
	}
	for i := range rows {
		if rows[i].guard == nil {
			rows[i].guard = guard
		}
	}
	return rows
}

// advRequest builds the request of a row.
func advRequest(row advRow) *http.Request {
	method, target := row.method, row.target
	if method == "" {
		method = http.MethodGet
	}
	if target == "" {
		target = "/"
	}
	r := httptest.NewRequest(method, target, nil)
	switch {
	case row.auth != nil:
		if len(row.auth) > 0 {
			r.Header["Authorization"] = row.auth
		}
	case row.token != "":
		r.Header["Authorization"] = []string{"Bearer " + row.token}
	}
	if row.cookie != "" {
		r.Header["Cookie"] = []string{row.cookie}
	}
	if method == http.MethodPost && strings.HasPrefix(target, "https://") {
		r.Header.Set("Sec-Fetch-Site", "cross-site")
		r.Header.Set("X-Requested-With", "x")
	}
	return r
}

var challengeCode = regexp.MustCompile(`(?:^|, )error="([^"]*)"`)

// assertAdvAnswer checks the status, the challenge's error code, and that
// nothing of the token came back.
func assertAdvAnswer(t *testing.T, w *httptest.ResponseRecorder, status int, code, token string) {
	t.Helper()
	assert.Equal(t, status, w.Code, "status")
	challenge := w.Header().Values("WWW-Authenticate")
	switch code {
	case "-":
		assert.Empty(t, challenge)
	case "":
		require.Len(t, challenge, 1)
		assert.Equal(t, `Bearer realm="api"`, challenge[0])
	default:
		require.Len(t, challenge, 1)
		m := challengeCode.FindStringSubmatch(challenge[0])
		require.NotNil(t, m, challenge[0])
		assert.Equal(t, code, m[1], challenge[0])
	}
	if len(token) >= 16 {
		assert.NotContains(t, w.Body.String(), token)
	}
}

func TestAdversarialRequests(t *testing.T) {
	k := loadAdvKeys(t)
	rows := advRows(t, k)
	require.GreaterOrEqual(t, len(rows), 80)
	for _, row := range rows {
		t.Run(row.name, func(t *testing.T) {
			p := &probe{}
			w := httptest.NewRecorder()
			r := advRequest(row)
			row.guard.Handler(p).ServeHTTP(w, r)
			assert.False(t, p.called, "the protected handler ran")
			assertAdvAnswer(t, w, row.status, row.code, row.token)
			_, err := row.guard.Check(advRequest(row))
			require.Error(t, err)
		})
	}
	assert.Zero(t, k.jwksHits.Load(), "a token made the middleware fetch a URL it named")
}

// TestAdversarialControl makes sure the rows fail for their defect: the
// same construction without the defect passes.
func TestAdversarialControl(t *testing.T) {
	k := loadAdvKeys(t)
	for _, c := range []struct {
		name  string
		guard *jwtguard.Middleware
		token string
	}{
		{"HS256", fuzzGuard(t), advHS(t, `{"alg":"HS256"}`, advPayload(""))},
		{"HS256 with typ JWT", fuzzGuard(t), advHS(t, `{"alg":"HS256","typ":"JWT"}`, advPayload(""))},
		{"payload with trailing white space", fuzzGuard(t), advHS(t, `{"alg":"HS256"}`, advPayload("")+" ")},
		{"exp fractional, half a second ahead", fuzzGuard(t), advClaim(t, "exp", strconv.FormatInt(advNow, 10)+".5")},
		{"aud an array with ours", fuzzGuard(t), advClaim(t, "aud", `["x","api.test"]`)},
		{"RS256", func() *jwtguard.Middleware {
			mw, err := jwtguard.New(jwtguard.WithKey("RS256", &k.rsa.PublicKey), jwtguard.WithClock(fixedClock),
				jwtguard.WithIssuer(advIss), jwtguard.WithAudience(advAud))
			require.NoError(t, err)
			return mw
		}(), advSigned(t, `{"alg":"RS256"}`, advPayload(""), jwt.SigningMethodRS256, k.rsa)},
	} {
		t.Run(c.name, func(t *testing.T) {
			p := &probe{}
			w := httptest.NewRecorder()
			r := httptest.NewRequest(http.MethodGet, "/", nil)
			r.Header.Set("Authorization", "Bearer "+c.token)
			c.guard.Handler(p).ServeHTTP(w, r)
			assert.True(t, p.called)
			assert.Equal(t, http.StatusTeapot, w.Code)
		})
	}
}

// advSessions is a Sessions over a memory store with a fixed clock, and its
// routes.
type advSessions struct {
	sessions *jwtguard.Sessions
	issuer   *jwtguard.Issuer
	mux      *http.ServeMux
	probe    *probe
}

func newAdvSessions(t testing.TB, opts ...jwtguard.SessionsOption) *advSessions {
	t.Helper()
	iss, err := jwtguard.NewIssuer(jwtguard.IssuerConfig{
		Key:    jwtguard.Key{Algorithm: "HS256", Key: secret256},
		Issuer: advIss, Audience: []string{advAud}, Clock: fixedClock,
	})
	require.NoError(t, err)
	store, err := jwtguard.NewMemoryStore(jwtguard.MemoryStoreClock(fixedClock))
	require.NoError(t, err)
	t.Cleanup(func() { _ = store.Close() })
	s, err := jwtguard.NewSessions(iss, store, opts...)
	require.NoError(t, err)
	a := &advSessions{sessions: s, issuer: iss, mux: http.NewServeMux(), probe: &probe{}}
	a.mux.Handle("/refresh", s.RefreshHandler())
	a.mux.Handle("/logout", s.LogoutHandler())
	a.mux.Handle("/me", s.Middleware().Handler(a.probe))
	return a
}

func (a *advSessions) issue(t testing.TB) *jwtguard.TokenPair {
	t.Helper()
	pair, err := a.issuer.Issue(context.Background(), "user-1", nil)
	require.NoError(t, err)
	return pair
}

// post sends a JSON body with the token as refresh_token, and the bearer
// token when not empty.
func (a *advSessions) post(path, bearer, refresh string) *httptest.ResponseRecorder {
	var body *bytes.Reader
	if refresh != "" {
		body = bytes.NewReader([]byte(`{"refresh_token":"` + refresh + `"}`))
	} else {
		body = bytes.NewReader(nil)
	}
	r := httptest.NewRequest(http.MethodPost, path, body)
	if refresh != "" {
		r.Header.Set("Content-Type", "application/json")
	}
	if bearer != "" {
		r.Header.Set("Authorization", "Bearer "+bearer)
	}
	w := httptest.NewRecorder()
	a.mux.ServeHTTP(w, r)
	return w
}

func (a *advSessions) me(token string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(http.MethodGet, "/me", nil)
	r.Header.Set("Authorization", "Bearer "+token)
	w := httptest.NewRecorder()
	a.probe.called = false
	a.mux.ServeHTTP(w, r)
	return w
}

// TestAdversarialLifecycle: type confusion both ways, revoked tokens and
// refresh reuse, through Sessions.
func TestAdversarialLifecycle(t *testing.T) {
	// Strict rotation: on this fixed clock every replay would fall within
	// the reuse interval (TestReuseInterval covers that).
	a := newAdvSessions(t, jwtguard.WithReuseInterval(0))
	fresh := a.issue(t)
	loggedOut := a.issue(t)
	require.Equal(t, http.StatusNoContent, a.post("/logout", loggedOut.AccessToken, loggedOut.RefreshToken).Code)
	stolen := a.issue(t)
	w := a.post("/refresh", "", stolen.RefreshToken)
	require.Equal(t, http.StatusOK, w.Code)
	var next struct {
		Access  string `json:"access_token"`
		Refresh string `json:"refresh_token"`
	}
	require.NoError(t, json.Unmarshal(w.Body.Bytes(), &next))
	noJTI := advHS(t, `{"alg":"HS256"}`, advPayload("", "jti"))

	rows := []struct {
		name         string
		me, refresh  string // the token sent to /me, or to /refresh
		status       int
		code         string
		afterwardsOK bool
	}{
		{name: "refresh token as access token", me: fresh.RefreshToken, status: 401, code: "invalid_token"},
		{name: "access token to the refresh endpoint", refresh: fresh.AccessToken, status: 401, code: "invalid_token"},
		{name: "access token after logout", me: loggedOut.AccessToken, status: 401, code: "invalid_token"},
		{name: "refresh token after logout", refresh: loggedOut.RefreshToken, status: 401, code: "invalid_token"},
		{name: "access token without jti under a store", me: noJTI, status: 401, code: "invalid_token"},
		{name: "rotated refresh token reused", refresh: stolen.RefreshToken, status: 401, code: "invalid_token"},
		{name: "successor after reuse: family revoked", refresh: next.Refresh, status: 401, code: "invalid_token"},
		{name: "access token of the family after reuse", me: next.Access, status: 401, code: "invalid_token"},
		{name: "first access token of the family after reuse", me: stolen.AccessToken, status: 401, code: "invalid_token"},
		{name: "refresh token replayed once more", refresh: stolen.RefreshToken, status: 401, code: "invalid_token"},
	}
	for _, row := range rows {
		if os.Getenv("JWTGUARD_WRITE_CORPUS") == "1" {
			writeLifecycleSeed(t, row.name, row.me, row.refresh)
		}
		t.Run(row.name, func(t *testing.T) {
			var w *httptest.ResponseRecorder
			if row.me != "" {
				w = a.me(row.me)
				assert.False(t, a.probe.called, "the protected handler ran")
			} else {
				w = a.post("/refresh", "", row.refresh)
				assert.NotContains(t, w.Body.String(), "access_token")
			}
			assertAdvAnswer(t, w, row.status, row.code, row.me+row.refresh)
		})
	}
	// The untouched session still works: nothing above spilled over.
	assert.Equal(t, http.StatusTeapot, a.me(fresh.AccessToken).Code)
}

// TestFuzzCorpus checks that every adversarial row is a committed seed of
// FuzzHandler and FuzzVerify, or of FuzzExtractors. JWTGUARD_WRITE_CORPUS=1 writes them.
func TestFuzzCorpus(t *testing.T) {
	write := os.Getenv("JWTGUARD_WRITE_CORPUS") == "1"
	k := loadAdvKeys(t)
	for _, row := range advRows(t, k) {
		var target string
		var values []any
		switch {
		case row.auth == nil && row.cookie == "" && row.token != "":
			target, values = "FuzzHandler", []any{row.token, false}
		default:
			auth := append([]string{"", ""}, row.auth...)
			if len(row.auth) > 0 {
				auth = append(row.auth, "", "")
			}
			target, values = "FuzzExtractors", []any{auth[0], auth[1], row.cookie, len(row.auth) > 1}
		}
		name := "adv-" + strings.Trim(regexp.MustCompile(`[^a-z0-9]+`).ReplaceAllString(strings.ToLower(row.name), "-"), "-")
		files := map[string][]byte{filepath.Join("testdata", "fuzz", target, name): corpusFile(values...)}
		if target == "FuzzHandler" {
			// The verifier's own target gets the token rows too.
			files[filepath.Join("testdata", "fuzz", "FuzzVerify", name)] = corpusFile(row.token)
		}
		for path, data := range files {
			if write {
				require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
				require.NoError(t, os.WriteFile(path, data, 0o644))
				continue
			}
			_, err := os.Stat(path)
			assert.NoError(t, err, "row %q is not in the corpus: run JWTGUARD_WRITE_CORPUS=1 go test -run TestFuzzCorpus", row.name)
		}
	}
}

// writeLifecycleSeed writes a lifecycle row to the corpus of FuzzHandler
// (a token for /me) or FuzzRefreshHandler (a refresh request body).
func writeLifecycleSeed(t *testing.T, name, me, refresh string) {
	t.Helper()
	target, values := "FuzzHandler", []any{me, false}
	if refresh != "" {
		target, values = "FuzzRefreshHandler", []any{"application/json", []byte(`{"refresh_token":"` + refresh + `"}`)}
	}
	file := "adv-" + strings.Trim(regexp.MustCompile(`[^a-z0-9]+`).ReplaceAllString(strings.ToLower(name), "-"), "-")
	require.NoError(t, os.WriteFile(filepath.Join("testdata", "fuzz", target, file), corpusFile(values...), 0o644))
}

// corpusFile encodes values in the "go test fuzz v1" format.
func corpusFile(values ...any) []byte {
	var b strings.Builder
	b.WriteString("go test fuzz v1\n")
	for _, v := range values {
		switch v := v.(type) {
		case string:
			fmt.Fprintf(&b, "string(%s)\n", strconv.Quote(v))
		case []byte:
			fmt.Fprintf(&b, "[]byte(%s)\n", strconv.Quote(string(v)))
		case bool:
			fmt.Fprintf(&b, "bool(%t)\n", v)
		default:
			panic(fmt.Sprintf("corpusFile: %T", v))
		}
	}
	return []byte(b.String())
}

// corpusName names a seed file by its content.
func corpusName(data []byte) string {
	sum := sha256.Sum256(data)
	return "seed-" + hex.EncodeToString(sum[:8])
}
