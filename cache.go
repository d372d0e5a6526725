package jwtguard

import (
	"bytes"
	"context"
	"crypto"
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"hash/maphash"
	"sync/atomic"

	"github.com/golang-jwt/jwt/v5"
)

// DefaultCacheMaxTokenSize is the largest token [WithCache] keeps, in bytes.
const DefaultCacheMaxTokenSize = 2048

// WithCache keeps the results of up to maxEntries successful verifications,
// keyed by the exact token string, so that a token seen again skips the
// base64 and JSON decoding and the signature check: for RS256, ES256 and
// EdDSA that is almost all of the cost of a request. Default: no cache.
//
// A token served from the cache is checked again for everything that can
// change after it was first verified: exp, nbf and iat against the clock
// (an entry is never served after its token has expired), the revocation
// store of [WithStore], and its key, which must still be in the key set
// (a key removed from a [KeySet] or a [JWKS] takes the results it verified
// with it; a change that only adds keys keeps them). Issuer, audience and
// type depend only on the token and the configuration, which are fixed, so
// their verdict stands. With several issuers ([WithIssuers],
// [WithIssuerResolver]) a result is served only while the issuer's keys and
// rules that verified it are still those in use: the resolver is asked
// again, and an issuer evicted from the issuer cache takes its results with
// it. The CSRF defence and the route requirements
// ([Middleware.RequireScope], [Middleware.RequireRole]) run on every request
// as before.
//
// Every hit hands out claims of its own: the handler may change them
// without affecting any other request. The default [*Claims] are copied
// (their slices and dates too). A [WithClaimsType] type C is copied with its
// method Clone() *C when it has one; otherwise a struct embedding Claims
// gets a copy of them and its other members decoded again (see
// [WithClaimsType]), and any other type is decoded again from the cached
// payload with encoding/json on every hit (only the signature check is
// saved then). A Clone that returns nil is never taken for claims: when
// the token is cached it is kept as for a type without Clone, and on a hit
// the token is verified and decoded again in full.
//
// The cache holds at most maxEntries results (rounded down to a multiple of
// 8 from 8 up): it is set-associative, each token hashing with a per-process
// random seed to one set of 8 entries, and a full set evicts by CLOCK
// (an entry used since the last pass gets a second chance; expired entries
// go first), so an insertion is O(1). Lookups take no lock and insertions
// only swap one pointer, so parallel requests never wait for each other.
// Tokens longer than [DefaultCacheMaxTokenSize] are verified without it
// (see [CacheMaxTokenSize]); an entry keeps its token, its payload and
// the claims decoded from it: about the token's size plus 1 KB with the
// default claims (1.4 KB for a 424-byte token).
func WithCache(maxEntries int, opts ...CacheOption) Option {
	return func(c *config) {
		cc := cacheConfig{maxEntries: maxEntries, maxTokenSize: DefaultCacheMaxTokenSize}
		for _, opt := range opts {
			if opt != nil {
				opt(&cc)
			}
		}
		if maxEntries < 1 {
			c.errs = append(c.errs, fmt.Errorf("WithCache: %d entries: at least 1 is required", maxEntries))
		}
		if cc.maxTokenSize < 64 || cc.maxTokenSize > 64<<10 {
			c.errs = append(c.errs, fmt.Errorf("WithCache: token size %d is outside [64, 65536]", cc.maxTokenSize))
		}
		c.cache = &cc
	}
}

// A CacheOption configures the cache of [WithCache].
type CacheOption func(*cacheConfig)

type cacheConfig struct {
	maxEntries   int
	maxTokenSize int
	hooks        CacheHooks
}

// CacheMaxTokenSize sets the largest token the cache keeps, in bytes; longer
// tokens are verified in full every time. Default:
// [DefaultCacheMaxTokenSize] (2 KiB). It must be between 64 bytes and
// 64 KiB.
func CacheMaxTokenSize(n int) CacheOption {
	return func(c *cacheConfig) { c.maxTokenSize = n }
}

