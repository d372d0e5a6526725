package jwtguard

import (
	"errors"
	"fmt"

	"github.com/golang-jwt/jwt/v5"
)

// Sentinel errors returned by [Middleware.Check] and [Middleware.Verify] and
// passed to error handlers and failure hooks. Match them with [errors.Is]:
// every error about the token itself also matches [ErrInvalidToken], and
// errors that golang-jwt has a sentinel for match it too (for example an
// expired token matches both [ErrExpired] and [jwt.ErrTokenExpired]).
var (
	// ErrInvalidConfig is matched by the error [New] returns for a
	// configuration it refuses; the message lists every problem.
	ErrInvalidConfig = errors.New("jwtguard: invalid configuration")

	// ErrNoToken means the request carries no token in any configured
	// source (an Authorization header with another scheme, such as Basic,
	// counts as no token). Answered with 401 and a bare challenge.
	ErrNoToken = errors.New("jwtguard: no token")

	// ErrMalformedRequest means the request is ambiguous or broken: "Bearer"
	// with nothing after it, "Bearer" and the token separated by a tab
	// rather than a space, white space inside the token, two Authorization
	// headers, two token cookies of one name, or tokens in more than one
	// source. Answered with 400 invalid_request.
	ErrMalformedRequest = errors.New("jwtguard: malformed request")

	// ErrInvalidToken is matched by every error about a token that was
	// present but not acceptable. Answered with 401 invalid_token.
	ErrInvalidToken = errors.New("jwtguard: invalid token")

	// ErrMalformedToken means the token is not a well-formed compact JWS:
	// too large, characters outside base64url, not exactly three segments,
	// non-canonical base64url, invalid UTF-8, JSON that is not a single
	// object, duplicate member names, claims of the wrong JSON type, or an
	// exp, nbf or iat outside years 1 to 9999.
	ErrMalformedToken = errors.New("jwtguard: malformed token")

	// ErrAlgorithm means the token's alg is not in the allow-list (which
	// never contains "none"), or the header is unusable: a crit parameter,
	// which this package implements none of (described to the client as
	// "unsupported crit header").
	ErrAlgorithm = errors.New("jwtguard: algorithm not allowed")

	// ErrUnknownKey means no configured key matches the token's kid, or the
	// token has no kid while several keys could verify it.
	ErrUnknownKey = errors.New("jwtguard: unknown key")

	// ErrSignature means the signature does not verify.
	ErrSignature = errors.New("jwtguard: invalid signature")

	// ErrMissingClaim means a required claim is absent (exp always is; sub,
	// absent or empty, unless [WithSubjectOptional]; iss, aud and the token
	// type when configured). The message names the claim. A missing iss,
	// aud or type also matches [ErrIssuer], [ErrAudience] or [ErrTokenType].
	ErrMissingClaim = errors.New("jwtguard: missing required claim")

	// ErrExpired means the token's exp is in the past (beyond the leeway).
	ErrExpired = errors.New("jwtguard: token expired")

	// ErrNotYetValid means the token's nbf, or its iat, is in the future
	// (beyond the leeway).
	ErrNotYetValid = errors.New("jwtguard: token not valid yet")

	// ErrIssuer means the token's iss is not the configured issuer.
	ErrIssuer = errors.New("jwtguard: wrong issuer")

	// ErrAudience means the token's aud does not contain a configured
	// audience.
	ErrAudience = errors.New("jwtguard: wrong audience")

	// ErrTokenType means the token is of another type than expected: a
	// refresh token where an access token is expected, or the reverse.
	ErrTokenType = errors.New("jwtguard: wrong token type")

	// ErrRevoked means the token, or the refresh token family it belongs
	// to, has been revoked in the [Store] (by a logout, or because a
	// rotated refresh token was used again).
	ErrRevoked = errors.New("jwtguard: token revoked")

	// ErrUnavailable means the token could not be checked because a service
	// it depends on failed: a revocation store that cannot be reached, or a
	// key set that could never be fetched; or is missing: a token of a
	// refresh token family (as an [Issuer] mints) reaching a middleware
	// without [WithStore] (see [WithInsecureNoRevocationCheck]). The
	// middleware fails closed: answered with 503, never passed.
	ErrUnavailable = errors.New("jwtguard: verification unavailable")

	// ErrInsufficientScope means a valid token lacks a required scope or
	// role. Answered with 403 insufficient_scope.
	ErrInsufficientScope = errors.New("jwtguard: insufficient scope")

	// ErrCrossOrigin means a request authenticated by a cookie, with a
	// method other than GET, HEAD or OPTIONS, failed the CSRF defence (see
	// [CSRF]). Answered with 403 invalid_request.
	ErrCrossOrigin = errors.New("jwtguard: cross-origin request refused")
)

