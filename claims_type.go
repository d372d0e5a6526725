package jwtguard

import (
	"encoding"
	"encoding/json"
	"fmt"
	"reflect"
	"strconv"
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
// it such a member instead) and it has no UnmarshalJSON of its own. When
// the other fields are all simple (strings, bools, numbers, lists of
// strings), the scanner sets them too, as encoding/json would, and
// encoding/json is not called at all. Other types are decoded from the
// whole payload with encoding/json.

// claimsNames are the JSON names of the fields of [Claims].
var claimsNames = [...]string{"iss", "sub", "aud", "exp", "nbf", "iat", "jti", "type", "roles", "scope", "auth_time"}

// claimsLayout is how a [WithClaimsType] type that embeds [Claims] is
// filled: Claims from the scan, and its other fields by fill when they are
// all simple, by encoding/json otherwise.
type claimsLayout struct {
	index  int           // of the embedded Claims
	fields []simpleField // the other fields encoding/json sets; nil when not simple
}

// simpleField is a field of a claims type that fill sets as encoding/json
// would: a string, bool, integer, float or []string of an ASCII JSON name,
// without the ",string" option or an unmarshaling method. Its string types
// are exactly string and []string (not json.Number nor another named
// string type); its other types may be named.
type simpleField struct {
	name  string
	index int
	kind  reflect.Kind // of the field; reflect.Slice for []string
}

// newClaimsLayout returns the layout of C, or nil when C does not qualify:
// a struct with Claims embedded at its top level, untagged, no other
// embedded field, no other field that encoding/json could match to a name
// of claimsNames, and no UnmarshalJSON or UnmarshalText method.
func newClaimsLayout[C any]() *claimsLayout {
	t := reflect.TypeFor[C]()
	if t.Kind() != reflect.Struct || unmarshals(t) {
		return nil
	}
	l := &claimsLayout{index: -1}
	simple := true
	for i := range t.NumField() {
		f := t.Field(i)
		tag, hasTag := f.Tag.Lookup("json")
		if f.Anonymous {
			if f.Type != reflect.TypeFor[Claims]() || hasTag || l.index >= 0 {
				return nil
			}
			l.index = i
			continue
		}
		if !f.IsExported() || tag == "-" {
			continue // encoding/json ignores it
		}
		name, opts, _ := strings.Cut(tag, ",")
		for _, k := range claimsNames {
			// The field name too: encoding/json uses it when the tag's
			// name is not valid.
			if strings.EqualFold(name, k) || strings.EqualFold(f.Name, k) {
				return nil
			}
		}
		if !validName(name) {
			if name != "" {
				simple = false // encoding/json's rules for the name apply
			}
			name = f.Name
		}
		if !simple || strings.Contains(opts, "string") || !validName(name) {
			simple = false
			continue
		}
		sf, ok := newSimpleField(f.Type, name, i)
		if !ok {
			simple = false
			continue
		}
		for _, o := range l.fields {
			if strings.EqualFold(o.name, name) {
				simple = false // encoding/json's rules for conflicts apply
			}
		}
		l.fields = append(l.fields, sf)
	}
	if l.index < 0 {
		return nil
	}
	if !simple {
		l.fields = nil
	} else if l.fields == nil {
		l.fields = []simpleField{}
	}
	return l
}

// newSimpleField describes a field of type t for fill, if it is simple.
func newSimpleField(t reflect.Type, name string, index int) (simpleField, bool) {
	f := simpleField{name: name, index: index, kind: t.Kind()}
	if unmarshals(t) {
		return f, false
	}
	switch f.kind {
	case reflect.String:
		// Only string itself: encoding/json gives a string type of its
		// own, json.Number, rules of its own (it must hold a valid
		// number), so every named string type is left to it.
		return f, t == stringType
	case reflect.Bool, reflect.Float32, reflect.Float64,
		reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return f, true
	case reflect.Slice:
		return f, t.Elem() == stringType // not []json.Number: see above
	}
	return f, false
}

// stringType is the type string, the only string type fill sets.
var stringType = reflect.TypeFor[string]()

// unmarshals reports whether t or *t has an UnmarshalJSON or UnmarshalText
// method.
func unmarshals(t reflect.Type) bool {
	j, x := reflect.TypeFor[json.Unmarshaler](), reflect.TypeFor[encoding.TextUnmarshaler]()
	pt := reflect.PointerTo(t)
	return t.Implements(j) || t.Implements(x) || pt.Implements(j) || pt.Implements(x)
}

// checkClaimsType reports an error naming t when encoding/json cannot
// decode a JSON object into a new *t, so that every token would be
// refused: t must be a struct, a map whose keys are strings, integers or
// have an UnmarshalText method, an interface without methods (any), a
// pointer to one of these, or a type with an UnmarshalJSON method.
func checkClaimsType(t reflect.Type) error {
	j, x := reflect.TypeFor[json.Unmarshaler](), reflect.TypeFor[encoding.TextUnmarshaler]()
	for e, depth := t, 0; depth < 8; e, depth = e.Elem(), depth+1 {
		pe := reflect.PointerTo(e)
		switch {
		case e.Implements(j) || pe.Implements(j):
			return nil
		case e.Implements(x) || pe.Implements(x):
			// encoding/json gives UnmarshalText strings only, never an object.
			return fmt.Errorf("WithClaimsType: %v has an UnmarshalText method but no UnmarshalJSON: encoding/json cannot decode the claims object into it", t)
		}
		switch e.Kind() {
		case reflect.Struct:
			return nil
		case reflect.Interface:
			if e.NumMethod() == 0 {
				return nil
			}
		case reflect.Map:
			switch k := e.Key(); k.Kind() {
			case reflect.String, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
				reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
				return nil
			default:
				if reflect.PointerTo(k).Implements(x) {
					return nil
				}
			}
		case reflect.Pointer:
			continue
		}
		break
	}
	return fmt.Errorf("WithClaimsType: encoding/json cannot decode the claims object into %v: use a struct (usually embedding Claims), a map with string keys, or a type with an UnmarshalJSON method", t)
}

// validName reports whether a JSON name is plain ASCII that encoding/json
// takes as it is: letters, digits, '_', '-' and '.'.
func validName(name string) bool {
	if name == "" {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '-' || c == '.') {
			return false
		}
	}
	return true
}

