package jwtguard_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/golang-jwt/jwt/v5"
	"github.com/jwtguard/jwtguard"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// This file tests the strict decoding of a compact JWS: the bounds checked
// before any decoding, base64url, UTF-8 and the JSON of header and payload.

func TestVerifyDecoding(t *testing.T) {
	runVerifyCases(t, decodingCases(t))
}

const b64Alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

// nonCanonical returns s, a base64url segment whose last character carries
// unused bits, with those bits set: a lenient decoder reads the same bytes.
func nonCanonical(t testing.TB, s string) string {
	t.Helper()
	require.Contains(t, []int{2, 3}, len(s)%4, "segment %q has no unused bits", s)
	i := strings.IndexByte(b64Alphabet, s[len(s)-1])
	out := s[:len(s)-1] + string(b64Alphabet[i+1])
	lenient, err := base64.RawURLEncoding.DecodeString(out)
	require.NoError(t, err)
	canonical, err := base64.RawURLEncoding.DecodeString(s)
	require.NoError(t, err)
	require.Equal(t, canonical, lenient)
	return out
}

// lenMod3 pads the JSON object j with spaces before its closing brace until
// its length modulo 3 is r, so its encoding has (r != 0) unused bits and
// padding.
func lenMod3(j string, r int) string {
	for len(j)%3 != r {
		j = j[:len(j)-1] + " }"
	}
	return j
}

