package jwtguard

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/golang-jwt/jwt/v5"
)

// This file lets one middleware accept tokens from several issuers, each
// with its own keys and rules: a fixed list ([WithIssuers]) and issuers
// allowed by a function ([WithIssuerResolver]), whose keys are discovered
// on demand and kept in a bounded cache.
//
// The request path reads the token's iss before its signature is checked,
// with the strict scanner, only to choose the issuer (nothing else from the
// payload is used before the signature verifies); the token is then
// verified in full by that issuer's own verifier: a copy of the middleware
// with the issuer's keys, iss, audiences and type rule, so every other rule
// of the middleware applies unchanged.

// Defaults of [WithIssuerResolver].
const (
	// DefaultMaxIssuers is the most issuers of a resolver whose keys are
	// kept at once.
	DefaultMaxIssuers = 100
	// DefaultIssuerMaxIdle is how long the keys of a resolver's issuer are
	// kept after the last token that named it.
	DefaultIssuerMaxIdle = time.Hour
	// DefaultIssuerSetups is how many resolver issuers' keys may be set
	// up in a burst, and how many more per [DefaultIssuerSetupsPer].
	DefaultIssuerSetups = 100
	// DefaultIssuerSetupsPer is the time in which [DefaultIssuerSetups]
	// set-ups are allowed again: 10 a second, sustained.
	DefaultIssuerSetupsPer = 10 * time.Second
)

// A TrustedIssuer is an issuer whose tokens a middleware made with
// [WithIssuers] or [WithIssuerResolver] accepts, with the keys and rules
// for its tokens. A token is verified only with the keys of the issuer its
// iss claim names, and only by that issuer's rules.
//
// The keys are one of Keys, KeySet or JWKS; with none of them they are
// discovered: the middleware reads Issuer's OpenID Connect discovery
// document ([DiscoverJWKSURL]) and fetches its jwks_uri with a [JWKS] of
// its own, once, when a token first names the issuer (never at [New]), and
// stops it at [Middleware.Close].
//
// Audience and the type fields replace, for this issuer, what the
// middleware's [WithAudience] and token type options say; left empty they
// are the middleware's. Every other rule (exp, leeway, clock, store, claims
// type, cache, CSRF) is the middleware's.
type TrustedIssuer struct {
	// Issuer is the iss claim of the issuer's tokens, compared exactly.
	// With discovered keys it must be an https URL (http with
	// [WithJWKSInsecureHTTP] in JWKSOptions).
	Issuer string

	// Keys are the issuer's verification keys, as [WithKeys] takes them.
	Keys []Key
	// KeySet holds the issuer's keys, as [WithKeySet] takes it.
	KeySet *KeySet
	// JWKS is the issuer's remote key set, as [WithJWKS] takes it. The
	// middleware never closes it.
	JWKS *JWKS

	// Algorithms is the allow-list of discovered keys, as [NewJWKS] takes
	// it, such as []string{"RS256"}. Required with discovered keys, and
	// only with them: otherwise the keys name their algorithms.
	Algorithms []string
	// JWKSOptions configure the discovery and the [JWKS] of discovered
	// keys: [WithJWKSHTTPClient] is also the client of the discovery
	// request, and the [WithJWKSErrorHook] hook also gets discovery
	// failures, each as an *[IssuerError] naming this issuer. Only with
	// discovered keys.
	JWKSOptions []JWKSOption

	// Audience, when set, replaces the middleware's [WithAudience] for
	// this issuer: the token's aud must contain one of them.
	Audience []string

	// TokenType and TypeClaim, when either is set, make this issuer's
	// tokens carry their type in a claim, as [WithTokenType] and
	// [WithTypeClaim] say; the one left empty is the middleware's.
	TokenType string
	TypeClaim string
	// TokenTypeHeader, when set, checks this issuer's token type in the
	// JOSE typ header instead, as [WithTokenTypeHeader] does, such as
	// "at+jwt" for RFC 9068 access tokens.
	TokenTypeHeader string
	// InsecureNoTokenType turns the type check off for this issuer, as
	// [WithInsecureNoTokenType] does.
	InsecureNoTokenType bool
}

// An IssuerResolver decides whether issuer, the iss claim of a token whose
// signature has not been checked yet, is trusted, and returns its
// [TrustedIssuer] (whose Issuer may be left empty). Returning false refuses
// the token: 401 invalid_token, [ErrIssuer], and no network request.
//
// It is called for every token that names an issuer not given to
// [WithIssuers], before anything is fetched, concurrently, with the
// request's context. It must be fast and do no I/O: it is what stands
// between a token's iss and the URLs the middleware fetches, so match
// issuer exactly (scheme, host, path), as the example does, and never with
// a prefix or an unanchored pattern. It must return the same TrustedIssuer
// for an issuer each time: the keys and rules made from the first answer
// are kept until the issuer is evicted (see [WithIssuerResolver]).
type IssuerResolver func(ctx context.Context, issuer string) (TrustedIssuer, bool)

