package redisstore

import (
	"strings"
)

// Key layout, under the prefix P (DefaultPrefix by default). Issuers and
// identifiers are escaped (see escape), so they never contain ':', '{' or
// '}', and no choice of them can make two entries share a key or a family's
// keys leave its hash slot:
//
//	P jti:<iss>:<jti>            revoked access token (value: end, unix ms)
//	P fam:{<iss>:<fid>}          revoked family       (value: end, unix ms)
//	P used:{<iss>:<fid>}:<jti>   used refresh token   (value: "first:" first use, unix ms)
//	P sub:{<iss>:<sub>}          revoked subject      (value: "<end> <valid-after>", unix ms)
//	P sess:{<iss>:<sub>}         the subject's sessions: a hash, field <fid>,
//	                             value "<until> <created> <last used> <expires> <metadata JSON>"
//	P events                     pub/sub channel: "<end ms> <key>" per revocation,
//	                             "<end ms> <key> <valid-after ms>" for a subject
//	P dpop:<id>                  DPoP proof identifier seen (value: "1"; expires with the proof)
//
// The two keys of a family share the Cluster hash tag {<iss>:<fid>}, so the
// rotation script may touch both; the two keys of a subject share
// {<iss>:<sub>}.
const (
	kindToken   = 'j'
	kindFamily  = 'f'
	kindSubject = 's'

	tokenPart    = "jti:"
	familyPart   = "fam:{"
	usedPart     = "used:{"
	subjectPart  = "sub:{"
	sessionsPart = "sess:{"
	eventsPart   = "events"
)

// keys names the keys of one prefix.
type keys struct {
	prefix string
}

func (k keys) token(iss, jti string) string {
	return k.prefix + tokenPart + escape(iss) + ":" + escape(jti)
}

func (k keys) family(iss, fid string) string {
	return k.prefix + familyPart + escape(iss) + ":" + escape(fid) + "}"
}

func (k keys) used(iss, fid, jti string) string {
	return k.prefix + usedPart + escape(iss) + ":" + escape(fid) + "}:" + escape(jti)
}

func (k keys) subject(iss, sub string) string {
	return k.prefix + subjectPart + escape(iss) + ":" + escape(sub) + "}"
}

func (k keys) sessions(iss, sub string) string {
	return k.prefix + sessionsPart + escape(iss) + ":" + escape(sub) + "}"
}

func (k keys) channel() string { return k.prefix + eventsPart }

// patterns are the SCAN patterns of the revoked tokens, families and
// subjects.
func (k keys) patterns() []string {
	p := globEscape(k.prefix)
	return []string{p + tokenPart + "*", p + familyPart + "*", p + subjectPart + "*"}
}

// parse returns the mirror entry a revocation key stands for.
func (k keys) parse(key string) (entry, bool) {
	rest, ok := strings.CutPrefix(key, k.prefix)
	if !ok {
		return entry{}, false
	}
	var kind byte
	switch {
	case strings.HasPrefix(rest, tokenPart):
		kind, rest = kindToken, rest[len(tokenPart):]
	case strings.HasPrefix(rest, familyPart) && strings.HasSuffix(rest, "}"):
		kind, rest = kindFamily, rest[len(familyPart):len(rest)-1]
	case strings.HasPrefix(rest, subjectPart) && strings.HasSuffix(rest, "}"):
		kind, rest = kindSubject, rest[len(subjectPart):len(rest)-1]
	default:
		return entry{}, false
	}
	iss, id, ok := strings.Cut(rest, ":")
	if !ok || strings.ContainsAny(id, ":{}") {
		return entry{}, false
	}
	iss, ok1 := unescape(iss)
	id, ok2 := unescape(id)
	if !ok1 || !ok2 {
		return entry{}, false
	}
	return entry{kind: kind, iss: iss, id: id}, true
}

// escape percent-encodes '%', ':', '{' and '}', which the key layout uses
// as separators and hash tag braces. It is injective.
func escape(s string) string {
	if !strings.ContainsAny(s, "%:{}") {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 8)
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '%':
			b.WriteString("%25")
		case ':':
			b.WriteString("%3A")
		case '{':
			b.WriteString("%7B")
		case '}':
			b.WriteString("%7D")
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// unescape reverses escape; it refuses what escape cannot produce.
func unescape(s string) (string, bool) {
	if !strings.Contains(s, "%") {
		return s, true
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '%' {
			b.WriteByte(s[i])
			continue
		}
		if i+2 >= len(s) {
			return "", false
		}
		switch s[i+1 : i+3] {
		case "25":
			b.WriteByte('%')
		case "3A":
			b.WriteByte(':')
		case "7B":
			b.WriteByte('{')
		case "7D":
			b.WriteByte('}')
		default:
			return "", false
		}
		i += 2
	}
	return b.String(), true
}

// globEscape escapes the characters SCAN MATCH treats specially.
func globEscape(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '*', '?', '[', ']', '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}
