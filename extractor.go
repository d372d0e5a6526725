package jwtguard

import (
	"errors"
	"fmt"
	"net/http"
	"net/textproto"
	"strings"
)

// Source says where a token was found.
type Source uint8

// Token sources.
const (
	SourceNone   Source = iota // no token
	SourceHeader               // the Authorization header or another header
	SourceCookie               // a cookie
	SourceQuery                // the query string
	SourceCustom               // an extractor made by ExtractorFunc
)

// An Extractor finds a token in one place of a request. It tells "absent"
// (an empty token and a nil error) from "malformed" (an error matching
// [ErrMalformedRequest]). Make one with [AuthorizationHeader], [Header],
// [Cookie], [InsecureQuery] or [ExtractorFunc]; the zero Extractor is
// invalid.
type Extractor struct {
	source  Source
	name    string // what it reads, to find one named twice; "" for ExtractorFunc
	err     error  // a construction problem, reported by New
	extract func(r *http.Request) (string, error)
}

// Extract returns the token this extractor finds in r.
func (e Extractor) Extract(r *http.Request) (string, error) { return e.extract(r) }

// Source returns the kind of place this extractor reads.
func (e Extractor) Source() Source { return e.source }

// AuthorizationHeader reads an RFC 6750 bearer token: "Authorization:
// Bearer <token>", the scheme in any case, one or more spaces, surrounding
// white space ignored. Another scheme (Basic, …) counts as no token; "Bearer"
// with nothing after it, "Bearer" followed by a tab or another character
// that is neither a space nor part of a longer scheme name, a token with a
// space or tab inside, or two Authorization headers are malformed.
func AuthorizationHeader() Extractor {
	return Extractor{source: SourceHeader, name: "header Authorization", extract: bearer}
}

var errTwoAuthorization = errDuplicate("Authorization header")

func bearer(r *http.Request) (string, error) { return bearerScheme.token(r) }

// authScheme is an HTTP authentication scheme whose credentials are one
// token (RFC 9110 §11.4): Bearer (RFC 6750 §2.1) or DPoP (RFC 9449 §7.1),
// with the errors for a malformed Authorization header under it.
type authScheme struct {
	lower string // the scheme's name in lower case
	// empty: the scheme without a token; space: white space inside the
	// token; sep: the scheme followed by neither a space nor a character
	// of a longer scheme name.
	empty, space, sep error
}

var bearerScheme = authScheme{lower: "bearer", empty: errBearerEmpty, space: errBearerSpace, sep: errBearerSep}

// token reads "Authorization: <scheme> <token>": the scheme in any case,
// one or more spaces, surrounding white space ignored. Another scheme is
// no token (""); two Authorization headers, the scheme without a token, a
// separator other than spaces or a token with white space inside are
// malformed.
func (s *authScheme) token(r *http.Request) (string, error) {
	values := r.Header["Authorization"]
	switch len(values) {
	case 0:
		return "", nil
	case 1:
	default:
		return "", errTwoAuthorization
	}
	v := strings.TrimSpace(values[0])
	if len(v) < len(s.lower) || !strings.EqualFold(v[:len(s.lower)], s.lower) {
		return "", nil
	}
	rest := v[len(s.lower):]
	if rest == "" {
		return "", s.empty
	}
	if c := rest[0]; c != ' ' {
		if tchar(c) {
			return "", nil // another scheme that starts with this one, such as "Bearerx"
		}
		// "Bearer<TAB>token", "Bearer,token": no scheme is spelt so, and
		// RFC 6750 §2.1 separates scheme and token with spaces only.
		return "", s.sep
	}
	token := strings.TrimLeft(rest, " ")
	if token == "" {
		return "", s.empty
	}
	// Two IndexByte calls (vectorised) rather than ContainsAny, which tests
	// the token byte by byte and was a fifth of a cached request.
	if strings.IndexByte(token, ' ') >= 0 || strings.IndexByte(token, '\t') >= 0 {
		return "", s.space
	}
	return token, nil
}

// tchar reports whether c may stand in an auth scheme name (a token of RFC
// 9110 §5.6.2).
func tchar(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
		strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0
}

