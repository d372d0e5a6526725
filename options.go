package jwtguard

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"reflect"
	"strings"
	"time"
)

// An Option configures a [Middleware]. Options are applied in order by
// [New], which then checks the whole configuration at once.
type Option func(*config)

// ErrorHandler writes the response for a request that failed
// authentication. err matches one of the package's sentinel errors.
type ErrorHandler func(w http.ResponseWriter, r *http.Request, err error)

// Defaults.
const (
	// DefaultMaxTokenSize is the largest token accepted, in bytes.
	DefaultMaxTokenSize = 4096
	// DefaultTypeClaim is the claim that carries the token type.
	DefaultTypeClaim = "type"
	// DefaultRealm is the realm in WWW-Authenticate challenges.
	DefaultRealm = "api"
	// TypeAccess is the type of access tokens, the default expected type.
	TypeAccess = "access"
	// TypeRefresh is the type of refresh tokens.
	TypeRefresh = "refresh"
)

// typeMode is how the token type is checked.
type typeMode int

const (
	typeByClaim  typeMode = iota // the type claim must equal the expected type
	typeByHeader                 // the typ header must equal the expected media type
	typeUnchecked
)

type config struct {
	keys              []Key
	source            keySource // a KeySet or JWKS; nil for static keys
	sources           int       // how many WithKeySet and WithJWKS options were given
	issuer            string
	audience          []string
	leeway            time.Duration
	clock             func() time.Time
	maxTokenSize      int
	typeMode          typeMode
	typeClaim         string
	tokenType         string
	subjectOptional   bool
	extractors        []Extractor
	newClaims         func() any    // nil: the default *Claims, filled while scanning
	newResult         func() result // a *customResult[C] of the WithClaimsType type
	layout            *claimsLayout // of a WithClaimsType type embedding Claims (claims_type.go); nil otherwise
	realm             string
	errorHandler      ErrorHandler
	onSuccess         func(r *http.Request, claims any)
	onFailure         func(r *http.Request, err error)
	logger            *slog.Logger // nil: no logging
	logLevel          slog.Level
	insecurePreflight bool  // WithInsecurePreflightPassthrough
	store             Store // nil: no revocation
	noRevocationCheck bool  // accept family tokens without a store
	csrf              CSRF
	cache             *cacheConfig  // nil: no cache
	cloneClaims       func(any) any // the Clone method of the WithClaimsType type, if any
	issuers           *trustConfig  // WithIssuers and WithIssuerResolver; nil: one issuer
	dpop              *dpopConfig   // nil: DPoP disabled
	errs              []error       // problems found while applying options
}

func defaultConfig() config {
	return config{
		clock:        time.Now,
		maxTokenSize: DefaultMaxTokenSize,
		typeClaim:    DefaultTypeClaim,
		tokenType:    TypeAccess,
		extractors:   []Extractor{AuthorizationHeader()},
		realm:        DefaultRealm,
	}
}

// WithKey adds a verification key for one algorithm, such as
// WithKey("HS256", secret). It is WithKeys(Key{Algorithm: alg, Key: key}).
// The algorithms of the configured keys are the allow-list: a token whose
// alg names no configured key is refused. There is no default key.
func WithKey(alg string, key any) Option {
	return WithKeys(Key{Algorithm: alg, Key: key})
}

// WithKeys adds verification keys. When more than one key is configured,
// tokens must name theirs in the kid header, and every key needs an ID.
func WithKeys(keys ...Key) Option {
	return func(c *config) { c.keys = append(c.keys, keys...) }
}

// WithIssuer requires the iss claim to equal issuer exactly. Default: iss is
// not checked.
func WithIssuer(issuer string) Option {
	return func(c *config) {
		if issuer == "" {
			c.errs = append(c.errs, errors.New("WithIssuer: empty issuer"))
		}
		c.issuer = issuer
	}
}

