package jwtguard_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jwtguard/jwtguard"
)

// dpopSessions is the lifecycle with DPoP on, served over HTTPS by a real
// server (so the request URI is what a server sees, not what
// httptest.NewRequest fills in), and a DPoP client on the same clock.
type dpopSessions struct {
	*lifecycle
	base   string
	client *http.Client
}

func newDPoPSessions(t *testing.T, mode jwtguard.DPoPMode, opts ...jwtguard.DPoPOption) *dpopSessions {
	t.Helper()
	l := newLifecycle(t, jwtguard.WithAccessOptions(jwtguard.WithDPoP(mode, opts...)))
	srv, client := l.tlsServer(t)
	return &dpopSessions{lifecycle: l, base: srv.URL, client: client}
}

// post sends a JSON body to path with the DPoP header proof ("" none).
func (d *dpopSessions) post(t *testing.T, path string, fields map[string]string, proof string) (*http.Response, tokenBody) {
	t.Helper()
	r, err := http.NewRequest("POST", d.base+path, strings.NewReader(mustJSON(t, fields)))
	require.NoError(t, err)
	r.Header.Set("Content-Type", "application/json")
	if proof != "" {
		r.Header.Set("DPoP", proof)
	}
	resp, err := d.client.Do(r)
	require.NoError(t, err)
	defer resp.Body.Close()
	return resp, decodeTokenBody(t, resp)
}

// login posts alice's credentials with proof.
func (d *dpopSessions) login(t *testing.T, proof string) (*http.Response, tokenBody) {
	t.Helper()
	return d.post(t, "/api/v1/auth/login", map[string]string{"username": "alice", "password": alicePass}, proof)
}

func (d *dpopSessions) refresh(t *testing.T, token, proof string) (*http.Response, tokenBody) {
	t.Helper()
	return d.post(t, "/api/v1/auth/refresh", map[string]string{"refresh_token": token}, proof)
}

// me calls the protected route with auth ("DPoP …" or "Bearer …") and
// proof.
func (d *dpopSessions) me(t *testing.T, auth, proof string) *http.Response {
	t.Helper()
	r, err := http.NewRequest("GET", d.base+"/api/v1/me", nil)
	require.NoError(t, err)
	r.Header.Set("Authorization", auth)
	if proof != "" {
		r.Header.Set("DPoP", proof)
	}
	resp, err := d.client.Do(r)
	require.NoError(t, err)
	resp.Body.Close()
	return resp
}

// jktOf returns the cnf.jkt of token, or "".
func jktOf(t *testing.T, token string) string {
	t.Helper()
	_, p := parts(t, token)
	cnf, _ := p["cnf"].(map[string]any)
	s, _ := cnf["jkt"].(string)
	return s
}

// TestDPoPSessionsFlow logs in, calls a resource and refreshes with proofs,
// and checks each binding rule of the token endpoints (RFC 9449 §5).
func TestDPoPSessionsFlow(t *testing.T) {
	d := newDPoPSessions(t, jwtguard.DPoPAllowed)
	c := newDPoPClient(t, "ES256")
	c.now = d.clock.Now
	other := newDPoPClient(t, "ES256", "other")
	other.now = d.clock.Now
	loginURL, refreshURL, meURL := d.base+"/api/v1/auth/login", d.base+"/api/v1/auth/refresh", d.base+"/api/v1/me"

	resp, pair := d.login(t, c.proof(t, "POST", loginURL, ""))
	require.Equal(t, 200, resp.StatusCode, pair.Error)
	assert.Equal(t, "DPoP", pair.TokenType)
	assert.Equal(t, c.jkt, jktOf(t, pair.AccessToken))
	assert.Equal(t, c.jkt, jktOf(t, pair.RefreshToken), "the refresh token is bound too")

	assert.Equal(t, 200, d.me(t, "DPoP "+pair.AccessToken, c.proof(t, "GET", meURL, pair.AccessToken)).StatusCode)
	assert.Equal(t, 401, d.me(t, "Bearer "+pair.AccessToken, "").StatusCode, "a bound token is no bearer token")
	assert.Equal(t, 401, d.me(t, "DPoP "+pair.AccessToken, other.proof(t, "GET", meURL, pair.AccessToken)).StatusCode)

	// Refused refreshes leave the refresh token usable.
	resp, b := d.refresh(t, pair.RefreshToken, "")
	assert.Equal(t, 400, resp.StatusCode)
	assert.Equal(t, "invalid_dpop_proof", b.Error, "a bound refresh token without a proof")
	resp, b = d.refresh(t, pair.RefreshToken, other.proof(t, "POST", refreshURL, ""))
	assert.Equal(t, 400, resp.StatusCode)
	assert.Equal(t, "invalid_grant", b.Error, "a proof by another key")
	resp, b = d.refresh(t, pair.RefreshToken, c.proof(t, "POST", loginURL, ""))
	assert.Equal(t, 400, resp.StatusCode)
	assert.Equal(t, "invalid_dpop_proof", b.Error, "htu of the login endpoint")

	resp, next := d.refresh(t, pair.RefreshToken, c.proof(t, "POST", refreshURL, ""))
	require.Equal(t, 200, resp.StatusCode, next.Error)
	assert.Equal(t, "DPoP", next.TokenType)
	assert.Equal(t, c.jkt, jktOf(t, next.AccessToken))
	assert.Equal(t, c.jkt, jktOf(t, next.RefreshToken))
	assert.Equal(t, 200, d.me(t, "DPoP "+next.AccessToken, c.proof(t, "GET", meURL, next.AccessToken)).StatusCode)
}

