package jwtguard

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
)

// This file writes the default RFC 6750 responses. Every response is built
// once in New; writing one only assigns prebuilt header values and body.
//
//	error                     status  WWW-Authenticate
//	ErrNoToken                401     Bearer realm="…"
//	ErrMalformedRequest       400     Bearer realm="…", error="invalid_request", error_description="…"
//	ErrInvalidToken (any)     401     Bearer realm="…", error="invalid_token", error_description="…"
//	ErrInsufficientScope      403     Bearer realm="…", error="insufficient_scope", error_description="…"[, scope="…"]
//	ErrUnavailable            503     (none)
//	ErrCrossOrigin            403     (none), error="invalid_request"
//	anything else             401     as ErrInvalidToken, "invalid token"
//
// The body is a small JSON object {"error": …, "error_description": …}. It
// never holds the token, golang-jwt's message or anything else from the
// request. An error that names what to fix (a [describer]: "missing
// required claim: type", "token too large", "the X-Requested-With header is
// required …") gets its own error_description, with the status and code of
// its kind.

// response is one prebuilt answer.
type response struct {
	status    int
	code      string   // the body's error
	challenge []string // WWW-Authenticate value, shared: never modified
	body      []byte
}

// tokenDescriptions gives each token error kind its error_description, most
// specific first.
var tokenDescriptions = []struct {
	kind        error
	description string
}{
	{ErrMalformedToken, "malformed token"},
	{ErrAlgorithm, "algorithm not allowed"},
	{ErrUnknownKey, "unknown signing key"},
	{ErrSignature, "invalid signature"},
	{ErrMissingClaim, "missing required claim"},
	{ErrExpired, "token expired"},
	{ErrNotYetValid, "token not valid yet"},
	{ErrIssuer, "wrong issuer"},
	{ErrAudience, "wrong audience"},
	{ErrTokenType, "wrong token type"},
	{ErrRevoked, "token revoked"},
}

type responses struct {
	realm          string
	noToken        response
	invalidRequest response
	invalidToken   response // for token errors of no listed kind
	forbidden      response // ErrInsufficientScope without a scope
	unavailable    response
	crossOrigin    response
	byKind         []response           // parallel to tokenDescriptions
	described      map[string]*response // by description: describers' responses, built ahead
}

var (
	contentTypeJSON = []string{"application/json"}
	noStore         = []string{"no-store"}
)

// newResponses builds the responses for realm, those of the package's
// described errors, and those of extra (the middleware's own).
func newResponses(realm string, extra ...error) responses {
	rs := responses{
		realm: realm,
		noToken: response{
			status:    http.StatusUnauthorized,
			code:      "unauthorized",
			challenge: []string{`Bearer realm="` + realm + `"`},
			body:      body("unauthorized", "a bearer token is required"),
		},
		invalidRequest: newResponse(realm, http.StatusBadRequest, "invalid_request", "malformed request", ""),
		invalidToken:   newResponse(realm, http.StatusUnauthorized, "invalid_token", "invalid token", ""),
		forbidden:      newResponse(realm, http.StatusForbidden, "insufficient_scope", "insufficient scope", ""),
		unavailable: response{
			status: http.StatusServiceUnavailable,
			code:   "temporarily_unavailable",
			body:   body("temporarily_unavailable", "the token cannot be checked now"),
		},
		crossOrigin: response{
			status: http.StatusForbidden,
			code:   "invalid_request",
			body:   body("invalid_request", "cross-origin request refused"),
		},
	}
	for _, d := range tokenDescriptions {
		rs.byKind = append(rs.byKind, newResponse(realm, http.StatusUnauthorized, "invalid_token", d.description, ""))
	}
	rs.described = make(map[string]*response, len(describedErrors)+len(extra))
	for _, err := range append(describedErrors[:], extra...) {
		if d, ok := err.(describer); ok {
			rs.described[d.description()] = rs.describe(rs.base(err), d.description())
		}
	}
	return rs
}