// WithAudience requires the aud claim (a string or an array of strings) to
// contain at least one of audiences. Default: aud is not checked.
func WithAudience(audiences ...string) Option {
	return func(c *config) {
		if len(audiences) == 0 {
			c.errs = append(c.errs, errors.New("WithAudience: no audience"))
		}
		for _, a := range audiences {
			if a == "" {
				c.errs = append(c.errs, errors.New("WithAudience: empty audience"))
			}
		}
		c.audience = append(c.audience, audiences...)
	}
}

// WithLeeway allows for clock skew between the token's issuer and this
// server when checking exp, nbf and iat. Default: 0. It must not be negative
// and at most five minutes.
func WithLeeway(d time.Duration) Option {
	return func(c *config) {
		if d < 0 || d > 5*time.Minute {
			c.errs = append(c.errs, fmt.Errorf("WithLeeway: %v is outside [0, 5m]", d))
		}
		c.leeway = d
	}
}

// WithClock sets the source of the current time, for tests. Default:
// time.Now.
func WithClock(now func() time.Time) Option {
	return func(c *config) {
		if now == nil {
			c.errs = append(c.errs, errors.New("WithClock: nil clock"))
			return
		}
		c.clock = now
	}
}

// WithMaxTokenSize sets the largest token accepted, in bytes. Larger tokens
// are refused before any decoding. Default: [DefaultMaxTokenSize] (4 KiB).
// It must be between 64 bytes and 64 KiB.
func WithMaxTokenSize(n int) Option {
	return func(c *config) {
		if n < 64 || n > 64<<10 {
			c.errs = append(c.errs, fmt.Errorf("WithMaxTokenSize: %d is outside [64, 65536]", n))
		}
		c.maxTokenSize = n
	}
}

// WithTokenType sets the token type this middleware accepts, read from the
// type claim (see [WithTypeClaim]). Default: [TypeAccess]. Use
// [TypeRefresh] for an endpoint that takes refresh tokens.
//
// Whatever the type, a token whose JOSE typ header names another token type
// (for example "refresh+jwt" where "access" is expected) is refused; "JWT",
// "<type>+jwt", "at+jwt" for access tokens, and no typ at all, are accepted.
func WithTokenType(tokenType string) Option {
	return func(c *config) {
		if tokenType == "" {
			c.errs = append(c.errs, errors.New("WithTokenType: empty type"))
		}
		c.typeMode, c.tokenType = typeByClaim, tokenType
	}
}

// WithTypeClaim names the claim that carries the token type. Default:
// [DefaultTypeClaim] ("type"). It cannot be another claim the package reads
// (iss, sub, aud, exp, nbf, iat, jti, roles, scope, fid, cnf). Identity providers use other names, such as
// Keycloak's "typ" claim with the value "Bearer".
func WithTypeClaim(name string) Option {
	return func(c *config) {
		if name == "" {
			c.errs = append(c.errs, errors.New("WithTypeClaim: empty name"))
		}
		for _, k := range knownNames {
			if k != DefaultTypeClaim && strings.EqualFold(name, k) {
				c.errs = append(c.errs, fmt.Errorf("WithTypeClaim: %q is a claim of its own", name))
			}
		}
		c.typeMode, c.typeClaim = typeByClaim, name
	}
}

// WithTokenTypeHeader checks the token type in the JOSE typ header instead
// of a claim, as RFC 9068 access tokens do ("at+jwt"). The comparison
// ignores case and an "application/" prefix. The type claim is then not
// required.
func WithTokenTypeHeader(typ string) Option {
	return func(c *config) {
		if typ == "" {
			c.errs = append(c.errs, errors.New("WithTokenTypeHeader: empty typ"))
		}
		c.typeMode, c.tokenType = typeByHeader, typ
	}
}

// WithInsecureNoTokenType turns the token type check off, for tokens from
// issuers that do not type them. An access token and a refresh token from
// such an issuer can then stand in for each other.
func WithInsecureNoTokenType() Option {
	return func(c *config) { c.typeMode = typeUnchecked }
}

