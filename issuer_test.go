package jwtguard_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/jwtguard/jwtguard"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestNewIssuerRefusesBadConfiguration(t *testing.T) {
	small, err := rsa.GenerateKey(rand.Reader, 1024)
	require.NoError(t, err)
	p384, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	require.NoError(t, err)
	hs := jwtguard.Key{Algorithm: "HS256", Key: secret256}
	tests := []struct {
		name    string
		cfg     jwtguard.IssuerConfig
		wantErr string
	}{
		{name: "no issuer", cfg: jwtguard.IssuerConfig{Key: hs}, wantErr: "no issuer"},
		{name: "no key", cfg: jwtguard.IssuerConfig{Issuer: testIssuer}, wantErr: "no key: set Key or KeySet"},
		{name: "none", cfg: jwtguard.IssuerConfig{Issuer: testIssuer, Key: jwtguard.Key{Algorithm: "none", Key: secret256}}, wantErr: `"none"`},
		{name: "short secret", cfg: jwtguard.IssuerConfig{Issuer: testIssuer, Key: jwtguard.Key{Algorithm: "HS256", Key: []byte("short")}}, wantErr: "at least 32"},
		{name: "secret as string", cfg: jwtguard.IssuerConfig{Issuer: testIssuer, Key: jwtguard.Key{Algorithm: "HS256", Key: string(secret256)}}, wantErr: "[]byte"},
		{name: "small RSA", cfg: jwtguard.IssuerConfig{Issuer: testIssuer, Key: jwtguard.Key{Algorithm: "RS256", Key: small}}, wantErr: "at least 2048"},
		{name: "public key", cfg: jwtguard.IssuerConfig{Issuer: testIssuer, Key: jwtguard.Key{Algorithm: "RS256", Key: &asym().rsa.PublicKey}}, wantErr: "private key"},
		{name: "wrong curve", cfg: jwtguard.IssuerConfig{Issuer: testIssuer, Key: jwtguard.Key{Algorithm: "ES256", Key: p384}}, wantErr: "P-256"},
		{name: "refresh not longer", cfg: jwtguard.IssuerConfig{Issuer: testIssuer, Key: hs, AccessTTL: time.Hour, RefreshTTL: time.Hour}, wantErr: "not longer"},
		{name: "bad leeway", cfg: jwtguard.IssuerConfig{Issuer: testIssuer, Key: hs, Leeway: time.Hour}, wantErr: "WithLeeway"},
		{name: "empty audience", cfg: jwtguard.IssuerConfig{Issuer: testIssuer, Key: hs, Audience: []string{""}}, wantErr: "empty audience"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			iss, err := jwtguard.NewIssuer(tt.cfg)
			require.Error(t, err)
			assert.Nil(t, iss)
			assert.Contains(t, err.Error(), tt.wantErr)
		})
	}
}

func TestIssuerTokenFormat(t *testing.T) {
	l := newLifecycle(t)
	pair, err := l.issuer.Issue(context.Background(), "user-1", map[string]any{"roles": []string{"admin"}, "email": "a@example.com"})
	require.NoError(t, err)
	assert.Equal(t, testNow.Add(jwtguard.DefaultAccessTTL), pair.AccessExpiresAt)
	assert.Equal(t, testNow.Add(jwtguard.DefaultRefreshTTL), pair.RefreshExpiresAt)

	ah, ap := parts(t, pair.AccessToken)
	rh, rp := parts(t, pair.RefreshToken)
	assert.Equal(t, map[string]any{"alg": "HS256", "kid": "k1", "typ": "access+jwt"}, ah)
	assert.Equal(t, map[string]any{"alg": "HS256", "kid": "k1", "typ": "refresh+jwt"}, rh)
	for _, tt := range []struct {
		name    string
		payload map[string]any
		typ     string
		ttl     time.Duration
	}{
		{"access", ap, "access", 30 * time.Minute},
		{"refresh", rp, "refresh", 7 * 24 * time.Hour},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p := tt.payload
			assert.Equal(t, testIssuer, p["iss"])
			assert.Equal(t, "user-1", p["sub"])
			assert.Equal(t, testAudience, p["aud"])
			assert.Equal(t, tt.typ, p["type"])
			assert.EqualValues(t, testNow.Unix(), p["iat"])
			assert.EqualValues(t, testNow.Unix(), p["nbf"])
			assert.EqualValues(t, testNow.Add(tt.ttl).Unix(), p["exp"])
			assert.Len(t, p["jti"], 22)
			assert.Len(t, p["fid"], 22)
			assert.EqualValues(t, testNow.Unix(), p["auth_time"], "Issue is a login")
			assert.Equal(t, []any{"admin"}, p["roles"])
			assert.Equal(t, "a@example.com", p["email"])
			assert.Len(t, p, 12, "only what the caller passed, and the registered claims")
		})
	}
	assert.NotEqual(t, ap["jti"], rp["jti"])
	assert.Equal(t, ap["fid"], rp["fid"], "one family")

	again, err := l.issuer.Issue(context.Background(), "user-1", nil)
	require.NoError(t, err)
	_, ap2 := parts(t, again.AccessToken)
	assert.NotEqual(t, ap["jti"], ap2["jti"])
	assert.NotEqual(t, ap["fid"], ap2["fid"], "a login starts a new family")
}