// WithIssuers makes the middleware accept tokens of each of issuers, each
// verified only with its own keys and rules (see [TrustedIssuer]). The
// token's iss chooses the issuer; a token whose iss is none of them (and
// that no [WithIssuerResolver] resolver accepts) is refused with 401
// invalid_token matching [ErrIssuer]. It cannot be combined with
// [WithKey], [WithKeys], [WithKeySet], [WithJWKS] or [WithIssuer]: the keys
// and the iss belong to each TrustedIssuer. It may be given more than once.
//
// Errors about a token that names one of the issuers, and failures of the
// key set of a discovered issuer, are *[IssuerError] values naming it, so
// that the [WithFailureHook] hook can count failures per issuer. The claims
// in the context carry the iss claim, which is exactly the issuer that
// verified them.
//
// The verification costs about what one issuer's does: the payload is
// decoded and scanned once, before the signature check, and of that scan
// only iss is used before the signature has verified.
func WithIssuers(issuers ...TrustedIssuer) Option {
	return func(c *config) {
		tc := c.trust()
		if len(issuers) == 0 {
			c.errs = append(c.errs, errors.New("WithIssuers: no issuer"))
		}
		tc.static = append(tc.static, issuers...)
	}
}

// WithIssuerResolver makes the middleware accept tokens of the issuers that
// resolve accepts (see [IssuerResolver]), after those of [WithIssuers]: a
// multi-tenant service whose tenants each have an identity provider, such
// as https://{tenant}.auth.example.com/.
//
// The keys of an accepted issuer (discovered, usually) are set up once,
// when a token first names it: however many requests race, one discovery
// request and one key set fetch are made, and the requests wait for them
// (an issuer whose keys cannot be fetched gets 503, [ErrUnavailable], as
// with one issuer; discovery is tried again after the [JWKS] refetch
// interval). They are kept in a cache of at most [DefaultMaxIssuers]
// issuers ([ResolverMaxIssuers]), evicting the least recently used and
// those unused for [DefaultIssuerMaxIdle] ([ResolverMaxIdle]); eviction
// stops their key set's fetches. A token naming an issuer resolve refuses
// costs no network request and no memory.
//
// Setting up an issuer's discovered keys costs two requests to its
// identity provider (discovery and key set), whether or not the token that
// caused it is genuine, so set-ups are rate-limited and the requests a
// flood of tokens causes are bounded whatever their number:
//
//   - an issuer is not set up again within its [JWKS] refetch interval
//     ([DefaultJWKSRefetchInterval], 30 s) of its last set-up, even if it
//     was evicted since (as when tokens cycle over more trusted issuers
//     than the cache holds): a token naming it then gets 503,
//     [ErrUnavailable], and should be retried after that interval. The
//     set-up times are remembered for up to 4×[ResolverMaxIssuers] issuers;
//   - at most [DefaultIssuerSetups] issuers are set up in a burst, and
//     [DefaultIssuerSetups] more per [DefaultIssuerSetupsPer]
//     ([ResolverMaxSetups]) across all issuers; beyond that a token naming
//     an issuer that must be set up gets 503.
//
// So tokens cause at most 2×(n + n×t/per) set-up requests in t, for
// ResolverMaxSetups(n, per), and each issuer at most 2 per refetch
// interval; the key sets held then fetch on their own schedule ([NewJWKS]),
// at most once per refetch interval for tokens naming unknown kids. An
// issuer whose keys are given (Keys, KeySet, JWKS) costs no request and is
// not rate-limited. Neither limit touches the cache: a token refused by
// them evicts no issuer.
func WithIssuerResolver(resolve IssuerResolver, opts ...ResolverOption) Option {
	return func(c *config) {
		tc := c.trust()
		rc := resolverConfig{maxIssuers: DefaultMaxIssuers, maxIdle: DefaultIssuerMaxIdle,
			setups: DefaultIssuerSetups, setupsPer: DefaultIssuerSetupsPer}
		for _, opt := range opts {
			if opt != nil {
				opt(&rc)
			}
		}
		switch {
		case resolve == nil:
			c.errs = append(c.errs, errors.New("WithIssuerResolver: nil resolver"))
		case tc.resolve != nil:
			c.errs = append(c.errs, errors.New("WithIssuerResolver: given twice"))
		}
		if rc.maxIssuers < 1 {
			c.errs = append(c.errs, fmt.Errorf("WithIssuerResolver: ResolverMaxIssuers(%d): at least 1 is required", rc.maxIssuers))
		}
		if rc.maxIdle <= 0 {
			c.errs = append(c.errs, fmt.Errorf("WithIssuerResolver: ResolverMaxIdle(%v) is not positive", rc.maxIdle))
		}
		if rc.setups < 1 || rc.setupsPer <= 0 {
			c.errs = append(c.errs, fmt.Errorf("WithIssuerResolver: ResolverMaxSetups(%d, %v): n must be at least 1 and per positive", rc.setups, rc.setupsPer))
		}
		tc.resolve, tc.rc = resolve, rc
	}
}

// A ResolverOption configures [WithIssuerResolver].
type ResolverOption func(*resolverConfig)

type resolverConfig struct {
	maxIssuers int
	maxIdle    time.Duration
	setups     int           // the set-up bucket's size, and its refill per setupsPer
	setupsPer  time.Duration // > 0
	hooks      ResolverHooks
}

