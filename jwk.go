package jwtguard

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"strings"
)

// This file reads and writes JSON Web Keys (RFC 7517) of the key types of
// RFC 7518 §6 and RFC 8037: RSA (n, e), EC (crv, x, y on P-256, P-384 and
// P-521), OKP (Ed25519) and, only when asked for explicitly, oct (HMAC
// secrets). Private JWKs are not read: load signing keys with [ParsePEM].

// jwk is the JSON form of one key.
type jwk struct {
	Kty    string   `json:"kty"`
	Kid    string   `json:"kid,omitempty"`
	Use    string   `json:"use,omitempty"`
	KeyOps []string `json:"key_ops,omitempty"`
	Alg    string   `json:"alg,omitempty"`
	Crv    string   `json:"crv,omitempty"`
	N      string   `json:"n,omitempty"`
	E      string   `json:"e,omitempty"`
	X      string   `json:"x,omitempty"`
	Y      string   `json:"y,omitempty"`
	// Read only to refuse them.
	K string `json:"k,omitempty"`
	D string `json:"d,omitempty"`
}

// jwkSet is the JSON form of a JWK Set; each key is decoded on its own so
// that one bad key does not spoil the others.
type jwkSet struct {
	Keys []json.RawMessage `json:"keys"`
}

// ParseJWK reads one JSON Web Key into a [Key] bound to one algorithm: the
// JWK's "alg" member, or alg when the JWK has none. When both are given they
// must be equal; when neither is, the key is refused, since an RSA key, for
// one, fits six algorithms.
//
// It reads public keys of type RSA, EC (the point is checked to be on the
// curve) and OKP (Ed25519). A symmetric "oct" key is read only when alg names
// an HMAC algorithm, so that a JWK never becomes an HMAC secret by accident.
// A JWK with private members ("d") is refused, and so is one whose "use" is
// not "sig" or whose "key_ops" lacks "verify".
func ParseJWK(data []byte, alg string) (Key, error) {
	var j jwk
	if err := json.Unmarshal(data, &j); err != nil {
		return Key{}, fmt.Errorf("jwtguard: ParseJWK: %w", err)
	}
	k, err := j.key(alg, true)
	if err != nil {
		return Key{}, fmt.Errorf("jwtguard: ParseJWK: %w", err)
	}
	return k, nil
}

// ParseJWKS reads a JSON Web Key Set ({"keys": [...]}) for static
// configuration. Every key is read as [ParseJWK] reads it, with alg for the
// keys that have no "alg" member, and every key must be usable: a set that
// holds a key this package cannot use is refused as a whole, naming the key.
// (The remote [JWKS] client is lenient instead and skips such keys.)
func ParseJWKS(data []byte, alg string) ([]Key, error) {
	var set jwkSet
	if err := json.Unmarshal(data, &set); err != nil {
		return nil, fmt.Errorf("jwtguard: ParseJWKS: %w", err)
	}
	if len(set.Keys) == 0 {
		return nil, errors.New(`jwtguard: ParseJWKS: no "keys"`)
	}
	var keys []Key
	var errs []error
	for i, raw := range set.Keys {
		var j jwk
		if err := json.Unmarshal(raw, &j); err != nil {
			errs = append(errs, fmt.Errorf("key %d: %w", i, err))
			continue
		}
		k, err := j.key(alg, true)
		if err != nil {
			errs = append(errs, fmt.Errorf("key %d (kid %q): %w", i, j.Kid, err))
			continue
		}
		keys = append(keys, k)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("jwtguard: ParseJWKS: %w", err)
	}
	return keys, nil
}

// key checks j and returns it as a Key bound to j.Alg or alg. oct keys are
// read only when allowOct is set and the algorithm is an HMAC one named by
// the caller.
func (j *jwk) key(alg string, allowOct bool) (Key, error) {
	if err := j.usableForSig(); err != nil {
		return Key{}, err
	}
	_, askedHMAC := minHMACKey[alg]
	switch {
	case j.Alg != "" && alg != "" && j.Alg != alg:
		return Key{}, fmt.Errorf("alg %q does not match the requested %q", j.Alg, alg)
	case j.Alg != "":
		alg = j.Alg
	case alg == "":
		return Key{}, errors.New("no alg: the JWK names none and none was given")
	}
	if strings.EqualFold(alg, "none") {
		return Key{}, errors.New(`algorithm "none" is never allowed`)
	}
	if _, ok := algorithms[alg]; !ok {
		return Key{}, fmt.Errorf("unsupported algorithm %q", alg)
	}
	var material any
	if j.Kty == "oct" {
		if !allowOct || !askedHMAC {
			return Key{}, fmt.Errorf("oct key for %s: symmetric keys are read only for an HMAC algorithm given explicitly", alg)
		}
		secret, err := b64Param("k", j.K)
		if err != nil {
			return Key{}, err
		}
		material = secret
	} else {
		pub, err := j.publicKey()
		if err != nil {
			return Key{}, err
		}
		material = pub
	}
	if _, err := publicKey(alg, material); err != nil {
		return Key{}, err
	}
	return Key{ID: j.Kid, Algorithm: alg, Key: material}, nil
}

