package jwtguard

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestRFC9449Thumbprint computes the jkt of the proof key of RFC 9449's
// examples (§4.1, §6.1).
func TestRFC9449Thumbprint(t *testing.T) {
	j := proofJWK{kty: "EC", crv: "P-256",
		x: "l8tFrhx-34tV3hRICRDY9zCkDlpBhF42UQUfWVAWBFs",
		y: "9VE4jf_Ok_o64zbTTlcuNJajHmt6v9TDVrU0CdvGRDA"}
	_, jkt, err := j.publicKey("ES256")
	require.NoError(t, err)
	assert.Equal(t, "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I", jkt)
}

// TestRFC7638Thumbprint computes the thumbprint of RFC 7638 §3.1.
func TestRFC7638Thumbprint(t *testing.T) {
	j := proofJWK{kty: "RSA", e: "AQAB",
		n: "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw"}
	_, jkt, err := j.publicKey("RS256")
	require.NoError(t, err)
	assert.Equal(t, "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs", jkt)
}

// TestNormalizeURI checks the normalisation htu and the request URI go
// through (RFC 3986 §6.2.2, §6.2.3) and remove_dot_segments against the
// examples of RFC 3986 §5.2.4 and §5.4.
func TestNormalizeURI(t *testing.T) {
	cases := []struct{ in, want string }{
		{"https://API.test:443/a", "https://api.test/a"},
		{"http://api.test:80/a", "http://api.test/a"},
		{"http://api.test:443/a", "http://api.test:443/a"},
		{"https://api.test:/a", "https://api.test/a"},
		{"https://api.test", "https://api.test/"},
		{"https://api.test/%7e%41%2f%2F", "https://api.test/~A%2F%2F"},
		{"https://api.test/a/./b/../c", "https://api.test/a/c"},
		{"https://api.test/a/b/c/./../../g", "https://api.test/a/g"},
		{"https://[2001:DB8::1]:443/x", "https://[2001:db8::1]/x"},
		{"https://api.test/a?q=1#f", "https://api.test/a"},
		{"ftp://api.test/a", ""},
		{"https:///a", ""},
		{"https://u:p@api.test/a", ""},
		{"https://api.test/%zz", ""},
		{"urn:x:y", ""},
	}
	for _, tc := range cases {
		got, ok := normalizeHTU(tc.in)
		assert.Equal(t, tc.want != "", ok, tc.in)
		assert.Equal(t, tc.want, got, tc.in)
	}
	for in, want := range map[string]string{
		"/a/b/c/./../../g":   "/a/g",
		"mid/content=5/../6": "mid/6",
		"/../a":              "/a",
		"/a/..":              "/",
		"/a/.":               "/a/",
		"/.../a":             "/.../a",
		"/a/b/../../..":      "/",
	} {
		assert.Equal(t, want, removeDotSegments(in), in)
	}
}

// TestMemoryReplayCache checks expiry, the bound and the sweeps, with a
// clock the test moves.
func TestMemoryReplayCache(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	c := newMemoryReplayCache(1024, func() time.Time { return now })
	ctx := context.Background()
	id := func(i int) string {
		var b [16]byte
		b[0], b[1], b[2] = byte(i), byte(i>>8), byte(i>>16)
		return base64.RawURLEncoding.EncodeToString(b[:])
	}
	fresh, err := c.Remember(ctx, id(1), now.Add(time.Minute))
	require.NoError(t, err)
	assert.True(t, fresh)
	fresh, err = c.Remember(ctx, id(1), now.Add(time.Minute))
	require.NoError(t, err)
	assert.False(t, fresh, "a replay")
	fresh, _ = c.Remember(ctx, "not base64url!", now.Add(time.Minute))
	assert.True(t, fresh, "an id of another form is hashed")
	fresh, _ = c.Remember(ctx, "not base64url!", now.Add(time.Minute))
	assert.False(t, fresh)

	now = now.Add(time.Minute)
	fresh, _ = c.Remember(ctx, id(1), now.Add(time.Minute))
	assert.True(t, fresh, "an expired entry is forgotten")

	// Shard 0 holds 16 entries: fill it with live entries.
	per := 1024 / replayShards
	for i := 0; i < per; i++ {
		fresh, err := c.Remember(ctx, id(i*replayShards+replayShards), now.Add(time.Minute)) // first byte 0 mod 64
		require.NoError(t, err, i)
		require.True(t, fresh)
	}
	_, err = c.Remember(ctx, id(per*replayShards+replayShards), now.Add(time.Minute))
	require.ErrorIs(t, err, ErrReplayCacheFull, "full of live entries: refused, never evicted")
	fresh, err = c.Remember(ctx, id(replayShards), now.Add(time.Minute))
	require.NoError(t, err, "a replay is still told apart when full")
	assert.False(t, fresh)
	now = now.Add(time.Minute)
	fresh, err = c.Remember(ctx, id(per*replayShards+replayShards), now.Add(time.Minute))
	require.NoError(t, err, "expired entries swept when full")
	assert.True(t, fresh)
	assert.LessOrEqual(t, c.Len(), 4)
}