// ResolverMaxIssuers sets the most issuers whose keys are kept at once.
// When the cache is full, the least recently used issuer is evicted; when
// every issuer in it is still being set up, a token naming a new one gets
// 503 ([ErrUnavailable]). An issuer evicted is not set up again within its
// [JWKS] refetch interval of its last set-up (503 meanwhile; see
// [WithIssuerResolver]), so n should exceed the issuers in use at once.
// Default: [DefaultMaxIssuers].
func ResolverMaxIssuers(n int) ResolverOption {
	return func(rc *resolverConfig) { rc.maxIssuers = n }
}

// ResolverMaxSetups limits how often the keys of a resolver's issuers are
// set up, across all issuers: at most n set-ups in a burst, and n more per
// per, measured with the [WithClock] clock (a token bucket). Each set-up of
// discovered keys costs two requests to the issuer's identity provider; a
// token that would need one beyond the limit gets 503, [ErrUnavailable],
// and evicts nothing. Issuers whose keys are given are not counted.
// Defaults: [DefaultIssuerSetups] per [DefaultIssuerSetupsPer]; n must be
// at least 1 and per positive.
func ResolverMaxSetups(n int, per time.Duration) ResolverOption {
	return func(rc *resolverConfig) { rc.setups, rc.setupsPer = n, per }
}

// ResolverMaxIdle sets how long an issuer's keys are kept after the last
// token that named it, measured with the [WithClock] clock. Default:
// [DefaultIssuerMaxIdle].
func ResolverMaxIdle(d time.Duration) ResolverOption {
	return func(rc *resolverConfig) { rc.maxIdle = d }
}

// ResolverHooks are called when the issuer cache of [WithIssuerResolver]
// changes, to count or log it. They are called on the request path, outside
// any lock, concurrently: keep them short and safe for concurrent use. A
// nil hook costs nothing.
type ResolverHooks struct {
	// OnCreate is called when an issuer enters the cache, before its keys
	// are set up.
	OnCreate func(issuer string)
	// OnEvict is called when an issuer leaves the cache: least recently
	// used, or idle too long. It is called before the OnCreate of the
	// issuer that took its place.
	OnEvict func(issuer string)
}

// ResolverWithHooks sets the hooks of the issuer cache. Default: none.
func ResolverWithHooks(h ResolverHooks) ResolverOption {
	return func(rc *resolverConfig) { rc.hooks = h }
}

// IssuerCacheStats describes the issuer cache of [WithIssuerResolver].
type IssuerCacheStats struct {
	// Entries is the number of issuers held now, those being set up
	// included.
	Entries int
	// Capacity is the most issuers the cache holds.
	Capacity int
}

// IssuerCacheStats reports how full the issuer cache of
// [WithIssuerResolver] is; the zero IssuerCacheStats without a resolver.
func (m *Middleware) IssuerCacheStats() IssuerCacheStats {
	s := m.issuers
	if s == nil || s.resolve == nil {
		return IssuerCacheStats{}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return IssuerCacheStats{Entries: len(s.dynamic), Capacity: s.rc.maxIssuers}
}

// An IssuerError is an error about a token that names a trusted issuer, or
// a failure to get the keys of such an issuer: Issuer names it. It matches
// what Err matches ([errors.Is] and [errors.As] see through it), so the
// responses are those of Err. A token naming an issuer that is not trusted
// gets a plain [ErrIssuer] error instead, which never repeats the token's
// iss.
type IssuerError struct {
	// Issuer is the trusted issuer, exactly as in [TrustedIssuer].
	Issuer string
	// Err is the error.
	Err error
}

func (e *IssuerError) Error() string {
	return e.Err.Error() + " (issuer " + strconv.Quote(e.Issuer) + ")"
}

func (e *IssuerError) Unwrap() error { return e.Err }

// Close stops the key sets the middleware made for discovered issuers and
// waits for their fetches to end. Keys already fetched stay in use; an
// issuer whose keys were not set up yet gets 503 from then on. It does
// nothing for a middleware without discovered issuers, and may be called
// more than once.
func (m *Middleware) Close() error {
	if m.issuers != nil {
		m.issuers.close()
	}
	return nil
}

var (
	errUnknownIssuer = newTokenError(ErrIssuer, jwt.ErrTokenInvalidIssuer, "issuer not trusted")
	errIssuersClosed = errors.New("middleware closed")
	errIssuersFull   = fmt.Errorf("%w: every issuer in the issuer cache is being set up", ErrUnavailable)
	errSetupsLimited = fmt.Errorf("%w: too many issuers' keys set up lately (ResolverMaxSetups): retry later", ErrUnavailable)
)

// trustConfig is what WithIssuers and WithIssuerResolver configure.
type trustConfig struct {
	static  []TrustedIssuer
	resolve IssuerResolver
	rc      resolverConfig
	plans   []*issuerPlan // of static, made by validateIssuers
	base    config        // the middleware's configuration, for the resolver's issuers
}

// trust returns c.issuers, making it on first use.
func (c *config) trust() *trustConfig {
	if c.issuers == nil {
		c.issuers = new(trustConfig)
	}
	return c.issuers
}

// validateIssuers checks a configuration with several issuers: errs are the
// problems found so far.
func (c *config) validateIssuers(errs []error) error {
	tc := c.issuers
	if c.sources > 0 || len(c.keys) > 0 {
		errs = append(errs, errors.New("WithKey, WithKeys, WithKeySet and WithJWKS cannot be combined with WithIssuers or WithIssuerResolver: give each TrustedIssuer its keys"))
	}
	if c.issuer != "" {
		errs = append(errs, errors.New("WithIssuer cannot be combined with WithIssuers or WithIssuerResolver: each TrustedIssuer names its issuer"))
	}
	tc.base = *c
	tc.base.issuers, tc.base.errs = nil, nil
	seen := make(map[string]bool)
	tc.plans = nil
	for i, t := range tc.static {
		p, err := newIssuerPlan(t, &tc.base)
		switch {
		case err != nil:
			errs = append(errs, fmt.Errorf("WithIssuers: issuer %d (%q): %w", i, t.Issuer, err))
		case seen[t.Issuer]:
			errs = append(errs, fmt.Errorf("WithIssuers: issuer %q given twice", t.Issuer))
		default:
			tc.plans = append(tc.plans, p)
		}
		seen[t.Issuer] = true
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidConfig, err)
	}
	return nil
}

