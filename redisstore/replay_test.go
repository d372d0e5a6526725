package redisstore_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jwtguard/jwtguard"
	"github.com/jwtguard/jwtguard/redisstore"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// This file checks the Store as the DPoP replay cache of several instances,
// on the real redis-server the tests start. Tokens and proofs are signed by
// hand here (crypto/ecdsa, encoding/json), not with the package.

var b64 = base64.RawURLEncoding

// es256 signs header and claims with key, the signature as r || s.
func es256(t testing.TB, key *ecdsa.PrivateKey, header, claims map[string]any) string {
	t.Helper()
	hb, err := json.Marshal(header)
	require.NoError(t, err)
	cb, err := json.Marshal(claims)
	require.NoError(t, err)
	input := b64.EncodeToString(hb) + "." + b64.EncodeToString(cb)
	d := sha256.Sum256([]byte(input))
	r, s, err := ecdsa.Sign(rand.Reader, key, d[:])
	require.NoError(t, err)
	return input + "." + b64.EncodeToString(append(r.FillBytes(make([]byte, 32)), s.FillBytes(make([]byte, 32))...))
}

// dpopFixture is an issuer key, a client key, a token bound to it, and
// proofs of the client.
type dpopFixture struct {
	issuer, client *ecdsa.PrivateKey
	jwk            map[string]any
	token          string
}

func newDPoPFixture(t testing.TB) *dpopFixture {
	t.Helper()
	f := &dpopFixture{}
	var err error
	f.issuer, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	f.client, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	x, y := b64.EncodeToString(f.client.X.FillBytes(make([]byte, 32))), b64.EncodeToString(f.client.Y.FillBytes(make([]byte, 32)))
	thumb, err := json.Marshal(struct {
		Crv string `json:"crv"`
		Kty string `json:"kty"`
		X   string `json:"x"`
		Y   string `json:"y"`
	}{"P-256", "EC", x, y})
	require.NoError(t, err)
	sum := sha256.Sum256(thumb)
	f.jwk = map[string]any{"kty": "EC", "crv": "P-256", "x": x, "y": y}
	f.token = es256(t, f.issuer, map[string]any{"alg": "ES256", "typ": "at+jwt"}, map[string]any{
		"iss": testIssuer, "sub": "ada", "type": "access", "jti": "at-1",
		"exp": time.Now().Add(time.Hour).Unix(), "cnf": map[string]any{"jkt": b64.EncodeToString(sum[:])},
	})
	return f
}

// proof returns a fresh proof for GET url with f's token.
func (f *dpopFixture) proof(t testing.TB, url string) string {
	t.Helper()
	jti := make([]byte, 16)
	_, _ = rand.Read(jti)
	ath := sha256.Sum256([]byte(f.token))
	return es256(t, f.client, map[string]any{"typ": "dpop+jwt", "alg": "ES256", "jwk": f.jwk}, map[string]any{
		"jti": b64.EncodeToString(jti), "htm": "GET", "htu": url, "iat": time.Now().Unix(), "ath": b64.EncodeToString(ath[:]),
	})
}

// dpopInstance is the middleware of one instance, its replay cache a Store
// of its own on the shared Redis.
func dpopInstance(t testing.TB, f *dpopFixture, store *redisstore.Store) *jwtguard.Middleware {
	t.Helper()
	mw, err := jwtguard.New(
		jwtguard.WithKey("ES256", &f.issuer.PublicKey),
		jwtguard.WithIssuer(testIssuer),
		jwtguard.WithDPoP(jwtguard.DPoPRequired, jwtguard.DPoPReplayCache(store)),
	)
	require.NoError(t, err)
	return mw
}

func dpopGet(url, token, proof string) *http.Request {
	r := httptest.NewRequest("GET", url, nil)
	r.Header.Set("Authorization", "DPoP "+token)
	r.Header.Set("DPoP", proof)
	return r
}

