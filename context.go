package jwtguard

import (
	"context"
	"strings"

	"github.com/golang-jwt/jwt/v5"
)

// Claims is the default claims type: the registered claims of RFC 7519 plus
// the token type, roles and an OAuth 2.0 scope. Embed it in your own struct
// to add claims (see [WithClaimsType]).
//
// Anyone holding a token can read its claims: put nothing secret in them.
type Claims struct {
	jwt.RegisteredClaims
	// Type is the token type, "access" or "refresh" (claim "type").
	Type string `json:"type,omitempty"`
	// Roles are the subject's roles (claim "roles").
	Roles []string `json:"roles,omitempty"`
	// Scope is a space-separated list of scopes (claim "scope", RFC 8693).
	Scope string `json:"scope,omitempty"`
	// AuthTime is when the user authenticated (claim "auth_time", RFC
	// 9068 §2.2.1, RFC 7519 NumericDate): the login that started the
	// session, kept unchanged across refreshes. See
	// [Middleware.RequireFreshLogin].
	AuthTime *jwt.NumericDate `json:"auth_time,omitempty"`
}

// HasScope reports whether the space-separated scope claim contains scope.
func (c *Claims) HasScope(scope string) bool {
	if c == nil || scope == "" {
		return false
	}
	for s := c.Scope; s != ""; {
		var field string
		field, s, _ = strings.Cut(s, " ")
		if field == scope {
			return true
		}
	}
	return false
}

// HasRole reports whether the roles claim contains role.
func (c *Claims) HasRole(role string) bool {
	if c == nil {
		return false
	}
	for _, r := range c.Roles {
		if r == role && role != "" {
			return true
		}
	}
	return false
}

// claimsKey is the context key of verified claims. Being unexported, no
// other package can set or read the value except through this package.
type claimsKey struct{}

// ClaimsFromContext returns the verified claims the middleware put in ctx,
// if they are a *C. Use it with the type given to [WithClaimsType]. The
// claims belong to this request alone: changing them affects no other
// request.
func ClaimsFromContext[C any](ctx context.Context) (*C, bool) {
	c, ok := ctx.Value(claimsKey{}).(*C)
	return c, ok && c != nil
}

// FromContext returns the verified default [Claims] in ctx.
func FromContext(ctx context.Context) (*Claims, bool) {
	return ClaimsFromContext[Claims](ctx)
}

// NewContext returns a copy of ctx carrying claims, which [FromContext] and
// [ClaimsFromContext] then return, as after the middleware verified a
// token. Use it to test handlers without minting tokens.
//
// No middleware takes these claims as verified: [Middleware.RequireScope]
// and [Middleware.RequireRole] in front of a handler still authenticate the
// request from its token, and hand the handler that token's claims. To test
// a route through them, send a token (an [Issuer] mints one).
func NewContext[C any](ctx context.Context, claims *C) context.Context {
	return &claimsContext{Context: ctx, claims: claims}
}

// scoped and roled are what the claims type needs for RequireScope and
// RequireRole; [Claims] and every struct embedding it have both.
type (
	scoped interface{ HasScope(string) bool }
	roled  interface{ HasRole(string) bool }
)
