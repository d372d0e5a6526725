package jwtguard

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
)

// A KeySet is a set of keys addressed by key id (kid) that can change while
// the server runs: one current key, which an issuer signs with and stamps in
// the kid header, and other keys that still verify: the previous keys of
// earlier rotations, and keys published ahead of their use.
//
// A [Middleware] made [WithKeySet] verifies with every key of the set as it
// is at the time of the request. While the set has one key, a token without
// kid is accepted; once it has several, tokens must name theirs. A kid the
// set does not hold is refused without any I/O.
//
// Changes ([KeySet.Rotate], [KeySet.Add], [KeySet.Remove]) build a new
// immutable snapshot and publish it with one atomic store, so requests never
// wait for a lock and never see half a change. All methods are safe for
// concurrent use.
//
// A rotation that lets other services keep up: Add the next key (they see it
// in the [KeySet.JWKSHandler] document), wait longer than the document's
// max-age, Rotate to it, and Remove the old key once the tokens it signed
// have expired.
type KeySet struct {
	mu    sync.Mutex // serialises changes; never taken on the request path
	state atomic.Pointer[keySetState]
}

// keySetState is one immutable snapshot of a KeySet.
type keySetState struct {
	ring keyring // verifiers, current first; ring.gen counts the changes
	keys []Key   // the keys as given, private halves included, parallel to ring.keys
	jwks []byte  // the JWKS document of the public keys
	etag string  // a strong validator of jwks
}

// NewKeySet returns a KeySet whose current key is current, with others as
// further verification keys. Every key needs a unique, non-empty ID and must
// fit its algorithm as [Key] describes.
func NewKeySet(current Key, others ...Key) (*KeySet, error) {
	ks := new(KeySet)
	keys := append([]Key{current}, others...)
	st, err := newKeySetState(keys, 1)
	if err != nil {
		return nil, err
	}
	ks.state.Store(st)
	return ks, nil
}

// WithKeySet makes the middleware verify with the keys of ks, as they are at
// the time of each request. The algorithms of the keys in the set are the
// allow-list. It cannot be combined with [WithKey], [WithKeys] or
// [WithJWKS].
func WithKeySet(ks *KeySet) Option {
	return func(c *config) {
		if ks == nil {
			c.errs = append(c.errs, errors.New("WithKeySet: nil key set"))
			return
		}
		c.source = ks
		c.sources++
	}
}

// Rotate makes next the current key. The previous current key stays in the
// set to verify the tokens it signed until it is removed. next may be a key
// already in the set (one published ahead with [KeySet.Add]): it is then
// moved to the front, and may be given with its private half.
func (ks *KeySet) Rotate(next Key) error {
	return ks.change(func(keys []Key) ([]Key, error) {
		out := []Key{next}
		for _, k := range keys {
			if k.ID != next.ID {
				out = append(out, k)
			} else if !sameKey(k, next) {
				return nil, fmt.Errorf("key %q is already in the set with other key material", next.ID)
			}
		}
		return out, nil
	})
}

// Add adds k as a verification key that is not current: a previous key, or
// the next key, published ahead of [KeySet.Rotate] so that other services
// fetching the set know it before tokens signed with it arrive.
func (ks *KeySet) Add(k Key) error {
	return ks.change(func(keys []Key) ([]Key, error) {
		return append(keys, k), nil // a duplicate ID is refused by the check
	})
}

// Remove takes the key with id kid out of the set: tokens naming it are
// refused from then on. The current key cannot be removed; rotate first.
func (ks *KeySet) Remove(kid string) error {
	return ks.change(func(keys []Key) ([]Key, error) {
		if keys[0].ID == kid {
			return nil, fmt.Errorf("key %q is the current key: rotate to another key first", kid)
		}
		for i, k := range keys {
			if k.ID == kid {
				return append(keys[:i:i], keys[i+1:]...), nil
			}
		}
		return nil, fmt.Errorf("no key %q in the set", kid)
	})
}

// change applies edit to a copy of the keys and publishes the result.
func (ks *KeySet) change(edit func([]Key) ([]Key, error)) error {
	ks.mu.Lock()
	defer ks.mu.Unlock()
	old := ks.state.Load()
	keys, err := edit(append([]Key(nil), old.keys...))
	if err != nil {
		return fmt.Errorf("jwtguard: KeySet: %w", err)
	}
	st, err := newKeySetState(keys, old.ring.gen+1)
	if err != nil {
		return err
	}
	ks.state.Store(st)
	return nil
}

