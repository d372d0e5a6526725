package main

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jwtguard/jwtguard"
)

// This file tests DPoP (RFC 9449) through the HTTP API only, with a client
// built on another JOSE implementation (go-jose): it signs the proofs,
// embeds the public JWK and computes the RFC 7638 thumbprint itself.

// joseClient is a DPoP client holding one P-256 key.
type joseClient struct {
	signer jose.Signer
	jkt    string
}

func newJoseClient(t *testing.T) *joseClient {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: key},
		(&jose.SignerOptions{EmbedJWK: true}).WithType("dpop+jwt"))
	require.NoError(t, err)
	tp, err := (&jose.JSONWebKey{Key: &key.PublicKey}).Thumbprint(crypto.SHA256)
	require.NoError(t, err)
	return &joseClient{signer: signer, jkt: base64.RawURLEncoding.EncodeToString(tp)}
}

// proof signs a proof for method and htu; with an access token it carries
// ath, with a nonce the nonce.
func (c *joseClient) proof(t *testing.T, method, htu, accessToken, nonce string) string {
	t.Helper()
	jti := make([]byte, 16)
	_, _ = rand.Read(jti)
	claims := map[string]any{"jti": base64.RawURLEncoding.EncodeToString(jti), "htm": method, "htu": htu, "iat": time.Now().Unix()}
	if accessToken != "" {
		sum := sha256.Sum256([]byte(accessToken))
		claims["ath"] = base64.RawURLEncoding.EncodeToString(sum[:])
	}
	if nonce != "" {
		claims["nonce"] = nonce
	}
	payload, err := json.Marshal(claims)
	require.NoError(t, err)
	jws, err := c.signer.Sign(payload)
	require.NoError(t, err)
	s, err := jws.CompactSerialize()
	require.NoError(t, err)
	return s
}

// loginDPoP logs email in with a proof of c.
func (s *testServer) loginDPoP(t *testing.T, c *joseClient, email, nonce string) answer {
	t.Helper()
	return s.postJSON(t, loginPath, map[string]string{"username": email, "password": testPassword},
		map[string]string{"DPoP": c.proof(t, "POST", s.URL+loginPath, "", nonce)})
}

// meDPoP calls path (mePath, perhaps with a query) under the DPoP scheme
// with proof.
func (s *testServer) meDPoP(t *testing.T, path, access, proof string) answer {
	t.Helper()
	h := map[string]string{"Authorization": "DPoP " + access}
	if proof != "" {
		h["DPoP"] = proof
	}
	return s.do(t, request{method: http.MethodGet, path: path, header: h})
}

// boundTo returns the cnf.jkt of a token, read from its payload.
func boundTo(t *testing.T, token string) string {
	t.Helper()
	parts := strings.Split(token, ".")
	require.Len(t, parts, 3)
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	require.NoError(t, err)
	var p struct {
		Cnf struct {
			JKT string `json:"jkt"`
		} `json:"cnf"`
	}
	require.NoError(t, json.Unmarshal(b, &p))
	return p.Cnf.JKT
}

func TestDPoPAPI(t *testing.T) {
	s := newTestServer(t, testConfig(t))
	s.register(t, "ada@example.com")
	c, other := newJoseClient(t), newJoseClient(t)
	meURL := s.URL + mePath

	a := s.loginDPoP(t, c, "ada@example.com", "")
	require.Equal(t, http.StatusOK, a.status, "%s", a.body)
	assert.Equal(t, "DPoP", a.str("token_type"))
	access, refresh := a.str("access_token"), a.str("refresh_token")
	assert.Equal(t, c.jkt, boundTo(t, access))
	assert.Equal(t, c.jkt, boundTo(t, refresh))

	proof := c.proof(t, "GET", meURL, access, "")
	assert.Equal(t, http.StatusOK, s.meDPoP(t, mePath, access, proof).status)
	a = s.meDPoP(t, mePath, access, proof)
	assert.Equal(t, http.StatusUnauthorized, a.status, "the same proof twice")
	assert.Equal(t, "invalid_dpop_proof", a.str("error"))
	assert.Contains(t, a.header.Get("WWW-Authenticate"), `DPoP algs="`)

	assert.Equal(t, http.StatusUnauthorized, s.me(t, access).status, "the access token as a bearer token")
	assert.Equal(t, http.StatusUnauthorized, s.meDPoP(t, mePath, access, other.proof(t, "GET", meURL, access, "")).status, "a proof by another key")
	assert.Equal(t, http.StatusUnauthorized, s.meDPoP(t, mePath, access, c.proof(t, "GET", s.URL+refreshPath, access, "")).status, "htu of another path")
	assert.Equal(t, http.StatusUnauthorized, s.meDPoP(t, mePath, access, "").status, "no proof")
	a = s.meDPoP(t, mePath+"?x=1", access, c.proof(t, "GET", meURL, access, ""))
	assert.Equal(t, http.StatusOK, a.status, "htu without the query: %s", a.body)

	// Refresh: by another key, or without a proof, refused; by the same key,
	// a new pair still bound.
	a = s.postJSON(t, refreshPath, map[string]string{"refresh_token": refresh}, map[string]string{"DPoP": other.proof(t, "POST", s.URL+refreshPath, "", "")})
	assert.Equal(t, http.StatusBadRequest, a.status)
	assert.Equal(t, "invalid_grant", a.str("error"))
	a = s.postJSON(t, refreshPath, map[string]string{"refresh_token": refresh}, nil)
	assert.Equal(t, http.StatusBadRequest, a.status)
	assert.Equal(t, "invalid_dpop_proof", a.str("error"))
	a = s.postJSON(t, refreshPath, map[string]string{"refresh_token": refresh}, map[string]string{"DPoP": c.proof(t, "POST", s.URL+refreshPath, "", "")})
	require.Equal(t, http.StatusOK, a.status, "%s", a.body)
	assert.Equal(t, "DPoP", a.str("token_type"))
	next := a.str("access_token")
	assert.Equal(t, c.jkt, boundTo(t, next))
	assert.Equal(t, c.jkt, boundTo(t, a.str("refresh_token")))
	assert.Equal(t, http.StatusOK, s.meDPoP(t, mePath, next, c.proof(t, "GET", meURL, next, "")).status)
}

