package jwtguard_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"testing"

	"github.com/golang-jwt/jwt/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jwtguard/jwtguard"
)

// TestIssuerWithKeySet covers an issuer that signs with a KeySet: each
// token carries the kid of the key current when it was signed, tokens of
// the previous key keep verifying after a rotation, and stop once that key
// is removed.
func TestIssuerWithKeySet(t *testing.T) {
	ctx := context.Background()
	second, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	old := jwtguard.Key{ID: "2026-10", Algorithm: "ES256", Key: asym().ec}
	next := jwtguard.Key{ID: "2026-11", Algorithm: "ES256", Key: second}
	ks, err := jwtguard.NewKeySet(old)
	require.NoError(t, err)
	issuer, err := jwtguard.NewIssuer(jwtguard.IssuerConfig{KeySet: ks, Issuer: testIssuer, Audience: []string{testAudience}})
	require.NoError(t, err)
	store, err := jwtguard.NewMemoryStore()
	require.NoError(t, err)
	t.Cleanup(func() { _ = store.Close() })
	sessions, err := jwtguard.NewSessions(issuer, store)
	require.NoError(t, err)
	mw := sessions.Middleware()

	kid := func(token string) any {
		tok, _, err := jwt.NewParser().ParseUnverified(token, jwt.MapClaims{})
		require.NoError(t, err)
		return tok.Header["kid"]
	}

	before, err := issuer.Issue(ctx, "user-1", nil)
	require.NoError(t, err)
	assert.Equal(t, "2026-10", kid(before.AccessToken))
	assert.Equal(t, "2026-10", kid(before.RefreshToken))

	require.NoError(t, ks.Rotate(next))
	after, err := issuer.Issue(ctx, "user-1", nil)
	require.NoError(t, err)
	assert.Equal(t, "2026-11", kid(after.AccessToken), "signed with the new current key")

	_, err = mw.Verify(ctx, before.AccessToken)
	assert.NoError(t, err, "the previous key still verifies")
	_, err = mw.Verify(ctx, after.AccessToken)
	assert.NoError(t, err)

	require.NoError(t, ks.Remove("2026-10"))
	_, err = mw.Verify(ctx, before.AccessToken)
	assert.ErrorIs(t, err, jwtguard.ErrUnknownKey, "a removed key verifies nothing")
	_, err = mw.Verify(ctx, after.AccessToken)
	assert.NoError(t, err)
}

func TestNewIssuerKeyOrKeySet(t *testing.T) {
	ks, err := jwtguard.NewKeySet(jwtguard.Key{ID: "k1", Algorithm: "HS256", Key: secret256})
	require.NoError(t, err)
	pub, err := jwtguard.NewKeySet(jwtguard.Key{ID: "k1", Algorithm: "ES256", Key: &asym().ec.PublicKey})
	require.NoError(t, err)
	tests := []struct {
		name    string
		cfg     jwtguard.IssuerConfig
		wantErr string
	}{
		{name: "both Key and KeySet", cfg: jwtguard.IssuerConfig{Issuer: testIssuer, KeySet: ks,
			Key: jwtguard.Key{Algorithm: "HS256", Key: secret256}}, wantErr: "both Key and KeySet"},
		{name: "a KeySet without a private current key", cfg: jwtguard.IssuerConfig{Issuer: testIssuer, KeySet: pub},
			wantErr: "has no private key"},
		{name: "neither", cfg: jwtguard.IssuerConfig{Issuer: testIssuer}, wantErr: "no key: set Key or KeySet"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := jwtguard.NewIssuer(tt.cfg)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.wantErr)
		})
	}
	_, err = jwtguard.NewIssuer(jwtguard.IssuerConfig{Issuer: testIssuer, KeySet: ks})
	assert.NoError(t, err, "an HMAC key set signs with its current secret")
}