// decodingCases: everything about the shape of a token before its claims
// are looked at.
func decodingCases(t testing.TB) []verifyCase {
	valid := hs256(t, validClaims())
	parts := strings.Split(valid, ".")
	h, p, s := parts[0], parts[1], parts[2]
	raw := func(members string) string { return rawTok(t, minPayload(members)) }

	header := lenMod3(hdrHS256, 2)
	payload := lenMod3(minPayload(""), 1)
	hSeg, pSeg := seg(header), seg(payload)
	std := base64.URLEncoding // with padding
	// A payload whose encoding has both '-' and '_', which standard base64
	// writes as '+' and '/'.
	urlPayload := minPayload(`,"x":"?>?>~~~"`)
	urlSeg := seg(urlPayload)
	require.True(t, strings.ContainsAny(urlSeg, "-") && strings.ContainsAny(urlSeg, "_"), urlSeg)
	stdSeg := strings.NewReplacer("-", "+", "_", "/").Replace(urlSeg)

	sized := hs256(t, claimsWith(map[string]any{"pad": strings.Repeat("x", 2750)})) // about 4 KiB
	require.Less(t, len(sized), jwtguard.DefaultMaxTokenSize)
	oversized := hs256(t, claimsWith(map[string]any{"pad": strings.Repeat("x", 3100)}))
	require.Greater(t, len(oversized), jwtguard.DefaultMaxTokenSize)
	maxSize := func(n int) []jwtguard.Option { return hsOpts(jwtguard.WithMaxTokenSize(n)) }

	return []verifyCase{
		{name: "valid token", token: valid, want: isAccepted},

		// Base64url: no padding, no other alphabet, canonical.
		{name: "canonical segments with unused bits", token: signInput(t, hSeg+"."+pSeg), want: isAccepted},
		{name: "padding in the header", token: signInput(t, std.EncodeToString([]byte(header))+"."+pSeg),
			want: isMalformed},
		{name: "padding in the payload", token: signInput(t, hSeg+"."+std.EncodeToString([]byte(payload))),
			want: isMalformed},
		{name: "padding in the signature", token: valid + "=", want: isMalformed},
		{name: "standard base64 payload", token: signInput(t, seg(hdrHS256)+"."+stdSeg), want: isMalformed},
		{name: "base64url control for the standard base64 row", token: signInput(t, seg(hdrHS256)+"."+urlSeg),
			want: isAccepted},
		{name: "plus in the signature", token: h + "." + p + "." + s[:len(s)-1] + "+", want: isMalformed},
		{name: "non-canonical header", token: signInput(t, nonCanonical(t, hSeg)+"."+pSeg), want: isMalformed},
		{name: "non-canonical payload", token: signInput(t, hSeg+"."+nonCanonical(t, pSeg)), want: isMalformed},
		{name: "non-canonical signature", token: h + "." + p + "." + nonCanonical(t, s), want: isMalformed},
		{name: "header of impossible length", token: signInput(t, hSeg+"A."+pSeg), want: isMalformed},
		{name: "payload of impossible length", token: signInput(t, hSeg+"."+pSeg+"A"), want: isMalformed},
		{name: "signature of impossible length", token: valid + "AA", want: isMalformed},
		{name: "signature truncated", token: valid[:len(valid)-3], want: isBadSignature},
		{name: "signature lengthened", token: valid + "AAAA", want: isBadSignature},

		// Characters outside base64url are refused before decoding.
		{name: "a space", token: h + "." + p + " ." + s, want: isMalformed},
		{name: "a NUL", token: h + "." + p + "\x00." + s, want: isMalformed},
		{name: "a percent escape", token: h + "." + p + "%3D." + s, want: isMalformed},
		{name: "a non-ASCII letter", token: h + "é." + p + "." + s, want: isMalformed},
		{name: "a full-width dot", token: h + "．" + p + "." + s, want: isMalformed},
		{name: "Bearer prefix left in", token: "Bearer " + valid, want: isMalformed},
		{name: "quoted token", token: `"` + valid + `"`, want: isMalformed},
		{name: "a trailing newline", token: valid + "\n", want: isMalformed},

		// Exactly three non-empty segments.
		{name: "empty token", token: "", want: isNoToken},
		{name: "one segment", token: h, want: isMalformed},
		{name: "two segments", token: h + "." + p, want: isMalformed},
		{name: "two segments and a dot", token: h + "." + p + ".", want: isMalformed},
		{name: "four segments", token: valid + "." + s, want: isMalformed},
		{name: "five segments (JWE shape)", token: h + "." + p + "." + s + "." + s + "." + s, want: isMalformed},
		{name: "empty header", token: "." + p + "." + s, want: isMalformed},
		{name: "empty payload", token: h + ".." + s, want: isMalformed},
		{name: "empty signature", token: h + "." + p + ".", want: isMalformed},
		{name: "leading dot", token: "." + valid, want: isMalformed},
		{name: "trailing dot", token: valid + ".", want: isMalformed},
		{name: "one dot", token: ".", want: isMalformed},
		{name: "two dots", token: "..", want: isMalformed},
		{name: "three dots", token: "...", want: isMalformed},
		{name: "many dots", token: strings.Repeat(".", 1000), want: isMalformed},
		{name: "64 KiB of dots", token: strings.Repeat(".", 64<<10), want: isMalformed},
		{name: "64 KiB of dots, cap 64 KiB", opts: maxSize(64 << 10), token: strings.Repeat(".", 64<<10),
			want: isMalformed},

		// The size cap.
		{name: "just under the default cap", token: sized, want: isAccepted},
		{name: "over the default cap", token: oversized, want: isMalformed},
		{name: "over the default cap, raised cap", opts: maxSize(8 << 10), token: oversized, want: isAccepted},
		{name: "exactly a lowered cap", opts: maxSize(len(valid)), token: valid, want: isAccepted},
		{name: "one byte over a lowered cap", opts: maxSize(len(valid) - 1), token: valid, want: isMalformed},
		{name: "64 KiB of A", opts: maxSize(64 << 10), token: strings.Repeat("A", 64<<10), want: isMalformed},
		{name: "64 KiB + 1 of valid shape", opts: maxSize(64 << 10),
			token: strings.Repeat("A", 32<<10) + ".A." + strings.Repeat("A", 32<<10-2), want: isMalformed},

		// UTF-8.
		{name: "payload with a 0xFF byte", token: raw(",\"x\":\"\xff\""), want: isMalformed},
		{name: "payload with an overlong slash", token: raw(",\"x\":\"\xc0\xaf\""), want: isMalformed},
		{name: "payload with an encoded surrogate", token: raw(",\"x\":\"\xed\xa0\x80\""), want: isMalformed},
		{name: "payload with a truncated sequence", token: raw(",\"sub\":\"\xe6\x97\""), want: isMalformed},
		{name: "invalid UTF-8 in a member name", token: raw(",\"\xfe\":1"), want: isMalformed},
		{name: "invalid UTF-8 outside strings", token: rawTok(t, minPayload("")+"\xff"), want: isMalformed},
		{name: "a raw tab in a string", token: rawTok(t, subPayload(",\"sub\":\"a\tb\"")), want: isWrongJSONType},
		{name: "a raw newline in an unknown member", token: raw(",\"x\":\"a\nb\""), want: isMalformed},
		{name: "a valid surrogate pair", token: rawTok(t, subPayload(`,"sub":"\ud83d\ude00"`)), want: isAccepted},
		{name: "DEL is allowed raw", token: rawTok(t, subPayload(",\"sub\":\"\x7f\"")), want: isAccepted},

		// Escapes.
		{name: "escape \\x", token: raw(`,"x":"\x41"`), want: isMalformed},
		{name: "escape \\'", token: raw(`,"x":"\'"`), want: isMalformed},
		{name: "escape \\U", token: raw(`,"x":"\U0041"`), want: isMalformed},
		{name: "escape \\u with three digits", token: raw(`,"x":"\u004"`), want: isMalformed},
		{name: "escape \\u with a non-hex digit", token: raw(`,"x":"\u00G1"`), want: isMalformed},
		{name: "escape at the end of a string", token: raw(`,"x":"\"`), want: isMalformed},
		{name: "invalid escape in a known claim", token: rawTok(t, subPayload(`,"sub":"\a"`)), want: isWrongJSONType},
		{name: "lone high surrogate", token: raw(`,"x":"\ud800"`), want: isMalformed},
		{name: "lone low surrogate", token: raw(`,"x":"\udc00"`), want: isMalformed},
		{name: "high surrogate then a letter", token: raw(`,"x":"\ud800x"`), want: isMalformed},
		{name: "high surrogate then a non-surrogate escape", token: raw(`,"x":"\ud800\u0041"`), want: isMalformed},
		{name: "two high surrogates", token: raw(`,"x":"\ud800\ud800"`), want: isMalformed},
		{name: "reversed surrogate pair", token: raw(`,"x":"\ude00\ud83d"`), want: isMalformed},
		{name: "lone surrogate in sub", token: rawTok(t, subPayload(`,"sub":"\udfff"`)), want: isWrongJSONType},
		{name: "lone surrogate in a member name", token: raw(`,"\ud800":1`), want: isMalformed},

		// Duplicate member names, compared as encoding/json matches them.
		{name: "duplicate exp", token: raw(fmt.Sprintf(`,"exp":%d`, nowSec-1)), want: isMalformed},
		{name: "duplicate exp differing in case", token: raw(`,"EXP":1`), want: isMalformed},
		{name: "duplicate exp escaped", token: raw(`,"\u0065xp":1`), want: isMalformed},
		{name: "duplicate type", token: raw(`,"type":"refresh"`), want: isMalformed},
		{name: "duplicate type differing in case", token: raw(`,"TYPE":"access"`), want: isMalformed},
		{name: "duplicate sub", token: raw(`,"sub":"a","sub":"b"`), want: isMalformed},
		{name: "duplicate iss escaped", token: raw(`,"iss":"a","i\u0073s":"b"`), want: isMalformed},
		{name: "duplicate aud", token: raw(`,"aud":"api.test","aud":"other"`), want: isMalformed},
		{name: "duplicate roles", token: raw(`,"roles":[],"roles":["admin"]`), want: isMalformed},
		{name: "duplicate unknown member", token: raw(`,"x":1,"x":1`), want: isMalformed},
		{name: "duplicate unknown member differing in case", token: raw(`,"email":"a","EMAIL":"b"`),
			want: isMalformed},
		{name: "duplicate non-ASCII member differing in case", token: raw(`,"é":1,"É":2`), want: isMalformed},
		{name: "duplicate member in a nested object", token: raw(`,"x":{"a":1,"a":2}`), want: isMalformed},
		{name: "duplicate member in an object in an array", token: raw(`,"x":[{"a":1,"A":2}]`), want: isMalformed},
		{name: "same name in sibling objects", token: raw(`,"x":{"a":1},"y":{"a":2}`), want: isAccepted},
		{name: "257 members", token: raw(manyMembers(254)), want: isMalformed}, // with exp, sub and type
		{name: "256 members", token: raw(manyMembers(253)), want: isAccepted},

		// The payload is exactly one JSON object.
		{name: "payload an array", token: rawTok(t, `[]`), want: isMalformed},
		{name: "payload an array of the object", token: rawTok(t, "["+minPayload("")+"]"), want: isMalformed},
		{name: "payload a string", token: rawTok(t, `"exp"`), want: isMalformed},
		{name: "payload a number", token: rawTok(t, `1`), want: isMalformed},
		{name: "payload null", token: rawTok(t, `null`), want: isMalformed},
		{name: "payload true", token: rawTok(t, `true`), want: isMalformed},
		{name: "payload white space", token: rawTok(t, ` `), want: isMalformed},
		{name: "payload empty object", token: rawTok(t, `{}`), want: isNoExp},
		{name: "payload with trailing garbage", token: rawTok(t, minPayload("")+"x"), want: isMalformed},
		{name: "payload followed by a second object", token: rawTok(t, minPayload("")+"{}"), want: isMalformed},
		{name: "payload with a trailing comma after it", token: rawTok(t, minPayload("")+","), want: isMalformed},
		{name: "payload with a trailing NUL", token: rawTok(t, minPayload("")+"\x00"), want: isMalformed},
		{name: "payload with trailing white space", token: rawTok(t, minPayload("")+" \n\t\r"), want: isAccepted},
		{name: "payload with a BOM", token: rawTok(t, "\ufeff"+minPayload("")), want: isMalformed},
		{name: "payload with a trailing comma inside", token: rawTok(t, minPayload(",")), want: isMalformed},
		{name: "payload unterminated", token: rawTok(t, strings.TrimSuffix(minPayload(""), "}")), want: isMalformed},
		{name: "payload with a comment", token: raw(`/*x*/`), want: isMalformed},
		{name: "member name not a string", token: raw(`,x:1`), want: isMalformed},
		{name: "literal with a typo", token: raw(`,"x":nul`), want: isMalformed},
		{name: "literal in capitals", token: raw(`,"x":TRUE`), want: isMalformed},
		{name: "number with a leading zero", token: raw(`,"x":01`), want: isMalformed},
		{name: "number with an empty exponent", token: raw(`,"x":1e`), want: isMalformed},
		{name: "number with a lone minus", token: raw(`,"x":-`), want: isMalformed},
		{name: "nesting of 32", token: raw(`,"x":` + nested(31)), want: isAccepted},
		{name: "nesting of 33", token: raw(`,"x":` + nested(32)), want: isMalformed},
		{name: "nesting of 33 objects", token: raw(`,"x":` + nestedObjects(32)), want: isMalformed},
		{name: "nesting of 1000", token: raw(`,"x":` + nested(1000)), want: isMalformed},

		// Names that differ from a known claim only in case are refused even
		// alone, since encoding/json would decode them into that claim.
		{name: "Sub alone", token: raw(`,"Sub":"admin"`), want: isMalformed},
		{name: "JTI alone", token: raw(`,"JTI":"x"`), want: isMalformed},
		{name: "Nbf alone", token: raw(fmt.Sprintf(`,"Nbf":%d`, nowSec+3600)), want: isMalformed},
		{name: "sCoPe alone", token: raw(`,"sCoPe":"admin"`), want: isMalformed},
		// U+017F (long s) and U+212A (Kelvin sign) fold to s and k under
		// Unicode case folding, which encoding/json uses.
		{name: "ſub alone", token: raw(`,"ſub":"admin"`), want: isMalformed},
		{name: "ſub escaped alone", token: raw(`,"\u017fub":"admin"`), want: isMalformed},
		{name: "roleſ alone", token: raw(`,"roleſ":["admin"]`), want: isMalformed},
		{name: "iſſ alone", token: raw(`,"iſſ":"https://issuer.test"`), want: isMalformed},
		{name: "ſcope alone", token: raw(`,"ſcope":"admin"`), want: isMalformed},
		{name: "ſub besides sub", token: raw(`,"sub":"user","ſub":"admin"`), want: isMalformed},
		{name: "a custom type claim with a Kelvin sign", opts: hsOpts(jwtguard.WithTypeClaim("kind")),
			token: rawTok(t, fmt.Sprintf(`{"exp":%d,"kind":"access","\u212aind":"refresh"}`, expOK)),
			want:  isMalformed},
		{name: "a custom type claim with a Kelvin sign alone", opts: hsOpts(jwtguard.WithTypeClaim("kind")),
			token: rawTok(t, fmt.Sprintf(`{"exp":%d,"Kind":"access"}`, expOK)), want: isMalformed},
	}
}