// usableForSig refuses keys meant for something other than verifying
// signatures, and private keys.
func (j *jwk) usableForSig() error {
	if j.Use != "" && j.Use != "sig" {
		return fmt.Errorf("use %q is not \"sig\"", j.Use)
	}
	if j.KeyOps != nil && !contains(j.KeyOps, "verify") {
		return errors.New(`key_ops lacks "verify"`)
	}
	if j.D != "" {
		return errors.New("private JWK: load signing keys with ParsePEM")
	}
	if j.K != "" && j.Kty != "oct" {
		return fmt.Errorf("%s key with a k member", j.Kty)
	}
	return nil
}

// jwkCurves maps JWK curve names to curves and their ES algorithm.
var jwkCurves = map[string]struct {
	curve elliptic.Curve
	alg   string
}{
	"P-256": {elliptic.P256(), "ES256"},
	"P-384": {elliptic.P384(), "ES384"},
	"P-521": {elliptic.P521(), "ES512"},
}

// publicKey decodes the public key of an RSA, EC or OKP JWK.
func (j *jwk) publicKey() (any, error) {
	switch j.Kty {
	case "RSA":
		n, err := b64Param("n", j.N)
		if err != nil {
			return nil, err
		}
		e, err := b64Param("e", j.E)
		if err != nil {
			return nil, err
		}
		eb := new(big.Int).SetBytes(e)
		if eb.BitLen() > 31 || eb.Int64() < 3 || eb.Bit(0) == 0 {
			return nil, errors.New("RSA exponent e is not an odd number in [3, 2^31)")
		}
		nb := new(big.Int).SetBytes(n)
		if nb.Sign() == 0 {
			return nil, errors.New("RSA modulus n is zero")
		}
		return &rsa.PublicKey{N: nb, E: int(eb.Int64())}, nil
	case "EC":
		c, ok := jwkCurves[j.Crv]
		if !ok {
			return nil, fmt.Errorf("unsupported EC curve %q", j.Crv)
		}
		x, err := b64Param("x", j.X)
		if err != nil {
			return nil, err
		}
		y, err := b64Param("y", j.Y)
		if err != nil {
			return nil, err
		}
		size := (c.curve.Params().BitSize + 7) / 8
		if len(x) != size || len(y) != size {
			return nil, fmt.Errorf("EC coordinates must be %d bytes each on %s (RFC 7518 §6.2.1.2)", size, j.Crv)
		}
		point := make([]byte, 0, 1+2*size)
		point = append(append(append(point, 4), x...), y...)
		pub, err := ecdsa.ParseUncompressedPublicKey(c.curve, point)
		if err != nil {
			return nil, fmt.Errorf("EC point: %w", err) // not on the curve
		}
		return pub, nil
	case "OKP":
		if j.Crv != "Ed25519" {
			return nil, fmt.Errorf("unsupported OKP curve %q", j.Crv)
		}
		x, err := b64Param("x", j.X)
		if err != nil {
			return nil, err
		}
		if len(x) != ed25519.PublicKeySize {
			return nil, errors.New("Ed25519 x must be 32 bytes")
		}
		return ed25519.PublicKey(x), nil
	case "":
		return nil, errors.New("no kty")
	}
	return nil, fmt.Errorf("unsupported kty %q", j.Kty)
}

// algsFor returns the algorithms of allowed that key fits.
func algsFor(key any, allowed []string) []string {
	var fit []string
	for _, alg := range allowed {
		if _, err := publicKey(alg, key); err == nil {
			fit = append(fit, alg)
		}
	}
	return fit
}

// b64Param decodes a base64url member of a JWK. Trailing padding, which
// some producers add against RFC 7515 §2, is tolerated.
func b64Param(name, v string) ([]byte, error) {
	if v == "" {
		return nil, fmt.Errorf("missing %q", name)
	}
	b, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(v, "="))
	if err != nil {
		return nil, fmt.Errorf("%q is not base64url: %w", name, err)
	}
	return b, nil
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// publicJWK returns the JWK of the public half of k, or ok false for an
// HMAC key, which is never published.
func publicJWK(k Key) (j jwk, ok bool, err error) {
	pub, err := publicKey(k.Algorithm, k.Key)
	if err != nil {
		return jwk{}, false, err
	}
	j = jwk{Kid: k.ID, Use: "sig", Alg: k.Algorithm}
	enc := base64.RawURLEncoding
	switch p := pub.(type) {
	case *rsa.PublicKey:
		j.Kty = "RSA"
		j.N = enc.EncodeToString(p.N.Bytes())
		j.E = enc.EncodeToString(big.NewInt(int64(p.E)).Bytes())
	case *ecdsa.PublicKey:
		point, err := p.Bytes()
		if err != nil {
			return jwk{}, false, err
		}
		size := (len(point) - 1) / 2
		j.Kty, j.Crv = "EC", p.Curve.Params().Name
		j.X = enc.EncodeToString(point[1 : 1+size])
		j.Y = enc.EncodeToString(point[1+size:])
	case ed25519.PublicKey:
		j.Kty, j.Crv = "OKP", "Ed25519"
		j.X = enc.EncodeToString(p)
	default:
		return jwk{}, false, nil // an HMAC secret
	}
	return j, true, nil
}
