package jwtguard

import (
	"crypto/subtle"
	"encoding/json"
	"errors"
	"net/http"
)

// This file is DPoP at the token endpoints of Sessions (RFC 9449 §5, §8),
// on when the access middleware has [WithDPoP] (given with
// [WithAccessOptions]); it shares that middleware's algorithms, window,
// replay cache, nonces and trusted proxies.
//
// A login or refresh request that carries a DPoP header gets a pair bound
// to the proof's key: cnf.jkt in both tokens and token_type "DPoP". The
// proof is checked as at a resource, with htm POST, htu the endpoint, and
// no ath (a proof with ath is refused). A bound refresh token refreshes
// only with a proof by the same key. A request without a DPoP header gets
// bearer tokens, as without DPoP, except a refresh with a bound refresh
// token.

// Failures of DPoP at the token endpoints.
var (
	errDPoPRefreshProof = newDPoPError(ErrDPoPProof, "DPoP proof required: the refresh token is DPoP-bound")
	errDPoPRefreshKey   = newDPoPError(ErrDPoPBinding, "DPoP proof by another key than the refresh token is bound to")
	errDPoPRefreshOff   = newDPoPError(ErrDPoPBinding, "the refresh token is DPoP-bound and DPoP is not enabled")
)

// tokenProof checks the proof of a request to a token endpoint, when DPoP
// is on and the request has one; want, when not "", is the thumbprint the
// proof's key must have. It returns the proof key's thumbprint, or "" for a
// request without a proof. The proof's jti is recorded last, once every
// other check has passed.
func (s *Sessions) tokenProof(r *http.Request, want string) (string, error) {
	g := s.mw.dpop
	if g == nil || len(r.Header["Dpop"]) == 0 {
		return "", nil
	}
	raw, err := proofHeader(r)
	if err != nil {
		return "", err
	}
	p, err := g.verifyProof(s.mw, r, raw, "")
	if err != nil {
		return "", err
	}
	if want != "" && p.jkt != want {
		return "", errDPoPRefreshKey
	}
	if err := g.checkNonce(p); err != nil {
		return "", err
	}
	if err := g.remember(r.Context(), s.mw, p); err != nil {
		return "", err
	}
	return p.jkt, nil
}

// loginKey returns the key a pair that [Sessions.Login] starts for r is
// bound to: the key a DPoP middleware proved for r, or that of r's proof
// checked as at the login endpoint, or "" for none (DPoP off, no proof).
func (s *Sessions) loginKey(r *http.Request, inCookies bool) (string, error) {
	if s.mw.dpop == nil {
		return "", nil
	}
	jkt := provenKey(r.Context())
	if jkt == "" && len(r.Header["Dpop"]) == 0 {
		return "", nil
	}
	if inCookies {
		return "", s.cookieConflict("login", s.mode == perClient)
	}
	if jkt != "" {
		return jkt, nil
	}
	return s.tokenProof(r, "")
}

// cookieConflict refuses, before anything is checked or spent, a request
// with a DPoP proof to a token endpoint whose answer would go in cookies
// (what is "login" or "refresh"; byClient says the answer goes in cookies
// because of what the client sent, with [WithCookiesForBrowsers], rather
// than because the endpoint always answers so). A token bound to a key is
// usable only under the DPoP scheme with a proof, which a browser's cookie
// request never has: the middleware refuses a bound token from a cookie.
// Answering in the body instead would hand page scripts tokens that the
// application chose to keep in HttpOnly cookies (a script that can spend
// the refresh cookie would get a pair of its own, for a key of its own,
// outside the browser). So the client is told which signal to drop.
func (s *Sessions) cookieConflict(what string, byClient bool) error {
	fix := "this endpoint answers in cookies: send no DPoP header"
	switch {
	case byClient && what == "login":
		fix = "a DPoP client sends no " + s.mw.csrf.header + " header and gets the tokens in the body; a browser sends no DPoP header"
	case byClient:
		fix = "a DPoP client sends its refresh token in the body; a browser sends no DPoP header"
	}
	return badRequest("DPoP proof on a " + what + " answered in cookies: a DPoP-bound token cannot be sent from a cookie; " + fix)
}