func TestIssuerSignsWithEveryKeyType(t *testing.T) {
	k := asym()
	tests := []struct {
		name string
		key  jwtguard.Key
	}{
		{"HS256", jwtguard.Key{Algorithm: "HS256", Key: secret256}},
		{"HS512", jwtguard.Key{ID: "h", Algorithm: "HS512", Key: secret512}},
		{"RS256", jwtguard.Key{ID: "r", Algorithm: "RS256", Key: k.rsa}},
		{"PS256", jwtguard.Key{ID: "p", Algorithm: "PS256", Key: k.rsa}},
		{"ES256", jwtguard.Key{ID: "e", Algorithm: "ES256", Key: k.ec}},
		{"EdDSA", jwtguard.Key{ID: "d", Algorithm: "EdDSA", Key: k.ed}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			iss, err := jwtguard.NewIssuer(jwtguard.IssuerConfig{Key: tt.key, Issuer: testIssuer, Clock: fixedClock})
			require.NoError(t, err)
			pair, err := iss.Issue(context.Background(), "user-1", nil)
			require.NoError(t, err)
			h, _ := parts(t, pair.AccessToken)
			if tt.key.ID == "" {
				assert.NotContains(t, h, "kid")
			} else {
				assert.Equal(t, tt.key.ID, h["kid"])
			}
			// A resource server holding only the public key verifies it.
			pub := tt.key
			switch priv := tt.key.Key.(type) {
			case *rsa.PrivateKey:
				pub.Key = &priv.PublicKey
			case *ecdsa.PrivateKey:
				pub.Key = &priv.PublicKey
			}
			// It has no store: it must say that it accepts tokens until
			// they expire, logouts unseen.
			mw, err := jwtguard.New(jwtguard.WithKeys(pub), jwtguard.WithIssuer(testIssuer), jwtguard.WithClock(fixedClock),
				jwtguard.WithInsecureNoRevocationCheck())
			require.NoError(t, err)
			claims, err := mw.Verify(context.Background(), pair.AccessToken)
			require.NoError(t, err)
			assert.Equal(t, "user-1", claims.(*jwtguard.Claims).Subject)
		})
	}
}

func TestIssueRefusesClaims(t *testing.T) {
	l := newLifecycle(t)
	tests := []struct {
		name    string
		sub     string
		claims  map[string]any
		wantErr string // the message names the claim and what it needs
	}{
		{"empty subject", "", nil, "empty subject"},
		{"sets iss", "u", map[string]any{"iss": "evil"}, `claim "iss" is set by the issuer`},
		{"sets exp", "u", map[string]any{"exp": 1}, `claim "exp" is set by the issuer`},
		{"sets type", "u", map[string]any{"type": "refresh"}, `claim "type" is set by the issuer`},
		{"sets fid", "u", map[string]any{"fid": "x"}, `claim "fid" is set by the issuer`},
		{"sets auth_time", "u", map[string]any{"auth_time": 1}, `claim "auth_time" is set by the issuer`},
		{"case variant of auth_time", "u", map[string]any{"Auth_Time": 1}, `claim "Auth_Time" is set by the issuer`},
		{"case variant of sub", "u", map[string]any{"Sub": "root"}, `claim "Sub" is set by the issuer`},
		{"case variant of roles", "u", map[string]any{"Roles": []string{"admin"}}, `claim "Roles" differs from "roles" only in case`},
		{"roles a string", "u", map[string]any{"roles": "admin"}, `claim "roles" must be a JSON array of strings (such as []string{"admin"}), got a string`},
		{"roles numbers", "u", map[string]any{"roles": []int{1}}, `claim "roles" must be a JSON array of strings (such as []string{"admin"}), got an array with an element that is not a string`},
		{"roles an object", "u", map[string]any{"roles": map[string]bool{"admin": true}}, `claim "roles" must be a JSON array of strings (such as []string{"admin"}), got an object`},
		{"scope not a string", "u", map[string]any{"scope": []string{"a"}}, `claim "scope" must be a JSON string of space-separated scopes, got an array`},
		{"scope a number", "u", map[string]any{"scope": 3}, `claim "scope" must be a JSON string of space-separated scopes, got a number`},
		{"two names one field", "u", map[string]any{"name": "a", "NAME": "b"}, `claims "NAME" and "name" differ only in case`},
		{"not JSON", "u", map[string]any{"f": func() {}}, `claim "f" cannot be encoded as JSON`},
		{"too large", "u", map[string]any{"blob": string(make([]byte, 4096))}, "the access token is"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pair, err := l.issuer.Issue(context.Background(), tt.sub, tt.claims)
			require.ErrorIs(t, err, jwtguard.ErrCannotIssue)
			assert.Contains(t, err.Error(), tt.wantErr)
			assert.Nil(t, pair)
		})
	}
}

