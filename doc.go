// Package jwtguard is net/http middleware that authenticates requests with
// JSON Web Tokens, strictly by default, and serves the rest of their life:
// login, refresh with rotation, logout that revokes, cookies for browsers,
// and key rotation.
//
// A quick start, for tokens that another service mints:
//
//	guard, err := jwtguard.New(
//		jwtguard.WithKey("HS256", secret), // at least 32 random bytes
//		jwtguard.WithIssuer("https://auth.example.com"),
//		jwtguard.WithAudience("orders-api"),
//	)
//	if err != nil {
//		log.Fatal(err) // every configuration problem, reported together
//	}
//	mux.Handle("GET /orders", guard.Handler(orders))
//	// in orders: claims, _ := jwtguard.FromContext(r.Context())
//
// When this package logs users in as well, take the guard from
// [Sessions.Handler] instead (see [NewSessions]): only a guard that
// consults the [Store] refuses the tokens of a session that logged out, and
// a guard from New without one refuses the tokens an [Issuer] mints rather
// than miss their logout ([WithInsecureNoRevocationCheck] accepts them).
//
// # Verification
//
// [New] builds a [Middleware], the guard, from [Option] values and reports
// every configuration problem at once. It finds a token in the request
// ([AuthorizationHeader] by default; [Cookie], [Header], [ExtractorFunc] and
// [InsecureQuery] through [WithExtractors]), verifies it against an
// explicit allow-list of algorithms and keys, requires exp and sub
// ([WithSubjectOptional] for issuers that omit it), checks nbf, iat, iss
// ([WithIssuer]), aud ([WithAudience]) and the token type (an access token
// is never accepted where a refresh token is expected, nor the reverse), and
// puts the claims in the request context.
//
// Protect routes with [Middleware.Handler], [Middleware.Optional],
// [Middleware.RequireScope] and [Middleware.RequireRole]; check without
// writing a response with [Middleware.Check] and [Middleware.Verify]; serve
// other transports with [Middleware.Authenticate] and [Middleware.Reject],
// as the grpcguard module's gRPC interceptors do. Read
// the claims with [FromContext], or with [ClaimsFromContext] for a type of
// your own ([WithClaimsType]); [NewContext] lets handlers be tested without
// tokens. [WithCache] skips the signature check for tokens seen before.
//
// Refused requests get RFC 6750 responses: 401 with a bare challenge when
// there is no token, 401 invalid_token for any bad token, 400
// invalid_request for a malformed request, 403 insufficient_scope from
// RequireScope and RequireRole, and 503 when a service the check depends on
// failed. The protected handler is never called for them. Every refusal is
// an error matching a sentinel with errors.Is ([ErrNoToken],
// [ErrMalformedRequest], [ErrInvalidToken] with [ErrExpired],
// [ErrSignature], [ErrRevoked]…), passed to [WithFailureHook] and logged by
// [WithLogger] (log/slog, the reason never holding the token); responses
// can be replaced with [WithErrorHandler]. Their descriptions say what to
// fix: "missing required claim: type", "token too large".
//
// # The lifecycle
//
// An [Issuer] ([NewIssuer], [IssuerConfig]) mints access/refresh pairs
// ([Issuer.Issue]). [Sessions] ([NewSessions]) serves the endpoints:
// [Sessions.LoginHandler] checks credentials with a [LoginFunc],
// [Sessions.RefreshHandler] rotates refresh tokens and revokes the whole
// family when one is used twice, [Sessions.LogoutHandler] revokes the
// session, and [Sessions.Handler] (with [Sessions.RequireRole],
// [Sessions.RequireScope], [Sessions.Optional]) guards your routes. A
// [Store] keeps revocations and rotations: [NewMemoryStore] for one
// process, or a shared store such as the redisstore module for several
// instances ([WithStore] adds one to a guard of your own). [WithCookies]
// puts the tokens in httpOnly cookies for browsers, with a CSRF defence
// ([CSRF], [WithCSRF]) that cannot be turned off; [WithCookiesForBrowsers]
// serves browsers in cookies and API clients in JSON from the same
// endpoints. Claims the issuer cannot mint are refused when minting
// ([ErrCannotIssue]).
//
// Every login is a session users can see and end: [Sessions.ListSessionsHandler]
// and [Sessions.EndSessionHandler], logout scopes (local, others, global),
// and [Sessions.RevokeSubject] to sign a user out everywhere (every token
// issued until then refused on every instance, from the store's memory).
// A session ends at its maximum age ([WithSessionMaxAge]) however often it
// is refreshed, its tokens carry the login's auth_time, and
// [Middleware.RequireFreshLogin] asks for a recent login (RFC 9470).
//
// # DPoP
//
// [WithDPoP] binds tokens to a key the client holds (RFC 9449): in
// [DPoPAllowed] or [DPoPRequired] mode a request under the DPoP scheme must
// carry a proof that passes every check of RFC 9449 §4.3, its jti
// remembered in a [ReplayCache] ([MemoryReplayCache], or the redisstore
// module's Store for several instances), with [DPoPNonces] for server
// nonces and [DPoPTrustedProxies] for proxies named by address. Given to
// [Sessions] through [WithAccessOptions], it makes the login and refresh
// endpoints bind the pairs they mint to the proof's key. Failures match
// [ErrDPoPProof], [ErrDPoPReplay], [ErrDPoPNonce], [ErrDPoPBinding] and
// [ErrDPoPRequired].
//
// # Keys
//
// A [Key] binds key material to one algorithm: HMAC secrets, RSA, ECDSA and
// Ed25519 keys, loaded with [ParsePEM], [ParseJWK] or [ParseJWKS]. A [KeySet]
// ([NewKeySet], [WithKeySet]) rotates keys while the service runs and
// serves them as a JWKS endpoint ([KeySet.JWKSHandler]); a [JWKS]
// ([NewJWKS], [WithJWKS], [DiscoverJWKSURL]) follows an identity provider's
// key set. The token's alg header never chooses the algorithm, and keys
// never come from the token. A guard can trust several identity providers:
// [WithIssuers] gives each [TrustedIssuer] its own keys, audiences and type
// rule, and [WithIssuerResolver] trusts issuers decided at run time, such as
// one per tenant, whose keys are discovered when first needed.
//
// The repository's README.md and docs/ directory are the user's guide, and
// every Example function of the package runs as a test.
package jwtguard
