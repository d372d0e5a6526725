package jwtguard

import (
	"bytes"
	"strconv"
	"unicode/utf16"
)

// This file holds the strict decoding of a compact JWS: base64url without
// padding and with canonical trailing bits, and a JSON scanner that accepts
// exactly one RFC 8259 object with no duplicate member names (compared as
// encoding/json matches them, ignoring case), no invalid escapes and no
// nesting deeper than maxDepth. The scanner reads the claims the middleware
// decides on straight from the bytes, so a decision never depends on how a
// user's claims type unmarshals.

const (
	maxDepth         = 32  // nesting of arrays and objects
	maxMembers       = 256 // members of one object
	maxHeaderMembers = 16  // members of the JOSE header
)

// b64 maps a base64url character to its 6-bit value, or 0xFF.
var b64 = func() (t [256]byte) {
	for i := range t {
		t[i] = 0xFF
	}
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	for i := 0; i < len(alphabet); i++ {
		t[alphabet[i]] = byte(i)
	}
	return t
}()

// decodeSegment appends the base64url (RFC 4648 §5, no padding) decoding of
// src to dst[:0]. It refuses padding, any other character, an impossible
// length and non-zero trailing bits, so each byte string has one encoding.
func decodeSegment(dst []byte, src string) ([]byte, bool) {
	n := len(src)
	if n%4 == 1 {
		return nil, false
	}
	out := dst[:0]
	i := 0
	for ; i+4 <= n; i += 4 {
		a, b, c, d := b64[src[i]], b64[src[i+1]], b64[src[i+2]], b64[src[i+3]]
		if (a|b|c|d)&0xC0 != 0 { // 0xFF marks a character outside the alphabet
			return nil, false
		}
		out = append(out, a<<2|b>>4, b<<4|c>>2, c<<6|d)
	}
	switch n - i {
	case 2:
		a, b := b64[src[i]], b64[src[i+1]]
		if (a|b)&0xC0 != 0 || b&0x0F != 0 {
			return nil, false
		}
		out = append(out, a<<2|b>>4)
	case 3:
		a, b, c := b64[src[i]], b64[src[i+1]], b64[src[i+2]]
		if (a|b|c)&0xC0 != 0 || c&0x03 != 0 {
			return nil, false
		}
		out = append(out, a<<2|b>>4, b<<4|c>>2)
	}
	return out, true
}

// decodedLen is the length of the decoding of an n-character segment.
func decodedLen(n int) int { return n * 3 / 4 }

// span is the raw content of a JSON string, between its quotes.
type span struct {
	b       []byte
	off     int  // where b starts in the scanned text
	escaped bool // contains a backslash escape
	ascii   bool // every character, escaped or not, is ASCII
}

// text returns the unescaped string. It allocates.
func (s span) text() string {
	if !s.escaped {
		return string(s.b)
	}
	return string(unescape(s.b))
}

// in returns the unescaped string, as text does, but without allocating
// when there is no escape: text is the scanned bytes as a string, and the
// result is a substring of it. With text empty it is text().
func (s span) in(text string) string {
	if s.escaped || text == "" {
		return s.text()
	}
	return text[s.off : s.off+len(s.b)]
}

// is reports whether the unescaped string equals want.
func (s span) is(want string) bool {
	if !s.escaped {
		return string(s.b) == want
	}
	return string(unescape(s.b)) == want
}

// scanner walks one JSON text. Its methods report false for anything that
// is not strict JSON.
type scanner struct {
	b []byte
	i int
}

func (s *scanner) skipSpace() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

func (s *scanner) peek() byte {
	if s.i < len(s.b) {
		return s.b[s.i]
	}
	return 0
}

// end reports whether only white space is left.
func (s *scanner) end() bool {
	s.skipSpace()
	return s.i == len(s.b)
}

