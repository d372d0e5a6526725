package main

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestDecodeJSON: how decodeJSON names a problem in a nested member, as an
// endpoint with a nested body would see it, and that a syntax error does
// not quote the body back (it may hold a password).
func TestDecodeJSON(t *testing.T) {
	type body struct {
		Profile struct {
			Name string `json:"name"`
			Age  int    `json:"age"`
		} `json:"profile"`
		Tags []string `json:"tags"`
	}
	tests := []struct {
		name, body string
		status     int
		msg        string
	}{
		{"fine", `{"profile":{"name":"Ada","age":36},"tags":["a"]}`, 0, ""},
		{"twice, nested", `{"profile":{"name":"Ada","name":"Bob"}}`, 400, `malformed JSON body: member "profile.name" appears twice`},
		{"unknown, nested", `{"profile":{"Name":"Ada"}}`, 400, `malformed JSON body: unknown member "profile.Name"`},
		{"wrong type, nested", `{"profile":{"age":"36"}}`, 400, "malformed JSON body: profile.age must be a number"},
		{"wrong type, an array", `{"tags":"a"}`, 400, "malformed JSON body: tags must be an array"},
		{"not UTF-8, nested", `{"profile":{"name":"A` + "\xff" + `"}}`, 422, "profile.name is not valid UTF-8"},
		{"half a pair, in an array", `{"tags":["a","\udc00"]}`, 422, "tags.1 is not valid UTF-8"},
		{"null", `null`, 400, `malformed JSON body: want one object, such as {"email": string, "password": string}`},
		{"empty", ``, 400, `malformed JSON body: want one object, such as {"email": string, "password": string}`},
		{"trailing data", `{"tags":[]} {}`, 400, "malformed JSON body: trailing data after the object"},
		{"cut short", `{"tags":[`, 400, "malformed JSON body: syntax error after byte 9"},
		{"a bad escape, not quoted back", `{"profile":{"name":"secret\x41"}}`, 400, "malformed JSON body: syntax error after byte 26"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(tt.body))
			r.Header.Set("Content-Type", "application/json")
			var v body
			status, msg := decodeJSON(httptest.NewRecorder(), r, &v)
			assert.Equal(t, tt.status, status, msg)
			assert.Equal(t, tt.msg, msg)
			assert.NotContains(t, msg, "secret")
		})
	}
}
