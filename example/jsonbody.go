package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"reflect"
	"strings"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
)

// decodeJSON reads the request body into v, the pointer to a struct, so
// that every endpoint of the example reads JSON the same way, at least as
// strictly as jwtguard reads the bodies of its login, refresh and logout
// endpoints. It wants the content type application/json (else 415) and at
// most maxBodyBytes (else 413). The body is decoded by
// github.com/go-json-experiment/json (encoding/json/v2) with
// RejectUnknownMembers, and answered 400 naming what to fix unless it is
// exactly one JSON object (RFC 8259) with nothing after it, in which
//
//   - no member name appears twice in an object, at any depth (names are
//     compared exactly, after unescaping), so that
//     {"email":"a@…","email":"b@…"} cannot pick either;
//   - every member is a field of v, named exactly as the field's json tag:
//     v2 matches names case-sensitively, so "Email" next to "email" is an
//     unknown member, never folded into the field as encoding/json would;
//   - every member has the JSON type of its field.
//
// A member whose value is not valid UTF-8 (a raw byte, or an escaped half
// of a surrogate pair without the other), which encoding/json would turn
// into U+FFFD so that different inputs became one, is refused with 422
// naming the member; invalid UTF-8 in a member name is a 400.
//
// There is no depth limit of its own: an unknown member is refused before
// its value is read, a value of the wrong type is skipped by the
// tokenizer, which does not recurse, and only v's own fields are decoded;
// the decoder refuses nesting deeper than 10000 levels.
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
	const malformed = "malformed JSON body"
	if jsontext.Value(b).Kind() != '{' { // v2 would read null as the zero struct
		return http.StatusBadRequest, malformed + ": want one object, such as {\"email\": string, \"password\": string}"
	}
	dec := jsontext.NewDecoder(bytes.NewReader(b))
	err = json.UnmarshalDecode(dec, v, json.RejectUnknownMembers(true))
	var syntax *jsontext.SyntacticError
	var semantic *json.SemanticError
	switch {
	case err == nil:
		if _, err := dec.ReadToken(); err != io.EOF {
			return http.StatusBadRequest, malformed + ": trailing data after the object"
		}
		return 0, ""
	case errors.Is(err, jsontext.ErrDuplicateName) && errors.As(err, &syntax):
		return http.StatusBadRequest, fmt.Sprintf("%s: member %q appears twice", malformed, member(syntax.JSONPointer))
	case errors.Is(err, json.ErrUnknownName) && errors.As(err, &semantic):
		return http.StatusBadRequest, fmt.Sprintf("%s: unknown member %q", malformed, member(semantic.JSONPointer))
	case errors.As(err, &syntax) && jsontext.Value(b).IsValid(jsontext.AllowInvalidUTF8(true)):
		// Well-formed but for its text: the error is at the first string
		// that is not UTF-8, within the member named or a member name.
		if syntax.JSONPointer == "" {
			return http.StatusBadRequest, malformed + ": not valid UTF-8 in a member name"
		}
		return http.StatusUnprocessableEntity, member(syntax.JSONPointer) + " is not valid UTF-8"
	case errors.As(err, &syntax):
		// Not v2's message, which may quote the body (a password).
		return http.StatusBadRequest, fmt.Sprintf("%s: syntax error after byte %d", malformed, syntax.ByteOffset)
	case errors.As(err, &semantic) && semantic.JSONPointer != "" && semantic.GoType != nil:
		return http.StatusBadRequest, fmt.Sprintf("%s: %s must be %s", malformed, member(semantic.JSONPointer), typeName(semantic.GoType))
	}
	return http.StatusBadRequest, malformed
}

// member names the member at p as a client wrote it: "password", or
// "profile.name" for a nested one.
func member(p jsontext.Pointer) string {
	var names []string
	for name := range p.Tokens() {
		names = append(names, name)
	}
	return strings.Join(names, ".")
}

// typeName is how an error names the JSON type of a Go type, with its
// article: "a string", "an array".
func typeName(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "a boolean"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64,
		reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Struct, reflect.Map:
		return "an object"
	case reflect.Slice, reflect.Array:
		return "an array"
	}
	return "a value of another type"
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
