package jwtguard_test

import (
	"testing"

	"github.com/jwtguard/jwtguard"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// FuzzClaimsTypeAsEncodingJSON: whenever the middleware accepts a token,
// the claims of a WithClaimsType type are what encoding/json makes of the
// payload, whether the scanner filled them or encoding/json did, on a
// cache miss and on a hit. (The middleware may refuse what encoding/json
// accepts, such as duplicate names: it reads more strictly.)
func FuzzClaimsTypeAsEncodingJSON(f *testing.F) {
	for _, extra := range []string{
		``, `,"email":"a@example.com"`, `,"age":-42,"u":255,"admin":true,"score":1.5e3,"tags":["a","b\n"]`,
		`,"Name":"n","Other":"o","skip":"s"`, `,"NAME":"upper","eMail":"x"`, `,"n\u0061me":"escaped"`,
		`,"age":1.5`, `,"u":256`, `,"u":-1`, `,"score":1e400`, `,"tags":["a",1]`, `,"tags":null`,
		`,"email":null,"tenant":{"id":7}`, `,"emaİl":"dotted"`, `,"age":1e2`, `,"age":-0`, `,"tags":[]`,
		`,"n":"1 OR 1=1"`, `,"n":"12","ns":["3",4]`, `,"ns":["abc"]`, `,"n":""`, `,"n":" 1"`, `,"n":"01"`, `,"level":"x"`,
	} {
		f.Add(extra)
	}
	f.Fuzz(func(t *testing.T, extra string) {
		payload := minPayload(extra)
		token := rawTok(t, payload)
		checkAsEncodingJSON[simpleClaims](t, payload, token)
		checkAsEncodingJSON[numberClaims](t, payload, token) // json.Number fields
	})
}

// checkAsEncodingJSON checks that a middleware with claims type C, without
// a cache and with one (miss, then hit), accepts token only with the claims
// encoding/json decodes from payload.
func checkAsEncodingJSON[C any](t *testing.T, payload, token string) {
	base := []jwtguard.Option{jwtguard.WithKey("HS256", secret256), jwtguard.WithClock(fixedClock),
		jwtguard.WithClaimsType[C](), jwtguard.WithInsecureNoRevocationCheck()}
	plain, err := jwtguard.New(base...)
	require.NoError(t, err)
	cached, err := jwtguard.New(append(base, jwtguard.WithCache(8))...)
	require.NoError(t, err)
	for i, mw := range []*jwtguard.Middleware{plain, cached, cached} {
		got, err := mw.Verify(t.Context(), token)
		if err != nil {
			continue
		}
		want, decodeErr := decodeInto[C]([]byte(payload))
		require.NoError(t, decodeErr, "call %d accepted what encoding/json refuses: %s", i, payload)
		assert.Equal(t, want, got, "call %d: %s", i, payload)
	}
}
