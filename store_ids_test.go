package jwtguard_test

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jwtguard/jwtguard"
)

// recordingStore remembers what the middleware asks it; nothing is revoked.
// Only the two lookups the middleware makes are implemented.
type recordingStore struct {
	jwtguard.Store
	tokens, families, subjects [][2]string
}

func (s *recordingStore) IsRevoked(_ context.Context, iss, jti string) (bool, error) {
	s.tokens = append(s.tokens, [2]string{iss, jti})
	return false, nil
}

func (s *recordingStore) IsFamilyRevoked(_ context.Context, iss, fid string) (bool, error) {
	s.families = append(s.families, [2]string{iss, fid})
	return false, nil
}

func (s *recordingStore) IsSubjectRevoked(_ context.Context, iss, sub string, _ time.Time) (bool, error) {
	s.subjects = append(s.subjects, [2]string{iss, sub})
	return false, nil
}

// nullStore revokes nothing and allocates nothing.
type nullStore struct{ jwtguard.Store }

func (nullStore) IsRevoked(context.Context, string, string) (bool, error)       { return false, nil }
func (nullStore) IsFamilyRevoked(context.Context, string, string) (bool, error) { return false, nil }
func (nullStore) IsSubjectRevoked(context.Context, string, string, time.Time) (bool, error) {
	return false, nil
}

// TestStoreGetsExactIdentifiers checks that the store is asked about the
// token's own iss, jti, fid and sub, unescaped, whatever their lengths.
func TestStoreGetsExactIdentifiers(t *testing.T) {
	const iss = "https://issuer.test"
	tests := []struct {
		name                string
		rawIss, rawJTI      string // JSON string contents as written in the token
		rawFID              string // "" for no fid claim
		rawSub              string // "" for no sub claim
		wantJTI, wantFamily string
		wantSub             string
	}{
		{name: "plain", rawIss: iss, rawJTI: "jti-1", rawFID: "fam-1", rawSub: "user-1", wantJTI: "jti-1", wantFamily: "fam-1", wantSub: "user-1"},
		{name: "no family", rawIss: iss, rawJTI: "jti-2", rawSub: "user-1", wantJTI: "jti-2", wantSub: "user-1"},
		{name: "no subject", rawIss: iss, rawJTI: "jti-2", rawFID: "fam-1", wantJTI: "jti-2", wantFamily: "fam-1"},
		{name: "escaped", rawIss: `https:\/\/issuer.test`, rawJTI: `j\u0074i-3`, rawFID: `f\"am`, rawSub: `u\u0073er`,
			wantJTI: "jti-3", wantFamily: `f"am`, wantSub: "user"},
		{name: "longer than the stack buffer", rawIss: iss, rawJTI: strings.Repeat("j", 200), rawFID: strings.Repeat("f", 150),
			rawSub: strings.Repeat("s", 100), wantJTI: strings.Repeat("j", 200), wantFamily: strings.Repeat("f", 150),
			wantSub: strings.Repeat("s", 100)},
	}
	// Default claims and a custom claims type take different paths to
	// the identifiers: substrings of the claims' copy of the payload, or
	// a copy of their own.
	claimsModes := map[string][]jwtguard.Option{
		"default claims": nil,
		"custom claims":  {jwtguard.WithClaimsType[customClaims]()},
	}
	for _, tt := range tests {
		for mode, extra := range claimsModes {
			t.Run(tt.name+"/"+mode, func(t *testing.T) {
				store := &recordingStore{}
				opts := append([]jwtguard.Option{jwtguard.WithKey("HS256", secret256), jwtguard.WithClock(fixedClock),
					jwtguard.WithIssuer(iss), jwtguard.WithStore(store)}, extra...)
				if tt.rawSub == "" {
					opts = append(opts, jwtguard.WithSubjectOptional()) // sub is required otherwise
				}
				mw, err := jwtguard.New(opts...)
				require.NoError(t, err)
				payload := `{"iss":"` + tt.rawIss + `","jti":"` + tt.rawJTI + `","type":"access","exp":` +
					strconv.FormatInt(testNow.Add(time.Hour).Unix(), 10)
				if tt.rawFID != "" {
					payload += `,"fid":"` + tt.rawFID + `"`
				}
				if tt.rawSub != "" {
					payload += `,"sub":"` + tt.rawSub + `"`
				}
				_, err = mw.Verify(context.Background(), rawHS256(t, `{"alg":"HS256"}`, payload+`}`, secret256))
				require.NoError(t, err)
				assert.Equal(t, [][2]string{{iss, tt.wantJTI}}, store.tokens)
				if tt.wantFamily == "" {
					assert.Empty(t, store.families)
				} else {
					assert.Equal(t, [][2]string{{iss, tt.wantFamily}}, store.families)
				}
				if tt.wantSub == "" {
					assert.Empty(t, store.subjects, "a token without sub has no subject to ask about")
				} else {
					assert.Equal(t, [][2]string{{iss, tt.wantSub}}, store.subjects)
				}
			})
		}
	}
}

// TestVerifyAllocations pins what verifying a valid HS256 token allocates.
// With default claims: the claims (with their dates and lists) and the one
// string of the payload their strings are cut from, and a store adds
// nothing, since its identifiers are cut from that string too (a third
// allocation has meant a stack buffer moved to the heap). So with a custom
// claims type that embeds Claims (the scan fills those too); with one that
// does not, a store adds one allocation for its four identifiers.
// test.sh runs it without the race detector, under which pool allocations
// are random.
func TestVerifyAllocations(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts through sync.Pool are random under -race")
	}
	claims := validClaims()
	claims["fid"] = "family-1"
	tok := hs256(t, claims)
	tests := []struct {
		name        string
		extra       []jwtguard.Option
		wantWithout float64 // without a store; 0: not pinned (encoding/json's count is its own)
		wantStore   float64 // what a store adds
	}{
		{name: "default claims", wantWithout: 2, wantStore: 0},
		{name: "custom claims embedding Claims", extra: []jwtguard.Option{jwtguard.WithClaimsType[customClaims]()}, wantStore: 0},
		{name: "custom claims without Claims", extra: []jwtguard.Option{jwtguard.WithClaimsType[jwt.MapClaims]()}, wantStore: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			base := append([]jwtguard.Option{jwtguard.WithKey("HS256", secret256), jwtguard.WithClock(fixedClock)}, tt.extra...)
			plain, err := jwtguard.New(append(base, jwtguard.WithInsecureNoRevocationCheck())...)
			require.NoError(t, err)
			stored, err := jwtguard.New(append(base, jwtguard.WithStore(nullStore{}))...)
			require.NoError(t, err)
			ctx := context.Background()
			without := testing.AllocsPerRun(100, func() { _, _ = plain.Verify(ctx, tok) })
			with := testing.AllocsPerRun(100, func() { _, _ = stored.Verify(ctx, tok) })
			if tt.wantWithout != 0 {
				assert.Equal(t, tt.wantWithout, without, "without a store")
			}
			assert.Equal(t, tt.wantStore, with-without, "a store check costs %v allocations (%v without a store)", with-without, without)
		})
	}
}