// CacheHooks are called on cache events, to count them. They are called on
// the request path, concurrently: keep them short and safe for concurrent
// use (an atomic counter). A nil hook costs nothing.
type CacheHooks struct {
	// OnHit is called when a token is served from the cache (whether or
	// not it then passes the checks made again).
	OnHit func()
	// OnMiss is called when a token is verified in full: not in the cache,
	// too large for it, or cached with a key no longer in the key set.
	OnMiss func()
	// OnEvict is called when an entry leaves the cache: replaced to make
	// room, expired, or dropped because its key left the key set.
	OnEvict func()
}

// CacheWithHooks sets the hooks of the cache. Default: none.
func CacheWithHooks(h CacheHooks) CacheOption {
	return func(c *cacheConfig) { c.hooks = h }
}

// CacheStats describes the cache of a [Middleware].
type CacheStats struct {
	// Entries is the number of results held now.
	Entries int
	// Capacity is the most results the cache holds.
	Capacity int
}

// CacheStats reports how full the cache of [WithCache] is; the zero
// CacheStats without a cache. It walks the whole cache: call it to monitor,
// not per request.
func (m *Middleware) CacheStats() CacheStats {
	c := m.cache
	if c == nil {
		return CacheStats{}
	}
	st := CacheStats{Capacity: len(c.slots)}
	for i := range c.slots {
		if c.slots[i].Load() != nil {
			st.Entries++
		}
	}
	return st
}

// cacheWays is the number of entries of one set.
const cacheWays = 8

// tokenCache is the cache of verified tokens: nsets sets of ways entries,
// stored flat in slots.
type tokenCache struct {
	slots    []atomic.Pointer[cacheEntry]
	hands    []atomic.Uint32 // the CLOCK hand of each set
	ways     int
	nsets    uint64
	seed     maphash.Seed
	maxToken int
	hooks    CacheHooks
	clone    func(any) any // copies a claims type with a Clone method; nil otherwise
}

func newTokenCache(cc *cacheConfig, clone func(any) any) *tokenCache {
	ways := min(cacheWays, cc.maxEntries)
	nsets := cc.maxEntries / ways
	return &tokenCache{
		slots:    make([]atomic.Pointer[cacheEntry], nsets*ways),
		hands:    make([]atomic.Uint32, nsets),
		ways:     ways,
		nsets:    uint64(nsets),
		seed:     maphash.MakeSeed(),
		maxToken: cc.maxTokenSize,
		hooks:    cc.hooks,
		clone:    clone,
	}
}

// cacheEntry is one verified token. Its fields are fixed once it is
// published, except ref and gen.
type cacheEntry struct {
	token string
	hash  uint64
	ref   atomic.Bool   // used since the CLOCK hand last passed
	gen   atomic.Uint64 // a keyring generation known to hold the key

	// owner verified the token: the middleware itself, or with several
	// issuers the rules and keys of the issuer the token names. A hit is
	// served only while owner is still the one trusted for that issuer.
	owner *Middleware

	alg string
	kid []byte // nil when the token has none
	key any    // the key material it verified with

	until          float64 // exp plus leeway, in Unix seconds
	nbf, iat       float64
	hasNbf, hasIat bool

	iss, jti, fid, sub string // for the revocation store
	hasFID             bool
	binding            binding // the cnf claim, for DPoP

	box     *claimsData // default claims, to copy (also into a type embedding them)
	claims  any         // claims of a type with Clone, to copy
	payload []byte      // the payload, to decode claims of another type again; for a type embedding Claims, its other members (box.text too)
}

// set returns the slots of the set for hash h, and the set's index.
func (c *tokenCache) set(h uint64) ([]atomic.Pointer[cacheEntry], uint64) {
	i := (h >> 32) * c.nsets >> 32
	return c.slots[int(i)*c.ways : int(i+1)*c.ways], i
}

// verify serves token from the cache, or verifies it in full and caches the
// result.
func (c *tokenCache) verify(ctx context.Context, m *Middleware, token string) (any, error) {
	if len(token) > c.maxToken {
		c.miss()
		return m.verifyFull(ctx, token, nil, 0)
	}
	h := maphash.String(c.seed, token)
	set, _ := c.set(h)
	for i := range set {
		e := set[i].Load()
		if e == nil || e.hash != h || e.token != token {
			continue
		}
		if m.issuers == nil || m.issuers.trusts(ctx, e.owner) {
			if claims, err, ok := c.hit(ctx, m, e); ok {
				if b := bindingFrom(ctx); b != nil && err == nil {
					*b = e.binding
				}
				return claims, err
			}
		}
		c.remove(e)
		break
	}
	c.miss()
	return m.verifyFull(ctx, token, c, h)
}