// str reads a string at the current position. The caller has checked the
// whole input is valid UTF-8.
func (s *scanner) str() (span, bool) {
	if s.peek() != '"' {
		return span{}, false
	}
	s.i++
	start := s.i
	sp := span{off: start, ascii: true}
	for s.i < len(s.b) {
		c := s.b[s.i]
		switch {
		case c == '"':
			sp.b = s.b[start:s.i]
			s.i++
			return sp, true
		case c == '\\':
			sp.escaped = true
			if s.i+1 >= len(s.b) {
				return span{}, false
			}
			switch s.b[s.i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				s.i += 2
			case 'u':
				r, ok := hex4(s.b, s.i+2)
				if !ok {
					return span{}, false
				}
				s.i += 6
				if r >= 0x80 {
					sp.ascii = false
				}
				if utf16.IsSurrogate(r) {
					// A high surrogate must be followed by an escaped low one.
					if r >= 0xDC00 || s.i+1 >= len(s.b) || s.b[s.i] != '\\' || s.b[s.i+1] != 'u' {
						return span{}, false
					}
					lo, ok := hex4(s.b, s.i+2)
					if !ok || lo < 0xDC00 || lo > 0xDFFF {
						return span{}, false
					}
					s.i += 6
				}
			default:
				return span{}, false
			}
		case c < 0x20:
			return span{}, false
		default:
			if c >= 0x80 {
				sp.ascii = false
			}
			s.i++
		}
	}
	return span{}, false
}

// hex4 reads four hex digits at b[i:].
func hex4(b []byte, i int) (rune, bool) {
	if i+4 > len(b) {
		return 0, false
	}
	var r rune
	for _, c := range b[i : i+4] {
		switch {
		case c >= '0' && c <= '9':
			r = r<<4 | rune(c-'0')
		case c >= 'a' && c <= 'f':
			r = r<<4 | rune(c-'a'+10)
		case c >= 'A' && c <= 'F':
			r = r<<4 | rune(c-'A'+10)
		default:
			return 0, false
		}
	}
	return r, true
}

// number reads a number and returns its text.
func (s *scanner) number() ([]byte, bool) {
	start := s.i
	if s.peek() == '-' {
		s.i++
	}
	switch c := s.peek(); {
	case c == '0':
		s.i++
	case c >= '1' && c <= '9':
		s.digits()
	default:
		return nil, false
	}
	if s.peek() == '.' {
		s.i++
		if !s.digits() {
			return nil, false
		}
	}
	if c := s.peek(); c == 'e' || c == 'E' {
		s.i++
		if c := s.peek(); c == '+' || c == '-' {
			s.i++
		}
		if !s.digits() {
			return nil, false
		}
	}
	return s.b[start:s.i], true
}

func (s *scanner) digits() bool {
	start := s.i
	for s.i < len(s.b) && s.b[s.i] >= '0' && s.b[s.i] <= '9' {
		s.i++
	}
	return s.i > start
}

func (s *scanner) literal(lit string) bool {
	if len(s.b)-s.i < len(lit) || string(s.b[s.i:s.i+len(lit)]) != lit {
		return false
	}
	s.i += len(lit)
	return true
}

// value skips any JSON value, checking it strictly.
func (s *scanner) value(depth int) bool {
	s.skipSpace()
	switch c := s.peek(); {
	case c == '{':
		return s.object(depth+1, maxMembers)
	case c == '[':
		return s.array(depth + 1)
	case c == '"':
		_, ok := s.str()
		return ok
	case c == 't':
		return s.literal("true")
	case c == 'f':
		return s.literal("false")
	case c == 'n':
		return s.literal("null")
	case c == '-' || c >= '0' && c <= '9':
		_, ok := s.number()
		return ok
	}
	return false
}

func (s *scanner) object(depth, limit int) bool {
	if depth > maxDepth {
		return false
	}
	var seen keySet
	if !s.open() {
		return false
	}
	for first := true; ; first = false {
		key, done, ok := s.member(first)
		if !ok {
			return false
		}
		if done {
			return true
		}
		if !seen.add(s.b, key, limit) || !s.value(depth) {
			return false
		}
	}
}

func (s *scanner) array(depth int) bool {
	if depth > maxDepth {
		return false
	}
	s.i++ // '['
	s.skipSpace()
	if s.peek() == ']' {
		s.i++
		return true
	}
	for {
		if !s.value(depth) {
			return false
		}
		s.skipSpace()
		switch s.peek() {
		case ',':
			s.i++
		case ']':
			s.i++
			return true
		default:
			return false
		}
	}
}

// open consumes the '{' of an object.
func (s *scanner) open() bool {
	s.skipSpace()
	if s.peek() != '{' {
		return false
	}
	s.i++
	return true
}

// member reads the next `"key":` of an object, or its closing brace
// (done). first says whether a member has been read yet.
func (s *scanner) member(first bool) (key span, done, ok bool) {
	s.skipSpace()
	if s.peek() == '}' {
		s.i++
		return span{}, true, true
	}
	if !first {
		if s.peek() != ',' {
			return span{}, false, false
		}
		s.i++
		s.skipSpace()
	}
	key, ok = s.str()
	if !ok {
		return span{}, false, false
	}
	s.skipSpace()
	if s.peek() != ':' {
		return span{}, false, false
	}
	s.i++
	s.skipSpace()
	return key, false, true
}