// tokenError is the error value for a rejected token: it matches its kind
// ([ErrExpired], …), [ErrInvalidToken], and the golang-jwt cause when there
// is one.
type tokenError struct {
	kind   error
	also   error // a second kind, or nil
	cause  error // golang-jwt sentinel, or nil
	detail string
	public string  // the client's error_description when not the kind's; never from the token
	wraps  []error // what Unwrap returns, built once so errors.Is allocates nothing
}

func (e *tokenError) Error() string {
	if e.detail == "" {
		return e.kind.Error()
	}
	return e.kind.Error() + ": " + e.detail
}

func (e *tokenError) Unwrap() []error { return e.wraps[:len(e.wraps):len(e.wraps)] }

func (e *tokenError) description() string { return e.public }

// build fills wraps. Every tokenError is made by newTokenError or
// missingClaim, which call it.
func (e *tokenError) build() *tokenError {
	e.wraps = append(make([]error, 0, 4), e.kind, ErrInvalidToken)
	if e.also != nil {
		e.wraps = append(e.wraps, e.also)
	}
	if e.cause != nil {
		e.wraps = append(e.wraps, e.cause)
	}
	return e
}

// newTokenError returns an error of kind wrapping cause with a short detail
// that never contains token material.
func newTokenError(kind, cause error, detail string) error {
	return (&tokenError{kind: kind, cause: cause, detail: detail}).build()
}

// publicTokenError is newTokenError with detail as the client's
// error_description too.
func publicTokenError(kind, cause error, detail string) error {
	return (&tokenError{kind: kind, cause: cause, detail: detail, public: detail}).build()
}

// missingClaim returns the error for a required claim that is absent: it
// matches kind, [ErrMissingClaim] and [jwt.ErrTokenRequiredClaimMissing],
// and its description names the claim ("missing required claim: type").
func missingClaim(kind error, claim string) error {
	e := &tokenError{kind: kind, cause: jwt.ErrTokenRequiredClaimMissing, public: "missing required claim: " + claim}
	e.detail = e.public
	if kind == ErrMissingClaim {
		e.detail = claim
	} else {
		e.also = ErrMissingClaim
	}
	return e.build()
}

// missingTypeAtJWT is the missing type claim error for a token whose typ
// header is at+jwt: an RFC 9068 access token, typed in its header. Its
// message (for the logger and the failure hook) names the option that
// accepts such tokens; its description is missingClaim's.
func missingTypeAtJWT(claim string) error {
	e := missingClaim(ErrTokenType, claim).(*tokenError)
	e.detail += `; the typ header is at+jwt (RFC 9068): to check the type there, use WithTokenTypeHeader("at+jwt") (TrustedIssuer.TokenTypeHeader)`
	return e
}

// requestError is a refused request that is not about a token's content
// (malformed, or failing the CSRF defence): it matches kind and carries the
// client's error_description, which names what to fix and never holds
// anything from the request.
type requestError struct {
	kind error // ErrMalformedRequest, ErrCrossOrigin or ErrNoToken
	desc string
}

func (e *requestError) Error() string { return e.kind.Error() + ": " + e.desc }
func (e *requestError) Unwrap() error { return e.kind }
func (e *requestError) description() string {
	return e.desc
}

// badRequest returns a malformed-request error (400) described by desc.
func badRequest(desc string) error { return &requestError{kind: ErrMalformedRequest, desc: desc} }

// describer is an error with its own error_description.
type describer interface{ description() string }