// manyMembers returns n members named m0, m1, … with a comma before each.
func manyMembers(n int) string {
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, `,"m%d":%d`, i, i)
	}
	return b.String()
}

// nestedObjects returns n nested JSON objects.
func nestedObjects(n int) string {
	return strings.Repeat(`{"a":`, n) + "1" + strings.Repeat("}", n)
}

// TestVerifyBoundsBeforeDecoding checks that oversized and garbage tokens
// are refused by the length and charset checks, before any base64 or JSON
// work: refusing them allocates nothing, while decoding would.
func TestVerifyBoundsBeforeDecoding(t *testing.T) {
	bigHeader := strings.Repeat("A", 1000) + ".AAAA.AAAA" // decodes to a header over 512 bytes
	cases := []struct {
		name   string
		opts   []jwtguard.Option
		token  string
		detail string
	}{
		{name: "64 KiB of dots", token: strings.Repeat(".", 64<<10), detail: "token too large"},
		{name: "64 KiB of A", token: strings.Repeat("A", 64<<10), detail: "token too large"},
		{name: "1 MiB of junk", token: strings.Repeat("é", 512<<10), detail: "token too large"},
		{name: "64 KiB of dots, cap 64 KiB", opts: hsOpts(jwtguard.WithMaxTokenSize(64 << 10)),
			token: strings.Repeat(".", 64<<10), detail: "three segments"},
		{name: "64 KiB of A, cap 64 KiB", opts: hsOpts(jwtguard.WithMaxTokenSize(64 << 10)),
			token: strings.Repeat("A", 64<<10), detail: "three segments"},
		{name: "junk at the end, cap 64 KiB", opts: hsOpts(jwtguard.WithMaxTokenSize(64 << 10)),
			token: strings.Repeat("A", 64<<10-2) + ".*", detail: "outside base64url"},
		{name: "a header over 512 bytes", token: bigHeader, detail: "token too large"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			opts := tc.opts
			if opts == nil {
				opts = hsOpts()
			}
			mw := newVerifier(t, opts...)
			ctx := context.Background()
			_, err := mw.Verify(ctx, tc.token)
			require.ErrorIs(t, err, jwtguard.ErrMalformedToken)
			require.ErrorIs(t, err, jwt.ErrTokenMalformed)
			assert.Contains(t, err.Error(), tc.detail)
			allocs := testing.AllocsPerRun(20, func() { _, _ = mw.Verify(ctx, tc.token) })
			assert.Zero(t, allocs, "refusing allocates nothing")
		})
	}
	t.Run("control: decoding allocates", func(t *testing.T) {
		mw := newVerifier(t, hsOpts()...)
		// A valid token: a bad signature is now refused without allocating.
		token := sign(t, jwt.SigningMethodHS256, secret256, validClaims(), nil)
		allocs := testing.AllocsPerRun(20, func() { _, _ = mw.Verify(context.Background(), token) })
		assert.NotZero(t, allocs)
	})
}

