package jwtguard_test

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/json"
	"hash"
	"math/big"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/stretchr/testify/require"

	"github.com/jwtguard/jwtguard"
)

// This file is a DPoP client written for the tests, independently of the
// package: proofs are built with encoding/json and signed with the standard
// library's crypto packages directly (ECDSA signatures are encoded as
// r || s by hand), and thumbprints are computed with encoding/json from
// structs whose fields are in RFC 7638 order.

var b64 = base64.RawURLEncoding

// dpopClient holds one proof key.
type dpopClient struct {
	alg  string
	key  crypto.Signer
	jwk  map[string]any
	jkt  string
	seq  int
	mu   sync.Mutex
	now  func() time.Time
	size int // ECDSA: bytes per coordinate
}

// Test proof keys, made once per test binary.
var dpopKeys = sync.OnceValue(func() map[string]crypto.Signer {
	keys := map[string]crypto.Signer{}
	var err error
	for alg, curve := range map[string]elliptic.Curve{"ES256": elliptic.P256(), "ES384": elliptic.P384(), "ES512": elliptic.P521()} {
		if keys[alg], err = ecdsa.GenerateKey(curve, rand.Reader); err != nil {
			panic(err)
		}
	}
	if keys["other"], err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader); err != nil {
		panic(err)
	}
	_, ed, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		panic(err)
	}
	keys["EdDSA"] = ed
	r, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	keys["RSA"] = r
	return keys
})

// newDPoPClient returns a client signing with alg; name picks a key other
// than the alg's own ("other": a second P-256 key).
func newDPoPClient(t testing.TB, alg string, name ...string) *dpopClient {
	t.Helper()
	keyName := alg
	switch alg {
	case "RS256", "PS256":
		keyName = "RSA"
	}
	if len(name) > 0 {
		keyName = name[0]
	}
	c := &dpopClient{alg: alg, key: dpopKeys()[keyName], now: fixedClock}
	c.jwk, c.jkt = proofJWKOf(t, c.key.Public())
	if k, ok := c.key.Public().(*ecdsa.PublicKey); ok {
		c.size = (k.Curve.Params().BitSize + 7) / 8
	}
	return c
}

// proofJWKOf returns the JWK of pub and its RFC 7638 SHA-256 thumbprint.
func proofJWKOf(t testing.TB, pub crypto.PublicKey) (map[string]any, string) {
	t.Helper()
	var members any
	switch k := pub.(type) {
	case *ecdsa.PublicKey:
		size := (k.Curve.Params().BitSize + 7) / 8
		members = struct {
			Crv string `json:"crv"`
			Kty string `json:"kty"`
			X   string `json:"x"`
			Y   string `json:"y"`
		}{k.Curve.Params().Name, "EC", b64.EncodeToString(k.X.FillBytes(make([]byte, size))), b64.EncodeToString(k.Y.FillBytes(make([]byte, size)))}
	case ed25519.PublicKey:
		members = struct {
			Crv string `json:"crv"`
			Kty string `json:"kty"`
			X   string `json:"x"`
		}{"Ed25519", "OKP", b64.EncodeToString(k)}
	case *rsa.PublicKey:
		members = struct {
			E   string `json:"e"`
			Kty string `json:"kty"`
			N   string `json:"n"`
		}{b64.EncodeToString(big.NewInt(int64(k.E)).Bytes()), "RSA", b64.EncodeToString(k.N.Bytes())}
	default:
		t.Fatalf("no JWK for %T", pub)
	}
	canonical, err := json.Marshal(members)
	require.NoError(t, err)
	sum := sha256.Sum256(canonical)
	var jwk map[string]any
	require.NoError(t, json.Unmarshal(canonical, &jwk))
	return jwk, b64.EncodeToString(sum[:])
}

// proofClaims returns the claims of a fresh proof for method and uri, with
// ath for accessToken when it is not "".
func (c *dpopClient) proofClaims(method, uri, accessToken string) map[string]any {
	c.mu.Lock()
	c.seq++
	n := c.seq
	c.mu.Unlock()
	var jti [12]byte
	_, _ = rand.Read(jti[:])
	claims := map[string]any{
		"jti": b64.EncodeToString(jti[:]) + "-" + big.NewInt(int64(n)).String(),
		"htm": method,
		"htu": uri,
		"iat": c.now().Unix(),
	}
	if accessToken != "" {
		sum := sha256.Sum256([]byte(accessToken))
		claims["ath"] = b64.EncodeToString(sum[:])
	}
	return claims
}

