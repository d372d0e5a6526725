package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"
)

// maxJSONDepth is the deepest nesting of arrays and objects read, as in
// jwtguard.
const maxJSONDepth = 32

// decodeJSON reads the request body into v, as strictly as jwtguard reads
// the bodies of its login, refresh and logout endpoints, so that every
// endpoint of the example reads JSON the same way: the content type
// application/json, at most maxBodyBytes (413), and exactly one JSON
// object (RFC 8259) with nothing after it, no member name twice at any
// depth (compared as encoding/json matches names, ignoring case, so that
// {"email":"a@…","email":"b@…"} cannot pick either) and members of the
// types of v (400). A member whose value is not valid UTF-8 (a raw byte,
// or an escaped half of a surrogate pair), which encoding/json would turn
// into U+FFFD so that different inputs became one, is refused with 422
// naming the member.
//
// It returns 0 when v is filled, else the status and the message for the
// client.
func decodeJSON(w http.ResponseWriter, r *http.Request, v any) (int, string) {
	if media, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || media != "application/json" {
		return http.StatusUnsupportedMediaType, "content type must be application/json"
	}
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBodyBytes))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return http.StatusRequestEntityTooLarge, fmt.Sprintf("request body too large: at most %d bytes", maxBodyBytes)
		}
		return http.StatusBadRequest, "the request body could not be read"
	}
	if status, msg := strictObject(b); status != 0 {
		return status, msg
	}
	if err := json.Unmarshal(b, v); err != nil {
		var typeErr *json.UnmarshalTypeError
		if errors.As(err, &typeErr) && typeErr.Field != "" {
			return http.StatusBadRequest, fmt.Sprintf("malformed JSON body: %s must be a %s", typeErr.Field, typeName(typeErr.Type.String()))
		}
		return http.StatusBadRequest, "malformed JSON body"
	}
	return 0, ""
}

// strictObject checks that b is one JSON object as decodeJSON describes.
// encoding/json's tokenizer does the parsing; this only adds the checks
// it does not make.
func strictObject(b []byte) (int, string) {
	const malformed = "malformed JSON body: want one object, such as {\"email\": string, \"password\": string}"
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return http.StatusBadRequest, malformed
	}
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return http.StatusBadRequest, malformed
		}
		name := tok.(string) // the tokenizer allows only strings here
		key := foldName(name)
		if seen[key] {
			return http.StatusBadRequest, fmt.Sprintf("malformed JSON body: member %q appears twice", name)
		}
		seen[key] = true
		start := dec.InputOffset() // before the colon: no backslash there
		if msg := walk(dec, 2); msg != "" {
			return http.StatusBadRequest, "malformed JSON body: " + msg
		}
		if !validText(b[start:dec.InputOffset()]) {
			return http.StatusUnprocessableEntity, fmt.Sprintf("%s is not valid UTF-8", name)
		}
	}
	if _, err := dec.Token(); err != nil { // the closing brace
		return http.StatusBadRequest, malformed
	}
	if _, err := dec.Token(); err != io.EOF {
		return http.StatusBadRequest, "malformed JSON body: trailing data after the object"
	}
	if !utf8.Valid(b) { // in a member name
		return http.StatusBadRequest, "malformed JSON body: not valid UTF-8"
	}
	return 0, ""
}

// walk reads one value from dec and returns what is wrong with it: a
// member name twice in an object, nesting deeper than maxJSONDepth, or a
// syntax error.
func walk(dec *json.Decoder, depth int) string {
	if depth > maxJSONDepth {
		return fmt.Sprintf("nested deeper than %d", maxJSONDepth)
	}
	tok, err := dec.Token()
	if err != nil {
		return "syntax error"
	}
	switch tok {
	case json.Delim('{'):
		seen := map[string]bool{}
		for dec.More() {
			tok, err := dec.Token()
			if err != nil {
				return "syntax error"
			}
			name := tok.(string)
			key := foldName(name)
			if seen[key] {
				return fmt.Sprintf("member %q appears twice", name)
			}
			seen[key] = true
			if msg := walk(dec, depth+1); msg != "" {
				return msg
			}
		}
	case json.Delim('['):
		for dec.More() {
			if msg := walk(dec, depth+1); msg != "" {
				return msg
			}
		}
	default:
		return ""
	}
	if _, err := dec.Token(); err != nil { // the closing delimiter
		return "syntax error"
	}
	return ""
}

