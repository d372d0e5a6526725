package jwtguard_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/jwtguard/jwtguard"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// htOtherKey is a context key of another package.
type htOtherKey struct{}

func TestFromContext(t *testing.T) {
	claims := &jwtguard.Claims{Scope: "a"}
	claims.Subject = "user-1"
	custom := &htCustomClaims{Email: "u@example.com"}
	bg := context.Background()

	tests := []struct {
		name       string
		ctx        context.Context
		wantClaims *jwtguard.Claims // from FromContext; nil: ok is false
		wantCustom *htCustomClaims  // from ClaimsFromContext[htCustomClaims]
	}{
		{name: "empty context", ctx: bg},
		{name: "default claims", ctx: jwtguard.NewContext(bg, claims), wantClaims: claims},
		{name: "default claims under other values", ctx: context.WithValue(jwtguard.NewContext(bg, claims), htOtherKey{}, "x"), wantClaims: claims},
		{name: "nil *Claims", ctx: jwtguard.NewContext[jwtguard.Claims](bg, nil)},
		{name: "custom claims are not *Claims", ctx: jwtguard.NewContext(bg, custom), wantCustom: custom},
		{name: "a value under another package's key", ctx: context.WithValue(bg, htOtherKey{}, claims)},
		{name: "the last NewContext wins", ctx: jwtguard.NewContext(jwtguard.NewContext(bg, claims), custom), wantCustom: custom},
		{name: "a value of another type", ctx: jwtguard.NewContext(bg, &jwt.RegisteredClaims{Subject: "user-1"})},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := jwtguard.FromContext(tt.ctx)
			assert.Equal(t, tt.wantClaims != nil, ok)
			assert.Same(t, tt.wantClaims, got)

			generic, ok := jwtguard.ClaimsFromContext[jwtguard.Claims](tt.ctx)
			assert.Equal(t, tt.wantClaims != nil, ok)
			assert.Same(t, tt.wantClaims, generic)

			gotCustom, ok := jwtguard.ClaimsFromContext[htCustomClaims](tt.ctx)
			assert.Equal(t, tt.wantCustom != nil, ok)
			assert.Same(t, tt.wantCustom, gotCustom)
		})
	}
}

// TestWithClaimsType decodes claims into a user-defined type through a real
// server.
func TestWithClaimsType(t *testing.T) {
	type wrongClaims struct {
		jwtguard.Claims
		Email int `json:"email"`
	}
	withEmail := htToken(t, map[string]any{"email": "u@example.com"})

	tests := []struct {
		name       string
		opt        jwtguard.Option
		token      string
		wantStatus int
		wantBody   string
		check      func(t *testing.T, claims any)
	}{
		{name: "custom type", opt: jwtguard.WithClaimsType[htCustomClaims](), token: withEmail, wantStatus: 200,
			wantBody: "sub=user-1 email=u@example.com",
			check: func(t *testing.T, claims any) {
				c, ok := claims.(*htCustomClaims)
				require.True(t, ok, "%T", claims)
				assert.Equal(t, "u@example.com", c.Email)
				assert.Equal(t, "user-1", c.Subject)
				assert.Equal(t, []string{"reader"}, c.Roles)
				assert.Equal(t, "orders:read orders:write", c.Scope)
				assert.Equal(t, jwtguard.TypeAccess, c.Type)
				assert.Equal(t, jwt.ClaimStrings{htAudience}, c.Audience)
				assert.True(t, c.ExpiresAt.Equal(testNow.Add(30*time.Minute)))
			}},
		{name: "custom type, claim absent", opt: jwtguard.WithClaimsType[htCustomClaims](), token: htToken(t, nil), wantStatus: 200,
			wantBody: "sub=user-1 email="},
		{name: "map claims", opt: jwtguard.WithClaimsType[jwt.MapClaims](), token: withEmail, wantStatus: 200, wantBody: "anonymous",
			check: func(t *testing.T, claims any) {
				c, ok := claims.(*jwt.MapClaims)
				require.True(t, ok, "%T", claims)
				assert.Equal(t, "u@example.com", (*c)["email"])
			}},
		{name: "claims that do not fit the type", opt: jwtguard.WithClaimsType[wrongClaims](), token: withEmail, wantStatus: 401,
			wantBody: htBody("invalid_token", "malformed token")},
		{name: "default type", opt: nil, token: withEmail, wantStatus: 200, wantBody: "sub=user-1",
			check: func(t *testing.T, claims any) {
				_, ok := claims.(*jwtguard.Claims)
				assert.True(t, ok, "%T", claims)
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mw := htNew(t, tt.opt)
			echo := &htEcho{}
			srv := httptest.NewServer(mw.Handler(echo))
			defer srv.Close()
			got := htDo(t, srv.Client(), http.MethodGet, srv.URL, http.Header{"Authorization": {"Bearer " + tt.token}})
			challenge := ""
			if tt.wantStatus != http.StatusOK {
				challenge = htChallenge("invalid_token", "malformed token")
			}
			htAssertResponse(t, got, tt.wantStatus, challenge, tt.wantBody)
			assert.Equal(t, tt.wantStatus == http.StatusOK, echo.calls.Load() == 1)

			claims, err := mw.Check(htRequest(t, "Bearer "+tt.token))
			if tt.check == nil {
				return
			}
			require.NoError(t, err)
			tt.check(t, claims)
		})
	}
}