// hasProof reports whether r carries a DPoP header that DPoP at the token
// endpoints would check.
func (s *Sessions) hasProof(r *http.Request) bool {
	return s.mw.dpop != nil && len(r.Header["Dpop"]) > 0
}

// refreshProof applies the binding rules to a refresh: a refresh token
// bound to a key needs a proof by that key; an unbound one takes a proof or
// none. It returns the thumbprint the next pair is bound to.
func (s *Sessions) refreshProof(r *http.Request, tc *tokenClaims) (string, error) {
	bound, isBound, err := tc.dpopKey()
	if err != nil {
		return "", errDPoPRefreshKey
	}
	if !isBound {
		return s.tokenProof(r, "")
	}
	switch {
	case s.mw.dpop == nil:
		return "", errDPoPRefreshOff
	case bound == "":
		return "", errDPoPRefreshKey // bound by a method other than DPoP
	case len(r.Header["Dpop"]) == 0:
		return "", errDPoPRefreshProof
	}
	return s.tokenProof(r, bound)
}

// logoutRefreshProof applies the binding rules to a refresh token presented
// at a logout: a bound one counts only with a proof by its key. scheme says
// whether an access token came under the DPoP scheme, and proven is the key
// its proof proved ("" when it failed): that proof is the request's, and
// the refresh token must be bound to the same key. Without an access token
// under the DPoP scheme, the request's proof is checked as at the token
// endpoints.
func (s *Sessions) logoutRefreshProof(r *http.Request, tc *tokenClaims, scheme bool, proven string) error {
	bound, isBound, err := tc.dpopKey()
	switch {
	case err != nil:
		return errDPoPRefreshKey
	case !isBound:
		return nil
	case s.mw.dpop == nil:
		return errDPoPRefreshOff
	case bound == "":
		return errDPoPRefreshKey // bound by a method other than DPoP
	case scheme && proven == "":
		return errDPoPRefreshProof
	case scheme:
		if subtle.ConstantTimeCompare([]byte(proven), []byte(bound)) != 1 {
			return errDPoPRefreshKey
		}
		return nil
	case len(r.Header["Dpop"]) == 0:
		return errDPoPRefreshProof
	}
	_, err = s.tokenProof(r, bound)
	return err
}

// dpopKey returns the token's cnf.jkt, and whether it has a cnf claim.
func (c *tokenClaims) dpopKey() (jkt string, bound bool, err error) {
	raw, ok := c.raw["cnf"]
	if !ok {
		return "", false, nil
	}
	var cnf struct {
		JKT string `json:"jkt"`
	}
	if err := json.Unmarshal(raw, &cnf); err != nil {
		return "", true, err
	}
	return cnf.JKT, true, nil
}

// dpopFail answers a DPoP failure at a token endpoint with 400 and an RFC
// 6749 §5.2 body: invalid_dpop_proof, use_dpop_nonce (with a DPoP-Nonce
// header) or invalid_grant for a proof by the wrong key. It reports false
// for any other error.
func (s *Sessions) dpopFail(w http.ResponseWriter, r *http.Request, err error) bool {
	var code string
	switch {
	case errors.Is(err, ErrDPoPNonce):
		code = "use_dpop_nonce"
	case errors.Is(err, ErrDPoPProof):
		code = "invalid_dpop_proof"
	case errors.Is(err, ErrDPoPBinding):
		code = "invalid_grant"
	default:
		return false
	}
	s.mw.report(r, err, http.StatusBadRequest)
	s.mw.dpop.setNonce(w, r, err)
	h := w.Header()
	h["Content-Type"] = contentTypeJSON
	h["Cache-Control"] = noStore
	w.WriteHeader(http.StatusBadRequest)
	_, _ = w.Write(body(code, dpopDetail(err)))
	return true
}

// tokenType is the token_type of a pair (RFC 9449 §5.1).
func (p *TokenPair) tokenType() string {
	if p.DPoPKey != "" {
		return "DPoP"
	}
	return "bearer"
}
