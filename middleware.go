package jwtguard

import (
	"context"
	"log/slog"
	"net/http"
	"strings"
	"time"
)

// Middleware authenticates requests. Make one with [New]. It is immutable
// and safe for concurrent use by any number of goroutines.
type Middleware struct {
	keys            keySource
	issuer          string
	audience        []string
	leeway          time.Duration
	clock           func() time.Time
	maxTokenSize    int
	typeMode        typeMode
	typeClaim       string
	tokenType       string
	typeMedia       string // tokenType + "+jwt"
	subjectOptional bool
	extractors      []Extractor
	newClaims       func() any
	newResult       func() result // claims of the WithClaimsType type, with a context
	layout          *claimsLayout // of a WithClaimsType type embedding Claims; nil otherwise
	errorHandler    ErrorHandler
	onSuccess       func(*http.Request, any)
	onFailure       func(*http.Request, error)
	logger          *slog.Logger
	logLevel        slog.Level
	responses       responses
	store           Store       // nil: no revocation check
	csrf            csrfGuard   // for tokens from cookies
	cache           *tokenCache // nil: no cache
	errNoType       error       // names the type claim
	errNoTypeAtJWT  error       // errNoType, for a token with typ at+jwt

	noRevocationCheck bool       // WithInsecureNoRevocationCheck
	insecurePreflight bool       // WithInsecurePreflightPassthrough
	issuers           *issuerSet // several issuers; nil: one, with keys
	dpop              *dpopGuard // nil: DPoP disabled
	id                guardID    // what it accepts, to trust claims another middleware verified
}

// New returns a Middleware configured by opts. It checks the whole
// configuration at once and reports every problem together: no key, a key
// that does not fit its algorithm, an HMAC secret shorter than its hash, an
// RSA key under 2048 bits, the "none" algorithm, a negative leeway, and so on.
//
// An application that logs users in with [Sessions] protects its routes
// with the guard Sessions hands out, [Sessions.Handler], not with New: a
// Middleware from New sees logouts only with [WithStore] and the sessions'
// store. Without a store it refuses the tokens an [Issuer] mints (they
// belong to a refresh token family, claim "fid") with 503 and a reason
// that says so, rather than go on accepting the token of a session that
// logged out; [WithInsecureNoRevocationCheck] accepts them until they
// expire. Tokens of other issuers are not affected.
func New(opts ...Option) (*Middleware, error) {
	c := defaultConfig()
	for _, opt := range opts {
		if opt != nil {
			opt(&c)
		}
	}
	kr, err := c.validate()
	if err != nil {
		return nil, err
	}
	m := &Middleware{
		keys:            kr,
		issuer:          c.issuer,
		audience:        append([]string(nil), c.audience...),
		leeway:          c.leeway,
		clock:           c.clock,
		maxTokenSize:    c.maxTokenSize,
		typeMode:        c.typeMode,
		typeClaim:       c.typeClaim,
		tokenType:       c.tokenType,
		typeMedia:       strings.ToLower(c.tokenType) + "+jwt",
		subjectOptional: c.subjectOptional,
		extractors:      append([]Extractor(nil), c.extractors...),
		newClaims:       c.newClaims,
		newResult:       c.newResult,
		layout:          c.layout,
		errorHandler:    c.errorHandler,
		onSuccess:       c.onSuccess,
		onFailure:       c.onFailure,
		logger:          c.logger,
		logLevel:        c.logLevel,
		store:           c.store,
		csrf:            newCSRFGuard(c.csrf),
		errNoType:       missingClaim(ErrTokenType, c.typeClaim),
		errNoTypeAtJWT:  missingTypeAtJWT(c.typeClaim),

		noRevocationCheck: c.noRevocationCheck,
		insecurePreflight: c.insecurePreflight,
		id:                newGuardID(&c, kr),
	}
	m.responses = newResponses(c.realm, m.errNoType, m.csrf.missing)
	if c.cache != nil {
		m.cache = newTokenCache(c.cache, c.cloneClaims)
	}
	if c.issuers != nil {
		m.issuers = newIssuerSet(m, c.issuers)
	}
	m.dpop = newDPoPGuard(c.dpop, c.clock)
	return m, nil
}

