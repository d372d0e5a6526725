package jwtguard

import (
	"context"
	"encoding/json"
	"math"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/golang-jwt/jwt/v5"
)

// maxHeaderSize bounds the decoded JOSE header, which is read before the
// signature is checked. Real headers are well under 200 bytes.
const maxHeaderSize = 512

var errClaimsDecode = newTokenError(ErrMalformedToken, jwt.ErrTokenMalformed, "claims do not fit the claims type")

// verify checks a compact JWS and returns its claims decoded into a new
// claims value. The order is fixed: bound and charset, header, allow-list,
// key, signature, and only then the payload and its claims, so nothing from
// an unsigned payload is ever looked at.
func (m *Middleware) verify(ctx context.Context, token string) (any, error) {
	if len(token) > m.maxTokenSize {
		return nil, errTooLarge
	}
	dot1, dot2, err := splitToken(token)
	if err != nil {
		return nil, err
	}
	if decodedLen(dot1) > maxHeaderSize {
		return nil, errTooLarge
	}
	var hbuf [maxHeaderSize]byte
	hb, ok := decodeSegment(hbuf[:], token[:dot1])
	if !ok {
		return nil, errBase64
	}
	h, err := parseHeader(hb)
	if err != nil {
		return nil, err
	}
	kr := m.keys.current()
	if !kr.allows(string(h.alg.b)) || h.alg.escaped {
		return nil, errAlg
	}
	key, err := kr.lookup(string(h.alg.b), h.kid)
	if err != nil {
		if key, err = m.lookupAgain(ctx, kr, &h, err); err != nil {
			return nil, err
		}
	}
	sigText := token[dot2+1:]
	sig, ok := decodeSegment(make([]byte, decodedLen(len(sigText))), sigText)
	if !ok {
		return nil, errBase64
	}
	if key.method.Verify(token[:dot2], sig, key.key) != nil {
		return nil, errSignature
	}

	payText := token[dot1+1 : dot2]
	payload, ok := decodeSegment(make([]byte, decodedLen(len(payText))), payText)
	if !ok {
		return nil, errBase64
	}
	if !utf8.Valid(payload) {
		return nil, errPayloadJSON
	}
	var fill *Claims
	if m.newClaims == nil {
		fill = new(Claims)
	}
	cv, err := scanClaims(payload, m.typeClaim, fill)
	if err != nil {
		return nil, err
	}
	if err := m.validate(&h, &cv); err != nil {
		return nil, err
	}
	if err := m.checkRevoked(ctx, &cv); err != nil {
		return nil, err
	}
	if fill != nil {
		return fill, nil
	}
	claims := m.newClaims()
	if json.Unmarshal(payload, claims) != nil {
		return nil, errClaimsDecode
	}
	return claims, nil
}

// lookupAgain is the slow path of a token whose key is not in kr: it asks
// the key source for newer keys (a remote JWKS re-fetches, rate limited) and
// looks again. It returns notFound when nothing newer has the key.
func (m *Middleware) lookupAgain(ctx context.Context, kr *keyring, h *header, notFound error) (*verifier, error) {
	if h.kid == nil && len(kr.keys) > 1 {
		return nil, notFound // no fetch can tell which key a token without kid means
	}
	newer, err := m.keys.refresh(ctx)
	if err != nil {
		return nil, err
	}
	if newer == nil || newer == kr {
		return nil, notFound
	}
	alg := string(h.alg.b)
	if !newer.allows(alg) {
		return nil, errAlg
	}
	return newer.lookup(alg, h.kid)
}

// splitToken checks that token has only base64url characters and exactly
// two dots, and returns their positions.
func splitToken(token string) (dot1, dot2 int, err error) {
	dot1, dot2 = -1, -1
	for i := 0; i < len(token); i++ {
		c := token[i]
		if c == '.' {
			switch {
			case dot1 < 0:
				dot1 = i
			case dot2 < 0:
				dot2 = i
			default:
				return 0, 0, errSegments
			}
			continue
		}
		if b64[c] == 0xFF {
			return 0, 0, errCharset
		}
	}
	if dot2 < 0 || dot1 == 0 || dot2 == dot1+1 || dot2 == len(token)-1 {
		return 0, 0, errSegments
	}
	return dot1, dot2, nil
}