// TestDPoPModes checks bearer logins in each mode of DPOP.
func TestDPoPModes(t *testing.T) {
	for _, tc := range []struct {
		mode jwtguard.DPoPMode
		me   int
	}{
		{jwtguard.DPoPAllowed, http.StatusOK},
		{jwtguard.DPoPRequired, http.StatusUnauthorized},
		{jwtguard.DPoPDisabled, http.StatusOK},
	} {
		t.Run(tc.mode.String(), func(t *testing.T) {
			cfg := testConfig(t)
			cfg.DPoP = tc.mode
			s := newTestServer(t, cfg)
			s.register(t, "ada@example.com")
			access, _ := s.login(t, "ada@example.com")
			a := s.me(t, access)
			assert.Equal(t, tc.me, a.status, "%s", a.body)

			c := newJoseClient(t)
			a = s.loginDPoP(t, c, "ada@example.com", "")
			require.Equal(t, http.StatusOK, a.status)
			if tc.mode == jwtguard.DPoPDisabled {
				assert.Equal(t, "bearer", a.str("token_type"), "the DPoP header is ignored")
				return
			}
			assert.Equal(t, "DPoP", a.str("token_type"))
			dpopAccess := a.str("access_token")
			assert.Equal(t, http.StatusOK, s.meDPoP(t, mePath, dpopAccess, c.proof(t, "GET", s.URL+mePath, dpopAccess, "")).status)
		})
	}
}

// TestDPoPNonceAPI checks DPOP_NONCE=1: the token endpoint answers 400
// use_dpop_nonce and the resource 401 use_dpop_nonce, each with a
// DPoP-Nonce header, and the client retries with it.
func TestDPoPNonceAPI(t *testing.T) {
	cfg := testConfig(t)
	cfg.DPoPNonce = true
	s := newTestServer(t, cfg)
	s.register(t, "ada@example.com")
	c := newJoseClient(t)

	a := s.loginDPoP(t, c, "ada@example.com", "")
	require.Equal(t, http.StatusBadRequest, a.status)
	assert.Equal(t, "use_dpop_nonce", a.str("error"))
	nonce := a.header.Get("DPoP-Nonce")
	require.NotEmpty(t, nonce)
	a = s.loginDPoP(t, c, "ada@example.com", nonce)
	require.Equal(t, http.StatusOK, a.status, "%s", a.body)
	access := a.str("access_token")

	a = s.meDPoP(t, mePath, access, c.proof(t, "GET", s.URL+mePath, access, ""))
	require.Equal(t, http.StatusUnauthorized, a.status)
	assert.Contains(t, a.header.Get("WWW-Authenticate"), `error="use_dpop_nonce"`)
	nonce = a.header.Get("DPoP-Nonce")
	require.NotEmpty(t, nonce)
	a = s.meDPoP(t, mePath, access, c.proof(t, "GET", s.URL+mePath, access, nonce))
	assert.Equal(t, http.StatusOK, a.status, "%s", a.body)
	assert.Equal(t, nonce, a.header.Get("DPoP-Nonce"))
}