// fill sets the fields of v (a C) from the members of payload, a JSON
// object the strict scan accepted, that are not named in claimsNames,
// exactly as encoding/json would; text is payload as a string, which
// unescaped strings are cut from. cv, when not nil, is the scan's view,
// which says where those members are. fill reports false, having perhaps
// set some fields, when a member is not simple: a name with an escape, a
// non-ASCII character, or matching a field only ignoring case; a value that
// does not fit its field. Then encoding/json must decode them.
func (l *claimsLayout) fill(v reflect.Value, payload []byte, text string, cv *claimView) bool {
	s := scanner{b: payload}
	if cv != nil && cv.nOthers <= len(cv.others) {
		for _, off := range cv.others[:cv.nOthers] {
			s.i = int(off)
			key, _ := s.str()
			s.skipSpace()
			s.i++ // ':'
			s.skipSpace()
			if !l.fillMember(v, &s, key, text) {
				return false
			}
		}
		return true
	}
	s.open()
	for first := true; ; first = false {
		key, done, _ := s.member(first)
		if done {
			return true
		}
		if isClaimsName(key) {
			s.value(1)
			continue
		}
		if !l.fillMember(v, &s, key, text) {
			return false
		}
	}
}

// fillMember sets the field of v that the member named key, whose value is
// at s, goes to, and moves s past the value.
func (l *claimsLayout) fillMember(v reflect.Value, s *scanner, key span, text string) bool {
	if key.escaped || !key.ascii {
		return false
	}
	var f *simpleField
	for i := range l.fields {
		if string(key.b) == l.fields[i].name {
			f = &l.fields[i]
			break
		}
		if len(key.b) == len(l.fields[i].name) && asciiEqualFold(key.b, []byte(l.fields[i].name)) {
			return false
		}
	}
	if f == nil {
		return s.value(1) // no field: encoding/json ignores it
	}
	if s.literal("null") {
		return true // no change, as with encoding/json: v is new
	}
	return f.set(v.Field(f.index), s, text)
}

