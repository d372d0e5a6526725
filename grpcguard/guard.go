// Package grpcguard authenticates gRPC calls with the same
// [jwtguard.Middleware] that protects HTTP routes: one configuration (keys,
// issuer, audience, token type, revocation store, cache, hooks) and one way
// to read claims, [jwtguard.FromContext], for both transports.
//
// A [Guard] gives a unary and a stream server interceptor. Each call must
// carry "authorization: Bearer <token>" metadata; the token is verified by
// the Middleware and its claims are put in the handler's context (for
// streams, in the Context of the stream the handler receives):
//
//	mw, err := jwtguard.New(jwtguard.WithKey("HS256", secret), jwtguard.WithIssuer(iss))
//	…
//	guard, err := grpcguard.New(mw,
//		grpcguard.WithoutAuthentication("/grpc.health.v1.Health/*"),
//		grpcguard.WithScope("/orders.v1.Orders/Cancel", "orders:write"),
//	)
//	…
//	srv := grpc.NewServer(
//		grpc.ChainUnaryInterceptor(guard.UnaryServerInterceptor()),
//		grpc.ChainStreamInterceptor(guard.StreamServerInterceptor()),
//	)
//
//	// in a handler:
//	claims, ok := jwtguard.FromContext(ctx)
//
// Refused calls end with a gRPC status and never reach the handler:
//
//	InvalidArgument   malformed authorization metadata: two values, "Bearer" with
//	                  no token, a token with a space inside
//	Unauthenticated   no token (no authorization metadata, or another scheme such as
//	                  Basic); a token that does not verify, is expired, revoked, …;
//	                  an authorization value over MaxAuthorizationSize bytes
//	PermissionDenied  a valid token without a scope or role the method requires
//	Unavailable       the token cannot be checked now: the revocation store or the
//	                  key set (JWKS) failed; the call is refused, never let through
//
// The status message is short and fixed per reason ("invalid token: token
// expired"): it never holds the token, golang-jwt's text, or the error of a
// store or key set. The error the interceptors return also wraps the
// jwtguard error, so interceptors chained before the guard can match it
// with [errors.Is] (jwtguard.ErrExpired, jwtguard.ErrRevoked,
// jwtguard.ErrUnavailable, …) and log [errors.Unwrap] of it for the
// server-side detail; the failure hook of [jwtguard.WithFailureHook] gets
// the jwtguard error itself. Clients see only the code and the message.
package grpcguard

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/jwtguard/jwtguard"
	"google.golang.org/grpc"
)

// A Guard authenticates gRPC calls with a [jwtguard.Middleware]. Make one
// with [New]. It is immutable and safe for concurrent use.
type Guard struct {
	mw       *jwtguard.Middleware
	methods  map[string]*rule // by full method name, "/pkg.Service/Method"
	services map[string]*rule // by service prefix, "/pkg.Service/"
	statuses statuses
}

