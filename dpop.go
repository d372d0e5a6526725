package jwtguard

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// DPoPMode says whether the middleware takes DPoP-bound tokens (RFC 9449),
// bearer tokens, or both.
type DPoPMode int

const (
	// DPoPDisabled is the default: bearer tokens only, as without
	// [WithDPoP]. The DPoP scheme counts as no token, and a token with a cnf
	// claim is taken as a bearer token, as a server unaware of DPoP would
	// (RFC 9449 §7.2).
	DPoPDisabled DPoPMode = iota
	// DPoPAllowed takes both: "Authorization: DPoP <token>" with a DPoP
	// proof, checked as RFC 9449 §4.3 says, and bearer tokens without a cnf
	// claim, checked as before. A DPoP-bound token presented as a bearer
	// token is refused.
	DPoPAllowed
	// DPoPRequired takes DPoP-bound tokens with a proof only; every bearer
	// token is refused ([ErrDPoPRequired]).
	DPoPRequired
)

// String returns the mode's name: "disabled", "allowed" or "required".
func (m DPoPMode) String() string {
	switch m {
	case DPoPDisabled:
		return "disabled"
	case DPoPAllowed:
		return "allowed"
	case DPoPRequired:
		return "required"
	}
	return fmt.Sprintf("DPoPMode(%d)", int(m))
}

// DPoPMode returns the mode set by [WithDPoP]: [DPoPDisabled] without it.
// Adapters that verify tokens without an HTTP request, such as a gRPC
// guard built on [Middleware.Verify], read it: they can check no DPoP
// proof, so under [DPoPRequired] they would refuse every token.
func (m *Middleware) DPoPMode() DPoPMode {
	if m.dpop == nil {
		return DPoPDisabled
	}
	return m.dpop.mode
}

// Defaults of [WithDPoP].
const (
	// DefaultDPoPWindow is how far a proof's iat may be from the server's
	// clock, either side, beyond the leeway of [WithLeeway].
	DefaultDPoPWindow = 3 * time.Minute
	// DefaultReplayCacheSize is the most proof identifiers the default
	// in-memory replay cache holds.
	DefaultReplayCacheSize = 1 << 20
)

// defaultDPoPAlgorithms are the proof algorithms accepted by default: every
// asymmetric algorithm the package supports. HMAC and "none" can never be
// used for proofs.
var defaultDPoPAlgorithms = []string{"ES256", "ES384", "ES512", "EdDSA", "PS256", "PS384", "PS512", "RS256", "RS384", "RS512"}

// A DPoPOption configures [WithDPoP].
type DPoPOption func(*dpopConfig)

type dpopConfig struct {
	mode    DPoPMode
	algs    []string
	window  time.Duration
	replay  ReplayCache // nil: a MemoryReplayCache of DefaultReplayCacheSize
	nonce   []byte      // nil: no nonces
	rotate  time.Duration
	proxies *proxyConfig
	errs    []error
}

// WithDPoP turns on DPoP (RFC 9449) in mode: sender-constrained access
// tokens, bound by their cnf.jkt claim to a key the client holds and proves
// it holds by signing a proof for each request. A request under the DPoP
// scheme, "Authorization: DPoP <token>", must carry exactly one DPoP header
// with a proof that passes every check of RFC 9449 §4.3:
//
//   - a compact JWS of at most 8 KiB with typ "dpop+jwt" and an alg from the
//     allow-list ([DPoPAlgorithms]; never "none" or HMAC);
//   - a jwk header with a public key only (a private member is refused)
//     that fits the alg, and a signature that verifies with it;
//   - jti, htm, htu and iat claims; htm equal to the request method; htu
//     equal to the request URI without query and fragment, both normalised
//     as RFC 3986 §6.2.2 and §6.2.3 say (scheme and host case, default
//     port, percent-encoding, dot segments); the scheme and host come from
//     the request, or from a forwarded header sent by a proxy named in
//     [DPoPTrustedProxies];
//   - iat within the window ([DPoPWindow]) either side of the clock, plus
//     the leeway;
//   - ath equal to base64url(SHA-256(access token));
//   - the RFC 7638 thumbprint of jwk equal to the token's cnf.jkt;
//   - with [DPoPNonces], a current server nonce;
//   - a jti not seen before within the window (the [ReplayCache]); the jti
//     is recorded only when every other check has passed.
//
// The token itself is verified exactly as a bearer token is. A token without
// cnf.jkt under the DPoP scheme is refused ([ErrDPoPBinding]), so
// [DPoPRequired] cannot be bypassed with an unbound token; a token with a
// cnf claim presented as a bearer token (or from a cookie) is refused
// ([ErrDPoPRequired]), and so is a DPoP header beside a bearer token (400).
// [Middleware.Verify], which sees no request, takes tokens as bearer tokens.
//
// Responses: 401 with WWW-Authenticate: DPoP algs="…" and
// error="invalid_dpop_proof" ([ErrDPoPProof]), "use_dpop_nonce" with a
// DPoP-Nonce header ([ErrDPoPNonce]) or "invalid_token"; a request without
// credentials gets both a Bearer and a DPoP challenge in [DPoPAllowed], the
// DPoP one only in [DPoPRequired]; a store or replay cache that fails
// answers 503. Default: [DPoPDisabled].
func WithDPoP(mode DPoPMode, opts ...DPoPOption) Option {
	return func(c *config) {
		d := &dpopConfig{mode: mode, algs: defaultDPoPAlgorithms, window: DefaultDPoPWindow, rotate: DefaultDPoPNonceLifetime}
		if mode < DPoPDisabled || mode > DPoPRequired {
			d.errs = append(d.errs, fmt.Errorf("WithDPoP: unknown mode %d", int(mode)))
		}
		for _, opt := range opts {
			if opt != nil {
				opt(d)
			}
		}
		c.errs = append(c.errs, d.errs...)
		c.dpop = d
	}
}