// foldName is the key under which encoding/json matches a member name to
// a field: each rune replaced by the smallest of its simple case folding
// orbit, so that "Email", "EMAIL" and "email" are one name.
func foldName(name string) string {
	return strings.Map(func(r rune) rune {
		for {
			next := unicode.SimpleFold(r)
			if next <= r {
				return next
			}
			r = next
		}
	}, name)
}

// validText reports whether the JSON text b, which the tokenizer has
// accepted, is valid UTF-8 and escapes no half of a surrogate pair without
// the other: the two ways a JSON string can fail to be Unicode text.
// Backslashes occur only inside strings, so b may hold any JSON values.
func validText(b []byte) bool {
	if !utf8.Valid(b) {
		return false
	}
	for i := 0; i < len(b); i++ {
		if b[i] != '\\' {
			continue
		}
		i++ // the escaped character
		if b[i] != 'u' {
			continue
		}
		r := hex4(b[i+1 : i+5])
		i += 4
		switch {
		case !utf16.IsSurrogate(r):
		case r >= 0xDC00: // a low half first
			return false
		case i+6 < len(b) && b[i+1] == '\\' && b[i+2] == 'u':
			lo := hex4(b[i+3 : i+7])
			if lo < 0xDC00 || lo > 0xDFFF {
				return false
			}
			i += 6
		default:
			return false
		}
	}
	return true
}

// hex4 reads the four hex digits of a \u escape the tokenizer accepted.
func hex4(b []byte) rune {
	var r rune
	for _, c := range b {
		switch {
		case c >= 'a':
			c -= 'a' - 10
		case c >= 'A':
			c -= 'A' - 10
		default:
			c -= '0'
		}
		r = r<<4 | rune(c)
	}
	return r
}

// typeName is how an error names the JSON type of a Go type.
func typeName(goType string) string {
	switch strings.TrimLeft(goType, "*") {
	case "string":
		return "string"
	case "bool":
		return "boolean"
	case "int", "int64", "float64":
		return "number"
	}
	return "value of another type"
}

// inputError is a field value refused for a reason the user can fix
// (422): its message names the field and says what is wrong; it unwraps
// to the kind of refusal, such as errInvalidEmail.
type inputError struct {
	cause error
	msg   string
}

func (e *inputError) Error() string { return e.msg }
func (e *inputError) Unwrap() error { return e.cause }

// field is a string member of a request body; value is nil when absent.
type field struct {
	name  string
	value *string
}

// required checks that every field is present (else 400, as jwtguard
// answers a missing field) and not empty (else 422), and names those that
// are not, as "email and password are required" or "password is empty".
func required(fields ...field) (int, string) {
	var absent, empty []string
	for _, f := range fields {
		switch {
		case f.value == nil:
			absent = append(absent, f.name)
		case *f.value == "":
			empty = append(empty, f.name)
		}
	}
	switch {
	case len(absent) > 0:
		return http.StatusBadRequest, names(absent) + " required"
	case len(empty) > 0:
		return http.StatusUnprocessableEntity, names(empty) + " empty"
	}
	return 0, ""
}

// names joins field names with "and" and adds the verb: "email is",
// "email and password are".
func names(n []string) string {
	if len(n) == 1 {
		return n[0] + " is"
	}
	return strings.Join(n[:len(n)-1], ", ") + " and " + n[len(n)-1] + " are"
}
