package jwtguard_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rand"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/jwtguard/jwtguard"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestNewKeySet(t *testing.T) {
	a := ecKey(t, "a")
	pemBytes := readTestdata(t, fixtures(t).Files["rsa-spki"])
	weak, err := jwtguard.ParsePEM(readTestdata(t, fixtures(t).Files["rsa-spki"]), "RS256", "")
	require.NoError(t, err)
	tests := []struct {
		name    string
		keys    []jwtguard.Key
		wantErr string
	}{
		{name: "no ID", keys: []jwtguard.Key{{Algorithm: "HS256", Key: secret256}}, wantErr: "without an ID"},
		{name: "duplicate ID", keys: []jwtguard.Key{a, ecKey(t, "a")}, wantErr: "duplicate key ID"},
		{name: "short secret", keys: []jwtguard.Key{{ID: "h", Algorithm: "HS256", Key: []byte("short")}}, wantErr: "at least 32"},
		{name: "PEM as secret", keys: []jwtguard.Key{{ID: "h", Algorithm: "HS256", Key: pemBytes}}, wantErr: "PEM"},
		{name: "none", keys: []jwtguard.Key{{ID: "n", Algorithm: "none", Key: secret256}}, wantErr: "unsupported algorithm"},
		{name: "key for another algorithm", keys: []jwtguard.Key{{ID: "r", Algorithm: "ES256", Key: weak.Key}}, wantErr: "ecdsa"},
		{name: "PEM bytes as RSA key", keys: []jwtguard.Key{{ID: "r", Algorithm: "RS256", Key: pemBytes}}, wantErr: "*rsa.PublicKey"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := jwtguard.NewKeySet(tt.keys[0], tt.keys[1:]...)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.wantErr)
		})
	}
	_, err = jwtguard.New(jwtguard.WithKeySet(nil))
	assert.Error(t, err)
	ks, err := jwtguard.NewKeySet(a)
	require.NoError(t, err)
	_, err = jwtguard.New(jwtguard.WithKeySet(ks), jwtguard.WithKey("HS256", secret256))
	assert.ErrorContains(t, err, "more than one key source")
}

// TestKeySetKid: one key verifies tokens without kid; with several, kid is
// required; an unknown kid is refused.
func TestKeySetKid(t *testing.T) {
	a, b := ecKey(t, "a"), ecKey(t, "b")
	ks, err := jwtguard.NewKeySet(a)
	require.NoError(t, err)
	mw, err := jwtguard.New(jwtguard.WithKeySet(ks), jwtguard.WithClock(fixedClock))
	require.NoError(t, err)
	noKid := sign(t, jwtMethod(a), a.Key, validClaims(), nil)
	wrongKid := sign(t, jwtMethod(a), a.Key, validClaims(), map[string]any{"kid": "zzz"})

	verify := func(tok string) error {
		_, err := mw.Verify(t.Context(), tok)
		return err
	}
	require.NoError(t, verify(noKid), "single key, no kid")
	require.NoError(t, verify(tokenFor(t, a)))
	assert.ErrorIs(t, verify(wrongKid), jwtguard.ErrUnknownKey)
	assert.ErrorIs(t, verify(tokenFor(t, b)), jwtguard.ErrUnknownKey)

	require.NoError(t, ks.Add(b))
	assert.ErrorIs(t, verify(noKid), jwtguard.ErrUnknownKey, "several keys: kid required")
	require.NoError(t, verify(tokenFor(t, a)))
	require.NoError(t, verify(tokenFor(t, b)))

	// The algorithms of the set are the allow-list.
	_, err = mw.Verify(t.Context(), hs256(t, validClaims()))
	assert.ErrorIs(t, err, jwtguard.ErrAlgorithm)
}