// dpopCall calls path under the DPoP scheme with access and a fresh proof
// of c for that request, and a JSON body when body is not "".
func (s *testServer) dpopCall(t *testing.T, c *joseClient, method, path, access, body string) answer {
	t.Helper()
	rq := request{method: method, path: path, header: map[string]string{
		"Authorization": "DPoP " + access, "DPoP": c.proof(t, method, s.URL+path, access, ""),
	}}
	if body != "" {
		rq.contentType, rq.body = "application/json", body
	}
	return s.do(t, rq)
}

// TestDPoPSessionsAPI: with DPOP=required, a DPoP client lists and ends
// its sessions, changes its password and logs out with its bound tokens
// and proofs by its key; the pair a change of password answers is bound to
// the same key.
func TestDPoPSessionsAPI(t *testing.T) {
	cfg := testConfig(t)
	cfg.DPoP = jwtguard.DPoPRequired
	s := newTestServer(t, cfg)
	s.register(t, "ada@example.com")
	c, other := newJoseClient(t), newJoseClient(t)
	login := func() (access, refresh string) {
		a := s.loginDPoP(t, c, "ada@example.com", "")
		require.Equal(t, http.StatusOK, a.status, "%s", a.body)
		require.Equal(t, "DPoP", a.str("token_type"))
		return a.str("access_token"), a.str("refresh_token")
	}
	works := func(access string) bool {
		return s.meDPoP(t, mePath, access, c.proof(t, "GET", s.URL+mePath, access, "")).status == http.StatusOK
	}
	oneA, _ := login()
	twoA, _ := login()

	a := s.dpopCall(t, c, http.MethodGet, sessionsPath, oneA, "")
	require.Equal(t, http.StatusOK, a.status, "%s", a.body)
	assert.Len(t, a.json["sessions"], 2)
	assert.Equal(t, http.StatusUnauthorized, s.do(t, bearer(http.MethodGet, sessionsPath, oneA)).status, "a bound token as a bearer token")

	a = s.dpopCall(t, c, http.MethodDelete, sessionsPath+"/"+fid(t, twoA), oneA, "")
	require.Equal(t, http.StatusNoContent, a.status, "%s", a.body)
	assert.False(t, works(twoA), "the ended session")

	t.Run("change of password: the new pair is bound to the same key", func(t *testing.T) {
		a := s.dpopCall(t, c, http.MethodPost, passwordPath, oneA,
			`{"current_password":"`+testPassword+`","new_password":"a new horse battery"}`)
		require.Equal(t, http.StatusOK, a.status, "%s", a.body)
		assert.Equal(t, "DPoP", a.str("token_type"))
		access, refresh := a.str("access_token"), a.str("refresh_token")
		assert.Equal(t, c.jkt, boundTo(t, access))
		assert.Equal(t, c.jkt, boundTo(t, refresh))
		assert.True(t, works(access), "the new access token with a proof by the same key")
		assert.Equal(t, http.StatusUnauthorized, s.meDPoP(t, mePath, access, other.proof(t, "GET", s.URL+mePath, access, "")).status)
		assert.False(t, works(oneA), "the earlier token")
		r := s.postJSON(t, refreshPath, map[string]string{"refresh_token": refresh},
			map[string]string{"DPoP": c.proof(t, "POST", s.URL+refreshPath, "", "")})
		require.Equal(t, http.StatusOK, r.status, "%s", r.body)
		assert.Equal(t, c.jkt, boundTo(t, r.str("access_token")))
		assert.True(t, works(r.str("access_token")))
	})

	t.Run("logout", func(t *testing.T) {
		a := s.postJSON(t, loginPath, map[string]string{"username": "ada@example.com", "password": "a new horse battery"},
			map[string]string{"DPoP": c.proof(t, "POST", s.URL+loginPath, "", "")})
		require.Equal(t, http.StatusOK, a.status, "%s", a.body)
		access := a.str("access_token")
		r := s.do(t, request{method: http.MethodPost, path: logoutPath, header: map[string]string{"Authorization": "Bearer " + access}})
		assert.Equal(t, http.StatusUnauthorized, r.status, "a bound token as a bearer token logs nothing out")
		require.True(t, works(access))
		r = s.dpopCall(t, c, http.MethodPost, logoutPath, access, "")
		require.Equal(t, http.StatusNoContent, r.status, "%s", r.body)
		assert.False(t, works(access))
	})

	t.Run("a DPoP proof on a login answered in cookies", func(t *testing.T) {
		a := s.postJSON(t, loginPath, map[string]string{"username": "ada@example.com", "password": "a new horse battery"},
			map[string]string{"DPoP": c.proof(t, "POST", s.URL+loginPath, "", ""), "X-Requested-With": "fetch"})
		assert.Equal(t, http.StatusBadRequest, a.status, "%s", a.body)
		assert.Equal(t, "invalid_request", a.str("error"))
		assert.Contains(t, a.str("error_description"), "cookie")
		assert.Empty(t, a.header.Values("Set-Cookie"))
	})
}