// Header reads the whole value of the named header as the token, white space
// trimmed. An empty value is no token; the header twice is malformed.
func Header(name string) Extractor {
	key := textproto.CanonicalMIMEHeaderKey(name)
	dup := errDuplicate(key + " header")
	return Extractor{source: SourceHeader, name: "header " + key, err: checkName("Header", name), extract: func(r *http.Request) (string, error) {
		values := r.Header[key]
		switch len(values) {
		case 0:
			return "", nil
		case 1:
			return strings.TrimSpace(values[0]), nil
		}
		return "", dup
	}}
}

// Cookie reads the token from the named cookie. An empty value is no token;
// two cookies of that name (which an attacker on a sibling domain can plant)
// are malformed. The Cookie headers are scanned without allocating.
func Cookie(name string) Extractor {
	dup := errDuplicate(name + " cookie")
	return Extractor{source: SourceCookie, name: "cookie " + name, err: checkName("Cookie", name), extract: func(r *http.Request) (string, error) {
		token, n := "", 0
		for _, line := range r.Header["Cookie"] {
			for line != "" {
				var part string
				part, line, _ = strings.Cut(line, ";")
				part = strings.TrimSpace(part)
				k, v, ok := strings.Cut(part, "=")
				if !ok || k != name {
					continue
				}
				if len(v) >= 2 && v[0] == '"' && v[len(v)-1] == '"' {
					v = v[1 : len(v)-1]
				}
				token = v
				n++
			}
		}
		if n > 1 {
			return "", dup
		}
		return token, nil
	}}
}

// InsecureQuery reads the token from the named query parameter. Tokens in
// URLs end up in access logs, browser history and Referer headers (RFC 6750
// §5.3), so no default uses this; name it only where nothing else works, such
// as a WebSocket handshake from a browser. The parameter twice is malformed.
func InsecureQuery(param string) Extractor {
	dup := errDuplicate(param + " query parameter")
	return Extractor{source: SourceQuery, name: "query " + param, err: checkName("InsecureQuery", param), extract: func(r *http.Request) (string, error) {
		if r.URL == nil || r.URL.RawQuery == "" {
			return "", nil
		}
		values := r.URL.Query()[param]
		switch len(values) {
		case 0:
			return "", nil
		case 1:
			return values[0], nil
		}
		return "", dup
	}}
}

// ExtractorFunc makes an Extractor of fn, which must return "" and nil (or
// an error matching [ErrNoToken]) when the request carries no token, and an
// error wrapping [ErrMalformedRequest] when it is malformed.
// Any other error is wrapped so that it matches ErrMalformedRequest.
func ExtractorFunc(fn func(r *http.Request) (string, error)) Extractor {
	if fn == nil {
		return Extractor{}
	}
	return Extractor{source: SourceCustom, extract: func(r *http.Request) (string, error) {
		token, err := fn(r)
		if err == nil || errors.Is(err, ErrMalformedRequest) {
			return token, err
		}
		if errors.Is(err, ErrNoToken) {
			// Absence, said with the sentinel: the other sources are
			// still read, and Optional lets the request through.
			return "", nil
		}
		return "", fmt.Errorf("%w: %w", ErrMalformedRequest, err)
	}}
}

// checkName refuses an empty name or one with characters that cannot stand
// in a header field name, a cookie name or a query parameter.
func checkName(what, name string) error {
	if name == "" {
		return fmt.Errorf("%s: empty name", what)
	}
	for i := 0; i < len(name); i++ {
		if c := name[i]; c <= ' ' || c >= 0x7F || strings.IndexByte("\"(),/:;<=>?@[\\]{}", c) >= 0 {
			return fmt.Errorf("%s: %q is not a valid name", what, name)
		}
	}
	return nil
}

// extract runs every extractor. It returns the token and its source, or
// ErrNoToken, or the first malformed-request error; tokens in two sources are
// malformed.
func extract(extractors []Extractor, r *http.Request) (string, Source, error) {
	token, source := "", SourceNone
	for _, e := range extractors {
		t, err := e.extract(r)
		if err != nil {
			return "", SourceNone, err
		}
		if t == "" {
			continue
		}
		if token != "" {
			return "", SourceNone, errManySources
		}
		token, source = t, e.source
	}
	if token == "" {
		return "", SourceNone, ErrNoToken
	}
	return token, source, nil
}