// header is what the middleware reads of a JOSE header.
type header struct {
	alg    span
	kid    []byte // nil when absent
	typ    span
	hasTyp bool
}

// parseHeader reads alg, kid and typ, refuses crit (no extension is
// implemented), and ignores jwk, jku, x5u and x5c: keys never come from the
// token.
func parseHeader(b []byte) (header, error) {
	var h header
	if !utf8.Valid(b) {
		return h, errHeaderJSON
	}
	s := scanner{b: b}
	var seen keySet
	hasAlg := false
	if !s.open() {
		return h, errHeaderJSON
	}
	for first := true; ; first = false {
		key, done, ok := s.member(first)
		if !ok {
			return h, errHeaderJSON
		}
		if done {
			break
		}
		if !seen.add(b, key, maxHeaderMembers) {
			return h, errHeaderJSON
		}
		switch {
		case key.is("alg"):
			if h.alg, ok = s.str(); !ok {
				return h, errHeaderJSON
			}
			hasAlg = true
		case key.is("kid"):
			kid, ok := s.str()
			if !ok {
				return h, errHeaderJSON
			}
			if kid.escaped {
				h.kid = unescape(kid.b)
			} else {
				h.kid = kid.b
			}
			if h.kid == nil {
				h.kid = []byte{}
			}
		case key.is("typ"):
			if h.typ, ok = s.str(); !ok {
				return h, errHeaderJSON
			}
			h.hasTyp = true
		case key.is("crit"):
			return h, errCrit
		default:
			if !s.value(1) {
				return h, errHeaderJSON
			}
		}
	}
	if !s.end() {
		return h, errHeaderJSON
	}
	if !hasAlg {
		return h, errNoAlg
	}
	return h, nil
}

// claimView is what the middleware decides on, read from the payload.
type claimView struct {
	exp, nbf, iat          float64
	hasExp, hasNbf, hasIat bool
	iss                    span
	hasIss                 bool
	aud                    []byte // the raw JSON value, nil when absent
	typ                    span
	hasType                bool
	jti, fid               span // for the revocation store
	hasJTI, hasFID         bool
}

// knownNames are the claim names whose value types the middleware fixes:
// the registered claims of RFC 7519 §4.1 and those of [Claims]. A top-level
// member that differs from one of them (or from the type claim) only in case
// is refused, since encoding/json would decode it into the same field.
var knownNames = [...]string{"iss", "sub", "aud", "exp", "nbf", "iat", "jti", "type", "roles", "scope", "fid"}