// describe returns base with description desc, without the characters a
// quoted-string cannot hold.
func (rs *responses) describe(base *response, desc string) *response {
	desc = quotableOnly(desc)
	r := &response{status: base.status, code: base.code, challenge: base.challenge, body: body(base.code, desc)}
	if base.challenge != nil && base.code != "unauthorized" {
		r.challenge = newResponse(rs.realm, base.status, base.code, desc, "").challenge
	}
	return r
}

func newResponse(realm string, status int, code, description, scope string) response {
	challenge := `Bearer realm="` + realm + `", error="` + code + `", error_description="` + description + `"`
	if scope != "" {
		challenge += `, scope="` + scope + `"`
	}
	return response{status: status, code: code, challenge: []string{challenge}, body: body(code, description)}
}

func body(code, description string) []byte {
	b, _ := json.Marshal(struct {
		Error       string `json:"error"`
		Description string `json:"error_description"`
	}{code, description})
	return append(b, '\n')
}

// scopeError is the error of a request whose claims lack a scope or role. It
// carries its prebuilt response.
type scopeError struct {
	scope string // the scopes required, for the challenge's scope attribute
	roles string // the roles required
	resp  response
}

func (e *scopeError) Error() string {
	switch {
	case e.scope != "":
		return errInsufficient.Error() + " (needs " + strconv.Quote(e.scope) + ")"
	case e.roles != "":
		return errInsufficient.Error() + " (needs role " + strconv.Quote(e.roles) + ")"
	}
	return errInsufficient.Error()
}

func (e *scopeError) Unwrap() error { return errInsufficient }

// insufficient returns the error for a RequireScope that denies access;
// scope, when not empty, is named in the challenge.
func (rs *responses) insufficient(scope string) error {
	scope = quotableOnly(scope)
	return &scopeError{
		scope: scope,
		resp:  newResponse(rs.realm, http.StatusForbidden, "insufficient_scope", "insufficient scope", scope),
	}
}

// insufficientRoles returns the error for a RequireRole that denies access:
// its description names the roles ("role required: admin").
func (rs *responses) insufficientRoles(roles []string) error {
	list := quotableOnly(strings.Join(roles, " "))
	desc := "insufficient scope"
	switch {
	case len(roles) == 1:
		desc = "role required: " + list
	case len(roles) > 1:
		desc = "roles required: " + list
	}
	return &scopeError{
		roles: list,
		resp:  newResponse(rs.realm, http.StatusForbidden, "insufficient_scope", desc, ""),
	}
}

// quotableOnly drops from s the characters a quoted-string cannot hold.
func quotableOnly(s string) string {
	if quotable(s) {
		return s
	}
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r > 0x7E || r == '"' || r == '\\' {
			return -1
		}
		return r
	}, s)
}

// lookup finds the response for err: that of its kind, with its own
// description when it has one.
func (rs *responses) lookup(err error) *response {
	var own *answeredError
	if errors.As(err, &own) {
		return &own.resp
	}
	var d describer
	if errors.As(err, &d) && d.description() != "" {
		if r, ok := rs.described[d.description()]; ok {
			return r
		}
		return rs.describe(rs.base(err), d.description())
	}
	return rs.base(err)
}

// base finds the response of err's kind.
func (rs *responses) base(err error) *response {
	switch {
	case errors.Is(err, ErrNoToken):
		return &rs.noToken
	case errors.Is(err, ErrMalformedRequest):
		return &rs.invalidRequest
	case errors.Is(err, ErrUnavailable):
		return &rs.unavailable
	case errors.Is(err, ErrCrossOrigin):
		return &rs.crossOrigin
	}
	var se *scopeError
	if errors.As(err, &se) {
		return &se.resp
	}
	if errors.Is(err, ErrInsufficientScope) {
		return &rs.forbidden
	}
	for i, d := range tokenDescriptions {
		if errors.Is(err, d.kind) {
			return &rs.byKind[i]
		}
	}
	return &rs.invalidToken
}

// write answers the request for err.
func (rs *responses) write(w http.ResponseWriter, err error) {
	resp := rs.lookup(err)
	h := w.Header()
	if resp.challenge != nil {
		h["Www-Authenticate"] = resp.challenge
	}
	h["Content-Type"] = contentTypeJSON
	h["Cache-Control"] = noStore
	w.WriteHeader(resp.status)
	_, _ = w.Write(resp.body)
}