func (c *tokenCache) miss() {
	if c.hooks.OnMiss != nil {
		c.hooks.OnMiss()
	}
}

// hit checks e again and returns a copy of its claims. ok is false when e
// cannot be used and the token must be verified in full.
func (c *tokenCache) hit(ctx context.Context, m *Middleware, e *cacheEntry) (claims any, err error, ok bool) {
	if kr := e.owner.keys.current(); e.gen.Load() != kr.gen {
		if !e.keyIn(kr) {
			return nil, nil, false
		}
		e.gen.Store(kr.gen)
	}
	if !e.ref.Load() {
		e.ref.Store(true) // written only when it changes: hits do not bounce the line between cores
	}
	if c.hooks.OnHit != nil {
		c.hooks.OnHit()
	}
	sec, leeway := m.now()
	if sec >= e.until {
		c.remove(e)
		return nil, errExpired, true
	}
	if e.hasNbf && sec+leeway < e.nbf {
		return nil, errNotBefore, true
	}
	if e.hasIat && sec+leeway < e.iat {
		return nil, errIssuedFuture, true
	}
	if m.store != nil {
		if err := m.isRevoked(ctx, revocationIDs{iss: e.iss, jti: e.jti, fid: e.fid, sub: e.sub,
			hasFID: e.hasFID, iat: e.iat, hasIat: e.hasIat}); err != nil {
			return nil, err, true
		}
	}
	switch {
	case e.claims != nil:
		if claims := c.clone(e.claims); claims != nil {
			return claims, nil, true
		}
		return nil, nil, false // Clone gave nil: verify and decode again
	case m.newClaims == nil:
		return e.box.clone(), nil, true
	case e.box != nil:
		claims, err := m.decodeEmbedded(e.box.keepCopy(), e.payload, e.box.text, nil)
		return claims, err, true
	}
	r := m.newResult()
	if json.Unmarshal(e.payload, r.claimsValue()) != nil {
		return nil, errClaimsDecode, true // cannot happen: it decoded before
	}
	return r, nil, true
}

// keyIn reports whether kr still has the key e was verified with: the key
// a token with e's alg and kid finds, with the same material.
func (e *cacheEntry) keyIn(kr *keyring) bool {
	if !kr.allows(e.alg) {
		return false
	}
	v, err := kr.lookup(e.alg, e.kid)
	return err == nil && sameMaterial(v.key, e.key)
}

// sameMaterial reports whether two verification keys are equal.
func sameMaterial(a, b any) bool {
	if sa, ok := a.([]byte); ok {
		sb, ok := b.([]byte)
		return ok && subtle.ConstantTimeCompare(sa, sb) == 1
	}
	eq, ok := a.(interface{ Equal(crypto.PublicKey) bool })
	return ok && eq.Equal(b)
}

// fill caches the result of a full verification that has passed.
func (c *tokenCache) fill(m *Middleware, token string, hash uint64, kr *keyring, key *verifier, h *header,
	cv *claimView, payload []byte, box *claimsBox, claims any) {
	// claims is box for default claims, and otherwise of the claims type.
	sec, leeway := m.now()
	e := &cacheEntry{
		token:  token,
		hash:   hash,
		owner:  m,
		alg:    key.alg,
		key:    key.key,
		until:  cv.exp + leeway,
		nbf:    cv.nbf,
		iat:    cv.iat,
		hasNbf: cv.hasNbf,
		hasIat: cv.hasIat,
	}
	e.gen.Store(kr.gen)
	e.binding.set(cv, box.payloadText())
	if h.kid != nil {
		e.kid = bytes.Clone(h.kid)
	}
	if m.store != nil {
		e.iss, e.jti, e.fid, e.sub = cv.ids(box.payloadText())
		e.hasFID = cv.hasFID
	}
	var kept any // a copy by the Clone method; nil without one or if it gave nil
	if m.newClaims != nil && c.clone != nil {
		kept = c.clone(claimsOf(claims))
	}
	switch {
	case m.newClaims == nil:
		e.box = box.keepCopy()
	case kept != nil:
		e.claims = kept
	case box != nil: // a claims type embedding Claims: keep only the other members
		rest := otherMembers(payload)
		if rest == nil {
			rest = []byte("{}")
		}
		e.box, e.payload = box.keepCopy(), rest
		e.box.text = string(rest)
	default:
		e.payload = bytes.Clone(payload)
	}
	c.insert(e, sec)
}