// TestDPoPLoginProofChecks checks the proof of a login: as at a resource,
// with htm POST, htu the endpoint and no ath.
func TestDPoPLoginProofChecks(t *testing.T) {
	d := newDPoPSessions(t, jwtguard.DPoPAllowed)
	c := newDPoPClient(t, "ES256")
	c.now = d.clock.Now
	loginURL := d.base + "/api/v1/auth/login"
	replayed := c.proof(t, "POST", loginURL, "")
	resp, _ := d.login(t, replayed)
	require.Equal(t, 200, resp.StatusCode)
	cases := []struct {
		name  string
		proof string
		code  string
	}{
		{"htm GET", c.proof(t, "GET", loginURL, ""), "invalid_dpop_proof"},
		{"htu of another endpoint", c.proof(t, "POST", d.base+"/api/v1/auth/refresh", ""), "invalid_dpop_proof"},
		{"with ath", c.proof(t, "POST", loginURL, "some access token"), "invalid_dpop_proof"},
		{"replayed", replayed, "invalid_dpop_proof"},
		{"not a JWS", "abc", "invalid_dpop_proof"},
		{"too old", func() string {
			p := c.proofClaims("POST", loginURL, "")
			p["iat"] = d.clock.Now().Add(-time.Hour).Unix()
			return c.sign(t, c.proofHeader(), p)
		}(), "invalid_dpop_proof"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resp, b := d.login(t, tc.proof)
			assert.Equal(t, 400, resp.StatusCode)
			assert.Equal(t, tc.code, b.Error)
			assert.Empty(t, b.AccessToken)
			assert.Equal(t, "no-store", resp.Header.Get("Cache-Control"))
		})
	}
}

// TestDPoPSessionsBearer checks the requests without proofs: bearer pairs
// in allowed mode, refused at the resource in required mode, and an
// unbound refresh token that refreshes with a proof gets a bound pair.
func TestDPoPSessionsBearer(t *testing.T) {
	c := newDPoPClient(t, "ES256")
	for _, mode := range []jwtguard.DPoPMode{jwtguard.DPoPAllowed, jwtguard.DPoPRequired} {
		t.Run(mode.String(), func(t *testing.T) {
			d := newDPoPSessions(t, mode)
			c.now = d.clock.Now
			resp, pair := d.login(t, "")
			require.Equal(t, 200, resp.StatusCode)
			assert.Equal(t, "bearer", pair.TokenType)
			assert.Empty(t, jktOf(t, pair.AccessToken))
			want := 200
			if mode == jwtguard.DPoPRequired {
				want = 401
			}
			assert.Equal(t, want, d.me(t, "Bearer "+pair.AccessToken, "").StatusCode)

			resp, next := d.refresh(t, pair.RefreshToken, c.proof(t, "POST", d.base+"/api/v1/auth/refresh", ""))
			require.Equal(t, 200, resp.StatusCode, next.Error)
			assert.Equal(t, "DPoP", next.TokenType)
			assert.Equal(t, c.jkt, jktOf(t, next.RefreshToken))
		})
	}

	t.Run("DPoP off: the header is ignored", func(t *testing.T) {
		l := newLifecycle(t)
		srv, client := l.tlsServer(t)
		d := &dpopSessions{lifecycle: l, base: srv.URL, client: client}
		c.now = l.clock.Now
		resp, pair := d.login(t, c.proof(t, "POST", srv.URL+"/api/v1/auth/login", ""))
		require.Equal(t, 200, resp.StatusCode)
		assert.Equal(t, "bearer", pair.TokenType)
		assert.Empty(t, jktOf(t, pair.AccessToken))
	})
}

// TestDPoPSessionsNonce checks the nonce of the token endpoints (RFC 9449
// §8): 400 use_dpop_nonce with a DPoP-Nonce header, then success.
func TestDPoPSessionsNonce(t *testing.T) {
	d := newDPoPSessions(t, jwtguard.DPoPAllowed, jwtguard.DPoPNonces([]byte("a nonce secret of 32 bytes or more!!"), 0))
	c := newDPoPClient(t, "ES256")
	c.now = d.clock.Now
	loginURL := d.base + "/api/v1/auth/login"
	resp, b := d.login(t, c.proof(t, "POST", loginURL, ""))
	require.Equal(t, 400, resp.StatusCode)
	assert.Equal(t, "use_dpop_nonce", b.Error)
	nonce := resp.Header.Get("DPoP-Nonce")
	require.NotEmpty(t, nonce)

	p := c.proofClaims("POST", loginURL, "")
	p["nonce"] = nonce
	resp, pair := d.login(t, c.sign(t, c.proofHeader(), p))
	require.Equal(t, 200, resp.StatusCode, pair.Error)
	assert.Equal(t, "DPoP", pair.TokenType)
	assert.Equal(t, nonce, resp.Header.Get("DPoP-Nonce"))

	// A bearer login is not asked for a nonce.
	resp, _ = d.login(t, "")
	assert.Equal(t, 200, resp.StatusCode)
}

// TestIssueRefusesCnf checks that cnf is the issuer's claim.
func TestIssueRefusesCnf(t *testing.T) {
	l := newLifecycle(t)
	_, err := l.issuer.Issue(context.Background(), "1", map[string]any{"cnf": map[string]any{"jkt": "x"}})
	require.Error(t, err)
	assert.Contains(t, err.Error(), `"cnf"`)
}
