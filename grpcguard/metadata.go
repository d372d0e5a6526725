package grpcguard

import (
	"context"
	"fmt"
	"net/http"
	"net/textproto"
	"net/url"
	"strings"

	"github.com/jwtguard/jwtguard"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"
)

// MaxAuthorizationSize is the largest authorization metadata value read,
// in bytes: the largest token any [jwtguard.Middleware] accepts
// ([jwtguard.WithMaxTokenSize] allows 64 KiB) plus room for the scheme and
// white space. A longer value is refused (Unauthenticated, an error matching
// [jwtguard.ErrMalformedToken]) before it is parsed; a shorter one holding
// a token over the Middleware's own limit is refused by the Middleware,
// before any decoding. The total size of a call's metadata is bounded by
// the server: see grpc.MaxHeaderListSize.
const MaxAuthorizationSize = 64<<10 + 1024

var (
	errTwoValues = fmt.Errorf("%w: more than one authorization metadata value", jwtguard.ErrMalformedRequest)
	errOversized = &tokenError{jwtguard.ErrMalformedToken, fmt.Sprintf("authorization metadata value over %d bytes", MaxAuthorizationSize)}
)

// tokenError is an error about a token found by this package: it matches
// its kind and [jwtguard.ErrInvalidToken], as jwtguard's token errors do.
type tokenError struct {
	kind   error
	detail string
}

func (e *tokenError) Error() string   { return e.kind.Error() + ": " + e.detail }
func (e *tokenError) Unwrap() []error { return []error{e.kind, jwtguard.ErrInvalidToken} }

// bearer parses one Authorization value with jwtguard's own parser, so that
// a gRPC call and an HTTP request are held to the same rules.
var bearer = jwtguard.AuthorizationHeader()

// call is one incoming gRPC call.
type call struct {
	ctx    context.Context
	method string
	md     metadata.MD
	r      *http.Request // built on first use
}

func newCall(ctx context.Context, method string) *call {
	md, _ := metadata.FromIncomingContext(ctx)
	return &call{ctx: ctx, method: method, md: md}
}

// token returns the bearer token of the call's "authorization" metadata:
// "" when there is none or it has another scheme, an error matching
// jwtguard.ErrMalformedRequest when there are several values or the value is
// malformed ("Bearer" alone, a space inside the token), as for an HTTP
// Authorization header. Binary metadata ("authorization-bin") is never read.
func (c *call) token() (string, error) {
	values := c.md["authorization"]
	switch len(values) {
	case 0:
		return "", nil
	case 1:
	default:
		return "", errTwoValues
	}
	if len(values[0]) > MaxAuthorizationSize {
		return "", errOversized
	}
	return bearer.Extract(c.request()) // its Authorization header is values
}

// request returns the call described as the HTTP/2 request it is, for the
// hooks of the Middleware: method POST, the full method name as the path,
// Host from :authority, the peer's address as RemoteAddr, the call's text
// metadata as the header (keys in canonical form, binary "-bin" metadata
// left out) and the call's context.
func (c *call) request() *http.Request {
	if c.r != nil {
		return c.r
	}
	h := make(http.Header, len(c.md))
	host := ""
	for k, v := range c.md {
		switch {
		case k == ":authority" && len(v) > 0:
			host = v[0]
		case strings.HasPrefix(k, ":") || strings.HasSuffix(k, "-bin"):
		default:
			h[textproto.CanonicalMIMEHeaderKey(k)] = v
		}
	}
	remote := ""
	if p, ok := peer.FromContext(c.ctx); ok && p.Addr != nil {
		remote = p.Addr.String()
	}
	r := &http.Request{
		Method:     http.MethodPost,
		URL:        &url.URL{Path: c.method},
		Proto:      "HTTP/2.0",
		ProtoMajor: 2,
		Header:     h,
		Body:       http.NoBody,
		Host:       host,
		RemoteAddr: remote,
		RequestURI: c.method,
	}
	c.r = r.WithContext(c.ctx)
	return c.r
}