// scanClaims checks that payload is one strict JSON object and reads the
// claims the middleware decides on. When dst is not nil it also fills the
// default claims, exactly as encoding/json would, without its cost.
func scanClaims(payload []byte, typeClaim string, dst *Claims) (claimView, error) {
	var cv claimView
	s := scanner{b: payload}
	var seen keySet
	if !s.open() {
		return cv, errPayloadJSON
	}
	for first := true; ; first = false {
		key, done, ok := s.member(first)
		if !ok {
			return cv, errPayloadJSON
		}
		if done {
			break
		}
		if !seen.add(s.b, key, maxMembers) {
			return cv, errPayloadJSON
		}
		name := string(key.b) // does not allocate where it is only compared
		if key.escaped {
			name = key.text()
		}
		if name == typeClaim {
			cv.typ, ok = s.str()
			cv.hasType = true
			if !ok {
				return cv, errClaimType
			}
			if dst != nil && name == "type" {
				dst.Type = cv.typ.text()
			}
			continue
		}
		switch name {
		case "exp":
			cv.exp, ok = s.date()
			cv.hasExp = true
			if dst != nil {
				dst.ExpiresAt = toDate(cv.exp)
			}
		case "nbf":
			cv.nbf, ok = s.date()
			cv.hasNbf = true
			if dst != nil {
				dst.NotBefore = toDate(cv.nbf)
			}
		case "iat":
			cv.iat, ok = s.date()
			cv.hasIat = true
			if dst != nil {
				dst.IssuedAt = toDate(cv.iat)
			}
		case "iss":
			cv.iss, ok = s.str()
			cv.hasIss = true
			if dst != nil {
				dst.Issuer = cv.iss.text()
			}
		case "jti":
			cv.jti, ok = s.str()
			cv.hasJTI = true
			if dst != nil {
				dst.ID = cv.jti.text()
			}
		case "fid":
			cv.fid, ok = s.str()
			cv.hasFID = true
		case "sub", "type", "scope":
			var v span
			v, ok = s.str()
			if dst != nil {
				*dst.stringField(name) = v.text()
			}
		case "roles":
			var roles []string
			roles, ok = s.stringArray()
			if dst != nil {
				dst.Roles = roles
			}
		case "aud":
			cv.aud, ok = s.audience()
			if ok && dst != nil {
				dst.Audience = audienceList(cv.aud)
			}
		default:
			if ambiguous(name, typeClaim) || !s.value(1) {
				return cv, errPayloadJSON
			}
		}
		if !ok {
			return cv, errClaimType
		}
	}
	if !s.end() {
		return cv, errPayloadJSON
	}
	return cv, nil
}

// ambiguous reports whether name differs from a known claim name only in
// case. Lengths may differ: under Unicode folding "ſub" (U+017F) is "sub".
func ambiguous(name, typeClaim string) bool {
	for _, k := range knownNames {
		if strings.EqualFold(name, k) {
			return true
		}
	}
	return strings.EqualFold(name, typeClaim)
}

// toDate converts NumericDate seconds as jwt.NumericDate's UnmarshalJSON
// does.
func toDate(seconds float64) *jwt.NumericDate {
	whole, frac := math.Modf(seconds)
	return jwt.NewNumericDate(time.Unix(int64(whole), int64(frac*1e9)))
}

// stringField returns the field of a string claim.
func (c *Claims) stringField(name string) *string {
	switch name {
	case "sub":
		return &c.Subject
	case "jti":
		return &c.ID
	case "type":
		return &c.Type
	}
	return &c.Scope
}

// stringArray reads an array of strings; null reads as nil.
func (s *scanner) stringArray() ([]string, bool) {
	if s.literal("null") {
		return nil, true
	}
	if s.peek() != '[' {
		return nil, false
	}
	s.i++
	out := []string{}
	s.skipSpace()
	if s.peek() == ']' {
		s.i++
		return out, true
	}
	for {
		s.skipSpace()
		v, ok := s.str()
		if !ok {
			return nil, false
		}
		out = append(out, v.text())
		s.skipSpace()
		switch s.peek() {
		case ']':
			s.i++
			return out, true
		case ',':
			s.i++
		default:
			return nil, false
		}
	}
}

// audienceList decodes an aud value checked by audience, as
// jwt.ClaimStrings would: an empty array decodes to nil.
func audienceList(aud []byte) jwt.ClaimStrings {
	s := scanner{b: aud}
	if s.peek() == '"' {
		v, _ := s.str()
		return jwt.ClaimStrings{v.text()}
	}
	list, _ := s.stringArray()
	if len(list) == 0 {
		return nil
	}
	return list
}

// The range of NumericDates accepted: years 1 to 9999 (UTC). Outside it
// the conversion to time.Time overflows (exp 1e300 became a date in year
// -292277022657 in the claims of a token the middleware accepted as never
// expiring), and no real token needs it.
const (
	minDate = -62135596800 // 0001-01-01T00:00:00Z
	maxDate = 253402300799 // 9999-12-31T23:59:59Z
)