// issuerPlan is a checked TrustedIssuer.
type issuerPlan struct {
	issuer    string
	keys      keySource // nil: discovered
	audience  []string
	typeMode  typeMode
	typeClaim string
	tokenType string

	// For discovered keys:
	algs     []string
	jwksOpts []JWKSOption
	client   *http.Client
	retry    time.Duration // least time between two discoveries after a failure
	onError  func(error)   // the JWKSOptions error hook; nil: none
}

// newIssuerPlan checks t against the middleware's configuration base,
// with the same rules as the options it stands for.
func newIssuerPlan(t TrustedIssuer, base *config) (*issuerPlan, error) {
	c := *base
	c.keys, c.source, c.sources, c.issuer = nil, nil, 0, t.Issuer
	var errs []error
	if t.Issuer == "" {
		errs = append(errs, errors.New("empty Issuer: name the iss of the issuer's tokens"))
	}
	if len(t.Audience) > 0 {
		c.audience = nil
		WithAudience(t.Audience...)(&c)
	}
	switch {
	case t.InsecureNoTokenType && (t.TokenTypeHeader != "" || t.TokenType != "" || t.TypeClaim != ""):
		errs = append(errs, errors.New("InsecureNoTokenType with a token type: set one"))
	case t.TokenTypeHeader != "" && (t.TokenType != "" || t.TypeClaim != ""):
		errs = append(errs, errors.New("TokenTypeHeader with TokenType or TypeClaim: the type is in the header or in a claim, not both"))
	case t.InsecureNoTokenType:
		WithInsecureNoTokenType()(&c)
	case t.TokenTypeHeader != "":
		WithTokenTypeHeader(t.TokenTypeHeader)(&c)
	case t.TokenType != "" || t.TypeClaim != "":
		c.typeMode = typeByClaim
		if t.TokenType != "" {
			WithTokenType(t.TokenType)(&c)
		}
		if t.TypeClaim != "" {
			WithTypeClaim(t.TypeClaim)(&c)
		}
	}
	p := &issuerPlan{issuer: t.Issuer}
	sources := 0
	if len(t.Keys) > 0 {
		WithKeys(t.Keys...)(&c)
		sources++
	}
	if t.KeySet != nil {
		WithKeySet(t.KeySet)(&c)
		sources++
	}
	if t.JWKS != nil {
		WithJWKS(t.JWKS)(&c)
		sources++
	}
	switch {
	case sources > 1:
		errs = append(errs, errors.New("more than one of Keys, KeySet and JWKS: set one, or none to discover the keys"))
	case sources == 1:
		if len(t.Algorithms) > 0 || len(t.JWKSOptions) > 0 {
			errs = append(errs, errors.New("with Keys, KeySet or JWKS, leave Algorithms and JWKSOptions empty: they are only for discovered keys"))
		}
		src, err := c.validate()
		if err != nil {
			return nil, errors.Join(append(errs, problems(err))...)
		}
		p.keys = src
	default:
		errs = append(errs, p.discovery(t)...)
	}
	errs = append(errs, c.errs...)
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	p.audience = append([]string(nil), c.audience...)
	p.typeMode, p.typeClaim, p.tokenType = c.typeMode, c.typeClaim, c.tokenType
	return p, nil
}