// Check extracts the token from r and verifies it. It returns the claims (a
// *[Claims], or a *C with [WithClaimsType]) or an error matching one of the
// package's sentinel errors. It writes nothing and can be used outside the
// middleware chain, for example before upgrading a WebSocket.
//
// A token found in a cookie must also pass the CSRF defence when the method
// is not GET, HEAD or OPTIONS ([CSRF]; [ErrCrossOrigin], 403). With
// [WithStore], a verified token is looked up in the store ([ErrRevoked],
// or [ErrUnavailable] when the store fails).
func (m *Middleware) Check(r *http.Request) (any, error) {
	v, _, err := m.check(r)
	if err != nil {
		return nil, err
	}
	return claimsOf(v), nil
}

// check is [Middleware.Check] that also returns the thumbprint of the key
// a DPoP proof proved ("" for a request not under the DPoP scheme). Its
// result is verify's: default claims in their box (see claimsOf).
func (m *Middleware) check(r *http.Request) (any, string, error) {
	if m.dpop != nil {
		return m.dpop.check(m, r)
	}
	token, source, err := extract(m.extractors, r)
	if err != nil {
		return nil, "", err
	}
	if source == SourceCookie {
		if err := m.csrf.check(r); err != nil {
			return nil, "", err
		}
	}
	v, err := m.verifyResult(r.Context(), token)
	return v, "", err
}

// Verify verifies a token string, as [Middleware.Check] does after
// extraction. With [WithDPoP] it takes token as a bearer token.
func (m *Middleware) Verify(ctx context.Context, token string) (any, error) {
	v, err := m.verifyResult(ctx, token)
	if err != nil {
		return nil, err
	}
	return claimsOf(v), nil
}

// verifyResult is [Middleware.Verify] returning verify's result: default
// claims in their box (see claimsOf).
func (m *Middleware) verifyResult(ctx context.Context, token string) (any, error) {
	if token == "" {
		return nil, ErrNoToken
	}
	if m.dpop != nil {
		return m.dpop.verifyBearer(ctx, m, token)
	}
	return m.verify(ctx, token)
}

// Handler returns next protected by the middleware: requests without a valid
// token are answered with an RFC 6750 error (or by the [WithErrorHandler]
// handler) and never reach next; the others reach next with the verified
// claims in their context. A CORS preflight request is no exception: without
// a token it is answered 401, unless [WithInsecurePreflightPassthrough] is
// set. To serve a cross-origin API, answer preflights outside the guard, as
// the example shows.
//
// Its shape, func(http.Handler) http.Handler, fits http.ServeMux and every
// router and chain built on it (chi, alice, gorilla/mux).
func (m *Middleware) Handler(next http.Handler) http.Handler {
	mustHandler(next)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if m.passPreflight(r) {
			next.ServeHTTP(w, r)
			return
		}
		v, jkt, err := m.check(r)
		if err != nil {
			m.fail(w, r, err)
			return
		}
		m.serve(next, w, r, v, jkt)
	})
}

// Optional returns next with optional authentication: a request without a
// token reaches next with no claims in its context; a request with a token
// reaches next only if the token is valid, exactly as with
// [Middleware.Handler].
func (m *Middleware) Optional(next http.Handler) http.Handler {
	mustHandler(next)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		v, jkt, err := m.check(r)
		if err == ErrNoToken {
			next.ServeHTTP(w, r)
			return
		}
		if err != nil {
			m.fail(w, r, err)
			return
		}
		m.serve(next, w, r, v, jkt)
	})
}