// TestTokenTypesNeverStandIn checks both ways that a refresh token never
// passes the access check and an access token never passes the refresh
// check, with the claim and the typ header each.
func TestTokenTypesNeverStandIn(t *testing.T) {
	l := newLifecycle(t)
	pair, err := l.issuer.Issue(context.Background(), "user-1", nil)
	require.NoError(t, err)
	base := []jwtguard.Option{
		jwtguard.WithKey("HS256", secret256), jwtguard.WithIssuer(testIssuer),
		jwtguard.WithAudience(testAudience), jwtguard.WithClock(l.clock.Now), jwtguard.WithStore(l.store),
	}
	access, err := jwtguard.New(base...)
	require.NoError(t, err)
	refresh, err := jwtguard.New(append(base, jwtguard.WithTokenType(jwtguard.TypeRefresh))...)
	require.NoError(t, err)
	byHeader, err := jwtguard.New(append(base, jwtguard.WithTokenTypeHeader(jwtguard.AccessTokenTyp))...)
	require.NoError(t, err)

	tests := []struct {
		name  string
		mw    *jwtguard.Middleware
		token string
		ok    bool
	}{
		{"access token, access check", access, pair.AccessToken, true},
		{"refresh token, refresh check", refresh, pair.RefreshToken, true},
		{"refresh token, access check", access, pair.RefreshToken, false},
		{"access token, refresh check", refresh, pair.AccessToken, false},
		{"access token, typ header check", byHeader, pair.AccessToken, true},
		{"refresh token, typ header check", byHeader, pair.RefreshToken, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tt.mw.Verify(context.Background(), tt.token)
			if tt.ok {
				require.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, jwtguard.ErrTokenType)
		})
	}

	// Through the handlers: the refresh endpoint refuses an access token,
	// the protected route refuses a refresh token.
	w := l.refresh(t, pair.AccessToken)
	assert.Equal(t, http.StatusUnauthorized, w.Code)
	assert.Contains(t, w.Header().Get("WWW-Authenticate"), `error_description="wrong token type"`)
	w = l.callMe(pair.RefreshToken)
	assert.Equal(t, http.StatusUnauthorized, w.Code)
	assert.Contains(t, w.Header().Get("WWW-Authenticate"), `error_description="wrong token type"`)
}

// TestRefreshCarriesClaimsExactly checks that claims survive rotation as
// they were minted, big integers and nested values included.
func TestRefreshCarriesClaimsExactly(t *testing.T) {
	l := newLifecycle(t)
	extra := map[string]any{
		"org_id": int64(9007199254740993), // 2^53 + 1: not a float64
		"ratio":  0.25,
		"prefs":  map[string]any{"theme": "dark", "tags": []string{"a", "b"}},
		"admin":  false,
		"nick":   nil,
	}
	pair, err := l.issuer.Issue(t.Context(), "user-1", extra)
	require.NoError(t, err)
	w := l.refresh(t, pair.RefreshToken)
	require.Equal(t, http.StatusOK, w.Code, w.Body.String())
	next := decodeTokenBody(t, w.Result())
	payload := func(token string) string {
		b, err := base64.RawURLEncoding.DecodeString(strings.Split(token, ".")[1])
		require.NoError(t, err)
		return string(b)
	}
	for _, tok := range []string{next.AccessToken, next.RefreshToken} {
		p := payload(tok)
		assert.Contains(t, p, `"org_id":9007199254740993`)
		assert.Contains(t, p, `"ratio":0.25`)
		assert.Contains(t, p, `"prefs":{"tags":["a","b"],"theme":"dark"}`)
		assert.Contains(t, p, `"admin":false`)
		assert.Contains(t, p, `"nick":null`)
	}
}