// discovery checks the settings of discovered keys and keeps them in p.
func (p *issuerPlan) discovery(t TrustedIssuer) []error {
	var errs []error
	jc := jwksConfig{interval: DefaultJWKSRefetchInterval}
	for _, opt := range t.JWKSOptions {
		if opt != nil {
			opt(&jc)
		}
	}
	errs = append(errs, jc.errs...)
	u, err := url.Parse(t.Issuer)
	switch {
	case err != nil || u.Host == "" || u.Scheme != "https" && u.Scheme != "http":
		errs = append(errs, errors.New("no keys: set Keys, KeySet or JWKS, or an https issuer URL to discover them"))
	case u.Scheme == "http" && !jc.insecureHTTP:
		errs = append(errs, errors.New("http issuer: use https (or WithJWKSInsecureHTTP in JWKSOptions)"))
	}
	if len(t.Algorithms) == 0 {
		errs = append(errs, errors.New("discovered keys need Algorithms, such as RS256"))
	}
	for _, alg := range t.Algorithms {
		if _, ok := algorithms[alg]; !ok {
			errs = append(errs, fmt.Errorf("unsupported algorithm %q in Algorithms", alg))
		} else if _, hmac := minHMACKey[alg]; hmac {
			errs = append(errs, fmt.Errorf("%s in Algorithms: a remote key set never holds HMAC secrets", alg))
		}
	}
	p.algs = append([]string(nil), t.Algorithms...)
	p.client = jc.client
	p.retry = jc.interval
	if fn := jc.onError; fn != nil {
		iss := t.Issuer
		p.onError = func(err error) { fn(&IssuerError{Issuer: iss, Err: err}) }
	}
	p.jwksOpts = append(append([]JWKSOption(nil), t.JWKSOptions...), WithJWKSErrorHook(p.onError))
	return errs
}

// problems returns the problems listed by an error of config.validate,
// without its ErrInvalidConfig prefix.
func problems(err error) error {
	if u, ok := err.(interface{ Unwrap() []error }); ok {
		if es := u.Unwrap(); len(es) == 2 && es[0] == ErrInvalidConfig {
			return es[1]
		}
	}
	return err
}

// issuerSet routes tokens to the verifiers of their issuers.
type issuerSet struct {
	base    *Middleware          // the middleware; its copies verify
	static  map[string]*provider // WithIssuers; never changes after New
	resolve IssuerResolver       // nil: none
	rc      resolverConfig       // of resolve
	conf    *config              // for newIssuerPlan, of resolved issuers
	ctx     context.Context      // of discovery and of the key sets made; cancelled by Close
	cancel  context.CancelFunc
	wg      sync.WaitGroup       // set-ups under way
	mu      sync.Mutex           // guards what follows and the providers' set-up fields
	dynamic map[string]*provider // the resolver's issuers
	swept   int64                // when idle issuers were last looked for, in Unix nanoseconds
	closed  bool

	// Rate limits of set-ups of discovered keys (see WithIssuerResolver):
	setUpAt  map[string]setUpTime // by issuer: its last set-up, while within its interval; at most 4*maxIssuers
	tokens   float64              // set-ups the bucket allows now, up to rc.setups
	refilled int64                // when tokens was computed, in Unix nanoseconds
}

// setUpTime is when an issuer's keys were last set up, and how long it
// must wait before the next set-up.
type setUpTime struct {
	at       int64 // in Unix nanoseconds
	interval time.Duration
}

// provider is one trusted issuer: its plan and, once set up, its verifier.
type provider struct {
	issuer string
	plan   *issuerPlan                // nil: the resolver's TrustedIssuer was refused (err says why)
	mw     atomic.Pointer[Middleware] // the verifier, once the keys are set up

	// Guarded by issuerSet.mu:
	ready    chan struct{} // the set-up under way or done; nil: never started
	pending  bool          // a set-up is under way
	err      error         // the last set-up's failure
	failedAt int64         // when it failed, in Unix nanoseconds
	jwks     *JWKS         // made here: closed on eviction and at Close
	lastUsed int64         // in Unix nanoseconds
}

