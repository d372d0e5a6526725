package jwtguard

import "errors"

// Sentinel errors of DPoP (RFC 9449), returned by [Middleware.Check] and
// passed to error handlers and failure hooks when [WithDPoP] is on. Match
// them with [errors.Is]. The message of each error names the check that
// failed (the header, claim or limit); it never holds the proof or the
// token.
var (
	// ErrDPoPProof means the DPoP proof is missing or fails one of the
	// checks of RFC 9449 §4.3: more than one DPoP header, not a compact JWS,
	// a typ other than dpop+jwt, an alg outside the allow-list, a jwk
	// header that is missing, private or does not fit the alg, a bad
	// signature, a missing jti, htm, htu or iat, an htm or htu of another
	// request, an iat outside the window, or an ath that is not the hash of
	// the access token. Answered with 401 and WWW-Authenticate: DPoP
	// error="invalid_dpop_proof" (400 {"error":"invalid_dpop_proof"} at the
	// token endpoints of [Sessions]). It does not match [ErrInvalidToken]:
	// the token may be fine.
	ErrDPoPProof = errors.New("jwtguard: invalid DPoP proof")

	// ErrDPoPReplay means the proof's jti was seen before within the proof
	// window: the proof is a replay. It also matches [ErrDPoPProof].
	ErrDPoPReplay = errors.New("jwtguard: DPoP proof replayed")

	// ErrDPoPNonce means the server requires a nonce in proofs
	// ([DPoPNonces]) and the proof has none, or one that is not current.
	// Answered with 401 and WWW-Authenticate: DPoP error="use_dpop_nonce"
	// (400 {"error":"use_dpop_nonce"} at the token endpoints), with a fresh
	// nonce in the DPoP-Nonce header. It also matches [ErrDPoPProof].
	ErrDPoPNonce = errors.New("jwtguard: DPoP nonce required")

	// ErrDPoPBinding means the access token is not bound to the proof's
	// key: its cnf.jkt is not the RFC 7638 thumbprint of the proof's jwk,
	// or a token without cnf.jkt came under the DPoP scheme. At the refresh
	// endpoint: a DPoP-bound refresh token with a proof by another key.
	// Answered with 401 invalid_token (400 invalid_grant at the refresh
	// endpoint). It also matches [ErrInvalidToken].
	ErrDPoPBinding = errors.New("jwtguard: token not bound to the DPoP key")

	// ErrDPoPRequired means a bearer token was refused because DPoP is
	// required: the mode is [DPoPRequired], or the token is DPoP-bound (it
	// has a cnf claim) and came as a bearer token (RFC 9449 §7.2), which
	// would let whoever stole it use it. Answered with 401 invalid_token
	// under the DPoP scheme. It also matches [ErrInvalidToken].
	ErrDPoPRequired = errors.New("jwtguard: DPoP required")
)

// dpopError is a DPoP failure: it matches its kind, and ErrDPoPProof or
// ErrInvalidToken. Each is built once.
type dpopError struct {
	kind   error
	detail string // the check that failed, for error_description
	wraps  []error
}

func (e *dpopError) Error() string { return e.kind.Error() + ": " + e.detail }

func (e *dpopError) Unwrap() []error { return e.wraps[:len(e.wraps):len(e.wraps)] }

// newDPoPError returns a failure of kind with detail, which must stand in
// a quoted string of a challenge as it is.
func newDPoPError(kind error, detail string) *dpopError {
	e := &dpopError{kind: kind, detail: detail, wraps: []error{kind}}
	switch kind {
	case ErrDPoPReplay, ErrDPoPNonce:
		e.wraps = append(e.wraps, ErrDPoPProof)
	case ErrDPoPBinding, ErrDPoPRequired:
		e.wraps = append(e.wraps, ErrInvalidToken)
	}
	return e
}

