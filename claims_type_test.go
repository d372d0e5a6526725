package jwtguard_test

import (
	"encoding/json"
	"fmt"
	"testing"

	"github.com/golang-jwt/jwt/v5"
	"github.com/jwtguard/jwtguard"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Claims types whose fields change how encoding/json decodes the payload:
// none of them may take the fast path of a type embedding Claims.
type (
	shadowingClaims struct { // its sub wins over the embedded one
		jwtguard.Claims
		Sub string `json:"sub"`
	}
	untaggedRolesClaims struct { // field name Roles matches "roles"
		jwtguard.Claims
		Roles []int
	}
	taggedEmbedClaims struct { // a tagged embedded struct is a named member
		jwtguard.Claims `json:"claims"`
		Email           string `json:"email"`
	}
	// simpleClaims has only fields the scanner sets itself.
	simpleClaims struct {
		jwtguard.Claims
		Email string   `json:"email"`
		Age   int      `json:"age"`
		U     uint8    `json:"u"`
		Admin bool     `json:"admin"`
		Score float64  `json:"score,omitempty"`
		Tags  []string `json:"tags"`
		Name  string
		Other string `json:",omitempty"`
		//lint:ignore U1000 an unexported field, which encoding/json never sets
		skip string
	}
	// numberClaims has string-kind fields that encoding/json decodes by
	// rules of their own (json.Number must hold a number) or by kind.
	numberClaims struct {
		jwtguard.Claims
		N     json.Number   `json:"n"`
		Ns    []json.Number `json:"ns"`
		Level level         `json:"level"`
		Email string        `json:"email"`
	}
	level             string // a named string type, decoded by kind
	unmarshalerClaims struct {
		jwtguard.Claims
		Email string `json:"email"`
	}
)

func (c *unmarshalerClaims) UnmarshalJSON(b []byte) error {
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		return err
	}
	c.Email = fmt.Sprint(m["email"])
	return nil
}

// TestClaimsTypeDecodesAsEncodingJSON: whatever the claims type, verified
// claims are exactly what encoding/json decodes from the payload, with and
// without the cache (a miss, then a hit), on the fast path for a type
// embedding Claims and on the slow one otherwise.
func TestClaimsTypeDecodesAsEncodingJSON(t *testing.T) {
	payloads := map[string]string{
		"registered only": minPayload(""),
		"extra members":   minPayload(`,"email":"a@example.com","tenant":{"id":7,"tags":["x","y"]},"other":[1,{"a":null}]`),
		"extras first":    fmt.Sprintf(`{"email":"first@example.com","exp":%d,"sub":"user-1","type":"access","roles":["a","b"]}`, expOK),
		"white space": fmt.Sprintf(` { "email" : "w@example.com" , "exp" : %d ,
			"sub":"user-1", "type":"access", "aud":["x","y"], "tenant": { "id" : 3 } } `, expOK),
		"escaped names and values": minPayload(`,"\u0065mail":"e\u00e9@example.com","scope":"a b","iss":"https:\/\/issuer.test"`),
		"case of an extra member":  minPayload(`,"EMAIL":"upper@example.com"`),
		"dates and lists": minPayload(fmt.Sprintf(`,"nbf":%d,"iat":%d,"auth_time":1700000000.5,"roles":["r1","r2","r3"],"aud":"one","jti":"j-1"`,
			expOK-7200, expOK-3600)),
		"null extras":            minPayload(`,"email":null,"tenant":null`),
		"nested unknown":         minPayload(`,"cnf":{"x5t#S256":"abc"},"fid":"family"`),
		"simple fields":          minPayload(`,"age":-42,"u":255,"admin":true,"score":1.5e3,"tags":["a","b\n"],"Name":"n","Other":"o","skip":"s"`),
		"empty and null lists":   minPayload(`,"tags":[],"roles":null,"admin":false,"age":null`),
		"names in another case":  minPayload(`,"NAME":"upper","eMail":"mixed@example.com"`),
		"a name folding to one":  minPayload(`,"emaİl":"dotted@example.com"`),
		"an escaped name":        minPayload(`,"n\u0061me":"escaped"`),
		"int from a float":       minPayload(`,"age":1.5`),
		"uint overflow":          minPayload(`,"u":256`),
		"negative uint":          minPayload(`,"u":-1`),
		"float overflow":         minPayload(`,"score":1e400`),
		"bool from a string":     minPayload(`,"admin":"yes"`),
		"list with a number":     minPayload(`,"tags":["a",1]`),
		"string from a number":   minPayload(`,"email":5`),
		"list from a string":     minPayload(`,"tags":"a"`),
		"a number":               minPayload(`,"n":1.5e3,"ns":[1,-2],"level":"high"`),
		"a number as a string":   minPayload(`,"n":"12","ns":["3"]`),
		"not a number":           minPayload(`,"n":"1 OR 1=1"`),
		"not a number in a list": minPayload(`,"ns":["abc"]`),
		"an empty number":        minPayload(`,"n":""`),
		"a number with a space":  minPayload(`,"n":" 1"`),
		"a number with a zero":   minPayload(`,"n":"01"`),
		"a number as a bool":     minPayload(`,"n":true`),
	}
	types := map[string]struct {
		opt    jwtguard.Option
		decode func([]byte) (any, error)
	}{
		"embedding": {jwtguard.WithClaimsType[customClaims](), decodeInto[customClaims]},
		"simple":    {jwtguard.WithClaimsType[simpleClaims](), decodeInto[simpleClaims]},
		"shadowing": {jwtguard.WithClaimsType[shadowingClaims](), decodeInto[shadowingClaims]},
		"untagged":  {jwtguard.WithClaimsType[untaggedRolesClaims](), decodeInto[untaggedRolesClaims]},
		"tagged":    {jwtguard.WithClaimsType[taggedEmbedClaims](), decodeInto[taggedEmbedClaims]},
		"unmarshal": {jwtguard.WithClaimsType[unmarshalerClaims](), decodeInto[unmarshalerClaims]},
		"number":    {jwtguard.WithClaimsType[numberClaims](), decodeInto[numberClaims]},
	}
	for tname, typ := range types {
		for pname, payload := range payloads {
			t.Run(tname+"/"+pname, func(t *testing.T) {
				want, decodeErr := typ.decode([]byte(payload))
				token := rawTok(t, payload)
				base := []jwtguard.Option{jwtguard.WithKey("HS256", secret256), jwtguard.WithClock(fixedClock), typ.opt,
					jwtguard.WithInsecureNoRevocationCheck()}
				plain, err := jwtguard.New(base...)
				require.NoError(t, err)
				cached, err := jwtguard.New(append(base, jwtguard.WithCache(8))...)
				require.NoError(t, err)
				for i, mw := range []*jwtguard.Middleware{plain, cached, cached} {
					got, err := mw.Verify(t.Context(), token)
					if decodeErr != nil {
						require.ErrorIs(t, err, jwtguard.ErrMalformedToken, "call %d: encoding/json: %v", i, decodeErr)
						continue
					}
					require.NoError(t, err, "call %d", i)
					assert.Equal(t, want, got, "call %d", i)
				}
			})
		}
	}
}

