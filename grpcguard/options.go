package grpcguard

import (
	"fmt"
	"slices"
	"strings"

	"github.com/jwtguard/jwtguard"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// An Option sets a rule for some methods of a [Guard]. Options name methods
// by their full name, as gRPC gives it in UnaryServerInfo.FullMethod:
// "/package.Service/Method", or "/package.Service/*" for every method of a
// service. A method both named and covered by its service's "*" follows both
// rules. Methods no option names require a valid token.
type Option func(*config)

type config struct {
	rules []*rule
	errs  []error
}

// WithoutAuthentication exempts methods from authentication: their calls
// reach the handler whatever metadata they carry, with no claims in the
// context, and the hooks are not called. Use it for health checks and
// server reflection, such as "/grpc.health.v1.Health/*" and
// "/grpc.reflection.v1.ServerReflection/*". A method exempt here cannot
// also be named by [WithOptional], [WithScope] or [WithRole].
func WithoutAuthentication(methods ...string) Option {
	return each("WithoutAuthentication", methods, func(r *rule) { r.skip = true })
}

// WithOptional makes authentication optional for methods: a call without a
// token (no authorization metadata, or another scheme) reaches the handler
// with no claims in its context, and the hooks are not called; a call with a
// token reaches it only if the token is valid, as with
// [jwtguard.Middleware.Optional]. Such a method cannot require a scope or
// role.
func WithOptional(methods ...string) Option {
	return each("WithOptional", methods, func(r *rule) { r.optional = true })
}

// WithScope makes method require every one of scopes in the token's scope
// claim (each argument may itself be a space-separated list, as in the
// claim), as [jwtguard.Middleware.RequireScope] does: a valid token without
// them is refused with PermissionDenied. The claims type must have a
// HasScope(string) bool method, as [jwtguard.Claims] and every struct
// embedding it do; claims without it are refused.
func WithScope(method string, scopes ...string) Option {
	scopes = strings.Fields(strings.Join(scopes, " "))
	return func(c *config) {
		if len(scopes) == 0 {
			c.errs = append(c.errs, fmt.Errorf("WithScope(%q): no scope", method))
			return
		}
		c.add("WithScope", method, func(r *rule) { r.scopes = scopes })
	}
}

// WithRole makes method require every one of roles in the token's roles
// claim, as [jwtguard.Middleware.RequireRole] does: a valid token without
// them is refused with PermissionDenied. The claims type must have a
// HasRole(string) bool method, as [jwtguard.Claims] and every struct
// embedding it do; claims without it are refused.
func WithRole(method string, roles ...string) Option {
	roles = slices.Clone(roles)
	return func(c *config) {
		if len(roles) == 0 || slices.Contains(roles, "") {
			c.errs = append(c.errs, fmt.Errorf("WithRole(%q): no role, or an empty one", method))
			return
		}
		c.add("WithRole", method, func(r *rule) { r.roles = roles })
	}
}

// each returns an option adding a rule, set by set, for every one of
// methods.
func each(name string, methods []string, set func(*rule)) Option {
	methods = slices.Clone(methods)
	return func(c *config) {
		if len(methods) == 0 {
			c.errs = append(c.errs, fmt.Errorf("%s: no method", name))
		}
		for _, m := range methods {
			c.add(name, m, set)
		}
	}
}

// add records a rule for method after checking its name.
func (c *config) add(option, method string, set func(*rule)) {
	if err := checkMethod(method); err != nil {
		c.errs = append(c.errs, fmt.Errorf("%s: %w", option, err))
		return
	}
	r := &rule{method: method}
	set(r)
	c.rules = append(c.rules, r)
}

// checkMethod accepts "/package.Service/Method" and "/package.Service/*".
func checkMethod(m string) error {
	bad := func() error {
		return fmt.Errorf("%q is not a full method name: write \"/package.Service/Method\" or \"/package.Service/*\"", m)
	}
	svc, name, ok := strings.Cut(strings.TrimPrefix(m, "/"), "/")
	if !ok || !strings.HasPrefix(m, "/") || svc == "" || name == "" || strings.Contains(name, "/") ||
		strings.Contains(svc, "*") || (strings.Contains(name, "*") && name != "*") {
		return bad()
	}
	for i := 0; i < len(m); i++ {
		if c := m[i]; c <= ' ' || c >= 0x7F {
			return bad()
		}
	}
	return nil
}

// rule is what the options say about one method or service.
type rule struct {
	method   string // as named: "/pkg.Service/Method" or "/pkg.Service/*"
	skip     bool
	optional bool
	scopes   []string
	roles    []string

	denied       error          // for a token without the scopes or roles; set by finish
	deniedStatus *status.Status // its status
}

// add merges o into r.
func (r *rule) add(o *rule) {
	r.skip = r.skip || o.skip
	r.optional = r.optional || o.optional
	for _, s := range o.scopes {
		if !slices.Contains(r.scopes, s) {
			r.scopes = append(r.scopes, s)
		}
	}
	for _, s := range o.roles {
		if !slices.Contains(r.roles, s) {
			r.roles = append(r.roles, s)
		}
	}
}

// check refuses rules that contradict each other.
func (r *rule) check() error {
	required := len(r.scopes) > 0 || len(r.roles) > 0
	switch {
	case r.skip && (r.optional || required):
		return fmt.Errorf("%s is exempt from authentication (WithoutAuthentication) and also named by WithOptional, WithScope or WithRole: choose one", r.method)
	case r.optional && required:
		return fmt.Errorf("%s has optional authentication (WithOptional) and requires a scope or role, which a call without a token cannot have: choose one", r.method)
	}
	return nil
}

// scoped and roled are what the claims type needs for WithScope and
// WithRole.
type (
	scoped interface{ HasScope(string) bool }
	roled  interface{ HasRole(string) bool }
)

// finish builds the error and status of a refused call, once the rule is
// merged: the error, for the failure hook and the server's interceptors,
// names every requirement; the status, for the client, names the scopes
// (as the HTTP challenge does) but not the roles.
func (r *rule) finish() {
	var needs, tells []string
	if len(r.scopes) > 0 {
		s := fmt.Sprintf("scope %q", strings.Join(r.scopes, " "))
		needs, tells = append(needs, s), append(tells, s)
	}
	if len(r.roles) > 0 {
		needs = append(needs, fmt.Sprintf("role %q", strings.Join(r.roles, " ")))
		tells = append(tells, "a role the token lacks")
	}
	if len(needs) == 0 {
		return
	}
	r.denied = fmt.Errorf("%w: %s needs %s", jwtguard.ErrInsufficientScope, r.method, strings.Join(needs, " and "))
	r.deniedStatus = status.New(codes.PermissionDenied, "insufficient scope: the method needs "+strings.Join(tells, " and "))
}

// allow reports whether claims meet the scope and role requirements.
func (r *rule) allow(claims any) error {
	if len(r.scopes) > 0 {
		c, ok := claims.(scoped)
		if !ok {
			return r.denied
		}
		for _, s := range r.scopes {
			if !c.HasScope(s) {
				return r.denied
			}
		}
	}
	if len(r.roles) > 0 {
		c, ok := claims.(roled)
		if !ok {
			return r.denied
		}
		for _, role := range r.roles {
			if !c.HasRole(role) {
				return r.denied
			}
		}
	}
	return nil
}
