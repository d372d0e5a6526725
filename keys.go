package jwtguard

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"sync"

	"github.com/golang-jwt/jwt/v5"
)

// A Key is key material bound to exactly one algorithm, for signing (an
// [IssuerConfig.Key], a [KeySet]'s current key) and for verification
// ([WithKeys]). It is used only with tokens whose header names that
// algorithm, so a key can never be used with an algorithm it was not meant
// for (an RSA public key is never taken as an HMAC secret).
//
// Key must be typed: []byte for HS256, HS384 and HS512 (at least 32, 48 and
// 64 bytes); *rsa.PublicKey of at least 2048 bits, with an odd modulus
// and an odd public exponent in [3, 2^31), for RS256, RS384, RS512, PS256,
// PS384 and PS512; *ecdsa.PublicKey on P-256, P-384 or P-521 for ES256,
// ES384 and ES512; ed25519.PublicKey for EdDSA. The matching private key types
// are accepted too and their public half is used to verify; signing needs
// them. PEM bytes or strings are refused: load PEM with [ParsePEM] and a JWK
// with [ParseJWK].
type Key struct {
	// ID is the key id a token names in its kid header. It may be empty when
	// only one key is configured.
	ID string
	// Algorithm is the JWS alg this key verifies, such as "HS256".
	Algorithm string
	// Key is the typed key material.
	Key any
}

// algorithms maps every supported alg to golang-jwt's implementation. It is
// never changed, unlike golang-jwt's own registry.
var algorithms = map[string]jwt.SigningMethod{
	"HS256": jwt.SigningMethodHS256,
	"HS384": jwt.SigningMethodHS384,
	"HS512": jwt.SigningMethodHS512,
	"RS256": jwt.SigningMethodRS256,
	"RS384": jwt.SigningMethodRS384,
	"RS512": jwt.SigningMethodRS512,
	"PS256": jwt.SigningMethodPS256,
	"PS384": jwt.SigningMethodPS384,
	"PS512": jwt.SigningMethodPS512,
	"ES256": jwt.SigningMethodES256,
	"ES384": jwt.SigningMethodES384,
	"ES512": jwt.SigningMethodES512,
	"EdDSA": jwt.SigningMethodEdDSA,
}

// minHMACKey is the shortest secret accepted for each HMAC algorithm: the
// size of the hash (RFC 7518 §3.2).
var minHMACKey = map[string]int{"HS256": 32, "HS384": 48, "HS512": 64}

// curves binds each ECDSA algorithm to its curve (RFC 7518 §3.4).
var curves = map[string]elliptic.Curve{"ES256": elliptic.P256(), "ES384": elliptic.P384(), "ES512": elliptic.P521()}

// minRSABits is the smallest RSA modulus accepted (RFC 7518 §3.3).
const minRSABits = 2048

// verifier is a checked key ready for the request path.
type verifier struct {
	id     string
	alg    string
	method jwt.SigningMethod
	key    any
	mac    *macPool // HMAC algorithms: keyed hashes to reuse; nil otherwise
}

// verifySignature reports whether sig is a valid signature of input.
func (v *verifier) verifySignature(input string, sig []byte) bool {
	if v.mac != nil {
		return v.mac.verify(input, sig)
	}
	return v.method.Verify(input, sig, v.key) == nil
}

// macPool verifies HMAC signatures with keyed hashes that are reused rather
// than set up for every token, as golang-jwt's Verify does (hmac.New: seven
// allocations and two extra compression blocks per token).
type macPool struct {
	pool sync.Pool // of *macState
}

// macState is one keyed hash with the buffers it works in.
type macState struct {
	h     hash.Hash
	input []byte // the signing input, copied: hash.Hash takes a []byte
	sum   []byte
}

func newMACPool(alg string, secret []byte) *macPool {
	fn := sha256.New
	switch alg {
	case "HS384":
		fn = sha512.New384
	case "HS512":
		fn = sha512.New
	}
	p := new(macPool)
	p.pool.New = func() any {
		h := hmac.New(fn, secret)
		return &macState{h: h, sum: make([]byte, 0, h.Size())}
	}
	return p
}

