package jwtguard

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"math/big"
	"net/http"
	"unicode/utf8"
)

// Limits of a DPoP proof, checked before anything is decoded.
const (
	maxProofSize       = 8 << 10 // a proof with an RSA-4096 jwk is about 2.2 KiB
	maxProofHeaderSize = 4 << 10
	maxProofPayload    = 4 << 10
	maxProofJTI        = 256
)

// proof is a DPoP proof whose signature has verified, with the claims that
// are checked against the request.
type proof struct {
	jkt      string // RFC 7638 SHA-256 thumbprint of jwk, base64url
	jti      string
	htm, htu string
	iat      float64
	ath      string
	hasATH   bool
	nonce    string
	hasNonce bool
}

// parseProof checks a proof as far as it can without the request: its
// form, typ, alg (one of algs), jwk, signature and required claims (jti,
// htm, htu, iat). The order is fixed: nothing of the payload is read before
// the signature has verified.
func parseProof(s string, algs []string) (*proof, error) {
	if len(s) > maxProofSize {
		return nil, errDPoPTooLarge
	}
	dot1, dot2, err := splitToken(s)
	if err != nil {
		return nil, errDPoPJWS
	}
	if decodedLen(dot1) > maxProofHeaderSize || decodedLen(dot2-dot1-1) > maxProofPayload {
		return nil, errDPoPTooLarge
	}
	hb, ok := decodeSegment(make([]byte, decodedLen(dot1)), s[:dot1])
	if !ok {
		return nil, errDPoPJWS
	}
	h, err := parseProofHeader(hb)
	if err != nil {
		return nil, err
	}
	if !h.hasTyp || !sameMediaType(h.typ, "dpop+jwt") {
		return nil, errDPoPTyp
	}
	if !contains(algs, h.alg) {
		return nil, errDPoPAlg
	}
	if !h.hasJWK {
		return nil, errDPoPNoJWK
	}
	pub, jkt, err := h.jwk.publicKey(h.alg)
	if err != nil {
		return nil, err
	}
	v := verifier{alg: h.alg, method: algorithms[h.alg], key: pub}
	if err := verifySignature(&v, s[:dot2], s[dot2+1:]); err != nil {
		return nil, errDPoPSignature
	}
	pb, ok := decodeSegment(make([]byte, decodedLen(dot2-dot1-1)), s[dot1+1:dot2])
	if !ok {
		return nil, errDPoPJWS
	}
	p, err := parseProofClaims(pb)
	if err != nil {
		return nil, err
	}
	p.jkt = jkt
	return p, nil
}

// proofHeaderView is what a proof's JOSE header says.
type proofHeaderView struct {
	alg, typ       string
	hasTyp, hasJWK bool
	jwk            proofJWK
}

// parseProofHeader reads typ, alg and jwk, refuses crit, and skips the
// other members. alg and typ are compared unescaped.
func parseProofHeader(b []byte) (proofHeaderView, error) {
	var h proofHeaderView
	if !utf8.Valid(b) {
		return h, errDPoPHeader
	}
	s := scanner{b: b}
	var seen keySet
	hasAlg := false
	if !s.open() {
		return h, errDPoPHeader
	}
	for first := true; ; first = false {
		key, done, ok := s.member(first)
		if !ok {
			return h, errDPoPHeader
		}
		if done {
			break
		}
		if !seen.add(b, key, maxHeaderMembers) {
			return h, errDPoPHeader
		}
		switch {
		case key.is("alg"):
			v, ok := s.str()
			if !ok {
				return h, errDPoPHeader
			}
			h.alg, hasAlg = v.text(), true
		case key.is("typ"):
			v, ok := s.str()
			if !ok {
				return h, errDPoPHeader
			}
			h.typ, h.hasTyp = v.text(), true
		case key.is("jwk"):
			if err := h.jwk.scan(&s); err != nil {
				return h, err
			}
			h.hasJWK = true
		case key.is("crit"):
			return h, errDPoPCrit
		default:
			if !s.value(1) {
				return h, errDPoPHeader
			}
		}
	}
	if !s.end() || !hasAlg {
		return h, errDPoPHeader
	}
	return h, nil
}

// proofJWK holds the members of a proof's jwk that make the public key and
// its thumbprint, unescaped.
type proofJWK struct {
	kty, crv, x, y, n, e string
}

// privateMembers are the JWK members of private and symmetric keys (RFC
// 7518 §6.2.2, §6.3.2, §6.4; RFC 8037 §2).
var privateMembers = [...]string{"d", "p", "q", "dp", "dq", "qi", "oth", "k"}

// scan reads the jwk object at the scanner's position.
func (j *proofJWK) scan(s *scanner) error {
	var seen keySet
	if !s.open() {
		return errDPoPHeader
	}
	for first := true; ; first = false {
		key, done, ok := s.member(first)
		if !ok {
			return errDPoPHeader
		}
		if done {
			return nil
		}
		if !seen.add(s.b, key, maxHeaderMembers) {
			return errDPoPHeader
		}
		name := key.text()
		var dst *string
		switch name {
		case "kty":
			dst = &j.kty
		case "crv":
			dst = &j.crv
		case "x":
			dst = &j.x
		case "y":
			dst = &j.y
		case "n":
			dst = &j.n
		case "e":
			dst = &j.e
		}
		for _, p := range privateMembers {
			if name == p {
				return errDPoPPrivateJWK
			}
		}
		if dst == nil {
			if !s.value(2) {
				return errDPoPHeader
			}
			continue
		}
		v, ok := s.str()
		if !ok {
			return errDPoPBadJWK
		}
		*dst = v.text()
	}
}