// DPoPAlgorithms sets the algorithms accepted for proofs, advertised in the
// algs parameter of challenges. Only asymmetric algorithms the package
// supports may be named. Default: ES256, ES384, ES512, EdDSA, PS256, PS384,
// PS512, RS256, RS384 and RS512 (RSA keys of at least 2048 bits).
func DPoPAlgorithms(algs ...string) DPoPOption {
	return func(d *dpopConfig) {
		if len(algs) == 0 {
			d.errs = append(d.errs, errors.New("DPoPAlgorithms: no algorithm"))
		}
		for _, a := range algs {
			if !contains(defaultDPoPAlgorithms, a) {
				d.errs = append(d.errs, fmt.Errorf("DPoPAlgorithms: %q is not an asymmetric algorithm this package supports", a))
			}
		}
		d.algs = append([]string(nil), algs...)
	}
}

// DPoPWindow sets how far a proof's iat may be from the server's clock,
// before or after it, beyond the leeway of [WithLeeway]. Proof identifiers
// are remembered for as long as a proof can pass this check. Default:
// [DefaultDPoPWindow] (3 minutes). It must be between 5 seconds and 1 hour.
func DPoPWindow(d time.Duration) DPoPOption {
	return func(c *dpopConfig) {
		if d < 5*time.Second || d > time.Hour {
			c.errs = append(c.errs, fmt.Errorf("DPoPWindow: %v is outside [5s, 1h]", d))
		}
		c.window = d
	}
}

// DPoPReplayCache sets where proof identifiers are remembered, to refuse a
// proof seen before ([ErrDPoPReplay]). Several instances of a service must
// share one (the Redis store of the redisstore module is one), or a proof
// replayed to another instance passes there. Default: a
// [MemoryReplayCache] of [DefaultReplayCacheSize] entries for this
// middleware alone.
func DPoPReplayCache(c ReplayCache) DPoPOption {
	return func(d *dpopConfig) {
		if c == nil {
			d.errs = append(d.errs, errors.New("DPoPReplayCache: nil cache"))
		}
		d.replay = c
	}
}

// dpopGuard is the DPoP configuration of a Middleware, checked and fixed by
// New.
type dpopGuard struct {
	mode      DPoPMode
	algs      []string
	window    float64 // seconds
	replay    ReplayCache
	nonces    *nonceSource // nil: no nonces
	proxies   *proxyConfig // nil: no proxy is trusted
	challenge string       // `DPoP algs="…"`
}

// newDPoPGuard returns the guard of d, which New has checked, or nil for
// DPoPDisabled.
func newDPoPGuard(d *dpopConfig, clock func() time.Time) *dpopGuard {
	if d == nil || d.mode == DPoPDisabled {
		return nil
	}
	g := &dpopGuard{
		mode:      d.mode,
		algs:      append([]string(nil), d.algs...),
		window:    d.window.Seconds(),
		replay:    d.replay,
		proxies:   d.proxies,
		challenge: `DPoP algs="` + strings.Join(d.algs, " ") + `"`,
	}
	if g.replay == nil {
		g.replay = newMemoryReplayCache(DefaultReplayCacheSize, clock)
	}
	if d.nonce != nil {
		g.nonces = newNonceSource(d.nonce, d.rotate, clock)
	}
	return g
}