// decodeInto decodes payload into a new *C with encoding/json.
func decodeInto[C any](payload []byte) (any, error) {
	c := new(C)
	return c, json.Unmarshal(payload, c)
}

// Claims types for TestNewChecksClaimsType.
type (
	textOnlyClaims struct{ jwtguard.Claims }
	rawClaims      []byte // a non-struct with UnmarshalJSON
	textKey        struct{ s string }
)

func (c *textOnlyClaims) UnmarshalText([]byte) error { return nil }
func (c *rawClaims) UnmarshalJSON(b []byte) error    { *c = append(rawClaims(nil), b...); return nil }
func (k *textKey) UnmarshalText(b []byte) error      { k.s = string(b); return nil }

// TestNewChecksClaimsType: New refuses a WithClaimsType type encoding/json
// cannot decode an object into, naming it, instead of refusing every token;
// and accepts every kind of type it can.
func TestNewChecksClaimsType(t *testing.T) {
	refused := map[string]jwtguard.Option{
		"func()":                         jwtguard.WithClaimsType[func()](),
		"chan int":                       jwtguard.WithClaimsType[chan int](),
		"error":                          jwtguard.WithClaimsType[error](),
		"int":                            jwtguard.WithClaimsType[int](),
		"string":                         jwtguard.WithClaimsType[string](),
		"[]string":                       jwtguard.WithClaimsType[[]string](),
		"map[bool]string":                jwtguard.WithClaimsType[map[bool]string](),
		"*func()":                        jwtguard.WithClaimsType[*func()](),
		"jwtguard_test.textOnlyClaims":   jwtguard.WithClaimsType[textOnlyClaims](),
		"json.Number":                    jwtguard.WithClaimsType[json.Number](),
		"map[float64]string":             jwtguard.WithClaimsType[map[float64]string](),
		"**jwtguard_test.textOnlyClaims": jwtguard.WithClaimsType[**textOnlyClaims](),
	}
	for name, opt := range refused {
		t.Run("refused "+name, func(t *testing.T) {
			_, err := jwtguard.New(jwtguard.WithKey("HS256", secret256), opt)
			require.Error(t, err)
			assert.Contains(t, err.Error(), "WithClaimsType")
			assert.Contains(t, err.Error(), name)
		})
	}
	token := rawTok(t, minPayload(`,"email":"a@example.com"`))
	accepted := map[string]jwtguard.Option{
		"struct":                jwtguard.WithClaimsType[customClaims](),
		"pointer to a struct":   jwtguard.WithClaimsType[*customClaims](),
		"map[string]any":        jwtguard.WithClaimsType[map[string]any](),
		"jwt.MapClaims":         jwtguard.WithClaimsType[jwt.MapClaims](),
		"map[int]any":           jwtguard.WithClaimsType[map[int]any](),
		"UnmarshalText keys":    jwtguard.WithClaimsType[map[textKey]any](),
		"any":                   jwtguard.WithClaimsType[any](),
		"UnmarshalJSON":         jwtguard.WithClaimsType[rawClaims](),
		"UnmarshalJSON pointer": jwtguard.WithClaimsType[*rawClaims](),
	}
	for name, opt := range accepted {
		t.Run("accepted "+name, func(t *testing.T) {
			mw, err := jwtguard.New(jwtguard.WithKey("HS256", secret256), jwtguard.WithClock(fixedClock),
				jwtguard.WithInsecureNoRevocationCheck(), opt)
			require.NoError(t, err)
			if name == "map[int]any" {
				return // encoding/json refuses the claims' names as int keys
			}
			_, err = mw.Verify(t.Context(), token)
			require.NoError(t, err)
		})
	}
}