// keySet finds duplicate member names the way encoding/json would confuse
// them: equal under Unicode case folding after unescaping. It records where
// each name is in the scanned text rather than the name itself, so the text
// (a buffer on the caller's stack) does not escape; an escaped name is
// unescaped once, into names, when it is added.
type keySet struct {
	n     int
	fixed [16]nameRef
	more  []nameRef
	names []byte // the unescaped forms of escaped names
}

// nameRef locates one member name: text[off:end], or names[off:end] when
// unescaped is set.
type nameRef struct {
	off, end  int
	ascii     bool
	unescaped bool
}

// add records key, a name read from text, and reports false if the object
// already has a name encoding/json could confuse with it, or limit names.
func (k *keySet) add(text []byte, key span, limit int) bool {
	if k.n >= limit {
		return false
	}
	ref := nameRef{off: key.off, end: key.off + len(key.b), ascii: key.ascii}
	name := key.b
	if key.escaped {
		start := len(k.names)
		k.names = appendUnescaped(k.names, key.b)
		ref = nameRef{off: start, end: len(k.names), ascii: key.ascii, unescaped: true}
		name = k.names[start:]
	}
	for i := 0; i < k.n; i++ {
		other := k.ref(i)
		b := text[other.off:other.end]
		if other.unescaped {
			b = k.names[other.off:other.end]
		}
		if sameName(name, ref.ascii, b, other.ascii) {
			return false
		}
	}
	if k.n < len(k.fixed) {
		k.fixed[k.n] = ref
	} else {
		k.more = append(k.more, ref)
	}
	k.n++
	return true
}

func (k *keySet) ref(i int) nameRef {
	if i < len(k.fixed) {
		return k.fixed[i]
	}
	return k.more[i-len(k.fixed)]
}

// sameName reports whether encoding/json could match the unescaped names a
// and b to one field.
func sameName(a []byte, aASCII bool, b []byte, bASCII bool) bool {
	if aASCII && bASCII {
		return len(a) == len(b) && asciiEqualFold(a, b)
	}
	return bytes.EqualFold(a, b)
}

func asciiEqualFold(a, b []byte) bool {
	for i := range a {
		x, y := a[i], b[i]
		if x == y {
			continue
		}
		if x|0x20 != y|0x20 || x|0x20 < 'a' || x|0x20 > 'z' {
			return false
		}
	}
	return true
}

// unescape decodes the escapes of a string the scanner has validated.
func unescape(b []byte) []byte {
	return appendUnescaped(make([]byte, 0, len(b)), b)
}

// appendUnescaped appends the unescaping of b to out.
func appendUnescaped(out, b []byte) []byte {
	for i := 0; i < len(b); i++ {
		if b[i] != '\\' {
			out = append(out, b[i])
			continue
		}
		i++
		switch b[i] {
		case 'b':
			out = append(out, '\b')
		case 'f':
			out = append(out, '\f')
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case 't':
			out = append(out, '\t')
		case 'u':
			r, _ := hex4(b, i+1)
			i += 4
			if utf16.IsSurrogate(r) {
				lo, _ := hex4(b, i+3)
				r = utf16.DecodeRune(r, lo)
				i += 6
			}
			out = appendRune(out, r)
		default: // '"', '\\', '/'
			out = append(out, b[i])
		}
	}
	return out
}

func appendRune(b []byte, r rune) []byte {
	return append(b, string(r)...)
}

// numericDate parses a NumericDate (RFC 7519 §2): a JSON number of seconds.
// Integers of up to 15 digits are parsed without allocating.
func numericDate(b []byte) (float64, bool) {
	neg := len(b) > 0 && b[0] == '-'
	digits := b
	if neg {
		digits = b[1:]
	}
	if n := len(digits); n > 0 && n <= 15 {
		var v int64
		for _, c := range digits {
			if c < '0' || c > '9' {
				v = -1
				break
			}
			v = v*10 + int64(c-'0')
		}
		if v >= 0 {
			if neg {
				v = -v
			}
			return float64(v), true
		}
	}
	f, err := strconv.ParseFloat(string(b), 64)
	return f, err == nil
}
