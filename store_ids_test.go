package jwtguard_test

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jwtguard/jwtguard"
)

// recordingStore remembers what the middleware asks it; nothing is revoked.
// Only the two lookups the middleware makes are implemented.
type recordingStore struct {
	jwtguard.Store
	tokens, families [][2]string
}

func (s *recordingStore) IsRevoked(_ context.Context, iss, jti string) (bool, error) {
	s.tokens = append(s.tokens, [2]string{iss, jti})
	return false, nil
}

func (s *recordingStore) IsFamilyRevoked(_ context.Context, iss, fid string) (bool, error) {
	s.families = append(s.families, [2]string{iss, fid})
	return false, nil
}

// nullStore revokes nothing and allocates nothing.
type nullStore struct{ jwtguard.Store }

func (nullStore) IsRevoked(context.Context, string, string) (bool, error)       { return false, nil }
func (nullStore) IsFamilyRevoked(context.Context, string, string) (bool, error) { return false, nil }

// TestStoreGetsExactIdentifiers checks that the store is asked about the
// token's own iss, jti and fid, unescaped, whatever their lengths.
func TestStoreGetsExactIdentifiers(t *testing.T) {
	const iss = "https://issuer.test"
	tests := []struct {
		name                string
		rawIss, rawJTI      string // JSON string contents as written in the token
		rawFID              string // "" for no fid claim
		wantJTI, wantFamily string
	}{
		{name: "plain", rawIss: iss, rawJTI: "jti-1", rawFID: "fam-1", wantJTI: "jti-1", wantFamily: "fam-1"},
		{name: "no family", rawIss: iss, rawJTI: "jti-2", wantJTI: "jti-2"},
		{name: "escaped", rawIss: `https:\/\/issuer.test`, rawJTI: `j\u0074i-3`, rawFID: `f\"am`, wantJTI: "jti-3", wantFamily: `f"am`},
		{name: "longer than the stack buffer", rawIss: iss, rawJTI: strings.Repeat("j", 200), rawFID: strings.Repeat("f", 150),
			wantJTI: strings.Repeat("j", 200), wantFamily: strings.Repeat("f", 150)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			store := &recordingStore{}
			mw, err := jwtguard.New(jwtguard.WithKey("HS256", secret256), jwtguard.WithClock(fixedClock),
				jwtguard.WithIssuer(iss), jwtguard.WithStore(store))
			require.NoError(t, err)
			payload := `{"iss":"` + tt.rawIss + `","jti":"` + tt.rawJTI + `","type":"access","exp":` +
				strconv.FormatInt(testNow.Add(time.Hour).Unix(), 10)
			if tt.rawFID != "" {
				payload += `,"fid":"` + tt.rawFID + `"`
			}
			_, err = mw.Verify(context.Background(), rawHS256(t, `{"alg":"HS256"}`, payload+`}`, secret256))
			require.NoError(t, err)
			assert.Equal(t, [][2]string{{iss, tt.wantJTI}}, store.tokens)
			if tt.wantFamily == "" {
				assert.Empty(t, store.families)
			} else {
				assert.Equal(t, [][2]string{{iss, tt.wantFamily}}, store.families)
			}
		})
	}
}

// TestStoreCheckAllocatesOnce bounds what consulting a store adds to a
// verification: one allocation for the three identifiers together. test.sh
// runs it without the race detector, which makes pool allocations random.
func TestStoreCheckAllocatesOnce(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts through sync.Pool are random under -race")
	}
	claims := validClaims()
	claims["fid"] = "family-1"
	tok := hs256(t, claims)
	plain, err := jwtguard.New(jwtguard.WithKey("HS256", secret256), jwtguard.WithClock(fixedClock))
	require.NoError(t, err)
	stored, err := jwtguard.New(jwtguard.WithKey("HS256", secret256), jwtguard.WithClock(fixedClock),
		jwtguard.WithStore(nullStore{}))
	require.NoError(t, err)
	ctx := context.Background()
	base := testing.AllocsPerRun(100, func() { _, _ = plain.Verify(ctx, tok) })
	with := testing.AllocsPerRun(100, func() { _, _ = stored.Verify(ctx, tok) })
	assert.Equal(t, 1.0, with-base, "a store check costs %v allocations (%v without a store)", with-base, base)
}