// proofHeader returns the JOSE header of a proof.
func (c *dpopClient) proofHeader() map[string]any {
	jwk := map[string]any{}
	for k, v := range c.jwk {
		jwk[k] = v
	}
	return map[string]any{"typ": "dpop+jwt", "alg": c.alg, "jwk": jwk}
}

// proof returns a proof for method, uri and accessToken.
func (c *dpopClient) proof(t testing.TB, method, uri, accessToken string) string {
	t.Helper()
	return c.sign(t, c.proofHeader(), c.proofClaims(method, uri, accessToken))
}

// sign serialises header and claims and signs them with c's key and alg.
func (c *dpopClient) sign(t testing.TB, header, claims map[string]any) string {
	t.Helper()
	hb, err := json.Marshal(header)
	require.NoError(t, err)
	pb, err := json.Marshal(claims)
	require.NoError(t, err)
	input := b64.EncodeToString(hb) + "." + b64.EncodeToString(pb)
	return input + "." + b64.EncodeToString(c.signature(t, input))
}

// signature signs input with c's key under c.alg.
func (c *dpopClient) signature(t testing.TB, input string) []byte {
	t.Helper()
	digest := func(h hash.Hash) []byte { h.Write([]byte(input)); return h.Sum(nil) }
	switch c.alg {
	case "ES256", "ES384", "ES512":
		var d []byte
		switch c.alg {
		case "ES256":
			d = digest(sha256.New())
		case "ES384":
			d = digest(sha512.New384())
		default:
			d = digest(sha512.New())
		}
		r, s, err := ecdsa.Sign(rand.Reader, c.key.(*ecdsa.PrivateKey), d)
		require.NoError(t, err)
		return append(r.FillBytes(make([]byte, c.size)), s.FillBytes(make([]byte, c.size))...)
	case "EdDSA":
		return ed25519.Sign(c.key.(ed25519.PrivateKey), []byte(input))
	case "RS256":
		sig, err := rsa.SignPKCS1v15(rand.Reader, c.key.(*rsa.PrivateKey), crypto.SHA256, digest(sha256.New()))
		require.NoError(t, err)
		return sig
	case "PS256":
		sig, err := rsa.SignPSS(rand.Reader, c.key.(*rsa.PrivateKey), crypto.SHA256, digest(sha256.New()), &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash})
		require.NoError(t, err)
		return sig
	}
	t.Fatalf("cannot sign with %s", c.alg)
	return nil
}

// dpopTokenKey signs the access tokens of the DPoP tests (ES256).
var dpopTokenKey = sync.OnceValue(func() *ecdsa.PrivateKey {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		panic(err)
	}
	return k
})

// boundToken returns an ES256 access token bound to jkt (no cnf when jkt
// is "").
func boundToken(t testing.TB, jkt string) string {
	t.Helper()
	claims := validClaims()
	if jkt != "" {
		claims["cnf"] = map[string]any{"jkt": jkt}
	}
	return sign(t, jwt.SigningMethodES256, dpopTokenKey(), claims, nil)
}

// dpopOptions returns the middleware options of the DPoP tests: the ES256
// token key, issuer, audience, the fixed clock, and DPoP in mode.
func dpopOptions(mode jwtguard.DPoPMode, opts ...jwtguard.DPoPOption) []jwtguard.Option {
	return []jwtguard.Option{
		jwtguard.WithKey("ES256", &dpopTokenKey().PublicKey),
		jwtguard.WithIssuer("https://issuer.test"),
		jwtguard.WithAudience("api.test"),
		jwtguard.WithClock(fixedClock),
		jwtguard.WithDPoP(mode, opts...),
	}
}

// okHandler answers 200 "ok".
var okHandler = http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok")) })

// dpopRequest returns a GET for target (an absolute URL, as httptest
// fills r.Host from it) with "Authorization: DPoP token" and the proof.
func dpopRequest(method, target, token, proof string) *http.Request {
	r := httptest.NewRequest(method, target, nil)
	if token != "" {
		r.Header.Set("Authorization", "DPoP "+token)
	}
	if proof != "" {
		r.Header.Set("DPoP", proof)
	}
	return r
}