// binding is what a verified token says about DPoP: whether it has a cnf
// claim (it is sender-constrained) and the key thumbprint in cnf.jkt.
type binding struct {
	bound bool   // the token has a cnf claim
	jkt   string // cnf.jkt, "" when absent
}

// set reads the binding of cv; text is the payload string of default
// claims, or "".
func (b *binding) set(cv *claimView, text string) {
	*b = binding{bound: cv.hasCnf}
	if cv.hasJKT {
		b.jkt = cv.jkt.in(text)
	}
}

// bindingKey is the context key under which the DPoP guard passes a
// *binding down to verification, which fills it once the token has passed.
type bindingKey struct{}

// withBinding returns ctx carrying b.
func withBinding(ctx context.Context, b *binding) context.Context {
	return context.WithValue(ctx, bindingKey{}, b)
}

// bindingFrom returns the *binding in ctx, or nil.
func bindingFrom(ctx context.Context) *binding {
	b, _ := ctx.Value(bindingKey{}).(*binding)
	return b
}

// confirmation reads a cnf claim (RFC 7800 §3.1): an object whose jkt
// member, when present, is a string. Other confirmation methods are
// skipped.
func (s *scanner) confirmation() (jkt span, hasJKT, ok bool) {
	var seen keySet
	if !s.open() {
		return span{}, false, false
	}
	for first := true; ; first = false {
		key, done, ok := s.member(first)
		if !ok {
			return span{}, false, false
		}
		if done {
			return jkt, hasJKT, true
		}
		if !seen.add(s.b, key, maxHeaderMembers) {
			return span{}, false, false
		}
		if key.is("jkt") {
			if jkt, ok = s.str(); !ok {
				return span{}, false, false
			}
			hasJKT = true
			continue
		}
		if !s.value(2) {
			return span{}, false, false
		}
	}
}

// check authenticates r for a Middleware with DPoP on. It replaces
// extraction and verification in [Middleware.Check]. It returns the claims
// and, for a request under the DPoP scheme, the thumbprint of the key its
// proof proved.
func (g *dpopGuard) check(m *Middleware, r *http.Request) (any, string, error) {
	token, proof, err := g.schemeToken(m, r)
	if err != nil {
		return nil, "", err
	}
	if token == "" {
		claims, err := g.checkBearer(m, r)
		return claims, "", err
	}
	var b binding
	claims, err := m.verify(withBinding(r.Context(), &b), token)
	if err != nil {
		return nil, "", err
	}
	if err := g.prove(m, r, proof, token, b.jkt); err != nil {
		return nil, "", err
	}
	return claims, b.jkt, nil
}

// schemeToken returns the token of a request under the DPoP scheme and its
// proof, both not yet verified, or "" for a request without the DPoP
// scheme. A token elsewhere too, no or two DPoP headers, or a token over
// the size limit are errors.
func (g *dpopGuard) schemeToken(m *Middleware, r *http.Request) (token, proof string, err error) {
	token, err = dpopAuthorization(r)
	if err != nil || token == "" {
		return "", "", err
	}
	// Another source that also holds a token makes the request ambiguous.
	if other, _, err := extract(m.extractors, r); err != ErrNoToken {
		if err == nil && other != "" {
			err = errManySources
		}
		return "", "", err
	}
	if proof, err = proofHeader(r); err != nil {
		return "", "", err
	}
	if len(token) > m.maxTokenSize {
		return "", "", errTooLarge
	}
	return token, proof, nil
}

// prove checks that proof, the DPoP header of r, proves possession of the
// key a verified token is bound to: jkt is the token's cnf.jkt ("" when it
// has none: refused), token the token itself, for ath. It runs the checks
// of RFC 9449 §4.3 that are about the proof, then the nonce, and records
// the proof's jti last. Every request under the DPoP scheme passes it: the
// middleware's, and the lifecycle handlers' that authenticate a caller.
func (g *dpopGuard) prove(m *Middleware, r *http.Request, proof, token, jkt string) error {
	if jkt == "" {
		return errDPoPUnbound
	}
	p, err := g.verifyProof(m, r, proof, token)
	if err != nil {
		return err
	}
	if subtle.ConstantTimeCompare([]byte(p.jkt), []byte(jkt)) != 1 {
		return errDPoPWrongKey
	}
	if err := g.checkNonce(p); err != nil {
		return err
	}
	return g.remember(r.Context(), m, p)
}