// RequireScope returns middleware that lets a request through only if its
// claims have every one of scopes (each argument may itself be a
// space-separated list, as in a scope claim) (HasScope, which [Claims]
// implements for the space-separated "scope" claim); otherwise it answers
// 403 insufficient_scope naming them.
//
// It uses the claims an outer handler of m put in the context, or of a
// middleware that accepts exactly the same tokens (the same keys or the same
// [KeySet] or [JWKS], issuer, audiences, leeway, token type rules, sub rule,
// size limit, store, revocation rule, DPoP rules and claims type; with
// [WithIssuers] or [WithIssuerResolver], m alone). Otherwise, including for
// claims put there by [NewContext] or by a middleware for another audience,
// it authenticates the request itself, so it can also protect a route on
// its own. Finding the claims costs one context lookup and a comparison.
func (m *Middleware) RequireScope(scopes ...string) func(http.Handler) http.Handler {
	scopes = strings.Fields(strings.Join(scopes, " "))
	return m.require(m.responses.insufficient(strings.Join(scopes, " ")), func(claims any) bool {
		c, ok := claims.(scoped)
		if !ok {
			return false
		}
		for _, s := range scopes {
			if !c.HasScope(s) {
				return false
			}
		}
		return len(scopes) > 0
	})
}

// RequireRole is [Middleware.RequireScope] for roles: the claims must have
// every one of roles (HasRole, which [Claims] implements for the "roles"
// claim); otherwise it answers 403 insufficient_scope with the description
// "role required: admin" ("roles required: …" for several).
func (m *Middleware) RequireRole(roles ...string) func(http.Handler) http.Handler {
	return m.require(m.responses.insufficientRoles(roles), func(claims any) bool {
		c, ok := claims.(roled)
		if !ok {
			return false
		}
		for _, role := range roles {
			if !c.HasRole(role) {
				return false
			}
		}
		return len(roles) > 0
	})
}

func (m *Middleware) require(denied error, allowed func(claims any) bool) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		mustHandler(next)
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if m.passPreflight(r) {
				next.ServeHTTP(w, r)
				return
			}
			claims, ok := m.trusted(r.Context())
			if !ok {
				v, jkt, err := m.check(r)
				if err != nil {
					m.fail(w, r, err)
					return
				}
				claims = claimsOf(v)
				r = m.withClaims(r, v, jkt)
				m.dpop.setNonce(w, r, nil)
			}
			if !allowed(claims) {
				m.fail(w, r, denied)
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}

// serve calls next with the claims of v, check's result, in the request
// context.
func (m *Middleware) serve(next http.Handler, w http.ResponseWriter, r *http.Request, v any, jkt string) {
	m.dpop.setNonce(w, r, nil)
	next.ServeHTTP(w, m.withClaims(r, v, jkt))
}

// withClaims returns r carrying the claims of v, check's result for a
// request just authenticated, and the thumbprint of the key its DPoP proof
// proved ("" for none), and reports them to the success hook. Besides the
// claims, this costs one allocation: r's copy.
func (m *Middleware) withClaims(r *http.Request, v any, jkt string) *http.Request {
	ctx := m.newClaimsContext(withProvenKey(r.Context(), jkt), v)
	r = r.WithContext(ctx)
	if m.onSuccess != nil {
		m.onSuccess(r, ctx.claims)
	}
	return r
}

// fail reports err to the failure hook and the logger, and answers the
// request.
func (m *Middleware) fail(w http.ResponseWriter, r *http.Request, err error) {
	m.report(r, err, 0)
	m.dpop.setNonce(w, r, err)
	if m.errorHandler != nil {
		m.errorHandler(w, r, err)
		return
	}
	if m.dpop != nil && m.dpop.write(w, r, err, &m.responses) {
		return
	}
	m.responses.write(w, err)
}

// passPreflight reports whether r is a CORS preflight request that
// [WithInsecurePreflightPassthrough] lets through without a token.
func (m *Middleware) passPreflight(r *http.Request) bool {
	return m.insecurePreflight && isPreflight(r)
}

// isPreflight reports whether r is a CORS preflight request: OPTIONS with
// both the Origin and the Access-Control-Request-Method header (the CORS
// protocol of the Fetch standard).
func isPreflight(r *http.Request) bool {
	return r.Method == http.MethodOptions &&
		r.Header.Get("Origin") != "" &&
		r.Header.Get("Access-Control-Request-Method") != ""
}

func mustHandler(h http.Handler) {
	if h == nil {
		panic("jwtguard: nil handler")
	}
}