// htProfile is a handler as a user writes it: it reads the claims the
// middleware put in the context.
func htProfile(w http.ResponseWriter, r *http.Request) {
	c, ok := jwtguard.FromContext(r.Context())
	if !ok {
		http.Error(w, "no claims", http.StatusUnauthorized)
		return
	}
	_, _ = io.WriteString(w, "hello "+c.Subject)
}

// TestNewContextUnitTestsHandlers shows NewContext letting a handler be
// tested without minting tokens or running the middleware.
func TestNewContextUnitTestsHandlers(t *testing.T) {
	tests := []struct {
		name       string
		claims     *jwtguard.Claims
		wantStatus int
		wantBody   string
	}{
		{name: "with claims", claims: &jwtguard.Claims{RegisteredClaims: jwt.RegisteredClaims{Subject: "user-9"}}, wantStatus: 200, wantBody: "hello user-9"},
		{name: "without claims", wantStatus: 401, wantBody: "no claims\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequestWithContext(t.Context(), http.MethodGet, "/me", nil)
			if tt.claims != nil {
				r = r.WithContext(jwtguard.NewContext(r.Context(), tt.claims))
			}
			w := httptest.NewRecorder()
			htProfile(w, r)
			assert.Equal(t, tt.wantStatus, w.Code)
			assert.Equal(t, tt.wantBody, w.Body.String())
		})
	}
}

// TestClaimsMutationIsolated checks that a handler changing its claims never
// affects another request with the same token.
func TestClaimsMutationIsolated(t *testing.T) {
	tests := []struct {
		name string
		opt  jwtguard.Option
		get  func(ctx context.Context) *jwtguard.Claims
	}{
		{name: "default claims", get: func(ctx context.Context) *jwtguard.Claims {
			c, _ := jwtguard.FromContext(ctx)
			return c
		}},
		{name: "custom claims", opt: jwtguard.WithClaimsType[htCustomClaims](), get: func(ctx context.Context) *jwtguard.Claims {
			c, _ := jwtguard.ClaimsFromContext[htCustomClaims](ctx)
			return &c.Claims
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			type seen struct {
				sub, scope string
				roles      []string
				aud        []string
				ptr        *jwtguard.Claims
			}
			var (
				mu  sync.Mutex
				got []seen
			)
			srv := httptest.NewServer(htNew(t, tt.opt).Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				c := tt.get(r.Context())
				mu.Lock()
				got = append(got, seen{c.Subject, c.Scope, slices.Clone(c.Roles), slices.Clone(c.Audience), c})
				mu.Unlock()
				c.Subject = "admin"
				c.Scope += " admin"
				c.Roles[0] = "admin"
				c.Roles = append(c.Roles, "root")
				c.Audience[0] = "elsewhere"
				c.ExpiresAt = nil
			})))
			defer srv.Close()
			header := http.Header{"Authorization": {"Bearer " + htToken(t, nil)}}
			for range 3 {
				assert.Equal(t, http.StatusOK, htDo(t, srv.Client(), http.MethodGet, srv.URL, header).status)
			}
			mu.Lock()
			defer mu.Unlock()
			require.Len(t, got, 3)
			for i, s := range got {
				assert.Equal(t, "user-1", s.sub, "request %d", i)
				assert.Equal(t, "orders:read orders:write", s.scope, "request %d", i)
				assert.Equal(t, []string{"reader"}, s.roles, "request %d", i)
				assert.Equal(t, []string{htAudience}, s.aud, "request %d", i)
			}
			assert.NotSame(t, got[0].ptr, got[1].ptr)
		})
	}
}

func TestHasScope(t *testing.T) {
	tests := []struct {
		name  string
		scope string
		ask   string
		want  bool
	}{
		{name: "first", scope: "orders:read orders:write", ask: "orders:read", want: true},
		{name: "last", scope: "orders:read orders:write", ask: "orders:write", want: true},
		{name: "only", scope: "admin", ask: "admin", want: true},
		{name: "absent", scope: "orders:read", ask: "admin"},
		{name: "prefix", scope: "orders:read", ask: "orders"},
		{name: "extension", scope: "orders", ask: "orders:read"},
		{name: "case-sensitive", scope: "Admin", ask: "admin"},
		{name: "two scopes asked as one", scope: "a b", ask: "a b"},
		{name: "double space between scopes", scope: "a  b", ask: "b", want: true},
		{name: "empty scope never granted", scope: "a  b", ask: ""},
		{name: "empty claim", scope: "", ask: "a"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &jwtguard.Claims{Scope: tt.scope}
			assert.Equal(t, tt.want, c.HasScope(tt.ask))
		})
	}
}

func TestHasRole(t *testing.T) {
	tests := []struct {
		name  string
		roles []string
		ask   string
		want  bool
	}{
		{name: "present", roles: []string{"reader", "admin"}, ask: "admin", want: true},
		{name: "absent", roles: []string{"reader"}, ask: "admin"},
		{name: "case-sensitive", roles: []string{"Admin"}, ask: "admin"},
		{name: "not a prefix match", roles: []string{"administrator"}, ask: "admin"},
		{name: "nil roles", ask: "admin"},
		{name: "empty role never granted", roles: []string{""}, ask: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &jwtguard.Claims{Roles: tt.roles}
			assert.Equal(t, tt.want, c.HasRole(tt.ask))
		})
	}
}