// set reads the value at s into fv.
func (f *simpleField) set(fv reflect.Value, s *scanner, text string) bool {
	switch f.kind {
	case reflect.String:
		str, ok := s.str()
		if !ok {
			return false
		}
		fv.SetString(str.in(text))
	case reflect.Bool:
		switch {
		case s.literal("true"):
			fv.SetBool(true)
		case s.literal("false"):
			fv.SetBool(false)
		default:
			return false
		}
	case reflect.Slice:
		var list []string
		list, ok := s.stringArray(text, nil)
		if !ok {
			return false
		}
		if list == nil {
			list = []string{} // [] decodes to an empty slice
		}
		l := reflect.MakeSlice(fv.Type(), len(list), len(list))
		for i, e := range list {
			l.Index(i).SetString(e)
		}
		fv.Set(l)
	default:
		num, ok := s.number()
		if !ok {
			return false
		}
		return setNumber(fv, num)
	}
	return true
}

// setNumber sets fv to the JSON number num as encoding/json would, or
// reports false where it would fail.
func setNumber(fv reflect.Value, num []byte) bool {
	switch fv.Kind() {
	case reflect.Float32, reflect.Float64:
		n, err := strconv.ParseFloat(string(num), fv.Type().Bits())
		if err != nil || fv.OverflowFloat(n) {
			return false
		}
		fv.SetFloat(n)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		n, err := strconv.ParseUint(string(num), 10, 64)
		if err != nil || fv.OverflowUint(n) {
			return false
		}
		fv.SetUint(n)
	default:
		n, err := strconv.ParseInt(string(num), 10, 64)
		if err != nil || fv.OverflowInt(n) {
			return false
		}
		fv.SetInt(n)
	}
	return true
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

// decodeEmbedded returns the verification result of m's [WithClaimsType]
// type: a new value with the default claims of box in its embedded
// [Claims] and the other members of payload (text as a string; cv the
// scan's view, or nil) in its other fields: set by fill when they are
// simple, else decoded by encoding/json.
func (m *Middleware) decodeEmbedded(box *claimsData, payload []byte, text string, cv *claimView) (any, error) {
	r := m.newResult()
	claims := r.claimsValue()
	v := reflect.ValueOf(claims).Elem()
	embedded := v.Field(m.layout.index)
	embedded.Set(reflect.ValueOf(&box.c).Elem())
	if m.layout.fields != nil && m.layout.fill(v, payload, text, cv) {
		return r, nil
	}
	rest := otherMembers(payload)
	if rest == nil {
		return r, nil
	}
	v.SetZero() // fill may have set some fields
	embedded.Set(reflect.ValueOf(&box.c).Elem())
	if json.Unmarshal(rest, claims) != nil {
		return nil, errClaimsDecode
	}
	return r, nil
}

// result is a verification's result that holds its claims together with
// the context that will carry them, so that both take one allocation: a
// *claimsBox for the default claims, a *customResult[C] for a
// [WithClaimsType] type.
type result interface {
	claimsValue() any              // *Claims or *C
	claimsContext() *claimsContext // unused until the claims go in a context
}

func (b *claimsBox) claimsValue() any              { return &b.c }
func (b *claimsBox) claimsContext() *claimsContext { return &b.ctx }

// customResult holds claims of a [WithClaimsType] type C.
type customResult[C any] struct {
	ctx claimsContext
	c   C
}

func (r *customResult[C]) claimsValue() any              { return &r.c }
func (r *customResult[C]) claimsContext() *claimsContext { return &r.ctx }