func newIssuerSet(m *Middleware, tc *trustConfig) *issuerSet {
	s := &issuerSet{
		base:    m,
		static:  make(map[string]*provider, len(tc.plans)),
		resolve: tc.resolve,
		rc:      tc.rc,
		conf:    &tc.base,
		dynamic: make(map[string]*provider),
		setUpAt: make(map[string]setUpTime),
		tokens:  float64(tc.rc.setups),
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	for _, pl := range tc.plans {
		p := &provider{issuer: pl.issuer, plan: pl}
		if pl.keys != nil {
			p.mw.Store(s.verifier(pl, pl.keys))
		}
		s.static[pl.issuer] = p
	}
	return s
}

// verifier returns the verifier of an issuer: a copy of the middleware with
// the issuer's keys and rules.
func (s *issuerSet) verifier(pl *issuerPlan, keys keySource) *Middleware {
	v := *s.base
	v.keys = keys
	v.issuer = pl.issuer
	v.audience = pl.audience
	v.typeMode, v.typeClaim, v.tokenType = pl.typeMode, pl.typeClaim, pl.tokenType
	v.typeMedia = strings.ToLower(pl.tokenType) + "+jwt"
	if pl.typeClaim != s.base.typeClaim {
		v.errNoType = missingClaim(ErrTokenType, pl.typeClaim)
		v.errNoTypeAtJWT = missingTypeAtJWT(pl.typeClaim)
	}
	v.cache, v.issuers = nil, nil
	return &v
}

// verifyFull verifies token in full, with the verifier of the issuer it
// names when there are several issuers. When cache is not nil the result
// is added to it, under hash.
func (m *Middleware) verifyFull(ctx context.Context, token string, cache *tokenCache, hash uint64) (any, error) {
	if m.issuers == nil {
		return m.verifyToken(ctx, token, cache, hash, nil, nil)
	}
	return m.issuers.verify(ctx, token, cache, hash)
}

// preScan is a payload read before its signature is checked, to find the
// token's issuer. Its claims are used only after the signature verifies.
// The default claims filled by the same scan travel beside it.
type preScan struct {
	dot1, dot2 int
	payload    []byte
	typeClaim  string // the type claim cv was read with
	cv         claimView
	scanned    bool // cv (and the box beside it) hold the claims; false: scanClaims found them wrong
}

// verify reads the iss of token, not yet verified, and has the verifier of
// that issuer verify the token in full. The payload is scanned once, with
// the middleware's type claim, and the verifier uses that scan after the
// signature check (unless its issuer has a type claim of its own), so that
// several issuers cost about what one does. Of the scan, only iss is used
// before the signature check; a claim of the wrong type, for example, is
// reported after it, as with one issuer.
func (s *issuerSet) verify(ctx context.Context, token string, cache *tokenCache, hash uint64) (any, error) {
	var (
		pre preScan
		err error
	)
	if pre.dot1, pre.dot2, err = splitToken(token); err != nil {
		return nil, err
	}
	var buf [maxStackPayload]byte
	payload := buf[:]
	if n := decodedLen(pre.dot2 - pre.dot1 - 1); n > len(buf) {
		payload = make([]byte, n)
	}
	payload, ok := decodeSegment(payload, token[pre.dot1+1:pre.dot2])
	if !ok {
		return nil, errBase64
	}
	if !utf8.Valid(payload) {
		return nil, errPayloadJSON
	}
	pre.payload, pre.typeClaim = payload, s.base.typeClaim
	var box *claimsBox
	if s.base.fillsClaims() {
		box = new(claimsBox)
	}
	var iss span
	if pre.cv, err = scanClaims(payload, pre.typeClaim, box); err == nil {
		if !pre.cv.hasIss {
			return nil, errNoIssuer
		}
		iss, pre.scanned = pre.cv.iss, true
	} else if iss, err = unverifiedIssuer(payload); err != nil {
		// The verifier scans the claims again after the signature
		// check, and reports what is wrong with them then.
		return nil, err
	}
	v, err := s.lookup(ctx, iss)
	if err != nil {
		return nil, err
	}
	claims, err := v.verifyToken(ctx, token, cache, hash, &pre, box)
	if err != nil {
		return nil, &IssuerError{Issuer: v.issuer, Err: err}
	}
	return claims, nil
}

// unverifiedIssuer reads the iss claim of a payload (valid UTF-8) whose
// signature has not been checked yet, to choose the keys that check it,
// when scanClaims has found something else wrong with it. It walks the
// whole payload with the strict scanner (one JSON object, no duplicate or
// case-variant member names) and takes nothing else from it.
func unverifiedIssuer(payload []byte) (span, error) {
	s := scanner{b: payload}
	var seen keySet
	var iss span
	has := false
	if !s.open() {
		return span{}, errPayloadJSON
	}
	for first := true; ; first = false {
		key, done, ok := s.member(first)
		if !ok {
			return span{}, errPayloadJSON
		}
		if done {
			break
		}
		if !seen.add(s.b, key, maxMembers) {
			return span{}, errPayloadJSON
		}
		name := key.b
		if key.escaped {
			name = unescape(key.b)
		}
		switch {
		case string(name) == "iss":
			if iss, ok = s.str(); !ok {
				return span{}, errClaimType
			}
			has = true
		case bytes.EqualFold(name, []byte("iss")):
			return span{}, errPayloadJSON // as scanClaims refuses it
		default:
			if !s.value(1) {
				return span{}, errPayloadJSON
			}
		}
	}
	if !s.end() {
		return span{}, errPayloadJSON
	}
	if !has {
		return span{}, errNoIssuer
	}
	return iss, nil
}

// lookup returns the verifier of the trusted issuer iss, setting its keys
// up if need be, or an error matching ErrIssuer when iss is not trusted.
func (s *issuerSet) lookup(ctx context.Context, iss span) (*Middleware, error) {
	var p *provider
	if !iss.escaped {
		p = s.static[string(iss.b)]
	} else {
		p = s.static[iss.text()]
	}
	if p != nil {
		if v := p.mw.Load(); v != nil {
			return v, nil
		}
		return s.setUp(ctx, p)
	}
	if s.resolve == nil {
		return nil, errUnknownIssuer
	}
	name := iss.text()
	t, ok := s.resolve(ctx, name)
	if !ok {
		return nil, errUnknownIssuer
	}
	return s.dynamicVerifier(ctx, name, t)
}

// trusts reports whether v is still the verifier of its issuer, for a
// token the cache holds: the issuer is still trusted (the resolver is
// asked again) and its keys were not set up anew since.
func (s *issuerSet) trusts(ctx context.Context, v *Middleware) bool {
	if p := s.static[v.issuer]; p != nil {
		return p.mw.Load() == v
	}
	if s.resolve == nil {
		return false
	}
	if _, ok := s.resolve(ctx, v.issuer); !ok {
		return false
	}
	now := s.base.clock().UnixNano()
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.dynamic[v.issuer]
	if p == nil || p.mw.Load() != v || s.idle(p, now) {
		return false
	}
	p.lastUsed = now
	return true
}

// dynamicVerifier returns the verifier of iss, an issuer the resolver
// accepted with t, from the cache or made for it.
func (s *issuerSet) dynamicVerifier(ctx context.Context, iss string, t TrustedIssuer) (*Middleware, error) {
	now := s.base.clock().UnixNano()
	s.mu.Lock()
	var evicted []*provider
	if now-s.swept >= int64(s.rc.maxIdle/4) {
		evicted = s.sweepLocked(now)
	}
	p := s.dynamic[iss]
	if p != nil && (s.idle(p, now) || p.plan == nil && now-p.failedAt >= int64(DefaultJWKSRefetchInterval)) {
		evicted = append(evicted, s.evictLocked(p)) // idle, or a refused TrustedIssuer to ask for again
		p = nil
	}
	if p != nil {
		p.lastUsed = now
		v := p.mw.Load()
		s.mu.Unlock()
		s.evicted(evicted)
		if v != nil {
			return v, nil
		}
		return s.setUp(ctx, p)
	}
	s.mu.Unlock()
	s.evicted(evicted)

	// A new issuer: check its TrustedIssuer (no I/O) before taking the lock.
	if t.Issuer == "" {
		t.Issuer = iss
	}
	pl, err := newIssuerPlan(t, s.conf)
	if err == nil && t.Issuer != iss {
		err = fmt.Errorf("the resolver's TrustedIssuer for %q names issuer %q", iss, t.Issuer)
	}
	s.mu.Lock()
	evicted = nil
	created := false
	if p = s.dynamic[iss]; p == nil {
		if err == nil && pl.keys == nil {
			// Discovered keys: two requests to the issuer's host. Checked
			// before anything is evicted.
			if lerr := s.allowSetUpLocked(iss, pl.retry, now); lerr != nil {
				s.mu.Unlock()
				return nil, &IssuerError{Issuer: iss, Err: lerr}
			}
		}
		if len(s.dynamic) >= s.rc.maxIssuers {
			if lru := s.lruLocked(); lru != nil {
				evicted = append(evicted, s.evictLocked(lru))
			}
		}
		if len(s.dynamic) >= s.rc.maxIssuers {
			s.mu.Unlock()
			s.evicted(evicted)
			return nil, &IssuerError{Issuer: iss, Err: errIssuersFull}
		}
		p = &provider{issuer: iss, plan: pl}
		if err != nil {
			p.plan, p.ready = nil, closedChan
			p.err, p.failedAt = fmt.Errorf("%w: resolver: %w", ErrUnavailable, err), now
		}
		s.dynamic[iss] = p
		created = true
	}
	p.lastUsed = now
	s.mu.Unlock()
	s.evicted(evicted)
	if created && s.rc.hooks.OnCreate != nil {
		s.rc.hooks.OnCreate(iss)
	}
	return s.setUp(ctx, p)
}

// allowSetUpLocked takes a set-up of the discovered keys of iss, whose
// refetch interval is interval, from the rate limits, or says which one
// refuses it. s.mu is held.
func (s *issuerSet) allowSetUpLocked(iss string, interval time.Duration, now int64) error {
	if last, ok := s.setUpAt[iss]; ok && now-last.at < int64(last.interval) && now >= last.at {
		return fmt.Errorf("%w: the issuer's keys were set up less than %v ago and evicted from the issuer cache since (ResolverMaxIssuers): being rate-limited, retry later",
			ErrUnavailable, last.interval)
	}
	if elapsed := now - s.refilled; elapsed > 0 {
		s.tokens = min(float64(s.rc.setups), s.tokens+float64(elapsed)*float64(s.rc.setups)/float64(s.rc.setupsPer))
	}
	s.refilled = now
	if s.tokens < 1 {
		return errSetupsLimited
	}
	s.tokens--
	if _, ok := s.setUpAt[iss]; !ok && len(s.setUpAt) >= 4*s.rc.maxIssuers {
		// Forget those past their interval; if none is, the oldest (the
		// bucket bounds the set-ups of issuers forgotten early).
		var oldest string
		for k, v := range s.setUpAt {
			if now-v.at >= int64(v.interval) {
				delete(s.setUpAt, k)
			} else if oldest == "" || v.at < s.setUpAt[oldest].at {
				oldest = k
			}
		}
		if len(s.setUpAt) >= 4*s.rc.maxIssuers {
			delete(s.setUpAt, oldest)
		}
	}
	s.setUpAt[iss] = setUpTime{at: now, interval: interval}
	return nil
}

// closedChan is the ready channel of a set-up that ended at once.
var closedChan = func() chan struct{} {
	c := make(chan struct{})
	close(c)
	return c
}()

// setUp returns the verifier of p, waiting for its keys to be set up:
// started now if no set-up has been, or if the last one failed longer ago
// than the plan's retry interval.
func (s *issuerSet) setUp(ctx context.Context, p *provider) (*Middleware, error) {
	now := s.base.clock().UnixNano()
	s.mu.Lock()
	if v := p.mw.Load(); v != nil {
		s.mu.Unlock()
		return v, nil
	}
	if p.plan != nil && !p.pending && !s.closed &&
		(p.ready == nil || p.err != nil && now-p.failedAt >= int64(p.plan.retry)) {
		p.ready, p.pending, p.err = make(chan struct{}), true, nil
		s.wg.Add(1)
		go s.build(p, p.plan, p.ready)
	}
	ready, closed := p.ready, s.closed
	s.mu.Unlock()
	if ready == nil && closed {
		return nil, &IssuerError{Issuer: p.issuer, Err: fmt.Errorf("%w: %w", ErrUnavailable, errIssuersClosed)}
	}
	select {
	case <-ready:
	case <-ctx.Done():
		return nil, &IssuerError{Issuer: p.issuer, Err: fmt.Errorf("%w: waiting for the issuer's keys: %w", ErrUnavailable, ctx.Err())}
	}
	if v := p.mw.Load(); v != nil {
		return v, nil
	}
	s.mu.Lock()
	err := p.err
	s.mu.Unlock()
	if err == nil {
		err = fmt.Errorf("%w: %w", ErrUnavailable, errIssuersClosed)
	}
	return nil, &IssuerError{Issuer: p.issuer, Err: err}
}

// build sets up the keys of p: it discovers the issuer's jwks_uri, makes a
// JWKS for it and waits for that JWKS's first fetch, or uses the plan's
// keys. Its network requests have s.ctx, not a request's: the requests
// that wait for them may give up; the set-up goes on for the others.
func (s *issuerSet) build(p *provider, pl *issuerPlan, ready chan struct{}) {
	defer s.wg.Done()
	var (
		keys keySource = pl.keys
		j    *JWKS
		err  error
	)
	if keys == nil {
		var jwksURL string
		jwksURL, err = DiscoverJWKSURL(s.ctx, pl.client, pl.issuer)
		if err == nil {
			j, err = NewJWKS(s.ctx, jwksURL, pl.algs, pl.jwksOpts...)
		}
		if err == nil {
			// A failed first fetch is retried by the JWKS itself: tokens
			// get 503 until it succeeds, as with one issuer.
			_ = j.waitFirst(s.ctx)
			keys = j
		} else if pl.onError != nil && s.ctx.Err() == nil {
			pl.onError(err)
		}
	}
	now := s.base.clock().UnixNano()
	s.mu.Lock()
	if s.closed && j != nil {
		defer j.Close()
		keys, j, err = nil, nil, errIssuersClosed
	}
	p.pending = false
	if keys != nil {
		p.jwks = j
		p.mw.Store(s.verifier(pl, keys))
	} else {
		p.err, p.failedAt = fmt.Errorf("%w: keys of issuer %s: %w", ErrUnavailable, pl.issuer, err), now
	}
	s.mu.Unlock()
	close(ready)
}

// idle reports whether p, a resolver's issuer, has been unused too long.
// s.mu is held.
func (s *issuerSet) idle(p *provider, now int64) bool {
	return !p.pending && now-p.lastUsed > int64(s.rc.maxIdle)
}

// sweepLocked evicts the idle issuers. s.mu is held.
func (s *issuerSet) sweepLocked(now int64) []*provider {
	s.swept = now
	var out []*provider
	for _, p := range s.dynamic {
		if s.idle(p, now) {
			out = append(out, s.evictLocked(p))
		}
	}
	return out
}

// lruLocked returns the least recently used issuer that is not being set
// up, or nil. s.mu is held.
func (s *issuerSet) lruLocked() *provider {
	var lru *provider
	for _, p := range s.dynamic {
		if !p.pending && (lru == nil || p.lastUsed < lru.lastUsed) {
			lru = p
		}
	}
	return lru
}

// evictLocked takes p out of the cache. s.mu is held; the caller passes p
// to evicted once it is released.
func (s *issuerSet) evictLocked(p *provider) *provider {
	delete(s.dynamic, p.issuer)
	return p
}

// evicted stops the key sets of evicted issuers and reports them.
func (s *issuerSet) evicted(ps []*provider) {
	for _, p := range ps {
		s.mu.Lock()
		j := p.jwks
		p.jwks = nil
		s.mu.Unlock()
		if j != nil {
			j.Close()
		}
		if s.rc.hooks.OnEvict != nil {
			s.rc.hooks.OnEvict(p.issuer)
		}
	}
}

// close stops every key set made here and waits for set-ups under way.
func (s *issuerSet) close() {
	s.mu.Lock()
	s.closed = true
	s.cancel()
	var js []*JWKS
	for _, ps := range []map[string]*provider{s.static, s.dynamic} {
		for _, p := range ps {
			if p.jwks != nil {
				js = append(js, p.jwks)
				p.jwks = nil
			}
		}
	}
	s.mu.Unlock()
	for _, j := range js {
		j.Close()
	}
	s.wg.Wait()
}