// date reads a NumericDate, which must be a JSON number in range.
func (s *scanner) date() (float64, bool) {
	b, ok := s.number()
	if !ok {
		return 0, false
	}
	f, ok := numericDate(b)
	return f, ok && f >= minDate && f <= maxDate
}

// audience reads aud, a string or an array of strings, and returns its raw
// JSON text.
func (s *scanner) audience() ([]byte, bool) {
	start := s.i
	switch s.peek() {
	case '"':
		if _, ok := s.str(); !ok {
			return nil, false
		}
	case '[':
		s.i++
		s.skipSpace()
		if s.peek() == ']' {
			s.i++
			break
		}
		for {
			s.skipSpace()
			if _, ok := s.str(); !ok {
				return nil, false
			}
			s.skipSpace()
			if s.peek() == ']' {
				s.i++
				break
			}
			if s.peek() != ',' {
				return nil, false
			}
			s.i++
		}
	default:
		return nil, false
	}
	return s.b[start:s.i], true
}

// audienceContains reports whether the aud value (as returned by audience)
// contains one of want.
func audienceContains(aud []byte, want []string) bool {
	s := scanner{b: aud}
	if s.peek() == '"' {
		v, _ := s.str()
		return matchAny(v, want)
	}
	s.i++ // '['
	for {
		s.skipSpace()
		if s.peek() != '"' {
			return false
		}
		v, _ := s.str()
		if matchAny(v, want) {
			return true
		}
		s.skipSpace()
		if s.peek() != ',' {
			return false
		}
		s.i++
	}
}

func matchAny(v span, want []string) bool {
	for _, w := range want {
		if v.is(w) {
			return true
		}
	}
	return false
}

// validate applies the time, issuer, audience and type rules.
func (m *Middleware) validate(h *header, cv *claimView) error {
	if !cv.hasExp {
		return errNoExp
	}
	now := m.clock()
	sec := float64(now.Unix()) + float64(now.Nanosecond())/1e9
	leeway := m.leeway.Seconds()
	if sec >= cv.exp+leeway {
		return errExpired
	}
	if cv.hasNbf && sec+leeway < cv.nbf {
		return errNotBefore
	}
	if cv.hasIat && sec+leeway < cv.iat {
		return errIssuedFuture
	}
	if m.issuer != "" {
		if !cv.hasIss {
			return errNoIssuer
		}
		if !cv.iss.is(m.issuer) {
			return errIssuer
		}
	}
	if len(m.audience) > 0 {
		if cv.aud == nil {
			return errNoAudience
		}
		if !audienceContains(cv.aud, m.audience) {
			return errAudience
		}
	}
	return m.checkType(h, cv)
}

// checkType applies the token type rule of the configured mode.
func (m *Middleware) checkType(h *header, cv *claimView) error {
	switch m.typeMode {
	case typeUnchecked:
		return nil
	case typeByHeader:
		if !h.hasTyp || !sameMediaType(h.typ.text(), m.tokenType) {
			return errType
		}
		return nil
	}
	if !cv.hasType {
		return errNoType
	}
	if !cv.typ.is(m.tokenType) {
		return errType
	}
	if h.hasTyp && !m.headerTypeFits(h.typ) {
		return errHeaderType
	}
	return nil
}

// headerTypeFits reports whether a typ header agrees with the expected
// token type: "JWT", "<type>+jwt", or "at+jwt" for access tokens.
func (m *Middleware) headerTypeFits(typ span) bool {
	t := string(typ.b)
	if typ.escaped {
		t = typ.text()
	}
	return sameMediaType(t, "JWT") || sameMediaType(t, m.typeMedia) ||
		m.tokenType == TypeAccess && sameMediaType(t, "at+jwt")
}

// sameMediaType compares typ values as RFC 7515 §4.1.9 asks: ignoring case
// and an "application/" prefix.
func sameMediaType(a, b string) bool {
	trim := func(s string) string {
		if len(s) > 12 && strings.EqualFold(s[:12], "application/") {
			return s[12:]
		}
		return s
	}
	return strings.EqualFold(trim(a), trim(b))
}