func TestKeySetRotation(t *testing.T) {
	a, b, c := ecKey(t, "a"), ecKey(t, "b"), ecKey(t, "c")
	ks, err := jwtguard.NewKeySet(a)
	require.NoError(t, err)
	mw, err := jwtguard.New(jwtguard.WithKeySet(ks), jwtguard.WithClock(fixedClock))
	require.NoError(t, err)
	verify := func(k jwtguard.Key) error {
		_, err := mw.Verify(t.Context(), tokenFor(t, k))
		return err
	}
	signingID := func() string {
		k, err := ks.SigningKey()
		require.NoError(t, err)
		return k.ID
	}

	// Publish b ahead as a public key, then rotate to it with its private key.
	pubB := jwtguard.Key{ID: "b", Algorithm: "ES256", Key: &b.Key.(*ecdsa.PrivateKey).PublicKey}
	require.NoError(t, ks.Add(pubB))
	assert.Equal(t, "a", signingID())
	require.NoError(t, ks.Rotate(b))
	assert.Equal(t, "b", signingID())
	assert.Equal(t, []string{"b", "a"}, ids(ks.Keys()))
	require.NoError(t, verify(a), "the previous key still verifies")
	require.NoError(t, verify(b))

	require.NoError(t, ks.Rotate(c))
	assert.Equal(t, []string{"c", "b", "a"}, ids(ks.Keys()))
	require.NoError(t, ks.Remove("a"))
	assert.False(t, ks.Contains("a"))
	assert.True(t, ks.Contains("b"))
	assert.ErrorIs(t, verify(a), jwtguard.ErrUnknownKey, "a removed key no longer verifies")
	require.NoError(t, verify(b))
	require.NoError(t, verify(c))

	// Refused changes leave the set as it was.
	assert.ErrorContains(t, ks.Remove("c"), "current key")
	assert.ErrorContains(t, ks.Remove("zzz"), "no key")
	assert.ErrorContains(t, ks.Add(ecKey(t, "b")), "duplicate")
	assert.ErrorContains(t, ks.Rotate(ecKey(t, "b")), "other key material")
	assert.ErrorContains(t, ks.Rotate(jwtguard.Key{ID: "d", Algorithm: "RS256", Key: secret256}), "RS256")
	assert.Equal(t, []string{"c", "b"}, ids(ks.Keys()))
	assert.Equal(t, "c", signingID())
}

func TestKeySetSigningKey(t *testing.T) {
	pub, _, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	ks, err := jwtguard.NewKeySet(jwtguard.Key{ID: "p", Algorithm: "EdDSA", Key: pub})
	require.NoError(t, err)
	_, err = ks.SigningKey()
	assert.ErrorContains(t, err, "no private key")

	secret := append([]byte(nil), secret256...)
	ks, err = jwtguard.NewKeySet(jwtguard.Key{ID: "h", Algorithm: "HS256", Key: secret})
	require.NoError(t, err)
	secret[0] ^= 0xFF // the set keeps its own copy
	k, err := ks.SigningKey()
	require.NoError(t, err)
	assert.Equal(t, secret256, k.Key)
	k.Key.([]byte)[0] ^= 0xFF // and hands out copies
	k2, _ := ks.SigningKey()
	assert.Equal(t, secret256, k2.Key)
}

// TestKeySetConcurrentRotation signs and verifies from many goroutines
// while another rotates and removes keys; run with -race.
func TestKeySetConcurrentRotation(t *testing.T) {
	pinned := ecKey(t, "pinned")
	ks, err := jwtguard.NewKeySet(ecKey(t, "k0"), pinned)
	require.NoError(t, err)
	mw, err := jwtguard.New(jwtguard.WithKeySet(ks), jwtguard.WithClock(fixedClock))
	require.NoError(t, err)
	pinnedToken := tokenFor(t, pinned)
	next := make([]jwtguard.Key, 50)
	for i := range next {
		next[i] = ecKey(t, fmt.Sprintf("k%d", i+1))
	}

	var wg sync.WaitGroup
	wg.Go(func() {
		for i, k := range next {
			assert.NoError(t, ks.Rotate(k))
			if i >= 2 {
				assert.NoError(t, ks.Remove(next[i-2].ID))
			}
			time.Sleep(time.Millisecond)
		}
	})
	for g := 0; g < 4; g++ {
		wg.Go(func() {
			for i := 0; i < 100; i++ {
				_, err := mw.Verify(context.Background(), pinnedToken)
				assert.NoError(t, err)
				k, err := ks.SigningKey()
				assert.NoError(t, err)
				_, err = mw.Verify(context.Background(), tokenFor(t, k))
				if err != nil { // rotated twice and removed meanwhile
					assert.ErrorIs(t, err, jwtguard.ErrUnknownKey)
				}
			}
		})
	}
	wg.Wait()
	assert.Equal(t, []string{"k50", "k49", "k0", "pinned"}, ids(ks.Keys()))
}