// WithSubjectOptional accepts tokens without a sub claim (or with an empty
// one), for issuers that omit it, such as some client-credentials tokens.
// Handlers then get claims with an empty Subject and must not take it for
// a user. Default: sub is required, as RFC 9068 §2.2 requires it in access
// tokens; a token without it is refused with [ErrMissingClaim] ("missing
// required claim: sub").
func WithSubjectOptional() Option {
	return func(c *config) { c.subjectOptional = true }
}

// WithExtractors sets the places a token is looked for. Every source is
// read; a request that carries a token in more than one of them is refused
// as malformed (RFC 6750 §2: clients must not use more than one method).
// Default: [AuthorizationHeader] only.
func WithExtractors(extractors ...Extractor) Option {
	return func(c *config) {
		if len(extractors) == 0 {
			c.errs = append(c.errs, errors.New("WithExtractors: no extractor"))
		}
		seen := make(map[string]bool)
		for i, e := range extractors {
			switch {
			case e.extract == nil:
				c.errs = append(c.errs, fmt.Errorf("WithExtractors: extractor %d is the zero Extractor", i))
			case e.err != nil:
				c.errs = append(c.errs, fmt.Errorf("WithExtractors: %w", e.err))
			case e.name != "" && seen[e.name]:
				c.errs = append(c.errs, fmt.Errorf("WithExtractors: %s named twice", e.name))
			}
			seen[e.name] = true
		}
		c.extractors = extractors
	}
}

// WithClaimsType decodes verified claims into a new *C instead of the
// default [*Claims]. Read them with [ClaimsFromContext][C]. C is usually a
// struct that embeds [Claims], so it keeps HasScope and HasRole for
// [Middleware.RequireScope] and [Middleware.RequireRole]. The decisions of
// the middleware never depend on C: exp, nbf, iat, iss, aud and the type are
// read from the token itself.
//
// The claims are what encoding/json's Unmarshal of the payload into a new C
// gives. A struct that embeds Claims (untagged) and has no field taking
// one of Claims' JSON names nor an UnmarshalJSON method is filled faster:
// the embedded Claims by the strict scan that reads them anyway, and its
// other fields by encoding/json from the other members only, or, when they
// are all strings, bools, numbers or lists of strings (no ",string"
// option; string and []string exactly, as json.Number and other named
// string types are left to encoding/json), by the scan too, without
// encoding/json.
//
// C must be a type encoding/json can decode a JSON object into: a struct, a
// map with string (or integer, or UnmarshalText) keys such as
// jwt.MapClaims, any, a pointer to one of these (prefer the struct itself:
// claims are a *C, and a **T has no HasScope), or a type with an
// UnmarshalJSON method. [New] refuses any other C (a func, a channel, a
// number, a slice, an interface with methods, a type with only an
// UnmarshalText method) with an error naming it.
func WithClaimsType[C any]() Option {
	return func(c *config) {
		if err := checkClaimsType(reflect.TypeFor[C]()); err != nil {
			c.errs = append(c.errs, err)
		}
		c.newClaims = func() any { return new(C) }
		c.newResult = func() result { return new(customResult[C]) }
		c.layout = newClaimsLayout[C]()
		c.cloneClaims = cloneFunc[C]()
	}
}

// WithRealm sets the realm of WWW-Authenticate challenges. Default:
// [DefaultRealm]. It may not contain quotes, backslashes or control
// characters.
func WithRealm(realm string) Option {
	return func(c *config) {
		if !quotable(realm) {
			c.errs = append(c.errs, fmt.Errorf("WithRealm: %q cannot be quoted in a challenge", realm))
		}
		c.realm = realm
	}
}