// FuzzVerify feeds arbitrary token strings to Verify: it never panics,
// every refusal matches ErrInvalidToken (ErrNoToken for the empty string),
// and it never accepts a token that is not HS256-signed with the test key,
// unexpired, of the access type, with claims equal to what encoding/json
// reads.
func FuzzVerify(f *testing.F) {
	for _, cases := range [][]verifyCase{
		algorithmCases(f), headerCases(f), tokenTypeCases(f), timeCases(f),
		issuerAudienceCases(f), claimTypeCases(f), decodingCases(f),
	} {
		for _, tc := range cases {
			if len(tc.token) <= 8<<10 {
				f.Add(tc.token)
			}
		}
	}
	mw := newVerifier(f, hsOpts()...)
	f.Fuzz(func(t *testing.T, token string) {
		claims, err := mw.Verify(context.Background(), token)
		if err != nil {
			assert.Nil(t, claims)
			if token == "" {
				require.ErrorIs(t, err, jwtguard.ErrNoToken)
			} else {
				require.ErrorIs(t, err, jwtguard.ErrInvalidToken)
			}
			return
		}
		assertSignedByUs(t, token, claims)
	})
}

// FuzzVerifyClaims signs arbitrary payloads with the test key, so that the
// fuzzer reaches the claims scanner: it never panics, refusals match
// ErrInvalidToken, and an accepted payload is one encoding/json decodes into
// the same Claims, with an exp after now and the access type.
func FuzzVerifyClaims(f *testing.F) {
	f.Add(mustJSON(f, validClaims()))
	f.Add(minPayload(`,"aud":["a","b"],"roles":null,"scope":"x y","sub":"\u00e9\ud83d\ude00"`))
	f.Add(minPayload(`,"x":{"a":[1,2.5e3,-0,true,false,null,"s"]}`))
	f.Add(fmt.Sprintf(`{"\u0065xp":%d.5,"type":"\u0061ccess","nbf":1e9,"iat":0}`, expOK))
	f.Add(minPayload(`,"EXP":1`))
	f.Add(minPayload(`,"ſub":"x"`))
	mw := newVerifier(f, hsOpts()...)
	f.Fuzz(func(t *testing.T, payload string) {
		token := rawTok(t, payload)
		claims, err := mw.Verify(context.Background(), token)
		if err != nil {
			assert.Nil(t, claims)
			require.ErrorIs(t, err, jwtguard.ErrInvalidToken)
			return
		}
		assertSignedByUs(t, token, claims)
	})
}