// publicKey returns the key of j checked to fit alg, and the RFC 7638
// thumbprint of j: the SHA-256 of its required members in lexicographic
// order, without white space, base64url-encoded. Coordinates and RSA
// parameters must be canonical base64url, of the curve's size, without
// leading zero octets, so that one key has one thumbprint.
func (j *proofJWK) publicKey(alg string) (any, string, error) {
	var key any
	var canonical string
	switch j.kty {
	case "EC":
		c, ok := jwkCurves[j.crv]
		if !ok {
			return nil, "", errDPoPBadJWK
		}
		size := (c.curve.Params().BitSize + 7) / 8
		x, okx := decodeSegment(nil, j.x)
		y, oky := decodeSegment(nil, j.y)
		if !okx || !oky || len(x) != size || len(y) != size {
			return nil, "", errDPoPBadJWK
		}
		point := append(append([]byte{4}, x...), y...)
		pub, err := ecdsa.ParseUncompressedPublicKey(c.curve, point)
		if err != nil {
			return nil, "", errDPoPBadJWK
		}
		key = pub
		canonical = `{"crv":"` + j.crv + `","kty":"EC","x":"` + j.x + `","y":"` + j.y + `"}`
	case "OKP":
		x, ok := decodeSegment(nil, j.x)
		if j.crv != "Ed25519" || !ok || len(x) != ed25519.PublicKeySize {
			return nil, "", errDPoPBadJWK
		}
		key = ed25519.PublicKey(x)
		canonical = `{"crv":"Ed25519","kty":"OKP","x":"` + j.x + `"}`
	case "RSA":
		n, okn := decodeSegment(nil, j.n)
		e, oke := decodeSegment(nil, j.e)
		if !okn || !oke || len(n) == 0 || len(e) == 0 || len(e) > 4 || n[0] == 0 || e[0] == 0 {
			return nil, "", errDPoPBadJWK
		}
		eb := new(big.Int).SetBytes(e)
		if !eb.IsInt64() || eb.Int64() > 1<<31-1 {
			return nil, "", errDPoPBadJWK
		}
		key = &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: int(eb.Int64())}
		canonical = `{"e":"` + j.e + `","kty":"RSA","n":"` + j.n + `"}`
	default:
		return nil, "", errDPoPBadJWK
	}
	pub, err := publicKey(alg, key) // the curve of the alg, RSA size and exponent
	if err != nil {
		return nil, "", errDPoPBadJWK
	}
	sum := sha256.Sum256([]byte(canonical))
	return pub, base64.RawURLEncoding.EncodeToString(sum[:]), nil
}

// parseProofClaims reads jti, htm, htu, iat, ath and nonce from a payload
// whose signature has verified, and requires the first four.
func parseProofClaims(b []byte) (*proof, error) {
	if !utf8.Valid(b) {
		return nil, errDPoPPayload
	}
	p := new(proof)
	s := scanner{b: b}
	var seen keySet
	var hasJTI, hasHTM, hasHTU, hasIAT bool
	if !s.open() {
		return nil, errDPoPPayload
	}
	for first := true; ; first = false {
		key, done, ok := s.member(first)
		if !ok {
			return nil, errDPoPPayload
		}
		if done {
			break
		}
		if !seen.add(b, key, maxMembers) {
			return nil, errDPoPPayload
		}
		var dst *string
		var has *bool
		switch key.text() {
		case "jti":
			dst, has = &p.jti, &hasJTI
		case "htm":
			dst, has = &p.htm, &hasHTM
		case "htu":
			dst, has = &p.htu, &hasHTU
		case "ath":
			dst, has = &p.ath, &p.hasATH
		case "nonce":
			dst, has = &p.nonce, &p.hasNonce
		case "iat":
			if p.iat, ok = s.date(); !ok {
				return nil, errDPoPClaimType
			}
			hasIAT = true
			continue
		default:
			if !s.value(1) {
				return nil, errDPoPPayload
			}
			continue
		}
		v, ok := s.str()
		if !ok {
			return nil, errDPoPClaimType
		}
		*dst, *has = v.text(), true
	}
	if !s.end() {
		return nil, errDPoPPayload
	}
	switch {
	case !hasJTI || p.jti == "":
		return nil, errDPoPNoJTI
	case len(p.jti) > maxProofJTI:
		return nil, errDPoPLongJTI
	case !hasHTM || p.htm == "":
		return nil, errDPoPNoHTM
	case !hasHTU || p.htu == "":
		return nil, errDPoPNoHTU
	case !hasIAT:
		return nil, errDPoPNoIAT
	}
	return p, nil
}

// verifyProof checks the proof in r's DPoP header against the request: a
// proof for the access token token at a resource, or with token "" at a
// token endpoint (where ath is refused). It leaves the key binding, the
// nonce and the replay cache to the caller.
func (g *dpopGuard) verifyProof(m *Middleware, r *http.Request, s, token string) (*proof, error) {
	p, err := parseProof(s, g.algs)
	if err != nil {
		return nil, err
	}
	if p.htm != r.Method {
		return nil, errDPoPHTM
	}
	if !g.htuMatches(p.htu, r) {
		return nil, errDPoPHTU
	}
	sec, leeway := m.now()
	switch {
	case p.iat < sec-g.window-leeway:
		return nil, errDPoPIATOld
	case p.iat > sec+g.window+leeway:
		return nil, errDPoPIATFuture
	}
	if token == "" {
		if p.hasATH {
			return nil, errDPoPATHAtToken
		}
		return p, nil
	}
	if !p.hasATH {
		return nil, errDPoPNoATH
	}
	want := accessTokenHash(token)
	if subtle.ConstantTimeCompare([]byte(p.ath), want[:]) != 1 {
		return nil, errDPoPATH
	}
	return p, nil
}