// TestDPoPReplayAcrossInstances sends a proof to one instance and replays
// it to another: the second refuses it, as does the first. Then many
// goroutines send copies of proofs to both instances at once: of the
// copies of each proof exactly one passes.
func TestDPoPReplayAcrossInstances(t *testing.T) {
	prefix := testPrefix()
	f := newDPoPFixture(t)
	a := dpopInstance(t, f, newStore(t, newClient(t), redisstore.WithPrefix(prefix)))
	b := dpopInstance(t, f, newStore(t, newClient(t), redisstore.WithPrefix(prefix)))
	const url = "https://api.test/orders"

	proof := f.proof(t, url)
	_, err := a.Check(dpopGet(url, f.token, proof))
	require.NoError(t, err)
	_, err = b.Check(dpopGet(url, f.token, proof))
	require.ErrorIs(t, err, jwtguard.ErrDPoPReplay, "replayed to another instance")
	_, err = a.Check(dpopGet(url, f.token, proof))
	require.ErrorIs(t, err, jwtguard.ErrDPoPReplay)
	rec := httptest.NewRecorder()
	b.Handler(http.NotFoundHandler()).ServeHTTP(rec, dpopGet(url, f.token, proof))
	assert.Equal(t, 401, rec.Code)
	assert.Contains(t, rec.Header().Get("WWW-Authenticate"), `error="invalid_dpop_proof"`)

	const proofs, copies = 8, 6
	list := make([]string, proofs)
	for i := range list {
		list[i] = f.proof(t, url)
	}
	var ok, replayed atomic.Int32
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := 0; i < proofs*copies; i++ {
		mw := a
		if i%2 == 1 {
			mw = b
		}
		wg.Add(1)
		go func(mw *jwtguard.Middleware, p string) {
			defer wg.Done()
			<-start
			_, err := mw.Check(dpopGet(url, f.token, p))
			switch {
			case err == nil:
				ok.Add(1)
			case errors.Is(err, jwtguard.ErrDPoPReplay):
				replayed.Add(1)
			default:
				t.Error(err)
			}
		}(mw, list[i%proofs])
	}
	close(start)
	wg.Wait()
	assert.Equal(t, int32(proofs), ok.Load())
	assert.Equal(t, int32(proofs*(copies-1)), replayed.Load())
}

// TestDPoPReplayKey checks the key and its expiry in Redis, and that an
// error fails closed.
func TestDPoPReplayKey(t *testing.T) {
	prefix := testPrefix()
	client := newClient(t)
	s := newStore(t, client, redisstore.WithPrefix(prefix))
	ctx := context.Background()
	until := time.Now().Add(90 * time.Second)
	fresh, err := s.Remember(ctx, "AAAAAAAAAAAAAAAAAAAAAA", until)
	require.NoError(t, err)
	assert.True(t, fresh)
	fresh, err = s.Remember(ctx, "AAAAAAAAAAAAAAAAAAAAAA", until)
	require.NoError(t, err)
	assert.False(t, fresh)
	at, err := client.PExpireTime(ctx, prefix+"dpop:AAAAAAAAAAAAAAAAAAAAAA").Result()
	require.NoError(t, err)
	assert.Equal(t, until.UnixMilli(), at.Milliseconds())

	// Redis unreachable: an error, never "new"; the middleware answers 503.
	dead := redis.NewClient(&redis.Options{Addr: redisAddr})
	broken := newStore(t, dead, redisstore.WithPrefix(prefix))
	require.NoError(t, dead.Close())
	fresh, err = broken.Remember(ctx, "BBBBBBBBBBBBBBBBBBBBBB", until)
	require.Error(t, err)
	assert.False(t, fresh)
	f := newDPoPFixture(t)
	rec := httptest.NewRecorder()
	dpopInstance(t, f, broken).Handler(http.NotFoundHandler()).ServeHTTP(rec, dpopGet("https://api.test/x", f.token, f.proof(t, "https://api.test/x")))
	assert.Equal(t, 503, rec.Code)
	require.NoError(t, broken.Close())
	_, err = broken.Remember(ctx, "CCCCCCCCCCCCCCCCCCCCCC", until)
	assert.ErrorIs(t, err, redisstore.ErrClosed)
}
