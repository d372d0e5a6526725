package grpcguard

import (
	"errors"
	"strings"
	"sync"

	"github.com/jwtguard/jwtguard"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// This file maps jwtguard errors to gRPC statuses, as response.go in
// jwtguard maps them to HTTP responses:
//
//	error                      code              message
//	ErrNoToken                 Unauthenticated   a bearer token is required: …
//	ErrMalformedRequest        InvalidArgument   malformed authorization metadata: <reason>
//	ErrUnavailable             Unavailable       the token cannot be checked now: …
//	ErrInsufficientScope       PermissionDenied  insufficient scope: the method needs …
//	ErrInvalidToken (any)      Unauthenticated   invalid token: <description or kind>
//	anything else              Unauthenticated   invalid token
//
// A token error with a description of its own (jwtguard.ErrorDescription:
// "token too large", "unsupported crit header: …", "missing required
// claim: sub") gets it, as over HTTP; the others their kind's words.
//
// Every message is fixed text: nothing from the token, golang-jwt, a store
// or a key set reaches the client.

// tokenDescriptions gives each token error kind its message, most specific
// first; the same words as jwtguard's HTTP error_description.
var tokenDescriptions = []struct {
	kind        error
	description string
}{
	{jwtguard.ErrMalformedToken, "malformed token"},
	{jwtguard.ErrAlgorithm, "algorithm not allowed"},
	{jwtguard.ErrUnknownKey, "unknown signing key"},
	{jwtguard.ErrSignature, "invalid signature"},
	{jwtguard.ErrMissingClaim, "missing required claim"},
	{jwtguard.ErrExpired, "token expired"},
	{jwtguard.ErrNotYetValid, "token not valid yet"},
	{jwtguard.ErrIssuer, "wrong issuer"},
	{jwtguard.ErrAudience, "wrong audience"},
	{jwtguard.ErrTokenType, "wrong token type"},
	{jwtguard.ErrRevoked, "token revoked"},
}

// statuses holds the statuses of refused calls, built once.
type statuses struct {
	noToken      *status.Status
	oversized    *status.Status
	unavailable  *status.Status
	invalidToken *status.Status
	forbidden    *status.Status   // ErrInsufficientScope without a rule's own status
	byKind       []*status.Status // parallel to tokenDescriptions
	// described holds the statuses of token errors with descriptions of
	// their own, by description, made on first use: fixed texts, so few.
	described *sync.Map
}

func newStatuses() statuses {
	s := statuses{
		noToken:      status.New(codes.Unauthenticated, `a bearer token is required: send metadata "authorization: Bearer <token>"`),
		oversized:    status.New(codes.Unauthenticated, "invalid token: "+errOversized.detail),
		unavailable:  status.New(codes.Unavailable, "the token cannot be checked now: try again later"),
		invalidToken: status.New(codes.Unauthenticated, "invalid token"),
		forbidden:    status.New(codes.PermissionDenied, "insufficient scope"),
		described:    new(sync.Map),
	}
	for _, d := range tokenDescriptions {
		s.byKind = append(s.byKind, status.New(codes.Unauthenticated, "invalid token: "+d.description))
	}
	return s
}

// fail returns the error that ends a call refused for err under rule r
// (nil for a method no option names).
func (s *statuses) fail(err error, r *rule) error {
	return &callError{st: s.lookup(err, r), err: err}
}

func (s *statuses) lookup(err error, r *rule) *status.Status {
	switch {
	case errors.Is(err, jwtguard.ErrNoToken):
		return s.noToken
	case errors.Is(err, jwtguard.ErrMalformedRequest):
		return status.New(codes.InvalidArgument, "malformed authorization metadata: "+malformedReason(err))
	case errors.Is(err, jwtguard.ErrUnavailable):
		return s.unavailable
	case errors.Is(err, jwtguard.ErrInsufficientScope):
		if r != nil && r.deniedStatus != nil {
			return r.deniedStatus
		}
		return s.forbidden
	case err == errOversized:
		return s.oversized
	}
	if d := jwtguard.ErrorDescription(err); d != "" && errors.Is(err, jwtguard.ErrInvalidToken) {
		if st, ok := s.described.Load(d); ok {
			return st.(*status.Status)
		}
		st, _ := s.described.LoadOrStore(d, status.New(codes.Unauthenticated, "invalid token: "+d))
		return st.(*status.Status)
	}
	for i, d := range tokenDescriptions {
		if errors.Is(err, d.kind) {
			return s.byKind[i]
		}
	}
	return s.invalidToken
}

// malformedReason returns what is wrong with the metadata: the text after
// "jwtguard: malformed request: " of the errors of this package and of
// jwtguard's Authorization header parser, which are fixed strings.
func malformedReason(err error) string {
	prefix := jwtguard.ErrMalformedRequest.Error() + ": "
	if msg := err.Error(); strings.HasPrefix(msg, prefix) {
		return msg[len(prefix):]
	}
	return "malformed request"
}

// callError is the error of a refused call: a gRPC status error (its
// GRPCStatus method is what grpc-go sends, and what status.FromError and
// status.Code read) that wraps the jwtguard error for errors.Is. Its text is
// the status's, so that wrapping it never sends the jwtguard error's text
// to the client.
type callError struct {
	st  *status.Status
	err error
}

func (e *callError) Error() string { return e.st.Err().Error() }

// GRPCStatus returns the status the client receives.
func (e *callError) GRPCStatus() *status.Status { return e.st }

// Unwrap returns the jwtguard error, matching one of its sentinels.
func (e *callError) Unwrap() error { return e.err }
