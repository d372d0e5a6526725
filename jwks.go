package jwtguard

import (
	"context"
	"crypto"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Defaults of a [JWKS].
const (
	// DefaultJWKSTimeout bounds one fetch of the key set.
	DefaultJWKSTimeout = 5 * time.Second
	// DefaultJWKSMaxSize is the largest key set document read, in bytes.
	DefaultJWKSMaxSize = 1 << 20
	// DefaultJWKSMinTTL and DefaultJWKSMaxTTL bound how long a fetched key
	// set is used before it is fetched again, whatever its Cache-Control
	// max-age says.
	DefaultJWKSMinTTL = time.Minute
	DefaultJWKSMaxTTL = time.Hour
	// DefaultJWKSTTL is used when the response has no max-age.
	DefaultJWKSTTL = 15 * time.Minute
	// DefaultJWKSRefetchInterval is the least time between two fetches
	// caused by tokens naming a kid the set does not hold.
	DefaultJWKSRefetchInterval = 30 * time.Second
)

// Retries while no key set could ever be fetched, when every token gets
// 503: requests cause a fetch at most jwksUnavailableDemand apart (or the
// refetch interval, if shorter), and the background retries back off from
// one second to at most jwksUnavailableRetry (or the cache lower bound, if
// shorter). Service thus resumes at most jwksUnavailableRetry after the
// endpoint answers again, plus the fetch under way then.
const (
	jwksUnavailableDemand = time.Second
	jwksUnavailableRetry  = 4 * time.Second
)

// errJWKSClosed is the error of a fetch asked for after Close.
var errJWKSClosed = errors.New("jwtguard: JWKS closed")

// A JWKS is a client of a remote JSON Web Key Set, such as an identity
// provider's jwks_uri, for [WithJWKS]. Make one with [NewJWKS].
//
// It fetches the set when made and keeps it in memory: the request path only
// loads it atomically and scans its few keys. It fetches again in the
// background before the set's Cache-Control max-age runs out (kept within
// [WithJWKSCacheBounds]), and when a token names a kid the set does not hold
// (at most once per [WithJWKSRefetchInterval], concurrent requests sharing
// that one fetch). A token whose kid is still unknown after that is refused
// as [ErrUnknownKey]. The URL is only ever the configured one: a token's
// jku, x5u or jwk header is never followed.
//
// When a fetch fails (network error, timeout, a status other than 200, a
// document too large, not JSON, or without a single usable key), the last
// good set stays in use and the error goes to the [WithJWKSErrorHook]
// hook. Keys of the document that cannot be used (an unknown kty or curve,
// "use" other than "sig", an alg outside the allowed algorithms, a weak key,
// an RSA key without alg when several RSA algorithms are allowed) are
// skipped, and the others are used.
//
// 503, not 401: while no key set could ever be fetched, a token cannot be
// checked, through no fault of its sender. The middleware then answers 503
// with an error matching [ErrUnavailable] (and passes it to the
// [WithFailureHook] hook), never 401. Meanwhile the set is fetched again in
// the background after 1, 2, 4, 4, 4… seconds, and by requests at most once
// a second: service resumes at most four seconds after the endpoint answers
// again (about one second under traffic), plus the fetch under way then,
// which [WithJWKSTimeout] bounds. Once one fetch has succeeded, the keys stay
// usable whatever happens to the endpoint.
//
// A JWKS is safe for concurrent use. [JWKS.Close], or cancelling the context
// given to NewJWKS, stops its background goroutine; the keys it holds stay
// in use, and are never fetched again.
type JWKS struct {
	url      string
	algs     []string
	client   *http.Client
	timeout  time.Duration
	maxSize  int64
	minTTL   time.Duration
	maxTTL   time.Duration
	interval time.Duration
	onError  func(error)
	clock    jwksClock

	ring atomic.Pointer[keyring] // the set in use; gen 0 until a fetch succeeds

	mu         sync.Mutex
	call       *fetchCall    // the fetch under way or asked for; nil when idle
	kick       chan struct{} // asks the background goroutine for a fetch now
	lastDemand time.Time     // when a token last caused a fetch
	lastErr    error         // the error of the last fetch, nil after a success
	closed     bool
	first      chan struct{} // closed once the first fetch has ended, or at Close
	firstDone  bool          // first is closed

	cancel context.CancelFunc
	done   chan struct{} // closed when the background goroutine has returned
}

// fetchCall is one fetch that any number of callers wait for.
type fetchCall struct {
	done chan struct{}
	err  error // set before done is closed
}

// A JWKSOption configures a [JWKS].
type JWKSOption func(*jwksConfig)

type jwksConfig struct {
	client       *http.Client
	timeout      time.Duration
	maxSize      int64
	minTTL       time.Duration
	maxTTL       time.Duration
	interval     time.Duration
	onError      func(error)
	insecureHTTP bool
	errs         []error
}

// WithJWKSHTTPClient sets the client the key set is fetched with, for
// proxies, custom TLS roots or instrumentation. Default: a client with
// [http.DefaultTransport]. Each fetch is bounded by [WithJWKSTimeout]
// whatever the client's own Timeout.
func WithJWKSHTTPClient(c *http.Client) JWKSOption {
	return func(cfg *jwksConfig) {
		if c == nil {
			cfg.errs = append(cfg.errs, errors.New("WithJWKSHTTPClient: nil client"))
			return
		}
		cfg.client = c
	}
}

// WithJWKSTimeout bounds one fetch, from the request to the last byte of the
// body. A request waiting for a fetch caused by an unknown kid waits at most
// this long. Default: [DefaultJWKSTimeout].
func WithJWKSTimeout(d time.Duration) JWKSOption {
	return func(cfg *jwksConfig) {
		if d <= 0 {
			cfg.errs = append(cfg.errs, fmt.Errorf("WithJWKSTimeout: %v is not positive", d))
		}
		cfg.timeout = d
	}
}

// WithJWKSMaxSize sets the largest key set document read, in bytes; a larger
// one fails the fetch. Default: [DefaultJWKSMaxSize] (1 MiB).
func WithJWKSMaxSize(n int64) JWKSOption {
	return func(cfg *jwksConfig) {
		if n < 64 {
			cfg.errs = append(cfg.errs, fmt.Errorf("WithJWKSMaxSize: %d is under 64 bytes", n))
		}
		cfg.maxSize = n
	}
}

// WithJWKSCacheBounds bounds how long a fetched set is used before it is
// fetched again: the response's Cache-Control max-age (less its Age), or
// [DefaultJWKSTTL] without one, is raised to min and lowered to max
// ("no-cache" and "no-store" count as 0). The set is fetched again in the
// background when four fifths of that time have passed. A failed fetch is
// retried after one second, doubling up to min, or up to four seconds while
// no set was ever fetched (see [JWKS]). Default:
// [DefaultJWKSMinTTL] and [DefaultJWKSMaxTTL].
func WithJWKSCacheBounds(min, max time.Duration) JWKSOption {
	return func(cfg *jwksConfig) {
		if min <= 0 || max < min {
			cfg.errs = append(cfg.errs, fmt.Errorf("WithJWKSCacheBounds: need 0 < min <= max, got %v and %v", min, max))
		}
		cfg.minTTL, cfg.maxTTL = min, max
	}
}

// WithJWKSRefetchInterval sets the least time between two fetches caused by
// tokens naming a kid the set does not hold, so that tokens with made-up kids
// cannot make this server hammer the key set's host. While no set was ever
// fetched, tokens cause a fetch at most once a second instead, if d is
// longer: every token gets 503 then, and service must resume soon after the
// endpoint does. Default: [DefaultJWKSRefetchInterval].
func WithJWKSRefetchInterval(d time.Duration) JWKSOption {
	return func(cfg *jwksConfig) {
		if d <= 0 {
			cfg.errs = append(cfg.errs, fmt.Errorf("WithJWKSRefetchInterval: %v is not positive", d))
		}
		cfg.interval = d
	}
}

// WithJWKSErrorHook calls fn with the error of every failed fetch (the last
// good set stays in use), from the JWKS's background goroutine, which runs
// every fetch: fn should return quickly. Failures of requests, such as the
// ErrUnavailable of a token that cannot be checked, go to the middleware's
// [WithFailureHook] instead. Default: none.
func WithJWKSErrorHook(fn func(error)) JWKSOption {
	return func(cfg *jwksConfig) { cfg.onError = fn }
}

// WithJWKSInsecureHTTP allows a URL with the http scheme. Keys fetched over
// plain HTTP can be replaced by anyone on the path, who can then sign any
// token: use it only for a key set served on the same host or in tests.
// Default: only https URLs.
func WithJWKSInsecureHTTP() JWKSOption {
	return func(cfg *jwksConfig) { cfg.insecureHTTP = true }
}

// NewJWKS returns a client of the key set at rawURL whose keys verify tokens
// of the algorithms algs, the allow-list of a middleware made [WithJWKS]: a
// key of the set is used only for its own "alg" member if that is in algs, or,
// when it has none, for the one algorithm of algs that fits it. algs must
// not be empty.
//
// NewJWKS starts the first fetch and returns without waiting for it; call
// [JWKS.Refresh] to wait for it, for example to fail fast at start-up.
// Cancelling ctx, or calling [JWKS.Close], stops the background fetches.
func NewJWKS(ctx context.Context, rawURL string, algs []string, opts ...JWKSOption) (*JWKS, error) {
	return newJWKS(ctx, rawURL, algs, realClock{}, opts...)
}

// newJWKS is NewJWKS on clock, which tests replace.
func newJWKS(ctx context.Context, rawURL string, algs []string, clock jwksClock, opts ...JWKSOption) (*JWKS, error) {
	cfg := jwksConfig{
		timeout:  DefaultJWKSTimeout,
		maxSize:  DefaultJWKSMaxSize,
		minTTL:   DefaultJWKSMinTTL,
		maxTTL:   DefaultJWKSMaxTTL,
		interval: DefaultJWKSRefetchInterval,
	}
	for _, opt := range opts {
		if opt != nil {
			opt(&cfg)
		}
	}
	errs := cfg.errs
	u, err := url.Parse(rawURL)
	switch {
	case err != nil:
		errs = append(errs, fmt.Errorf("URL: %w", err))
	case u.Scheme == "http" && !cfg.insecureHTTP:
		errs = append(errs, errors.New("URL: http scheme: use https (or WithJWKSInsecureHTTP)"))
	case u.Scheme != "https" && u.Scheme != "http" || u.Host == "":
		errs = append(errs, fmt.Errorf("URL %q is not an absolute https URL", rawURL))
	}
	if len(algs) == 0 {
		errs = append(errs, errors.New("no algorithm: name the algorithms the key set signs with, such as RS256"))
	}
	for _, alg := range algs {
		if _, ok := algorithms[alg]; !ok {
			errs = append(errs, fmt.Errorf("unsupported algorithm %q", alg))
		} else if _, hmac := minHMACKey[alg]; hmac {
			errs = append(errs, fmt.Errorf("%s: a remote key set never holds HMAC secrets", alg))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("jwtguard: NewJWKS: %w", err)
	}
	if cfg.client == nil {
		cfg.client = &http.Client{}
	}
	j := &JWKS{
		url:      rawURL,
		algs:     append([]string(nil), algs...),
		client:   cfg.client,
		timeout:  cfg.timeout,
		maxSize:  cfg.maxSize,
		minTTL:   cfg.minTTL,
		maxTTL:   cfg.maxTTL,
		interval: cfg.interval,
		onError:  cfg.onError,
		clock:    clock,
		kick:     make(chan struct{}, 1),
		done:     make(chan struct{}),
		first:    make(chan struct{}),
	}
	j.ring.Store(&keyring{algs: j.algs, keys: []verifier{}})
	ctx, j.cancel = context.WithCancel(ctx)
	go j.run(ctx)
	return j, nil
}

// WithJWKS makes the middleware verify with the keys of the remote key set
// j. The algorithms given to [NewJWKS] are the allow-list. It cannot be
// combined with [WithKey], [WithKeys] or [WithKeySet]. Tokens that cannot be
// checked because no key set could ever be fetched get 503 (see [JWKS]).
func WithJWKS(j *JWKS) Option {
	return func(c *config) {
		if j == nil {
			c.errs = append(c.errs, errors.New("WithJWKS: nil JWKS"))
			return
		}
		c.source = j
		c.sources++
	}
}

// Close stops the background fetches and waits for them to end. The keys
// held stay in use. Close may be called more than once.
func (j *JWKS) Close() error {
	j.cancel()
	<-j.done
	return nil
}

// Refresh fetches the key set now, or waits for the fetch under way, and
// returns its error. It is not rate limited: call it at start-up or when you
// know the set changed, not per request.
func (j *JWKS) Refresh(ctx context.Context) error {
	j.mu.Lock()
	if j.closed {
		j.mu.Unlock()
		return errJWKSClosed
	}
	c := j.startLocked()
	j.mu.Unlock()
	select {
	case <-c.done:
		return c.err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Keys returns the keys in use, public halves, bound to their algorithm.
// It is empty until a fetch has succeeded.
func (j *JWKS) Keys() []Key {
	kr := j.ring.Load()
	out := make([]Key, len(kr.keys))
	for i, v := range kr.keys {
		out[i] = Key{ID: v.id, Algorithm: v.alg, Key: v.key}
	}
	return out
}

// Contains reports whether the set in use holds a key with id kid.
func (j *JWKS) Contains(kid string) bool {
	for _, v := range j.ring.Load().keys {
		if v.id == kid {
			return true
		}
	}
	return false
}

// current returns the set in use: one atomic load.
func (j *JWKS) current() *keyring { return j.ring.Load() }

// refresh is called for a token whose key is not in the set in use. It
// fetches again unless a token caused a fetch less than the refetch interval
// ago (jwksUnavailableDemand while no set was ever fetched), and waits for
// that fetch (or the one under way).
func (j *JWKS) refresh(ctx context.Context) (*keyring, error) {
	j.mu.Lock()
	c := j.call
	if c == nil {
		now := j.clock.now()
		interval := j.interval
		if j.ring.Load().gen == 0 {
			interval = min(interval, jwksUnavailableDemand)
		}
		if j.closed || now.Sub(j.lastDemand) < interval {
			err := j.lastErr
			j.mu.Unlock()
			return j.settled(err)
		}
		j.lastDemand = now
		c = j.startLocked()
	}
	j.mu.Unlock()
	select {
	case <-c.done:
		return j.settled(c.err)
	case <-ctx.Done():
		return j.settled(ctx.Err())
	}
}

// settled returns the set in use, or an error matching ErrUnavailable with
// cause err when no set was ever fetched.
func (j *JWKS) settled(err error) (*keyring, error) {
	kr := j.ring.Load()
	if kr.gen > 0 {
		return kr, nil
	}
	if err == nil {
		err = errors.New("no key set fetched yet")
	}
	return nil, fmt.Errorf("%w: key set %s: %w", ErrUnavailable, j.url, err)
}

// startLocked returns the fetch under way, or asks the background goroutine
// for a new one. j.mu is held.
func (j *JWKS) startLocked() *fetchCall {
	if j.call == nil {
		j.call = &fetchCall{done: make(chan struct{})}
		select {
		case j.kick <- struct{}{}:
		default:
		}
	}
	return j.call
}

// run is the background goroutine: it fetches at once, then before each set
// expires, after failures with a backoff, and whenever kicked.
func (j *JWKS) run(ctx context.Context) {
	defer close(j.done)
	backoff := min(time.Second, j.minTTL)
	for ctx.Err() == nil {
		ttl, err := j.fetchShared(ctx)
		next := ttl - ttl/5
		if err != nil {
			next = backoff
			limit := j.minTTL // the last good set is in use meanwhile
			if j.ring.Load().gen == 0 {
				limit = min(limit, jwksUnavailableRetry) // every token gets 503
			}
			backoff = min(2*backoff, limit)
		} else {
			backoff = min(time.Second, j.minTTL)
		}
		fire, stop := j.clock.after(next)
		select {
		case <-ctx.Done():
		case <-fire:
		case <-j.kick:
		}
		stop()
	}
	j.mu.Lock()
	j.closed = true
	c := j.call
	j.call = nil
	j.endFirstLocked()
	j.mu.Unlock()
	if c != nil {
		c.err = errJWKSClosed
		close(c.done)
	}
}

// jwksClock is the time a JWKS runs on: the real one, or a test's.
type jwksClock interface {
	now() time.Time
	// after returns a channel that receives once d has passed, and a
	// function that releases it early.
	after(d time.Duration) (fire <-chan time.Time, stop func())
}

type realClock struct{}

func (realClock) now() time.Time { return time.Now() }

func (realClock) after(d time.Duration) (<-chan time.Time, func()) {
	t := time.NewTimer(d)
	return t.C, func() { t.Stop() }
}

// fetchShared runs one fetch for every caller waiting on j.call, and
// publishes the set it got.
func (j *JWKS) fetchShared(ctx context.Context) (time.Duration, error) {
	j.mu.Lock()
	c := j.call
	if c == nil {
		c = &fetchCall{done: make(chan struct{})}
		j.call = c
	}
	select {
	case <-j.kick: // this fetch answers whoever kicked
	default:
	}
	j.mu.Unlock()

	kr, ttl, err := j.fetch(ctx)
	if err == nil {
		if old := j.ring.Load(); !sameKeys(old, kr) {
			kr.gen = old.gen + 1
			j.ring.Store(kr)
		}
	} else if j.onError != nil && ctx.Err() == nil { // not for Close
		j.onError(err)
	}
	j.mu.Lock()
	j.call = nil
	j.lastErr = err
	c.err = err
	j.endFirstLocked()
	j.mu.Unlock()
	close(c.done)
	return ttl, err
}

// endFirstLocked marks the end of the first fetch. j.mu is held.
func (j *JWKS) endFirstLocked() {
	if !j.firstDone {
		j.firstDone = true
		close(j.first)
	}
}

// waitFirst waits for the end of the fetch that NewJWKS started, without
// asking for another one, and returns its error (nil when it succeeded).
// Several issuers use it so that a key set made for an issuer on demand is
// fetched once however many requests wait for it.
func (j *JWKS) waitFirst(ctx context.Context) error {
	select {
	case <-j.first:
		j.mu.Lock()
		defer j.mu.Unlock()
		return j.lastErr
	case <-ctx.Done():
		return ctx.Err()
	}
}

// fetch gets and parses the key set once.
func (j *JWKS) fetch(ctx context.Context) (*keyring, time.Duration, error) {
	ctx, cancel := context.WithTimeout(ctx, j.timeout)
	defer cancel()
	fail := func(err error) (*keyring, time.Duration, error) {
		return nil, 0, fmt.Errorf("jwtguard: JWKS %s: %w", j.url, err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, j.url, nil)
	if err != nil {
		return fail(err)
	}
	req.Header.Set("Accept", "application/jwk-set+json, application/json")
	resp, err := j.client.Do(req)
	if err != nil {
		return fail(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fail(fmt.Errorf("status %d", resp.StatusCode))
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, j.maxSize+1))
	if err != nil {
		return fail(err)
	}
	if int64(len(body)) > j.maxSize {
		return fail(fmt.Errorf("document larger than %d bytes", j.maxSize))
	}
	kr, err := j.parse(body)
	if err != nil {
		return fail(err)
	}
	return kr, cacheTTL(resp.Header, j.minTTL, j.maxTTL), nil
}

// parse reads a JWK Set, skipping the keys it cannot use.
func (j *JWKS) parse(body []byte) (*keyring, error) {
	var set jwkSet
	if err := json.Unmarshal(body, &set); err != nil {
		return nil, fmt.Errorf("not a JWK Set: %w", err)
	}
	kr := &keyring{algs: j.algs}
	var skipped []error
	for i, raw := range set.Keys {
		v, err := j.usable(raw)
		if err != nil {
			skipped = append(skipped, fmt.Errorf("key %d: %w", i, err))
			continue
		}
		dup := false
		for _, w := range kr.keys {
			dup = dup || w.id == v.id && w.alg == v.alg
		}
		if dup {
			skipped = append(skipped, fmt.Errorf("key %d: duplicate kid %q", i, v.id))
			continue
		}
		kr.keys = append(kr.keys, v)
	}
	if len(kr.keys) == 0 {
		return nil, fmt.Errorf("no usable key among %d: %w", len(set.Keys), errors.Join(skipped...))
	}
	return kr, nil
}

// usable returns the verifier of one key of a remote set, or why it is
// skipped.
func (j *JWKS) usable(raw json.RawMessage) (verifier, error) {
	var k jwk
	if err := json.Unmarshal(raw, &k); err != nil {
		return verifier{}, err
	}
	if k.Kty == "oct" {
		return verifier{}, errors.New("symmetric key")
	}
	if err := k.usableForSig(); err != nil {
		return verifier{}, err
	}
	pub, err := k.publicKey()
	if err != nil {
		return verifier{}, err
	}
	alg := k.Alg
	if alg == "" {
		fit := algsFor(pub, j.algs)
		if len(fit) != 1 {
			return verifier{}, fmt.Errorf("kid %q has no alg and fits %d allowed algorithms", k.Kid, len(fit))
		}
		alg = fit[0]
	} else if !contains(j.algs, alg) {
		return verifier{}, fmt.Errorf("kid %q: alg %q is not allowed", k.Kid, alg)
	}
	return checkKey(Key{ID: k.Kid, Algorithm: alg, Key: pub})
}

// cacheTTL reads how long a response may be used from its Cache-Control
// and Age headers, within [min, max].
func cacheTTL(h http.Header, minTTL, maxTTL time.Duration) time.Duration {
	ttl := DefaultJWKSTTL
	for _, v := range h.Values("Cache-Control") {
		for _, d := range strings.Split(v, ",") {
			name, arg, _ := strings.Cut(strings.TrimSpace(d), "=")
			switch strings.ToLower(name) {
			case "no-cache", "no-store":
				ttl = 0
			case "max-age":
				if ttl == 0 {
					continue // no-cache wins
				}
				n, err := strconv.ParseInt(strings.Trim(arg, `"`), 10, 64)
				if err != nil || n < 0 {
					continue
				}
				ttl = time.Duration(min(n, int64(maxTTL/time.Second)+1)) * time.Second
				if age, err := strconv.ParseInt(h.Get("Age"), 10, 64); err == nil && age > 0 {
					ttl -= time.Duration(min(age, n)) * time.Second
				}
			}
		}
	}
	return max(minTTL, min(ttl, maxTTL))
}

// sameKeys reports whether a and b hold the same keys in the same order.
func sameKeys(a, b *keyring) bool {
	if len(a.keys) != len(b.keys) {
		return false
	}
	for i := range a.keys {
		x, y := &a.keys[i], &b.keys[i]
		if x.id != y.id || x.alg != y.alg {
			return false
		}
		eq, ok := x.key.(interface{ Equal(crypto.PublicKey) bool })
		if !ok || !eq.Equal(y.key) {
			return false
		}
	}
	return true
}

// DiscoverJWKSURL reads the OpenID Connect discovery document of issuer
// (issuer + "/.well-known/openid-configuration"), checks that the issuer it
// names is exactly issuer (OpenID Connect Discovery 1.0 §4.3, so a document
// served elsewhere cannot name its own keys), and returns its jwks_uri,
// which must be https when issuer is. client nil means a default client;
// the document is read up to [DefaultJWKSMaxSize] bytes within
// [DefaultJWKSTimeout].
func DiscoverJWKSURL(ctx context.Context, client *http.Client, issuer string) (string, error) {
	fail := func(err error) (string, error) {
		return "", fmt.Errorf("jwtguard: discovery of %s: %w", issuer, err)
	}
	iu, err := url.Parse(issuer)
	if err != nil || (iu.Scheme != "https" && iu.Scheme != "http") || iu.Host == "" {
		return fail(errors.New("issuer is not an absolute URL"))
	}
	if client == nil {
		client = &http.Client{}
	}
	ctx, cancel := context.WithTimeout(ctx, DefaultJWKSTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimSuffix(issuer, "/")+"/.well-known/openid-configuration", nil)
	if err != nil {
		return fail(err)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return fail(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fail(fmt.Errorf("status %d", resp.StatusCode))
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, DefaultJWKSMaxSize+1))
	if err != nil {
		return fail(err)
	}
	if len(body) > DefaultJWKSMaxSize {
		return fail(errors.New("document too large"))
	}
	var doc struct {
		Issuer  string `json:"issuer"`
		JWKSURI string `json:"jwks_uri"`
	}
	if err := json.Unmarshal(body, &doc); err != nil {
		return fail(err)
	}
	if doc.Issuer != issuer {
		return fail(fmt.Errorf("document names issuer %q", doc.Issuer))
	}
	ju, err := url.Parse(doc.JWKSURI)
	if err != nil || ju.Host == "" || ju.Scheme != "https" && (ju.Scheme != "http" || iu.Scheme != "http") {
		return fail(fmt.Errorf("jwks_uri %q is not an https URL", doc.JWKSURI))
	}
	return doc.JWKSURI, nil
}