// SigningKey returns the current key with its private half (or its secret,
// for HMAC), for an issuer to sign with and to stamp its ID in the kid
// header. Call it for every token: it is one atomic load, and it follows
// rotations. It fails when the current key is only a public key.
func (ks *KeySet) SigningKey() (Key, error) {
	k := ks.state.Load().keys[0]
	switch key := k.Key.(type) {
	case *rsa.PrivateKey, *ecdsa.PrivateKey, ed25519.PrivateKey:
		return k, nil
	case []byte:
		k.Key = append([]byte(nil), key...)
		return k, nil
	}
	return Key{}, fmt.Errorf("jwtguard: KeySet: current %s has no private key", keyName(k))
}

// Keys returns the verification keys of the set, the current key first:
// public halves of key pairs, and copies of HMAC secrets.
func (ks *KeySet) Keys() []Key {
	st := ks.state.Load()
	out := make([]Key, len(st.ring.keys))
	for i, v := range st.ring.keys {
		key := v.key
		if b, ok := key.([]byte); ok {
			key = append([]byte(nil), b...)
		}
		out[i] = Key{ID: v.id, Algorithm: v.alg, Key: key}
	}
	return out
}

// Contains reports whether the set holds a key with id kid. A cache of
// verification results can use it to drop results whose key has left the
// set.
func (ks *KeySet) Contains(kid string) bool {
	for _, v := range ks.state.Load().ring.keys {
		if v.id == kid {
			return true
		}
	}
	return false
}

// current returns the snapshot in force: one atomic load.
func (ks *KeySet) current() *keyring { return &ks.state.Load().ring }

// refresh returns nil: a KeySet changes only when told to.
func (ks *KeySet) refresh(context.Context) (*keyring, error) { return nil, nil }

// newKeySetState checks keys and builds a snapshot of them.
func newKeySetState(keys []Key, gen uint64) (*keySetState, error) {
	st := &keySetState{ring: keyring{gen: gen}}
	var errs []error
	ids := make(map[string]bool, len(keys))
	doc := struct {
		Keys []jwk `json:"keys"`
	}{Keys: []jwk{}}
	for _, k := range keys {
		if k.ID == "" {
			errs = append(errs, fmt.Errorf("%s key without an ID: every key of a KeySet needs one", k.Algorithm))
			continue
		}
		if ids[k.ID] {
			errs = append(errs, fmt.Errorf("duplicate key ID %q", k.ID))
			continue
		}
		ids[k.ID] = true
		v, err := checkKey(k)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if b, ok := k.Key.([]byte); ok {
			k.Key = append([]byte(nil), b...)
		}
		j, public, err := publicJWK(k)
		if err != nil {
			errs = append(errs, keyError(k, err))
			continue
		}
		if public {
			doc.Keys = append(doc.Keys, j)
		}
		st.ring.keys = append(st.ring.keys, v)
		st.keys = append(st.keys, k)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("jwtguard: KeySet: %w", err)
	}
	var err error
	if st.jwks, err = json.Marshal(doc); err != nil {
		return nil, fmt.Errorf("jwtguard: KeySet: %w", err)
	}
	st.jwks = append(st.jwks, '\n')
	sum := sha256.Sum256(st.jwks)
	st.etag = `"` + base64.RawURLEncoding.EncodeToString(sum[:16]) + `"`
	return st, nil
}

// sameKey reports whether a and b are the same key for the same algorithm,
// comparing public halves, so a key published ahead as a public key matches
// its private key given to Rotate.
func sameKey(a, b Key) bool {
	if a.Algorithm != b.Algorithm {
		return false
	}
	pa, errA := publicKey(a.Algorithm, a.Key)
	pb, errB := publicKey(b.Algorithm, b.Key)
	if errA != nil || errB != nil {
		return false
	}
	if sa, ok := pa.([]byte); ok {
		sb, ok := pb.([]byte)
		return ok && bytes.Equal(sa, sb)
	}
	eq, ok := pa.(interface{ Equal(crypto.PublicKey) bool })
	return ok && eq.Equal(pb)
}
