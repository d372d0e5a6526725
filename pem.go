package jwtguard

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"
)

// ParsePEM reads one asymmetric key from PEM text data and binds it to alg
// and the key ID id ("" for none), in the argument order of [ParseJWK]. It
// reads private keys (PKCS#1 "RSA PRIVATE KEY", PKCS#8
// "PRIVATE KEY", SEC 1 "EC PRIVATE KEY") for signing, and public keys
// (PKIX/SPKI "PUBLIC KEY", PKCS#1 "RSA PUBLIC KEY", or the public key of an
// X.509 "CERTIFICATE") for verifying. The key must fit alg exactly as [Key]
// describes: an RSA key of at least 2048 bits for RS* and PS*, a key on the
// curve of an ES* algorithm, an Ed25519 key for EdDSA.
//
// The text must hold exactly one key; an "EC PARAMETERS" block, as openssl
// writes before an EC key, is skipped, and certificates after the first (the
// rest of a chain) are ignored. Encrypted PEM is refused, and so is an HMAC
// algorithm: an HMAC secret is a []byte, never PEM text, since a public key
// used as an HMAC secret lets anyone who has it forge tokens.
func ParsePEM(data []byte, alg, id string) (Key, error) {
	if _, ok := minHMACKey[alg]; ok {
		return Key{}, fmt.Errorf("jwtguard: ParsePEM: %s is an HMAC algorithm; its secret is a []byte, not a PEM key", alg)
	}
	if _, ok := algorithms[alg]; !ok {
		return Key{}, fmt.Errorf("jwtguard: ParsePEM: unsupported algorithm %q", alg)
	}
	key, err := parsePEMKey(data)
	if err != nil {
		return Key{}, fmt.Errorf("jwtguard: ParsePEM: %w", err)
	}
	k := Key{ID: id, Algorithm: alg, Key: key}
	if _, err := publicKey(alg, key); err != nil {
		return Key{}, fmt.Errorf("jwtguard: ParsePEM: %w", err)
	}
	return k, nil
}

// parsePEMKey returns the typed key of the single key block in data.
func parsePEMKey(data []byte) (any, error) {
	var found *pem.Block
	for rest := data; ; {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		switch {
		case b.Type == "EC PARAMETERS":
			continue
		case found == nil:
			found = b
		case found.Type == "CERTIFICATE" && b.Type == "CERTIFICATE":
			continue // the rest of a chain
		default:
			return nil, fmt.Errorf("more than one key (%s and %s blocks)", found.Type, b.Type)
		}
	}
	if found == nil {
		return nil, errors.New("no PEM block found")
	}
	if _, ok := found.Headers["Proc-Type"]; ok || strings.Contains(found.Type, "ENCRYPTED") {
		return nil, errors.New("encrypted PEM is not supported: decrypt the key first")
	}
	der := found.Bytes
	var key any
	var err error
	switch found.Type {
	case "RSA PRIVATE KEY":
		key, err = x509.ParsePKCS1PrivateKey(der)
	case "RSA PUBLIC KEY":
		key, err = x509.ParsePKCS1PublicKey(der)
	case "EC PRIVATE KEY":
		key, err = x509.ParseECPrivateKey(der)
	case "PRIVATE KEY":
		key, err = x509.ParsePKCS8PrivateKey(der)
	case "PUBLIC KEY":
		key, err = x509.ParsePKIXPublicKey(der)
	case "CERTIFICATE":
		var cert *x509.Certificate
		if cert, err = x509.ParseCertificate(der); err == nil {
			key = cert.PublicKey
		}
	default:
		return nil, fmt.Errorf("unsupported PEM block type %q", found.Type)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", found.Type, err)
	}
	// x509 returns ed25519 keys as values and the others as pointers; both
	// are what publicKey expects.
	switch key.(type) {
	case *rsa.PrivateKey, *rsa.PublicKey, *ecdsa.PrivateKey, *ecdsa.PublicKey, ed25519.PrivateKey, ed25519.PublicKey:
		return key, nil
	}
	return nil, fmt.Errorf("unsupported key type %T", key)
}