// TestMemoryReplayCacheSize measures the memory an entry takes. Run with -v
// to see it; it asserts only a loose bound, since the runtime's heap
// accounting moves with the Go version.
func TestMemoryReplayCacheSize(t *testing.T) {
	if testing.Short() {
		t.Skip("allocates")
	}
	const n = 200_000
	now := time.Unix(1_800_000_000, 0)
	c := newMemoryReplayCache(n*2, func() time.Time { return now })
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for i := 0; i < n; i++ {
		sum := sha256.Sum256([]byte(fmt.Sprint(i)))
		_, _ = c.Remember(context.Background(), base64.RawURLEncoding.EncodeToString(sum[:16]), now.Add(time.Minute))
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	per := float64(after.HeapAlloc-before.HeapAlloc) / n
	t.Logf("MemoryReplayCache: %.0f bytes per entry at %d entries", per, n)
	assert.Less(t, per, 100.0)
	runtime.KeepAlive(c)
}

// FuzzParseProof feeds the proof parser arbitrary input, seeded with valid
// proofs and their pieces: it must never panic, and whatever it accepts
// must have the required claims and a thumbprint.
func FuzzParseProof(f *testing.F) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(f, err)
	enc := base64.RawURLEncoding
	x, y := key.X.FillBytes(make([]byte, 32)), key.Y.FillBytes(make([]byte, 32))
	jwk := fmt.Sprintf(`{"kty":"EC","crv":"P-256","x":%q,"y":%q}`, enc.EncodeToString(x), enc.EncodeToString(y))
	for _, payload := range []string{
		`{"jti":"a","htm":"GET","htu":"https://api.test/x","iat":1800000000}`,
		`{"jti":"a","htm":"GET","htu":"https://api.test/x","iat":1800000000,"ath":"x","nonce":"n"}`,
		`{"jti":"\u0061","htm":"GET","htu":"https://api.test/x","iat":1.8e9,"extra":[1,{"a":null}]}`,
	} {
		for _, header := range []string{
			`{"typ":"dpop+jwt","alg":"ES256","jwk":` + jwk + `}`,
			`{"typ":"dpop+jwt","alg":"ES256","jwk":{"kty":"EC","crv":"P-256","x":"","y":""}}`,
			`{"typ":"dpop+jwt","alg":"ES256","jwk":` + jwk + `,"crit":["b64"]}`,
		} {
			input := enc.EncodeToString([]byte(header)) + "." + enc.EncodeToString([]byte(payload))
			d := sha256.Sum256([]byte(input))
			r, s, err := ecdsa.Sign(rand.Reader, key, d[:])
			require.NoError(f, err)
			sig := append(r.FillBytes(make([]byte, 32)), s.FillBytes(make([]byte, 32))...)
			f.Add(input + "." + enc.EncodeToString(sig))
		}
	}
	f.Add("a.b.c")
	f.Add("..")
	algs := defaultDPoPAlgorithms
	f.Fuzz(func(t *testing.T, s string) {
		p, err := parseProof(s, algs)
		if err != nil {
			if p != nil {
				t.Fatal("a proof with an error")
			}
			var de *dpopError
			if !strings.Contains(err.Error(), "DPoP") || !asDPoPError(err, &de) {
				t.Fatalf("error of another kind: %v", err)
			}
			return
		}
		if p.jti == "" || p.htm == "" || p.htu == "" || len(p.jkt) != 43 {
			t.Fatalf("accepted without a required claim: %+v", p)
		}
		if _, err := json.Marshal(p.jti); err != nil {
			t.Fatal(err)
		}
	})
}

func asDPoPError(err error, target **dpopError) bool {
	de, ok := err.(*dpopError)
	*target = de
	return ok
}