// presentedToken returns the access token r presents, where
// [Middleware.Check] finds it: under the DPoP scheme when DPoP is on, or
// from the extractors. Call it once Check has passed.
func (m *Middleware) presentedToken(r *http.Request) (string, Source) {
	if m.dpop != nil {
		if token, err := dpopAuthorization(r); err == nil && token != "" {
			return token, SourceHeader
		}
	}
	token, source, _ := extract(m.extractors, r)
	return token, source
}

// provenKeyKey is the context key under which the middleware leaves the
// thumbprint of the key a request's DPoP proof proved, for
// [Sessions.Login].
type provenKeyKey struct{}

// withProvenKey returns ctx carrying jkt, or ctx itself for "".
func withProvenKey(ctx context.Context, jkt string) context.Context {
	if jkt == "" {
		return ctx
	}
	return context.WithValue(ctx, provenKeyKey{}, jkt)
}

// provenKey returns the thumbprint of the key a DPoP middleware proved for
// the request of ctx, or "".
func provenKey(ctx context.Context) string {
	jkt, _ := ctx.Value(provenKeyKey{}).(string)
	return jkt
}

// checkBearer authenticates a request without the DPoP scheme: a bearer
// token, or one from another configured source.
func (g *dpopGuard) checkBearer(m *Middleware, r *http.Request) (any, error) {
	token, source, err := extract(m.extractors, r)
	if err != nil {
		return nil, err
	}
	if len(r.Header["Dpop"]) > 0 {
		return nil, errDPoPWithBearer
	}
	if source == SourceCookie {
		if err := m.csrf.check(r); err != nil {
			return nil, err
		}
	}
	return g.verifyBearer(r.Context(), m, token)
}

// verifyBearer verifies a token that came without a proof.
func (g *dpopGuard) verifyBearer(ctx context.Context, m *Middleware, token string) (any, error) {
	if g.mode == DPoPRequired {
		return nil, errDPoPBearer
	}
	var b binding
	claims, err := m.verify(withBinding(ctx, &b), token)
	if err != nil {
		return nil, err
	}
	if b.bound {
		return nil, errDPoPBearerBound
	}
	return claims, nil
}

// remember records the proof's jti in the replay cache, refusing a proof
// seen before. The entry lasts as long as the proof could pass the iat
// check.
func (g *dpopGuard) remember(ctx context.Context, m *Middleware, p *proof) error {
	_, leeway := m.now()
	until := p.iat + g.window + leeway + 1
	fresh, err := g.replay.Remember(ctx, replayID(p.jkt, p.jti), time.Unix(int64(until), 0))
	if err != nil {
		return fmt.Errorf("%w: DPoP replay cache: %w", ErrUnavailable, err)
	}
	if !fresh {
		return errDPoPReplayed
	}
	return nil
}

// replayID is the replay cache key of a proof: 128 bits of SHA-256 over
// the key thumbprint and the jti, base64url-encoded (22 characters), so
// that one client cannot spoil another's jti, and entries have one size.
func replayID(jkt, jti string) string {
	h := sha256.New()
	h.Write([]byte(jkt))
	h.Write([]byte{0})
	h.Write([]byte(jti))
	var sum [sha256.Size]byte
	return base64.RawURLEncoding.EncodeToString(h.Sum(sum[:0])[:16])
}

var dpopScheme = authScheme{lower: "dpop", empty: errDPoPEmpty, space: errDPoPSpace, sep: errDPoPSep}

// dpopAuthorization reads "Authorization: DPoP <token>" as
// [authScheme.token] reads a scheme.
func dpopAuthorization(r *http.Request) (string, error) { return dpopScheme.token(r) }

// proofHeader returns the one DPoP header of r.
func proofHeader(r *http.Request) (string, error) {
	values := r.Header["Dpop"]
	switch len(values) {
	case 0:
		return "", errDPoPMissing
	case 1:
	default:
		return "", errDPoPTwoHeaders
	}
	p := strings.TrimSpace(values[0])
	if p == "" {
		return "", errDPoPMissing
	}
	return p, nil
}

// accessTokenHash is the ath of token: base64url(SHA-256(token)) (RFC 9449
// §4.2).
func accessTokenHash(token string) [43]byte {
	sum := sha256.Sum256([]byte(token))
	var out [43]byte
	base64.RawURLEncoding.Encode(out[:], sum[:])
	return out
}