// verify reports whether sig is the MAC of input, comparing in constant
// time.
func (p *macPool) verify(input string, sig []byte) bool {
	st := p.pool.Get().(*macState)
	st.h.Reset()
	st.input = append(st.input[:0], input...)
	st.h.Write(st.input)
	st.sum = st.h.Sum(st.sum[:0])
	ok := hmac.Equal(st.sum, sig)
	if cap(st.input) > 8<<10 {
		st.input = nil // do not keep what one large token needed
	}
	p.pool.Put(st)
	return ok
}

// checkKey validates k and returns its verification form.
func checkKey(k Key) (verifier, error) {
	method, ok := algorithms[k.Algorithm]
	if !ok {
		return verifier{}, keyError(k, fmt.Errorf("unsupported algorithm %q", k.Algorithm))
	}
	pub, err := publicKey(k.Algorithm, k.Key)
	if err != nil {
		return verifier{}, keyError(k, err)
	}
	v := verifier{id: k.ID, alg: k.Algorithm, method: method, key: pub}
	if secret, ok := pub.([]byte); ok {
		v.mac = newMACPool(k.Algorithm, secret)
	}
	return v, nil
}

// keyName names k in an error: by its ID, or by its algorithm when it has
// none (never as key "").
func keyName(k Key) string {
	if k.ID == "" {
		if k.Algorithm == "" {
			return "key without an ID"
		}
		return k.Algorithm + " key"
	}
	return fmt.Sprintf("key %q", k.ID)
}

// keyError prefixes err with the ID of k, when it has one (err names the
// algorithm already).
func keyError(k Key, err error) error {
	if k.ID == "" {
		return err
	}
	return fmt.Errorf("key %q: %w", k.ID, err)
}

// notTyped explains a key given as text or bytes where alg needs a typed
// key: PEM goes through ParsePEM, a JWK through ParseJWK.
func notTyped(alg, want string, key any) error {
	var b []byte
	switch k := key.(type) {
	case []byte:
		b = k
	case string:
		b = []byte(k)
	default:
		return fmt.Errorf("%s needs %s, got %T", alg, want, key)
	}
	t := bytes.TrimSpace(b)
	switch {
	case bytes.HasPrefix(t, []byte("-----BEGIN")):
		return fmt.Errorf("%s needs %s, got PEM text: load it with ParsePEM(data, %q, id)", alg, want, alg)
	case bytes.HasPrefix(t, []byte("{")) && json.Valid(t):
		return fmt.Errorf("%s needs %s, got JSON text: load a JWK with ParseJWK(data, %q)", alg, want, alg)
	}
	return fmt.Errorf("%s needs %s, got %T: load PEM with ParsePEM or a JWK with ParseJWK", alg, want, key)
}