// WithErrorHandler replaces the default RFC 6750 responses. The handler is
// called for every rejected request with an error that matches one of the
// package's sentinel errors; it must write the response.
func WithErrorHandler(h ErrorHandler) Option {
	return func(c *config) {
		if h == nil {
			c.errs = append(c.errs, errors.New("WithErrorHandler: nil handler"))
		}
		c.errorHandler = h
	}
}

// WithSuccessHook calls fn after a request is authenticated, before the
// protected handler runs, with the verified claims. Use it to log or count;
// it must not keep claims beyond the call. Default: none, at no cost.
func WithSuccessHook(fn func(r *http.Request, claims any)) Option {
	return func(c *config) { c.onSuccess = fn }
}

// WithFailureHook calls fn for every rejected request with the reason,
// before the error response is written. Default: none, at no cost.
func WithFailureHook(fn func(r *http.Request, err error)) Option {
	return func(c *config) { c.onFailure = fn }
}

// WithInsecurePreflightPassthrough lets CORS preflight requests through
// without a token: every request with method OPTIONS and both an Origin and
// an Access-Control-Request-Method header reaches the protected handler
// unauthenticated, with no claims in its context. [Middleware.Handler],
// [Middleware.RequireScope], [Middleware.RequireRole],
// [Middleware.RequireFreshLogin] and the guards of [Sessions] (through
// [WithAccessOptions]) all pass them; [Middleware.Optional] passes every
// request without a token anyway.
//
// This exposes every handler behind the guard to unauthenticated OPTIONS
// requests: anyone can send those headers, not only browsers. A handler
// that does not look at the method runs as for any other request (an
// [http.FileServer] answers with the file). It is safe only when every
// handler behind the guard answers OPTIONS itself, with no side effect and
// no data.
//
// Default: off; a preflight is a request like any other, and without a
// token it is answered 401 and never reaches the handler. Browsers send
// preflights without credentials, so a cross-origin API needs its CORS
// handler outside the guard instead, answering preflights before the guard
// sees them: cors.Handler(guard.Handler(mux)) with a CORS package, or a
// small net/http wrapper, as in the example of [Middleware.Handler].
func WithInsecurePreflightPassthrough() Option {
	return func(c *config) { c.insecurePreflight = true }
}

// validate reports every problem of the configuration at once.
func (c *config) validate() (keySource, error) {
	errs := append([]error(nil), c.errs...)
	if c.issuers != nil {
		return nil, c.validateIssuers(errs)
	}
	var kr keyring
	switch {
	case c.sources > 1 || c.sources == 1 && len(c.keys) > 0:
		errs = append(errs, errors.New("more than one key source: use WithKey/WithKeys, WithKeySet or WithJWKS, not several"))
	case c.sources == 1 && len(errs) == 0:
		return c.source, nil
	case c.sources == 1:
	case len(c.keys) == 0:
		errs = append(errs, errors.New("no key: add one with WithKey, WithKeys, WithKeySet or WithJWKS"))
	}
	ids := make(map[string]bool)
	for _, k := range c.keys {
		if strings.EqualFold(k.Algorithm, "none") {
			errs = append(errs, errors.New(`algorithm "none" is never allowed`))
			continue
		}
		if k.Algorithm == "" {
			errs = append(errs, keyError(k, errors.New("empty algorithm")))
			continue
		}
		v, err := checkKey(k)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if len(c.keys) > 1 && k.ID == "" {
			errs = append(errs, fmt.Errorf("%s key without an ID: with several keys every key needs one", k.Algorithm))
		}
		if k.ID != "" && ids[k.ID] {
			errs = append(errs, fmt.Errorf("duplicate key ID %q", k.ID))
		}
		ids[k.ID] = true
		kr.keys = append(kr.keys, v)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidConfig, err)
	}
	return &kr, nil
}

// quotable reports whether s can stand in a quoted-string of a challenge
// without escapes (RFC 6750 §3).
func quotable(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c > 0x7E || c == '"' || c == '\\' {
			return false
		}
	}
	return true
}