// insert puts e in its set: in a free slot, else in place of an expired
// entry, else of the first entry the CLOCK hand finds unused since it last
// passed. It gives up, leaving e out, if another request changes that slot
// at the same moment.
func (c *tokenCache) insert(e *cacheEntry, now float64) {
	set, si := c.set(e.hash)
	for i := range set {
		if o := set[i].Load(); o != nil && o.hash == e.hash && o.token == e.token {
			return // cached by a concurrent request
		}
	}
	hand := int(c.hands[si].Load())
	for k := 0; k < 2*c.ways; k++ {
		i := (hand + k) % c.ways
		old := set[i].Load()
		if old != nil && now < old.until && old.ref.Load() {
			old.ref.Store(false) // a second chance
			continue
		}
		if set[i].CompareAndSwap(old, e) {
			c.hands[si].Store(uint32(i + 1))
			if old != nil && c.hooks.OnEvict != nil {
				c.hooks.OnEvict()
			}
		}
		return
	}
}

// remove takes e out of the cache, if it is still there.
func (c *tokenCache) remove(e *cacheEntry) {
	set, _ := c.set(e.hash)
	for i := range set {
		if set[i].CompareAndSwap(e, nil) {
			if c.hooks.OnEvict != nil {
				c.hooks.OnEvict()
			}
			return
		}
	}
}

// clone returns a copy of b for a request, which shares nothing mutable
// with it.
func (b *claimsData) clone() *claimsBox {
	n := new(claimsBox)
	b.copyTo(&n.claimsData)
	return n
}

// keepCopy returns a copy of b for a cache entry, which shares nothing
// mutable with it; without text.
func (b *claimsData) keepCopy() *claimsData {
	n := new(claimsData)
	b.copyTo(n)
	return n
}

// copyTo makes n, new, a copy of b's claims that shares nothing mutable
// with them.
func (b *claimsData) copyTo(n *claimsData) {
	n.c = b.c
	for i, d := range [...]**jwt.NumericDate{&n.c.ExpiresAt, &n.c.NotBefore, &n.c.IssuedAt, &n.c.AuthTime} {
		if *d != nil {
			n.dates[i] = **d
			*d = &n.dates[i]
		}
	}
	n.c.Roles = n.copyList(b.c.Roles)
	n.c.Audience = n.copyList(b.c.Audience)
}

// copyList copies l into b's storage when it fits; nil stays nil.
func (b *claimsData) copyList(l []string) []string {
	if l == nil {
		return nil
	}
	return b.keep(append(b.list(), l...))
}

// Clone returns a deep copy of c: changing one changes nothing in the
// other. Use it to write the Clone method that lets [WithCache] copy a
// [WithClaimsType] type rather than decode it again.
func (c *Claims) Clone() *Claims {
	if c == nil {
		return nil
	}
	n := *c
	for _, d := range [...]**jwt.NumericDate{&n.ExpiresAt, &n.NotBefore, &n.IssuedAt, &n.AuthTime} {
		if *d != nil {
			v := **d
			*d = &v
		}
	}
	if c.Roles != nil {
		n.Roles = append([]string{}, c.Roles...)
	}
	if c.Audience != nil {
		n.Audience = append(jwt.ClaimStrings{}, c.Audience...)
	}
	return &n
}

// cloneFunc returns a function copying a *C with its Clone method, or nil
// when *C has none.
func cloneFunc[C any]() func(any) any {
	type cloner interface{ Clone() *C }
	if _, ok := any(new(C)).(cloner); !ok {
		return nil
	}
	return func(v any) any {
		if c := v.(cloner).Clone(); c != nil {
			return c
		}
		return nil // not a nil *C: the cache then does without the copy
	}
}