// assertSignedByUs checks an accepted token independently of the package:
// HS256 over its first two segments with the test key, strict base64url, an
// exp number after now, the access type, and claims equal to what
// encoding/json decodes from the payload.
func assertSignedByUs(t *testing.T, token string, claims any) {
	t.Helper()
	parts := strings.Split(token, ".")
	require.Len(t, parts, 3)
	dec := base64.RawURLEncoding.Strict()
	header, err := dec.DecodeString(parts[0])
	require.NoError(t, err)
	var h struct {
		Alg string `json:"alg"`
	}
	require.NoError(t, json.Unmarshal(header, &h))
	require.Equal(t, "HS256", h.Alg)
	sig, err := dec.DecodeString(parts[2])
	require.NoError(t, err)
	require.NoError(t, jwt.SigningMethodHS256.Verify(parts[0]+"."+parts[1], sig, secret256))

	payload, err := dec.DecodeString(parts[1])
	require.NoError(t, err)
	var m map[string]any
	d := json.NewDecoder(strings.NewReader(string(payload)))
	d.UseNumber()
	require.NoError(t, d.Decode(&m))
	exp, ok := m["exp"].(json.Number)
	require.True(t, ok, "exp is a number")
	f, err := exp.Float64()
	require.NoError(t, err)
	require.Greater(t, f, float64(nowSec))
	require.Equal(t, "access", m["type"])

	var want jwtguard.Claims
	require.NoError(t, json.Unmarshal(payload, &want))
	require.Equal(t, &want, claims)
	require.NotNil(t, want.ExpiresAt)
	require.False(t, want.ExpiresAt.Before(testNow), "the claims say the token has expired")
}
