package jwtguard

import (
	"fmt"
	"net/http"
	"net/textproto"
)

// DefaultCSRFHeader is the request header that a cookie-authenticated
// unsafe request must carry (see [CSRF]).
const DefaultCSRFHeader = "X-Requested-With"

// CSRF configures the defence against cross-site request forgery applied to
// every request authenticated by a token from a cookie whose method is not
// GET, HEAD or OPTIONS (the methods [http.CrossOriginProtection] treats as
// safe; handlers must not change state on them). Such a request must pass
// two independent checks:
//
//  1. [http.CrossOriginProtection]: a browser's Sec-Fetch-Site header must
//     say same-origin (or none), or, from browsers without it, the Origin
//     header must match the Host.
//  2. A custom header, [DefaultCSRFHeader] ("X-Requested-With") unless
//     Header names another, must be present and not empty. A cross-site
//     HTML form cannot set a request header, and a cross-origin fetch that
//     sets one needs a CORS preflight that the server does not grant. The
//     value is not checked: "fetch" or "XMLHttpRequest" will do.
//
// Requests whose token comes from a header (Authorization: Bearer) are not
// checked: a browser never attaches one on its own. No decision reads
// r.URL.Scheme or r.URL.Host, which a server never fills from the client.
//
// The zero CSRF is the default.
type CSRF struct {
	// Protection is the cross-origin check. Default (nil): a new
	// [http.NewCrossOriginProtection], which trusts no other origin. Set
	// one to add trusted origins with AddTrustedOrigin.
	Protection *http.CrossOriginProtection

	// Header is the custom header required. Default (""):
	// [DefaultCSRFHeader].
	Header string
}

// WithCSRF sets the CSRF defence for requests authenticated by a cookie
// (see [CSRF] for what is checked). Default: the zero CSRF, that is
// [http.CrossOriginProtection] plus a non-empty X-Requested-With header.
// There is no option to turn the defence off.
func WithCSRF(c CSRF) Option {
	return func(cfg *config) {
		if c.Header != "" && !validHeaderName(c.Header) {
			cfg.errs = append(cfg.errs, fmt.Errorf("WithCSRF: %q is not a header name", c.Header))
		}
		cfg.csrf = c
	}
}

// csrfGuard is a checked CSRF ready for the request path.
type csrfGuard struct {
	protection *http.CrossOriginProtection
	header     string // canonical
	missing    error
}

func newCSRFGuard(c CSRF) csrfGuard {
	g := csrfGuard{protection: c.Protection, header: c.Header}
	if g.protection == nil {
		g.protection = http.NewCrossOriginProtection()
	}
	if g.header == "" {
		g.header = DefaultCSRFHeader
	}
	g.header = textproto.CanonicalMIMEHeaderKey(g.header)
	g.missing = &requestError{kind: ErrCrossOrigin,
		desc: "the " + g.header + " header is required on a request authenticated by a cookie (CSRF defence)"}
	return g
}

var errCrossOriginCheck = fmt.Errorf("%w: cross-origin request", ErrCrossOrigin)

// check applies both defences to a request authenticated by a cookie.
func (g *csrfGuard) check(r *http.Request) error {
	if err := g.crossOrigin(r); err != nil {
		return err
	}
	switch r.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		return nil
	}
	if v := r.Header[g.header]; len(v) == 0 || v[0] == "" {
		return g.missing
	}
	return nil
}

// crossOrigin applies the first defence alone: http.CrossOriginProtection,
// which lets safe methods through.
func (g *csrfGuard) crossOrigin(r *http.Request) error {
	if g.protection.Check(r) != nil {
		return errCrossOriginCheck
	}
	return nil
}

// validHeaderName reports whether s is an HTTP token (RFC 9110 §5.6.2).
func validHeaderName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
			c == '-' || c == '_' || c == '.' || c == '!' || c == '#' || c == '$' || c == '%' ||
			c == '&' || c == '\'' || c == '*' || c == '+' || c == '^' || c == '`' || c == '|' || c == '~') {
			return false
		}
	}
	return true
}