// ErrorDescription returns the error_description the middleware's HTTP
// responses give err when err has one of its own, more precise than its
// kind's: "token too large", "unsupported crit header: …", "missing
// required claim: sub"; "" when it has none (describe err by the sentinel
// it matches then). The text is fixed: it names what to fix and never holds
// anything from the request, the token or a key. It is for adapters that
// answer in another protocol, such as gRPC, with the same words.
func ErrorDescription(err error) string {
	var d describer
	if errors.As(err, &d) {
		return d.description()
	}
	return ""
}

// Errors that carry no per-request data are built once, so rejecting a token
// allocates nothing.
var (
	errTooLarge     = publicTokenError(ErrMalformedToken, jwt.ErrTokenMalformed, "token too large")
	errCharset      = newTokenError(ErrMalformedToken, jwt.ErrTokenMalformed, "character outside base64url")
	errSegments     = newTokenError(ErrMalformedToken, jwt.ErrTokenMalformed, "token must have three segments")
	errBase64       = newTokenError(ErrMalformedToken, jwt.ErrTokenMalformed, "invalid base64url")
	errHeaderJSON   = newTokenError(ErrMalformedToken, jwt.ErrTokenMalformed, "header is not a valid JSON object")
	errPayloadJSON  = newTokenError(ErrMalformedToken, jwt.ErrTokenMalformed, "payload is not a valid JSON object")
	errNoAlg        = newTokenError(ErrMalformedToken, jwt.ErrTokenMalformed, "header has no alg")
	errCrit         = publicTokenError(ErrAlgorithm, jwt.ErrTokenUnverifiable, "unsupported crit header: this verifier implements no JWS extension")
	errAlg          = newTokenError(ErrAlgorithm, jwt.ErrTokenSignatureInvalid, "algorithm not allowed")
	errKid          = newTokenError(ErrUnknownKey, jwt.ErrTokenUnverifiable, "no key for this kid")
	errKidRequired  = newTokenError(ErrUnknownKey, jwt.ErrTokenUnverifiable, "kid required")
	errSignature    = newTokenError(ErrSignature, jwt.ErrTokenSignatureInvalid, "")
	errNoExp        = missingClaim(ErrMissingClaim, "exp")
	errNoSub        = missingClaim(ErrMissingClaim, "sub")
	errClaimType    = newTokenError(ErrMalformedToken, jwt.ErrInvalidType, "claim of the wrong JSON type")
	errExpired      = newTokenError(ErrExpired, jwt.ErrTokenExpired, "")
	errNotBefore    = newTokenError(ErrNotYetValid, jwt.ErrTokenNotValidYet, "")
	errIssuedFuture = newTokenError(ErrNotYetValid, jwt.ErrTokenUsedBeforeIssued, "iat is in the future")
	errNoIssuer     = missingClaim(ErrIssuer, "iss")
	errIssuer       = newTokenError(ErrIssuer, jwt.ErrTokenInvalidIssuer, "")
	errNoAudience   = missingClaim(ErrAudience, "aud")
	errAudience     = newTokenError(ErrAudience, jwt.ErrTokenInvalidAudience, "")
	errType         = newTokenError(ErrTokenType, jwt.ErrTokenInvalidClaims, "")
	errHeaderType   = newTokenError(ErrTokenType, jwt.ErrTokenInvalidClaims, "typ header names another token type")
	errRevoked      = newTokenError(ErrRevoked, nil, "")
	errNoJTI        = missingClaim(ErrMissingClaim, "jti")
	errBearerEmpty  = badRequest("bearer scheme without a token")
	errBearerSpace  = badRequest("bearer token contains white space")
	errBearerSep    = badRequest("separate the Bearer scheme from the token with a space, not a tab or another character")
	errManySources  = badRequest("token in more than one place: send it in one only")
	errInsufficient = fmt.Errorf("%w: claims lack a required scope or role", ErrInsufficientScope)
)

// describedErrors are the package's errors with descriptions of their own
// whose responses [New] builds ahead.
var describedErrors = [...]error{
	errTooLarge, errCrit, errNoExp, errNoSub, errNoIssuer, errNoAudience, errNoJTI,
	errBearerEmpty, errBearerSpace, errBearerSep, errManySources,
	errDPoPEmpty, errDPoPSpace, errDPoPSep, errDPoPWithBearer,
}

// errDuplicate reports a source that occurs more than once in one request.
func errDuplicate(what string) error {
	return badRequest("more than one " + what)
}
