package jwtguard

import (
	"encoding/json"
	"slices"
	"testing"

	"github.com/golang-jwt/jwt/v5"

	"github.com/stretchr/testify/assert"
)

// TestClaimsNamesAreTheFieldsOfClaims: claimsNames lists exactly the
// members encoding/json writes for a Claims with every field set.
func TestClaimsNamesAreTheFieldsOfClaims(t *testing.T) {
	b, err := json.Marshal(Claims{RegisteredClaims: jwt.RegisteredClaims{Issuer: "i", Subject: "s", Audience: []string{"a"},
		ExpiresAt: toDate(1), NotBefore: toDate(1), IssuedAt: toDate(1), ID: "j"},
		Type: "t", Roles: []string{"r"}, Scope: "s", AuthTime: toDate(1)})
	assert.NoError(t, err)
	var m map[string]any
	assert.NoError(t, json.Unmarshal(b, &m))
	var names []string
	for k := range m {
		names = append(names, k)
	}
	want := slices.Clone(claimsNames[:])
	slices.Sort(names)
	slices.Sort(want)
	assert.Equal(t, want, names)
}

// TestEmbeddedClaimsQualifies: which claims types take the fast path.
func TestEmbeddedClaimsQualifies(t *testing.T) {
	type (
		plain struct {
			Claims
			Email string `json:"email"`
			//lint:ignore U1000 an unexported field, which encoding/json never sets
			skip int
			Skip int `json:"-"`
		}
		shadow struct {
			Claims
			Sub string `json:"sub"`
		}
		folded struct { // "ſcope" folds to "scope"
			Claims
			S string `json:"ſcope"`
		}
		untagged struct {
			Claims
			Scope int
		}
		tagged struct {
			Claims `json:"c"`
		}
		twoEmbeds struct {
			Claims
			json.RawMessage
		}
		pointer  struct{ *Claims }
		noClaims struct{ Email string }
	)
	type (
		nested struct {
			Claims
			Tenant struct{ ID int }
		}
		stringOpt struct {
			Claims
			N int `json:"n,string"`
		}
		badTag struct { // an invalid tag name: encoding/json uses Sub
			Claims
			//lint:ignore SA5008 a malformed tag on purpose: encoding/json then uses the field name
			Sub string `json:"s b\\"`
		}
	)
	assert.NotNil(t, newClaimsLayout[plain]().fields, "plain: the scanner sets every field")
	assert.Nil(t, newClaimsLayout[nested]().fields, "a struct field: encoding/json decodes the other members")
	assert.Nil(t, newClaimsLayout[stringOpt]().fields, "the string option: encoding/json decodes the other members")
	assert.Nil(t, newClaimsLayout[badTag](), "badTag")
	for name, f := range map[string]*claimsLayout{
		"shadow": newClaimsLayout[shadow](), "folded": newClaimsLayout[folded](),
		"untagged": newClaimsLayout[untagged](), "tagged": newClaimsLayout[tagged](),
		"two embeds": newClaimsLayout[twoEmbeds](), "pointer": newClaimsLayout[pointer](),
		"no claims": newClaimsLayout[noClaims](), "map": newClaimsLayout[map[string]any](),
	} {
		assert.Nil(t, f, name)
	}
}

// TestOtherMembers: the members that are not Claims' fields, as an object.
func TestOtherMembers(t *testing.T) {
	for in, want := range map[string]string{
		`{"sub":"a","exp":1}`:     "",
		`{"email":"e","sub":"a"}`: `{"email":"e"}`,
		` { "sub" : "a" , "email" : "e" , "x" : [1, {"y":null}] } `: `{"email" : "e","x" : [1, {"y":null}]}`,
		`{"\u0073ub":"a","\u0065":1}`:                               `{"\u0065":1}`,
	} {
		assert.Equal(t, want, string(otherMembers([]byte(in))), in)
	}
}
