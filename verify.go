package jwtguard

import (
	"bytes"
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
// claims value, from the cache when there is one. Default claims come in
// their *claimsBox (see claimsOf).
func (m *Middleware) verify(ctx context.Context, token string) (any, error) {
	if len(token) > m.maxTokenSize {
		return nil, errTooLarge
	}
	if m.cache != nil {
		return m.cache.verify(ctx, m, token)
	}
	return m.verifyFull(ctx, token, nil, 0)
}

// maxStackPayload is the largest payload decoded into a buffer on the stack.
const maxStackPayload = 1024

// verifyToken verifies token in full. The order is fixed: bound and
// charset, header, allow-list, key, signature, and only then the payload
// and its claims, so nothing from an unsigned payload is ever looked at.
// When cache is not nil the result is added to it, under hash, once the
// token has passed.
//
// With several issuers, pre is the payload as read to find the issuer,
// before the signature check, and preBox the default claims that scan
// filled (a parameter of its own: escape analysis does not tell fields
// apart), so that the payload is not decoded and scanned twice; they are
// used only once the signature has verified. nil otherwise.
func (m *Middleware) verifyToken(ctx context.Context, token string, cache *tokenCache, hash uint64, pre *preScan, preBox *claimsBox) (any, error) {
	var dot1, dot2 int
	var err error
	if pre != nil {
		dot1, dot2 = pre.dot1, pre.dot2
	} else if dot1, dot2, err = splitToken(token); err != nil {
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
		if kr, key, err = m.lookupAgain(ctx, kr, &h, err); err != nil {
			return nil, err
		}
	}
	if err := verifySignature(key, token[:dot2], token[dot2+1:]); err != nil {
		return nil, err
	}
	if pre != nil && pre.scanned && pre.typeClaim == m.typeClaim {
		return m.accept(ctx, token, cache, hash, kr, key, &h, &pre.cv, pre.payload, preBox)
	}

	payText := token[dot1+1 : dot2]
	var pbuf [maxStackPayload]byte
	payload := pbuf[:]
	if n := decodedLen(len(payText)); n > len(pbuf) {
		payload = make([]byte, n)
	}
	payload, ok = decodeSegment(payload, payText)
	if !ok {
		return nil, errBase64
	}
	if !utf8.Valid(payload) {
		return nil, errPayloadJSON
	}
	var box *claimsBox
	if m.fillsClaims() {
		box = new(claimsBox)
	}
	cv, err := scanClaims(payload, m.typeClaim, box)
	if err != nil {
		return nil, err
	}
	return m.accept(ctx, token, cache, hash, kr, key, &h, &cv, payload, box)
}

// accept applies the rules of the claims to a token whose signature has
// verified, and returns its claims.
func (m *Middleware) accept(ctx context.Context, token string, cache *tokenCache, hash uint64, kr *keyring, key *verifier,
	h *header, cv *claimView, payload []byte, box *claimsBox) (any, error) {
	if err := m.validate(h, cv); err != nil {
		return nil, err
	}
	if err := m.checkRevoked(ctx, cv, box.payloadText()); err != nil {
		return nil, err
	}
	var claims any
	switch {
	case m.newClaims == nil:
		claims = box
	case box != nil:
		var err error
		if claims, err = m.decodeEmbedded(&box.claimsData, payload, box.text, cv); err != nil {
			return nil, err
		}
	default:
		r := m.newResult()
		claims = r
		// A copy: encoding/json would make the stack buffer escape.
		if json.Unmarshal(bytes.Clone(payload), r.claimsValue()) != nil {
			return nil, errClaimsDecode
		}
	}
	if cache != nil {
		cache.fill(m, token, hash, kr, key, h, cv, payload, box, claims)
	}
	if b := bindingFrom(ctx); b != nil {
		b.set(cv, box.payloadText())
	}
	return claims, nil
}

// maxMACSize is the largest HMAC: HS512's.
const maxMACSize = 64

// verifySignature decodes the signature sigText and checks it against the
// signing input with key. An HMAC signature is decoded on the stack.
func verifySignature(key *verifier, input, sigText string) error {
	n := decodedLen(len(sigText))
	if key.mac != nil && n <= maxMACSize {
		var buf [maxMACSize]byte
		sig, ok := decodeSegment(buf[:], sigText)
		if !ok {
			return errBase64
		}
		if !key.mac.verify(input, sig) {
			return errSignature
		}
		return nil
	}
	sig, ok := decodeSegment(make([]byte, n), sigText)
	if !ok {
		return errBase64
	}
	if !key.verifySignature(input, sig) {
		return errSignature
	}
	return nil
}

// lookupAgain is the slow path of a token whose key is not in kr: it asks
// the key source for newer keys (a remote JWKS re-fetches, rate limited) and
// looks again. It returns notFound when nothing newer has the key.
func (m *Middleware) lookupAgain(ctx context.Context, kr *keyring, h *header, notFound error) (*keyring, *verifier, error) {
	if h.kid == nil && len(kr.keys) > 1 {
		return nil, nil, notFound // no fetch can tell which key a token without kid means
	}
	newer, err := m.keys.refresh(ctx)
	if err != nil {
		return nil, nil, err
	}
	if newer == nil || newer == kr {
		return nil, nil, notFound
	}
	alg := string(h.alg.b)
	if !newer.allows(alg) {
		return nil, nil, errAlg
	}
	key, err := newer.lookup(alg, h.kid)
	return newer, key, err
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
	jkt                    span // cnf.jkt, the DPoP key thumbprint (RFC 9449 §6.1)
	hasCnf, hasJKT         bool
	sub                    span // for the revocation store: the subject's revocation
	hasSub                 bool // sub is present and not empty

	// others are where the members that are not claims of [Claims] start
	// (their names' opening quotes), for a claims type embedding Claims;
	// nOthers counts them all, and may exceed len(others).
	others  [8]int32
	nOthers int
}

// other records a member at off that is not a claim of [Claims].
func (cv *claimView) other(off int) {
	if cv.nOthers < len(cv.others) {
		cv.others[cv.nOthers] = int32(off)
	}
	cv.nOthers++
}

// knownNames are the claim names whose value types the middleware fixes:
// the registered claims of RFC 7519 §4.1 and those of [Claims]. A top-level
// member that differs from one of them (or from the type claim) only in case
// is refused, since encoding/json would decode it into the same field.
var knownNames = [...]string{"iss", "sub", "aud", "exp", "nbf", "iat", "jti", "type", "roles", "scope", "fid", "cnf", "auth_time"}

// claimsData holds default claims together with the storage of their
// dates and of short roles and aud lists, so that they take one
// allocation. The lists' capacities end at their lengths: appending to one
// never writes into the other.
type claimsData struct {
	c     Claims
	dates [4]jwt.NumericDate
	strs  [4]string
	used  int    // strs taken
	text  string // the payload as a string: the claims' strings are cut from it
}

// claimsBox is claimsData for a request: with the context that will carry
// its claims, so that claims and context take one allocation (see
// newClaimsContext). A cache entry keeps a claimsData, without a context.
type claimsBox struct {
	claimsData
	ctx claimsContext
}

// fillsClaims reports whether the scan fills default claims: for the
// default claims type, and for a [WithClaimsType] type that embeds them
// (see claims_type.go).
func (m *Middleware) fillsClaims() bool { return m.newClaims == nil || m.layout != nil }

// payloadText returns b.text, or "" for no box (custom claims).
func (b *claimsBox) payloadText() string {
	if b == nil {
		return ""
	}
	return b.text
}

// date stores seconds in dates[i] and returns it, as toDate would.
func (b *claimsData) date(i int, seconds float64) *jwt.NumericDate {
	whole, frac := math.Modf(seconds)
	b.dates[i] = jwt.NumericDate{Time: time.Unix(int64(whole), int64(frac*1e9)).Truncate(jwt.TimePrecision)}
	return &b.dates[i]
}

// list returns an empty slice for a list of strings, backed by what is left
// of strs.
func (b *claimsData) list() []string { return b.strs[b.used:b.used:len(b.strs)] }

// keep caps a list made from b.list and, if it still lives in strs, marks
// its storage taken.
func (b *claimsData) keep(l []string) []string {
	l = l[:len(l):len(l)]
	if len(l) > 0 && b.used+len(l) <= len(b.strs) && &l[0] == &b.strs[b.used] {
		b.used += len(l)
	}
	return l
}

// scanClaims checks that payload is one strict JSON object and reads the
// claims the middleware decides on. When dst is not nil it also fills the
// default claims, exactly as encoding/json would, without its cost: the
// strings of the claims share one copy of the payload.
func scanClaims(payload []byte, typeClaim string, dst *claimsBox) (claimView, error) {
	var cv claimView
	s := scanner{b: payload}
	var text string // payload as a string, when dst is filled
	if dst != nil {
		text = string(payload)
		dst.text = text
	}
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
			if name != "type" {
				cv.other(key.off - 1)
			}
			cv.typ, ok = s.str()
			cv.hasType = true
			if !ok {
				return cv, errClaimType
			}
			if dst != nil && name == "type" {
				dst.c.Type = cv.typ.in(text)
			}
			continue
		}
		switch name {
		case "exp":
			cv.exp, ok = s.date()
			cv.hasExp = true
			if dst != nil {
				dst.c.ExpiresAt = dst.date(0, cv.exp)
			}
		case "nbf":
			cv.nbf, ok = s.date()
			cv.hasNbf = true
			if dst != nil {
				dst.c.NotBefore = dst.date(1, cv.nbf)
			}
		case "iat":
			cv.iat, ok = s.date()
			cv.hasIat = true
			if dst != nil {
				dst.c.IssuedAt = dst.date(2, cv.iat)
			}
		case "auth_time":
			var at float64
			at, ok = s.date()
			if dst != nil {
				dst.c.AuthTime = dst.date(3, at)
			}
		case "iss":
			cv.iss, ok = s.str()
			cv.hasIss = true
			if dst != nil {
				dst.c.Issuer = cv.iss.in(text)
			}
		case "jti":
			cv.jti, ok = s.str()
			cv.hasJTI = true
			if dst != nil {
				dst.c.ID = cv.jti.in(text)
			}
		case "fid":
			cv.other(key.off - 1)
			cv.fid, ok = s.str()
			cv.hasFID = true
		case "cnf":
			cv.other(key.off - 1)
			cv.jkt, cv.hasJKT, ok = s.confirmation()
			cv.hasCnf = true
		case "sub", "type", "scope":
			var v span
			v, ok = s.str()
			if name == "sub" {
				cv.sub = v
				cv.hasSub = len(v.b) > 0
			}
			if dst != nil {
				*dst.c.stringField(name) = v.in(text)
			}
		case "roles":
			if dst == nil {
				_, ok = s.stringArray("", nil)
				break
			}
			var roles []string
			roles, ok = s.stringArray(text, dst.list())
			if roles != nil {
				dst.c.Roles = dst.keep(roles)
			}
		case "aud":
			start := s.i
			cv.aud, ok = s.audience()
			if ok && dst != nil {
				aud := audienceList(cv.aud, text[start:], dst.list())
				if aud != nil {
					dst.c.Audience = dst.keep(aud)
				}
			}
		default:
			cv.other(key.off - 1)
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

// stringArray reads an array of strings into out[:0]; null reads as nil.
// Strings without escapes are taken from text, the scanned bytes as a
// string.
func (s *scanner) stringArray(text string, out []string) ([]string, bool) {
	if s.literal("null") {
		return nil, true
	}
	if s.peek() != '[' {
		return nil, false
	}
	s.i++
	out = out[:0]
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
		out = append(out, v.in(text))
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
// jwt.ClaimStrings would, into out[:0]: an empty array decodes to nil. aud
// is the start of text, the payload as a string.
func audienceList(aud []byte, text string, out []string) jwt.ClaimStrings {
	s := scanner{b: aud}
	if s.peek() == '"' {
		v, _ := s.str()
		return append(out[:0], v.in(text))
	}
	list, _ := s.stringArray(text, out)
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

// validate applies the time, issuer, audience, subject and type rules.
func (m *Middleware) validate(h *header, cv *claimView) error {
	if !cv.hasExp {
		return errNoExp
	}
	sec, leeway := m.now()
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
	if err := m.checkType(h, cv); err != nil {
		return err
	}
	if !cv.hasSub && !m.subjectOptional {
		return errNoSub
	}
	return nil
}

// now returns the time in Unix seconds and the leeway in seconds.
func (m *Middleware) now() (sec, leeway float64) {
	now := m.clock()
	return float64(now.Unix()) + float64(now.Nanosecond())/1e9, m.leeway.Seconds()
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
		if h.hasTyp && m.tokenType == TypeAccess && sameMediaType(h.typ.text(), "at+jwt") {
			return m.errNoTypeAtJWT
		}
		return m.errNoType
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