// Proof failures, one per check of RFC 9449 §4.3.
var (
	errDPoPMissing     = newDPoPError(ErrDPoPProof, "DPoP header required")
	errDPoPTwoHeaders  = newDPoPError(ErrDPoPProof, "more than one DPoP header")
	errDPoPTooLarge    = newDPoPError(ErrDPoPProof, "DPoP proof too large")
	errDPoPJWS         = newDPoPError(ErrDPoPProof, "DPoP proof is not a compact JWS")
	errDPoPHeader      = newDPoPError(ErrDPoPProof, "DPoP proof header is not a valid JSON object")
	errDPoPTyp         = newDPoPError(ErrDPoPProof, "DPoP proof typ must be dpop+jwt")
	errDPoPAlg         = newDPoPError(ErrDPoPProof, "DPoP proof alg not allowed")
	errDPoPCrit        = newDPoPError(ErrDPoPProof, "DPoP proof crit header is not supported")
	errDPoPNoJWK       = newDPoPError(ErrDPoPProof, "DPoP proof has no jwk header")
	errDPoPPrivateJWK  = newDPoPError(ErrDPoPProof, "DPoP proof jwk holds a private key")
	errDPoPBadJWK      = newDPoPError(ErrDPoPProof, "DPoP proof jwk is not a usable public key for its alg")
	errDPoPSignature   = newDPoPError(ErrDPoPProof, "DPoP proof signature does not verify with its jwk")
	errDPoPPayload     = newDPoPError(ErrDPoPProof, "DPoP proof payload is not a valid JSON object")
	errDPoPClaimType   = newDPoPError(ErrDPoPProof, "DPoP proof claim of the wrong JSON type")
	errDPoPNoJTI       = newDPoPError(ErrDPoPProof, "DPoP proof jti is required")
	errDPoPLongJTI     = newDPoPError(ErrDPoPProof, "DPoP proof jti is longer than 256 bytes")
	errDPoPNoHTM       = newDPoPError(ErrDPoPProof, "DPoP proof htm is required")
	errDPoPNoHTU       = newDPoPError(ErrDPoPProof, "DPoP proof htu is required")
	errDPoPNoIAT       = newDPoPError(ErrDPoPProof, "DPoP proof iat is required")
	errDPoPHTM         = newDPoPError(ErrDPoPProof, "DPoP proof htm is not the request method")
	errDPoPHTU         = newDPoPError(ErrDPoPProof, "DPoP proof htu is not the request URI")
	errDPoPIATOld      = newDPoPError(ErrDPoPProof, "DPoP proof iat is too old")
	errDPoPIATFuture   = newDPoPError(ErrDPoPProof, "DPoP proof iat is in the future")
	errDPoPNoATH       = newDPoPError(ErrDPoPProof, "DPoP proof ath is required with an access token")
	errDPoPATH         = newDPoPError(ErrDPoPProof, "DPoP proof ath is not the hash of the access token")
	errDPoPATHAtToken  = newDPoPError(ErrDPoPProof, "DPoP proof ath is not allowed at a token endpoint")
	errDPoPReplayed    = newDPoPError(ErrDPoPReplay, "DPoP proof jti already used")
	errDPoPNoNonce     = newDPoPError(ErrDPoPNonce, "DPoP proof nonce is required")
	errDPoPStaleNonce  = newDPoPError(ErrDPoPNonce, "DPoP proof nonce is not current")
	errDPoPWrongKey    = newDPoPError(ErrDPoPBinding, "token cnf.jkt is not the thumbprint of the DPoP proof key")
	errDPoPUnbound     = newDPoPError(ErrDPoPBinding, "DPoP scheme with a token that has no cnf.jkt")
	errDPoPBearerBound = newDPoPError(ErrDPoPRequired, "DPoP-bound token (cnf) presented as a bearer token")
	errDPoPBearer      = newDPoPError(ErrDPoPRequired, "bearer tokens are refused: use the DPoP scheme")
	errDPoPEmpty       = badRequest("DPoP scheme without a token")
	errDPoPSpace       = badRequest("DPoP token contains white space")
	errDPoPSep         = badRequest("separate the DPoP scheme from the token with a space, not a tab or another character")
	errDPoPWithBearer  = badRequest("a DPoP header needs Authorization: DPoP <token>, not Bearer")
)
