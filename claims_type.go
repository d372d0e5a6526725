package jwtguard

import (
	"encoding"
	"encoding/json"
	"reflect"
	"strings"
)

// The fast path of a [WithClaimsType] type that embeds [Claims].
//
// The strict scan fills the default claims anyway (it must read them to
// decide); encoding/json then only has to decode the members that are not
// fields of Claims into the rest of the struct. The result is what
// json.Unmarshal of the whole payload would give: Claims' fields are filled
// as encoding/json fills them, and the embedding type is used only when no
// other field of it could take one of their names (encoding/json would give
// it such a member instead) and it has no UnmarshalJSON of its own. Other
// types are decoded from the whole payload with encoding/json.

// claimsNames are the JSON names of the fields of [Claims].
var claimsNames = [...]string{"iss", "sub", "aud", "exp", "nbf", "iat", "jti", "type", "roles", "scope", "auth_time"}

// embeddedClaimsFunc returns a function giving the embedded [Claims] of a
// *C, or nil when C does not qualify for the fast path: a struct with
// Claims embedded at its top level, untagged, no other embedded field, no
// other field that encoding/json could match to a name of claimsNames,
// and no UnmarshalJSON or UnmarshalText method.
func embeddedClaimsFunc[C any]() func(any) *Claims {
	t := reflect.TypeFor[C]()
	if t.Kind() != reflect.Struct {
		return nil
	}
	json := reflect.TypeFor[json.Unmarshaler]()
	text := reflect.TypeFor[encoding.TextUnmarshaler]()
	if pt := reflect.PointerTo(t); pt.Implements(json) || pt.Implements(text) {
		return nil
	}
	index := -1
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if f.Anonymous {
			if f.Type != reflect.TypeFor[Claims]() || tag != "" || index >= 0 {
				return nil
			}
			index = i
			continue
		}
		if !f.IsExported() || tag == "-" {
			continue // encoding/json ignores it
		}
		name, _, _ := strings.Cut(tag, ",")
		if name == "" {
			name = f.Name
		}
		for _, k := range claimsNames {
			if strings.EqualFold(name, k) {
				return nil
			}
		}
	}
	if index < 0 {
		return nil
	}
	return func(v any) *Claims {
		return reflect.ValueOf(v).Elem().Field(index).Addr().Interface().(*Claims)
	}
}

// otherMembers returns the members of payload, a JSON object the strict
// scan accepted, that are not named in claimsNames, as a JSON object; nil
// when there are none.
func otherMembers(payload []byte) []byte {
	var out []byte
	s := scanner{b: payload}
	s.open()
	for first := true; ; first = false {
		key, done, _ := s.member(first)
		if done {
			break
		}
		s.value(1)
		if isClaimsName(key) {
			continue
		}
		if out == nil {
			out = make([]byte, 0, len(payload)+1)
			out = append(out, '{')
		} else {
			out = append(out, ',')
		}
		out = append(out, payload[key.off-1:s.i]...) // from the name's opening quote
	}
	if out == nil {
		return nil
	}
	return append(out, '}')
}

// isClaimsName reports whether the member name key is one of claimsNames.
func isClaimsName(key span) bool {
	for _, k := range claimsNames {
		if key.is(k) {
			return true
		}
	}
	return false
}

// decodeEmbedded returns a new claims value of m's [WithClaimsType] type
// with the default claims of box in its embedded [Claims] and the members
// of rest (from otherMembers) decoded into it by encoding/json.
func (m *Middleware) decodeEmbedded(box *claimsBox, rest []byte) (any, error) {
	claims := m.newClaims()
	*m.embedded(claims) = box.c
	if rest != nil && json.Unmarshal(rest, claims) != nil {
		return nil, errClaimsDecode
	}
	return claims, nil
}