// New returns a Guard that verifies tokens with mw, every method requiring
// a valid token unless opts say otherwise. It reports every problem of opts
// at once, in an error matching [jwtguard.ErrInvalidConfig]: a method name
// that is not "/package.Service/Method" (or "/package.Service/*"), an empty
// scope or role list, a method both exempt from authentication and
// subject to a requirement, or a Middleware with
// jwtguard.WithDPoP(jwtguard.DPoPRequired) (a call carries no DPoP proof,
// so every call would be refused; under DPoPAllowed bearer tokens pass and
// DPoP-bound ones are refused).
func New(mw *jwtguard.Middleware, opts ...Option) (*Guard, error) {
	var c config
	for _, opt := range opts {
		if opt != nil {
			opt(&c)
		}
	}
	errs := c.errs
	if mw == nil {
		errs = append(errs, errors.New("nil Middleware: make one with jwtguard.New"))
	} else if mw.DPoPMode() == jwtguard.DPoPRequired {
		// A call has no HTTP request to check a DPoP proof against: every
		// token would be refused.
		errs = append(errs, errors.New("the Middleware has WithDPoP(DPoPRequired): gRPC calls carry no DPoP proof the guard could check, so every call would be refused; use a Middleware without it, or with DPoPAllowed (bearer tokens only)"))
	}
	g := &Guard{mw: mw, methods: map[string]*rule{}, services: map[string]*rule{}}
	var merged []*rule // in the order first named, for a stable error
	for _, r := range c.rules {
		table, key := g.methods, r.method
		if strings.HasSuffix(key, "/*") {
			table, key = g.services, strings.TrimSuffix(key, "*")
		}
		m := table[key]
		if m == nil {
			m = &rule{method: r.method}
			table[key] = m
			merged = append(merged, m)
		}
		m.add(r)
	}
	// A method's own rule also carries its service's, so that a call looks
	// up one rule.
	for name, r := range g.methods {
		if s := g.services[service(name)]; s != nil {
			r.add(s)
		}
	}
	for _, r := range merged {
		if err := r.check(); err != nil {
			errs = append(errs, err)
		}
		r.finish()
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("%w: grpcguard: %w", jwtguard.ErrInvalidConfig, err)
	}
	g.statuses = newStatuses()
	return g, nil
}

// UnaryServerInterceptor returns the interceptor for unary methods. Install
// it with grpc.ChainUnaryInterceptor (or grpc.UnaryInterceptor). The handler
// runs with the verified claims in its context; a refused call ends with the
// status described in the package documentation.
func (g *Guard) UnaryServerInterceptor() grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		ctx, err := g.authorize(ctx, info.FullMethod)
		if err != nil {
			return nil, err
		}
		return handler(ctx, req)
	}
}

// StreamServerInterceptor returns the interceptor for streaming methods.
// Install it with grpc.ChainStreamInterceptor (or grpc.StreamInterceptor).
// The token is checked once, when the stream opens; the handler receives a
// stream whose Context carries the verified claims.
func (g *Guard) StreamServerInterceptor() grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		ctx, err := g.authorize(ss.Context(), info.FullMethod)
		if err != nil {
			return err
		}
		if ctx != ss.Context() {
			ss = &serverStream{ServerStream: ss, ctx: ctx}
		}
		return handler(srv, ss)
	}
}

// serverStream is a stream with another context.
type serverStream struct {
	grpc.ServerStream
	ctx context.Context
}

func (s *serverStream) Context() context.Context { return s.ctx }

// authorize applies the rule of method to the call of ctx and returns the
// context the handler gets, or the status error that ends the call.
func (g *Guard) authorize(ctx context.Context, method string) (context.Context, error) {
	r := g.lookup(method)
	if r != nil && r.skip {
		return ctx, nil
	}
	call := newCall(ctx, method)
	token, err := call.token()
	if err != nil {
		g.mw.Reject(call.request(), err)
		return nil, g.statuses.fail(err, r)
	}
	if token == "" && r != nil && r.optional {
		return ctx, nil
	}
	ctx, claims, err := g.mw.Authenticate(call.request(), token)
	if err != nil {
		return nil, g.statuses.fail(err, r)
	}
	if r != nil {
		if err := r.allow(claims); err != nil {
			g.mw.Reject(call.request().WithContext(ctx), err)
			return nil, g.statuses.fail(err, r)
		}
	}
	return ctx, nil
}

// lookup returns the rule of a full method name, or nil for a method no
// option names.
func (g *Guard) lookup(method string) *rule {
	if r, ok := g.methods[method]; ok {
		return r
	}
	if len(g.services) == 0 {
		return nil
	}
	return g.services[service(method)]
}

// service returns the service prefix of a full method name, "/pkg.Service/"
// of "/pkg.Service/Method".
func service(method string) string {
	return method[:strings.LastIndexByte(method, '/')+1]
}
