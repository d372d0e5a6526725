package jwtguard

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/binary"
	"reflect"
	"slices"
)

// Which claims in a request context a middleware trusts.
//
// A middleware puts the claims it verified in the request context together
// with itself. [Middleware.RequireScope] and [Middleware.RequireRole] use
// claims found there only when they were verified by the same middleware, or
// by one that accepts exactly the same tokens (the same guardID); otherwise
// they authenticate the request themselves. So an outer guard for another
// audience, or with other keys, never vouches for an inner one.

// claimsContext is a context carrying verified claims and the middleware
// that verified them (nil for [NewContext]). It takes the one allocation
// that context.WithValue would.
type claimsContext struct {
	context.Context
	claims any
	by     *Middleware
}

// claimsOf returns the claims of a verification's result: claims travel
// in a result (a *claimsBox, a *customResult), which also holds the
// context that will carry them, or on their own (a copy made by a claims
// type's Clone method).
func claimsOf(v any) any {
	if r, ok := v.(result); ok {
		return r.claimsValue()
	}
	return v
}

// newClaimsContext returns parent carrying the claims of the verification
// result v, verified by m. For default claims it is the context their box
// holds: claims and context take one allocation.
func (m *Middleware) newClaimsContext(parent context.Context, v any) *claimsContext {
	var c *claimsContext
	if r, ok := v.(result); ok {
		c = r.claimsContext()
	} else {
		c = new(claimsContext)
	}
	*c = claimsContext{Context: parent, claims: claimsOf(v), by: m}
	return c
}

// verifierKey is the context key under which a claimsContext returns itself.
type verifierKey struct{}

// Value returns the claims for claimsKey, c for verifierKey, and asks the
// parent for any other key.
func (c *claimsContext) Value(key any) any {
	switch key.(type) {
	case claimsKey:
		return c.claims
	case verifierKey:
		return c
	}
	return c.Context.Value(key)
}

// trusted returns the claims in ctx if m may rely on them: claims verified
// by m, or by a middleware with the same guardID. One context lookup and a
// comparison; nothing is allocated.
func (m *Middleware) trusted(ctx context.Context) (any, bool) {
	c, _ := ctx.Value(verifierKey{}).(*claimsContext)
	if c == nil || c.by == nil || c.by != m && c.by.id != m.id {
		return nil, false
	}
	return c.claims, true
}

// guardID identifies what a middleware accepts: two middlewares with equal
// IDs accept the same tokens and decode them into the same claims type.
// It is computed once, by New.
type guardID struct {
	source keySource    // the KeySet or JWKS; nil for static keys, which are in digest
	store  Store        // the Store if it is a pointer (compared as such, which never panics)
	claims reflect.Type // the WithClaimsType type; nil for the default claims
	unique *byte        // set, to a pointer of its own, when no other middleware may share the ID
	digest [sha256.Size]byte
}

// newGuardID computes the guardID of a configuration that validate accepted
// with the key source src.
func newGuardID(c *config, src keySource) guardID {
	var id guardID
	var b []byte
	field := func(p []byte) { b = binary.AppendUvarint(b, uint64(len(p))); b = append(b, p...) }
	if kr, static := src.(*keyring); static {
		// Static keys, as a set: their order does not change what they accept.
		keys := make([][]byte, 0, len(kr.keys))
		for _, v := range kr.keys {
			var k []byte
			k = binary.AppendUvarint(k, uint64(len(v.id)))
			k = append(k, v.id...)
			k = binary.AppendUvarint(k, uint64(len(v.alg)))
			k = append(k, v.alg...)
			if secret, ok := v.key.([]byte); ok {
				k = append(k, secret...)
			} else if der, err := x509.MarshalPKIXPublicKey(v.key); err == nil {
				k = append(k, der...)
			} else {
				// Cannot happen: checkKey returns keys x509 encodes.
				id.unique = new(byte)
			}
			keys = append(keys, k)
		}
		slices.SortFunc(keys, bytes.Compare)
		for _, k := range keys {
			field(k)
		}
	} else {
		id.source = src
	}
	field([]byte(c.issuer))
	aud := slices.Clone(c.audience)
	slices.Sort(aud)
	for _, a := range slices.Compact(aud) {
		field([]byte(a))
	}
	b = binary.AppendVarint(b, int64(c.leeway))
	b = binary.AppendVarint(b, int64(c.maxTokenSize))
	b = binary.AppendVarint(b, int64(c.typeMode))
	field([]byte(c.typeClaim))
	field([]byte(c.tokenType))
	b = append(b, flag(c.subjectOptional), flag(c.noRevocationCheck))
	if d := c.dpop; d != nil && d.mode != DPoPDisabled {
		// What decides on a request's proof. The replay cache does not:
		// a proof an equal guard has just accepted is new to either.
		b = append(b, byte(d.mode))
		algs := slices.Clone(d.algs)
		slices.Sort(algs)
		for _, a := range algs {
			field([]byte(a))
		}
		b = binary.AppendVarint(b, int64(d.window))
		b = binary.AppendVarint(b, int64(d.rotate))
		b = append(b, flag(d.nonce != nil))
		field(d.nonce)
		if p := d.proxies; p != nil {
			field([]byte(p.header))
			for _, prefix := range p.prefixes {
				field([]byte(prefix.String()))
			}
		}
	}
	id.digest = sha256.Sum256(b)
	if c.newClaims != nil {
		id.claims = reflect.TypeOf(c.newClaims())
	}
	if c.store != nil {
		if reflect.TypeOf(c.store).Kind() == reflect.Pointer {
			id.store = c.store
		} else {
			id.unique = new(byte) // a Store value may not be comparable
		}
	}
	if c.issuers != nil {
		// Several issuers, each with keys of its own, or a resolver (a
		// function): trust only what this middleware verified.
		id.unique = new(byte)
	}
	return id
}

// flag is b as a byte.
func flag(b bool) byte {
	if b {
		return 1
	}
	return 0
}
