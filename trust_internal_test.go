package jwtguard

import (
	"bytes"
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

type guardTestClaims struct{ Claims }

type pointerStore struct{ Store }

// valueStore is a Store that is not a pointer: New cannot know whether two
// of them are the same store (a value of a type with a slice field would
// not even compare).
type valueStore struct{ Store }

// TestGuardID: two middlewares share a guardID exactly when they accept the
// same tokens; options that do not decide on tokens do not matter.
func TestGuardID(t *testing.T) {
	k1 := []byte("guard-id-test-secret-k1-32-bytes")
	k2 := []byte("guard-id-test-secret-k2-32-bytes")
	ks, err := NewKeySet(Key{ID: "a", Algorithm: "HS256", Key: k1})
	require.NoError(t, err)
	ks2, err := NewKeySet(Key{ID: "a", Algorithm: "HS256", Key: k1})
	require.NoError(t, err)
	store := &pointerStore{}
	base := []Option{WithKeys(Key{ID: "a", Algorithm: "HS256", Key: k1}, Key{ID: "b", Algorithm: "HS256", Key: k2}),
		WithIssuer("https://issuer.test"), WithAudience("api", "other")}
	with := func(opts ...Option) []Option { return append(append([]Option(nil), base...), opts...) }
	tests := []struct {
		name     string
		a, b     []Option
		wantSame bool
	}{
		{name: "the same options", a: base, b: base, wantSame: true},
		{name: "keys in another order", a: base, b: []Option{
			WithKeys(Key{ID: "b", Algorithm: "HS256", Key: k2}, Key{ID: "a", Algorithm: "HS256", Key: k1}),
			WithIssuer("https://issuer.test"), WithAudience("api", "other")}, wantSame: true},
		{name: "audiences in another order, repeated", a: base, b: []Option{base[0], base[1], WithAudience("other", "api", "api")}, wantSame: true},
		{name: "hooks, extractors, realm, CSRF, cache, clock do not decide", a: base, b: with(
			WithSuccessHook(func(_ *http.Request, _ any) {}), WithExtractors(Cookie("at")), WithRealm("other"),
			WithCSRF(CSRF{Header: "X-CSRF"}), WithCache(16), WithClock(time.Now)), wantSame: true},
		{name: "another key", a: base, b: []Option{WithKeys(Key{ID: "a", Algorithm: "HS256", Key: k1}, Key{ID: "b", Algorithm: "HS256", Key: k1}),
			WithIssuer("https://issuer.test"), WithAudience("api", "other")}},
		{name: "another kid", a: base, b: []Option{WithKeys(Key{ID: "a", Algorithm: "HS256", Key: k1}, Key{ID: "c", Algorithm: "HS256", Key: k2}),
			WithIssuer("https://issuer.test"), WithAudience("api", "other")}},
		{name: "another algorithm", a: base, b: []Option{WithKeys(Key{ID: "a", Algorithm: "HS256", Key: k1}, Key{ID: "b", Algorithm: "HS384", Key: bytes.Repeat([]byte("k"), 48)}),
			WithIssuer("https://issuer.test"), WithAudience("api", "other")}},
		{name: "one key fewer", a: base, b: []Option{WithKeys(Key{ID: "a", Algorithm: "HS256", Key: k1}),
			WithIssuer("https://issuer.test"), WithAudience("api", "other")}},
		{name: "another issuer", a: base, b: []Option{base[0], WithIssuer("https://other.test"), base[2]}},
		{name: "no issuer", a: base, b: []Option{base[0], base[2]}},
		{name: "another audience", a: base, b: []Option{base[0], base[1], WithAudience("api")}},
		{name: "leeway", a: base, b: with(WithLeeway(time.Second))},
		{name: "max token size", a: base, b: with(WithMaxTokenSize(8192))},
		{name: "refresh tokens", a: base, b: with(WithTokenType(TypeRefresh))},
		{name: "another type claim", a: base, b: with(WithTypeClaim("token_use"))},
		{name: "typ header", a: base, b: with(WithTokenTypeHeader("at+jwt"))},
		{name: "no type check", a: base, b: with(WithInsecureNoTokenType())},
		{name: "sub optional", a: base, b: with(WithSubjectOptional())},
		{name: "claims type", a: base, b: with(WithClaimsType[guardTestClaims]())},
		{name: "a store", a: base, b: with(WithStore(store))},
		{name: "the same store", a: with(WithStore(store)), b: with(WithStore(store)), wantSame: true},
		{name: "another store", a: with(WithStore(store)), b: with(WithStore(&pointerStore{}))},
		{name: "a store that is not a pointer", a: with(WithStore(valueStore{})), b: with(WithStore(valueStore{}))},
		{name: "no revocation check", a: base, b: with(WithInsecureNoRevocationCheck())},
		{name: "DPoP allowed", a: base, b: with(WithDPoP(DPoPAllowed))},
		{name: "DPoP disabled is no DPoP", a: base, b: with(WithDPoP(DPoPDisabled)), wantSame: true},
		{name: "DPoP, the same options", a: with(WithDPoP(DPoPRequired, DPoPAlgorithms("ES256", "EdDSA"))),
			b: with(WithDPoP(DPoPRequired, DPoPAlgorithms("EdDSA", "ES256"))), wantSame: true},
		{name: "DPoP allowed or required", a: with(WithDPoP(DPoPAllowed)), b: with(WithDPoP(DPoPRequired))},
		{name: "DPoP algorithms", a: with(WithDPoP(DPoPAllowed)), b: with(WithDPoP(DPoPAllowed, DPoPAlgorithms("ES256")))},
		{name: "DPoP nonces", a: with(WithDPoP(DPoPAllowed)), b: with(WithDPoP(DPoPAllowed, DPoPNonces(k1, time.Minute)))},
		{name: "DPoP proxies", a: with(WithDPoP(DPoPAllowed)), b: with(WithDPoP(DPoPAllowed, DPoPTrustedProxies(ForwardedHeader, "10.0.0.0/8")))},
		{name: "several issuers, the same options", a: []Option{WithIssuers(TrustedIssuer{Issuer: "https://a.test", KeySet: ks})},
			b: []Option{WithIssuers(TrustedIssuer{Issuer: "https://a.test", KeySet: ks})}},
		{name: "the same KeySet", a: []Option{WithKeySet(ks)}, b: []Option{WithKeySet(ks)}, wantSame: true},
		{name: "KeySets with the same keys", a: []Option{WithKeySet(ks)}, b: []Option{WithKeySet(ks2)}},
		{name: "a KeySet and its keys", a: []Option{WithKeySet(ks)}, b: []Option{WithKeys(Key{ID: "a", Algorithm: "HS256", Key: k1})}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, err := New(tt.a...)
			require.NoError(t, err)
			b, err := New(tt.b...)
			require.NoError(t, err)
			assert.Equal(t, tt.wantSame, a.id == b.id)
			_, trusted := b.trusted(a.withClaims(newRequest(), &Claims{}, "").Context())
			assert.Equal(t, tt.wantSame, trusted)
		})
	}
}

func newRequest() *http.Request {
	r, _ := http.NewRequestWithContext(context.Background(), http.MethodGet, "/", nil)
	return r
}