// publicKey checks that key fits alg and returns the key golang-jwt verifies
// with: a private copy of an HMAC secret, or the public half of a key pair.
func publicKey(alg string, key any) (any, error) {
	switch alg {
	case "HS256", "HS384", "HS512":
		secret, ok := key.([]byte)
		if !ok {
			if _, isString := key.(string); isString {
				return nil, fmt.Errorf("%s needs a []byte secret, got a string: pass []byte(secret)", alg)
			}
			return nil, fmt.Errorf("%s needs a []byte secret, got %T", alg, key)
		}
		if bytes.HasPrefix(bytes.TrimSpace(secret), []byte("-----BEGIN")) {
			return nil, fmt.Errorf("%s secret is a PEM block: load asymmetric keys with ParsePEM", alg)
		}
		if len(secret) < minHMACKey[alg] {
			return nil, fmt.Errorf("%s secret is %d bytes, at least %d are required", alg, len(secret), minHMACKey[alg])
		}
		return append([]byte(nil), secret...), nil
	case "RS256", "RS384", "RS512", "PS256", "PS384", "PS512":
		var pub *rsa.PublicKey
		switch k := key.(type) {
		case *rsa.PublicKey:
			pub = k
		case *rsa.PrivateKey:
			if k != nil {
				pub = &k.PublicKey
			}
		default:
			return nil, notTyped(alg, "an *rsa.PublicKey or *rsa.PrivateKey", key)
		}
		if pub == nil || pub.N == nil {
			return nil, fmt.Errorf("%s: nil RSA key", alg)
		}
		if pub.N.BitLen() < minRSABits {
			return nil, fmt.Errorf("%s key is %d bits, at least %d are required", alg, pub.N.BitLen(), minRSABits)
		}
		// crypto/rsa would refuse every signature under such a key; say
		// so when the key is configured instead.
		if pub.E < 3 || pub.E%2 == 0 || pub.E > 1<<31-1 {
			return nil, fmt.Errorf("%s key's public exponent %d is not an odd number in [3, 2^31)", alg, pub.E)
		}
		if pub.N.Bit(0) == 0 {
			return nil, fmt.Errorf("%s key's modulus is even", alg)
		}
		return pub, nil
	case "ES256", "ES384", "ES512":
		var pub *ecdsa.PublicKey
		switch k := key.(type) {
		case *ecdsa.PublicKey:
			pub = k
		case *ecdsa.PrivateKey:
			if k != nil {
				pub = &k.PublicKey
			}
		default:
			return nil, notTyped(alg, "an *ecdsa.PublicKey or *ecdsa.PrivateKey", key)
		}
		if pub == nil || pub.Curve == nil {
			return nil, fmt.Errorf("%s: nil ECDSA key", alg)
		}
		if pub.Curve != curves[alg] {
			return nil, fmt.Errorf("%s needs a key on %s, got %s", alg, curves[alg].Params().Name, pub.Curve.Params().Name)
		}
		// Without this check a key with no point would panic in every
		// verification, and one off the curve would refuse every token.
		if pub.X == nil || pub.Y == nil {
			return nil, fmt.Errorf("%s key is not a point on %s", alg, pub.Curve.Params().Name)
		}
		if _, err := pub.ECDH(); err != nil {
			return nil, fmt.Errorf("%s key is not a point on %s", alg, pub.Curve.Params().Name)
		}
		return pub, nil
	case "EdDSA":
		switch k := key.(type) {
		case ed25519.PublicKey:
			if len(k) != ed25519.PublicKeySize {
				return nil, errors.New("EdDSA: Ed25519 public key must be 32 bytes")
			}
			return k, nil
		case ed25519.PrivateKey:
			if len(k) != ed25519.PrivateKeySize {
				return nil, errors.New("EdDSA: Ed25519 private key must be 64 bytes")
			}
			return k.Public(), nil
		default:
			return nil, notTyped(alg, "an ed25519.PublicKey or ed25519.PrivateKey", key)
		}
	}
	return nil, fmt.Errorf("unsupported algorithm %q", alg)
}

// keyring holds the configured keys; it is immutable after New, and the
// snapshots of a [KeySet] or a [JWKS] are immutable once published.
type keyring struct {
	keys []verifier
	// algs is the allow-list when it is not the algorithms of keys (a JWKS,
	// whose allowed algorithms are configured); nil otherwise.
	algs []string
	// gen changes whenever the keys of a KeySet or JWKS change, so a cache
	// can tell that the key a result was verified with may be gone.
	gen uint64
}

// lookup returns the key for a token's alg and kid. The caller has already
// checked alg against the allow-list.
// kid is nil when the token has none.
func (kr *keyring) lookup(alg string, kid []byte) (*verifier, error) {
	if kid == nil {
		if len(kr.keys) == 1 && kr.keys[0].alg == alg {
			return &kr.keys[0], nil
		}
		return nil, errKidRequired
	}
	for i := range kr.keys {
		k := &kr.keys[i]
		if k.id == string(kid) && k.alg == alg {
			return k, nil
		}
	}
	// A single key without an id verifies whatever kid the token names.
	if len(kr.keys) == 1 && kr.keys[0].id == "" && kr.keys[0].alg == alg {
		return &kr.keys[0], nil
	}
	return nil, errKid
}

// allows reports whether alg is in the allow-list.
func (kr *keyring) allows(alg string) bool {
	if kr.algs != nil {
		for _, a := range kr.algs {
			if a == alg {
				return true
			}
		}
		return false
	}
	for i := range kr.keys {
		if kr.keys[i].alg == alg {
			return true
		}
	}
	return false
}
