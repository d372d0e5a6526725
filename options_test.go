package jwtguard_test

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"math/big"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/jwtguard/jwtguard"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestNewRejectsConfig has one row per rule of New's validation. Each row
// breaks exactly one rule on an otherwise valid configuration, so it fails
// if that rule is removed.
func TestNewRejectsConfig(t *testing.T) {
	p384, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	require.NoError(t, err)
	// A 2047-bit modulus: one bit short; its factors do not matter to New.
	rsa2047 := &rsa.PublicKey{N: new(big.Int).Lsh(big.NewInt(1), 2046), E: 65537}
	hs := func(alg string, key any) jwtguard.Option { return jwtguard.WithKey(alg, key) }
	ok := jwtguard.WithKey("HS256", secret256)

	tests := []struct {
		name    string
		opts    []jwtguard.Option
		wantErr string // a substring of New's error
	}{
		{name: "no key", opts: nil, wantErr: "no key"},
		{name: "only a nil option", opts: []jwtguard.Option{nil}, wantErr: "no key"},
		{name: "empty algorithm", opts: []jwtguard.Option{hs("", secret256)}, wantErr: "empty algorithm"},
		{name: "unknown algorithm", opts: []jwtguard.Option{hs("HS257", secret256)}, wantErr: `unsupported algorithm "HS257"`},
		{name: "algorithm in lower case", opts: []jwtguard.Option{hs("hs256", secret256)}, wantErr: `unsupported algorithm "hs256"`},
		{name: "none", opts: []jwtguard.Option{hs("none", nil)}, wantErr: `"none" is never allowed`},
		{name: "NONE", opts: []jwtguard.Option{hs("NONE", nil)}, wantErr: `"none" is never allowed`},
		{name: "nOnE beside a good key", opts: []jwtguard.Option{jwtguard.WithKeys(
			jwtguard.Key{ID: "a", Algorithm: "HS256", Key: secret256},
			jwtguard.Key{ID: "b", Algorithm: "nOnE"},
		)}, wantErr: `"none" is never allowed`},
		{name: "HS256 secret of 31 bytes", opts: []jwtguard.Option{hs("HS256", secret256[:31])}, wantErr: "HS256 secret is 31 bytes, at least 32"},
		{name: "HS256 empty secret", opts: []jwtguard.Option{hs("HS256", []byte{})}, wantErr: "HS256 secret is 0 bytes"},
		{name: "HS384 secret of 47 bytes", opts: []jwtguard.Option{hs("HS384", secret384[:47])}, wantErr: "HS384 secret is 47 bytes, at least 48"},
		{name: "HS384 with a 32-byte secret", opts: []jwtguard.Option{hs("HS384", secret256)}, wantErr: "HS384 secret is 32 bytes"},
		{name: "HS512 secret of 63 bytes", opts: []jwtguard.Option{hs("HS512", secret512[:63])}, wantErr: "HS512 secret is 63 bytes, at least 64"},
		{name: "HS256 secret as a string", opts: []jwtguard.Option{hs("HS256", string(secret256))}, wantErr: "HS256 needs a []byte secret, got a string: pass []byte(secret)"},
		{name: "HS256 nil secret", opts: []jwtguard.Option{hs("HS256", nil)}, wantErr: "HS256 needs a []byte secret"},
		{name: "RS256 with []byte (PEM as HMAC secret)", opts: []jwtguard.Option{hs("RS256", []byte("-----BEGIN PUBLIC KEY-----\nMIIB...\n-----END PUBLIC KEY-----\n"))}, wantErr: `RS256 needs an *rsa.PublicKey or *rsa.PrivateKey, got PEM text: load it with ParsePEM(data, "RS256", id)`},
		{name: "RS256 with a PEM string", opts: []jwtguard.Option{hs("RS256", "-----BEGIN PUBLIC KEY-----")}, wantErr: "got PEM text: load it with ParsePEM"},
		{name: "RS256 with an ECDSA key", opts: []jwtguard.Option{hs("RS256", &asym().ec.PublicKey)}, wantErr: "RS256 needs an *rsa.PublicKey"},
		{name: "RSA key of 2047 bits", opts: []jwtguard.Option{hs("RS256", rsa2047)}, wantErr: "RS256 key is 2047 bits, at least 2048"},
		{name: "PS256 key of 2047 bits", opts: []jwtguard.Option{hs("PS256", rsa2047)}, wantErr: "PS256 key is 2047 bits"},
		{name: "nil RSA key", opts: []jwtguard.Option{hs("RS256", (*rsa.PublicKey)(nil))}, wantErr: "nil RSA key"},
		{name: "ES256 with a P-384 key", opts: []jwtguard.Option{hs("ES256", &p384.PublicKey)}, wantErr: "ES256 needs a key on P-256, got P-384"},
		{name: "ES384 with a P-256 key", opts: []jwtguard.Option{hs("ES384", &asym().ec.PublicKey)}, wantErr: "ES384 needs a key on P-384, got P-256"},
		{name: "ES256 with an RSA key", opts: []jwtguard.Option{hs("ES256", &asym().rsa.PublicKey)}, wantErr: "ES256 needs an *ecdsa.PublicKey"},
		{name: "EdDSA with []byte", opts: []jwtguard.Option{hs("EdDSA", []byte(asym().ed.Public().(ed25519.PublicKey)))}, wantErr: "EdDSA needs an ed25519.PublicKey"},
		{name: "two keys without IDs", opts: []jwtguard.Option{jwtguard.WithKeys(
			jwtguard.Key{Algorithm: "HS256", Key: secret256},
			jwtguard.Key{Algorithm: "HS384", Key: secret384},
		)}, wantErr: "HS256 key without an ID"},
		{name: "WithKey twice, so no IDs", opts: []jwtguard.Option{ok, jwtguard.WithKey("HS512", secret512)}, wantErr: "key without an ID"},
		{name: "one of two keys without an ID", opts: []jwtguard.Option{jwtguard.WithKeys(
			jwtguard.Key{ID: "a", Algorithm: "HS256", Key: secret256},
			jwtguard.Key{Algorithm: "HS384", Key: secret384},
		)}, wantErr: "HS384 key without an ID"},
		{name: "duplicate key IDs", opts: []jwtguard.Option{jwtguard.WithKeys(
			jwtguard.Key{ID: "k1", Algorithm: "HS256", Key: secret256},
			jwtguard.Key{ID: "k1", Algorithm: "HS512", Key: secret512},
		)}, wantErr: `duplicate key ID "k1"`},
		{name: "negative leeway", opts: []jwtguard.Option{ok, jwtguard.WithLeeway(-time.Second)}, wantErr: "WithLeeway: -1s is outside"},
		{name: "leeway over five minutes", opts: []jwtguard.Option{ok, jwtguard.WithLeeway(5*time.Minute + time.Second)}, wantErr: "WithLeeway: 5m1s is outside"},
		{name: "realm with a quote", opts: []jwtguard.Option{ok, jwtguard.WithRealm(`api"x`)}, wantErr: "WithRealm"},
		{name: "realm with a backslash", opts: []jwtguard.Option{ok, jwtguard.WithRealm(`api\`)}, wantErr: "WithRealm"},
		{name: "realm with CR LF", opts: []jwtguard.Option{ok, jwtguard.WithRealm("api\r\nSet-Cookie: x=y")}, wantErr: "WithRealm"},
		{name: "realm not ASCII", opts: []jwtguard.Option{ok, jwtguard.WithRealm("ápi")}, wantErr: "WithRealm"},
		{name: "max token size 63", opts: []jwtguard.Option{ok, jwtguard.WithMaxTokenSize(63)}, wantErr: "WithMaxTokenSize: 63 is outside"},
		{name: "max token size 0", opts: []jwtguard.Option{ok, jwtguard.WithMaxTokenSize(0)}, wantErr: "WithMaxTokenSize: 0 is outside"},
		{name: "max token size 64 KiB + 1", opts: []jwtguard.Option{ok, jwtguard.WithMaxTokenSize(64<<10 + 1)}, wantErr: "WithMaxTokenSize: 65537 is outside"},
		{name: "nil clock", opts: []jwtguard.Option{ok, jwtguard.WithClock(nil)}, wantErr: "WithClock: nil clock"},
		{name: "nil clock, then a good one", opts: []jwtguard.Option{ok, jwtguard.WithClock(nil), jwtguard.WithClock(fixedClock)}, wantErr: "WithClock: nil clock"},
		{name: "empty issuer", opts: []jwtguard.Option{ok, jwtguard.WithIssuer("")}, wantErr: "WithIssuer: empty issuer"},
		{name: "no audience", opts: []jwtguard.Option{ok, jwtguard.WithAudience()}, wantErr: "WithAudience: no audience"},
		{name: "empty audience", opts: []jwtguard.Option{ok, jwtguard.WithAudience("api.test", "")}, wantErr: "WithAudience: empty audience"},
		{name: "no extractors", opts: []jwtguard.Option{ok, jwtguard.WithExtractors()}, wantErr: "WithExtractors: no extractor"},
		{name: "zero Extractor", opts: []jwtguard.Option{ok, jwtguard.WithExtractors(jwtguard.AuthorizationHeader(), jwtguard.Extractor{})}, wantErr: "extractor 1 is the zero Extractor"},
		{name: "ExtractorFunc(nil)", opts: []jwtguard.Option{ok, jwtguard.WithExtractors(jwtguard.ExtractorFunc(nil))}, wantErr: "extractor 0 is the zero Extractor"},
		{name: "nil error handler", opts: []jwtguard.Option{ok, jwtguard.WithErrorHandler(nil)}, wantErr: "WithErrorHandler: nil handler"},
		{name: "empty token type", opts: []jwtguard.Option{ok, jwtguard.WithTokenType("")}, wantErr: "WithTokenType: empty type"},
		{name: "empty type claim", opts: []jwtguard.Option{ok, jwtguard.WithTypeClaim("")}, wantErr: "WithTypeClaim: empty name"},
		{name: "type claim named scope", opts: []jwtguard.Option{ok, jwtguard.WithTypeClaim("scope")}, wantErr: `WithTypeClaim: "scope" is a claim of its own`},
		{name: "type claim named SUB", opts: []jwtguard.Option{ok, jwtguard.WithTypeClaim("SUB")}, wantErr: `WithTypeClaim: "SUB" is a claim of its own`},
		{name: "empty typ header", opts: []jwtguard.Option{ok, jwtguard.WithTokenTypeHeader("")}, wantErr: "WithTokenTypeHeader: empty typ"},
		{name: "Cookie with an empty name", opts: []jwtguard.Option{ok, jwtguard.WithExtractors(jwtguard.Cookie(""))}, wantErr: "Cookie: empty name"},
		{name: "Cookie name with a semicolon", opts: []jwtguard.Option{ok, jwtguard.WithExtractors(jwtguard.Cookie("a;b"))}, wantErr: `Cookie: "a;b" is not a valid name`},
		{name: "Header with an empty name", opts: []jwtguard.Option{ok, jwtguard.WithExtractors(jwtguard.Header(""))}, wantErr: "Header: empty name"},
		{name: "Header name with a space", opts: []jwtguard.Option{ok, jwtguard.WithExtractors(jwtguard.Header("X Token"))}, wantErr: `Header: "X Token" is not a valid name`},
		{name: "InsecureQuery with an empty name", opts: []jwtguard.Option{ok, jwtguard.WithExtractors(jwtguard.InsecureQuery(""))}, wantErr: "InsecureQuery: empty name"},
		{name: "same cookie twice", opts: []jwtguard.Option{ok, jwtguard.WithExtractors(jwtguard.Cookie("at"), jwtguard.Cookie("at"))}, wantErr: "cookie at named twice"},
		{name: "Authorization twice", opts: []jwtguard.Option{ok, jwtguard.WithExtractors(jwtguard.AuthorizationHeader(), jwtguard.AuthorizationHeader())}, wantErr: "header Authorization named twice"},
		{name: "same header in two spellings", opts: []jwtguard.Option{ok, jwtguard.WithExtractors(jwtguard.Header("x-token"), jwtguard.Header("X-Token"))}, wantErr: "header X-Token named twice"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mw, err := jwtguard.New(tt.opts...)
			require.Error(t, err)
			assert.Nil(t, mw)
			assert.Contains(t, err.Error(), tt.wantErr)
			assert.True(t, strings.HasPrefix(err.Error(), "jwtguard: invalid configuration: "), err.Error())
			assert.ErrorIs(t, err, jwtguard.ErrInvalidConfig)
		})
	}
}

// TestNewAcceptsConfig holds the boundaries of the rules above: each row
// fails if a rule is made stricter than documented.
func TestNewAcceptsConfig(t *testing.T) {
	k := asym()
	tests := []struct {
		name string
		opts []jwtguard.Option
	}{
		{name: "HS256 secret of 32 bytes", opts: []jwtguard.Option{jwtguard.WithKey("HS256", secret256)}},
		{name: "HS384 secret of 48 bytes", opts: []jwtguard.Option{jwtguard.WithKey("HS384", secret384)}},
		{name: "HS512 secret of 64 bytes", opts: []jwtguard.Option{jwtguard.WithKey("HS512", secret512)}},
		{name: "RS256 public key of 2048 bits", opts: []jwtguard.Option{jwtguard.WithKey("RS256", &k.rsa.PublicKey)}},
		{name: "PS512 private key", opts: []jwtguard.Option{jwtguard.WithKey("PS512", k.rsa)}},
		{name: "ES256 P-256 key", opts: []jwtguard.Option{jwtguard.WithKey("ES256", &k.ec.PublicKey)}},
		{name: "EdDSA public key", opts: []jwtguard.Option{jwtguard.WithKey("EdDSA", k.ed.Public())}},
		{name: "one key without an ID", opts: []jwtguard.Option{jwtguard.WithKeys(jwtguard.Key{Algorithm: "HS256", Key: secret256})}},
		{name: "several keys with IDs", opts: []jwtguard.Option{jwtguard.WithKeys(
			jwtguard.Key{ID: "a", Algorithm: "HS256", Key: secret256},
			jwtguard.Key{ID: "b", Algorithm: "RS256", Key: &k.rsa.PublicKey},
		)}},
		{name: "a nil option is skipped", opts: []jwtguard.Option{nil, jwtguard.WithKey("HS256", secret256)}},
		{name: "leeway 0 and 5m", opts: []jwtguard.Option{jwtguard.WithKey("HS256", secret256), jwtguard.WithLeeway(0), jwtguard.WithLeeway(5 * time.Minute)}},
		{name: "max token size 64", opts: []jwtguard.Option{jwtguard.WithKey("HS256", secret256), jwtguard.WithMaxTokenSize(64)}},
		{name: "max token size 64 KiB", opts: []jwtguard.Option{jwtguard.WithKey("HS256", secret256), jwtguard.WithMaxTokenSize(64 << 10)}},
		{name: "realm with spaces and punctuation", opts: []jwtguard.Option{jwtguard.WithKey("HS256", secret256), jwtguard.WithRealm("orders api (v2)")}},
		{name: "every option", opts: []jwtguard.Option{
			jwtguard.WithKey("HS256", secret256),
			jwtguard.WithIssuer(htIssuer),
			jwtguard.WithAudience(htAudience, "other"),
			jwtguard.WithLeeway(time.Second),
			jwtguard.WithClock(fixedClock),
			jwtguard.WithMaxTokenSize(2048),
			jwtguard.WithTokenType(jwtguard.TypeAccess),
			jwtguard.WithTypeClaim("type"),
			jwtguard.WithExtractors(jwtguard.AuthorizationHeader(), jwtguard.Cookie("at")),
			jwtguard.WithClaimsType[htCustomClaims](),
			jwtguard.WithRealm("orders"),
			jwtguard.WithErrorHandler(func(w http.ResponseWriter, _ *http.Request, _ error) { w.WriteHeader(http.StatusTeapot) }),
			jwtguard.WithSuccessHook(func(*http.Request, any) {}),
			jwtguard.WithFailureHook(func(*http.Request, error) {}),
			jwtguard.WithInsecurePreflightPassthrough(),
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mw, err := jwtguard.New(tt.opts...)
			require.NoError(t, err)
			assert.NotNil(t, mw)
		})
	}
}

// TestNewJoinsErrors checks that New reports every problem at once, joined,
// rather than stopping at the first.
func TestNewJoinsErrors(t *testing.T) {
	mw, err := jwtguard.New(
		jwtguard.WithKey("HS256", secret256[:31]),
		jwtguard.WithKey("none", nil),
		jwtguard.WithLeeway(-time.Second),
		jwtguard.WithRealm(`"`),
		jwtguard.WithMaxTokenSize(1),
		jwtguard.WithClock(nil),
		jwtguard.WithIssuer(""),
		jwtguard.WithAudience(""),
		jwtguard.WithExtractors(),
	)
	require.Error(t, err)
	assert.Nil(t, mw)
	msg := err.Error()
	for _, want := range []string{
		"HS256 secret is 31 bytes",
		`"none" is never allowed`,
		"WithLeeway",
		"WithRealm",
		"WithMaxTokenSize",
		"WithClock",
		"WithIssuer",
		"WithAudience",
		"WithExtractors",
	} {
		assert.Contains(t, msg, want)
	}
	// errors.Join puts one problem on each line, after the prefix.
	assert.Len(t, strings.Split(msg, "\n"), 9, msg)
	// The error is ErrInvalidConfig wrapping the errors.Join of the problems.
	assert.ErrorIs(t, err, jwtguard.ErrInvalidConfig)
	outer, ok := err.(interface{ Unwrap() []error })
	require.True(t, ok)
	require.Len(t, outer.Unwrap(), 2)
	joined, ok := outer.Unwrap()[1].(interface{ Unwrap() []error })
	require.True(t, ok)
	assert.Len(t, joined.Unwrap(), 9)
}

// TestNewCopiesConfig checks that a Middleware is immutable after New:
// changing the slices handed to the options changes nothing.
func TestNewCopiesConfig(t *testing.T) {
	secret := append([]byte(nil), secret256...)
	audiences := []string{htAudience}
	extractors := []jwtguard.Extractor{jwtguard.AuthorizationHeader()}
	mw, err := jwtguard.New(
		jwtguard.WithKey("HS256", secret),
		jwtguard.WithClock(fixedClock),
		jwtguard.WithAudience(audiences...),
		jwtguard.WithExtractors(extractors...),
	)
	require.NoError(t, err)

	for i := range secret {
		secret[i] = 'x'
	}
	audiences[0] = "attacker"
	extractors[0] = jwtguard.Cookie("evil")

	r := htRequest(t, "Bearer "+hs256(t, validClaims()))
	claims, err := mw.Check(r)
	require.NoError(t, err)
	assert.Equal(t, "user-1", claims.(*jwtguard.Claims).Subject)

	// A token signed with the mutated secret and naming the mutated audience fails.
	c := validClaims()
	c["aud"] = "attacker"
	forged := sign(t, jwt.SigningMethodHS256, secret, c, nil)
	_, err = mw.Check(htRequest(t, "Bearer "+forged))
	assert.ErrorIs(t, err, jwtguard.ErrSignature)
}

// TestDefaultConstants pins the documented defaults.
func TestDefaultConstants(t *testing.T) {
	assert.Equal(t, 4096, jwtguard.DefaultMaxTokenSize)
	assert.Equal(t, "type", jwtguard.DefaultTypeClaim)
	assert.Equal(t, "api", jwtguard.DefaultRealm)
	assert.Equal(t, "access", jwtguard.TypeAccess)
	assert.Equal(t, "refresh", jwtguard.TypeRefresh)
}

// TestMaxTokenSizeOption checks that the size cap follows WithMaxTokenSize.
func TestMaxTokenSizeOption(t *testing.T) {
	tok := hs256(t, validClaims())
	tests := []struct {
		name    string
		max     int
		wantErr error
	}{
		{name: "default 4 KiB takes a normal token", max: 0},
		{name: "cap at the token's length", max: len(tok)},
		{name: "cap one byte short", max: len(tok) - 1, wantErr: jwtguard.ErrMalformedToken},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var opts []jwtguard.Option
			if tt.max != 0 {
				opts = append(opts, jwtguard.WithMaxTokenSize(tt.max))
			}
			mw := htNew(t, opts...)
			_, err := mw.Check(htRequest(t, "Bearer "+tok))
			if tt.wantErr == nil {
				assert.NoError(t, err)
				return
			}
			assert.ErrorIs(t, err, tt.wantErr)
		})
	}
	t.Run("default refuses 4 KiB + 1", func(t *testing.T) {
		c := validClaims()
		c["pad"] = strings.Repeat("a", 4096)
		_, err := htNew(t).Check(htRequest(t, "Bearer "+hs256(t, c)))
		assert.ErrorIs(t, err, jwtguard.ErrMalformedToken)
	})
}
