package jwtguard

import (
	"errors"
	"fmt"
	"net/http"
)

// RefreshHandler returns the refresh endpoint. It takes the refresh token
// from a JSON body {"refresh_token": …}, from a form field refresh_token
// (with grant_type "refresh_token" when present, as RFC 6749 §6), or in
// cookie mode from the refresh cookie, which must then pass the CSRF
// defence; a token in two places is refused. It verifies it as a refresh
// token (an access token never passes), asks the [RefreshFunc] if one is
// set, and rotates: the store records the token's use, in one atomic step,
// and the answer is a new pair of the same family, as from the login
// handler.
//
// A refresh token may be used again within the reuse interval after its
// first use ([WithReuseInterval], 10 seconds by default): two browser tabs
// that refresh at once, or a client that retries because the answer was
// lost or was 503, each get a new pair of the family (a sibling of the
// first one's), and nothing is revoked. Presenting it again after the
// interval is taken as theft (RFC 9700 §4.14.2): the whole family is
// revoked, so neither the thief's nor the user's tokens of that family
// work any more (access tokens included, where the middleware has the
// store), and the user must log in again. Of any number of concurrent
// refreshes with one token within the interval all succeed; with interval
// 0 exactly one does, and the others revoke the family.
//
// A refresh keeps the session: the next pair carries the login's auth_time
// (RFC 9068 §2.2.1) and no token of it expires after the session's maximum
// age ([WithSessionMaxAge], 30 days after the login by default), and the
// refresh is recorded in the session list ([Sessions.ListSessions]). A
// refresh token is refused (401 invalid_token, saying why) once its
// session reached its maximum age, when its subject was revoked after it
// was issued ([Sessions.RevokeSubject]), and when it has no auth_time.
//
// With [WithCookiesForBrowsers], a refresh token from the cookie is
// answered in cookies, one from the body in the body.
//
// Errors follow RFC 6750, as the middleware's, and their descriptions say
// what to fix: 401 invalid_token (expired, wrong type, revoked, reused,
// denied by the RefreshFunc, …) with a WWW-Authenticate challenge; 400
// invalid_request for a malformed request, a token in two places, and a
// request without a refresh token that sent one elsewhere or sent a body
// without one ("the refresh token goes in the body as refresh_token, not in
// the Authorization header"); in cookie mode, 401 with a bare challenge for
// an empty request, whose refresh cookie has gone ("log in again"); 405
// (Allow: POST), 413, 415 as the login handler; 403 for a failed CSRF
// check; 503 when the store or the RefreshFunc fails (the request is
// refused, never passed); 500 when the issuer cannot mint the next pair
// ([ErrCannotIssue]). In cookie mode a refused refresh token's cookies are
// cleared. Every answer carries Cache-Control: no-store.
//
// A 503 may or may not have been applied: the store may have recorded the
// use although its answer was lost (Redis stalled past the client's
// timeout, say). Either way the client retries with the same refresh
// token, within the reuse interval of its first attempt, and gets 200 with
// a pair; the tokens it held stay valid.
//
// With [WithDPoP] among the access options, a DPoP-bound refresh token
// (issued to a login or refresh with a proof) refreshes only with a proof
// by the same key (htm POST, htu this endpoint, no ath): without one the
// answer is 400 invalid_dpop_proof, with one by another key 400
// invalid_grant, and the refresh token is left unused. The next pair is
// bound to the proof's key; an unbound refresh token with a proof gets a
// bound pair. A refresh with a proof that would be answered in cookies (the
// refresh token from the cookie, or cookie mode) is refused with 400
// invalid_request naming the conflict, and the refresh token is left
// unused: a bound pair in cookies could never be used.
func (s *Sessions) RefreshHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fromCookie, err := s.refresh(w, r)
		if err != nil {
			if fromCookie && errors.Is(err, ErrInvalidToken) {
				s.cookies.clear(w)
			}
			s.fail(w, r, err)
		}
	})
}

// refreshToken finds the refresh token of a refresh request (grant
// "refresh_token"), which must have one, or of a logout request (grant ""),
// which may have none.
func (s *Sessions) refreshToken(w http.ResponseWriter, r *http.Request, grant string) (token string, fromCookie bool, err error) {
	f, err := s.readFields(w, r, "refresh_token", "grant_type")
	if err != nil {
		return "", false, err
	}
	if grant != "" && f["grant_type"] != "" && f["grant_type"] != grant {
		return "", false, errRefreshGrnt
	}
	token = f["refresh_token"]
	if s.mode != bodyOnly {
		c, err := s.refreshCookie.Extract(r)
		if err != nil {
			return "", false, err
		}
		if c != "" {
			if token != "" {
				return "", false, errTwoRefresh
			}
			if err := s.mw.csrf.check(r); err != nil {
				return "", false, err
			}
			token, fromCookie = c, true
		}
	}
	if token == "" && grant != "" {
		return "", false, s.noRefreshToken(r)
	}
	return token, fromCookie, nil
}

// Answers to a refresh request without a refresh token.
var (
	errRefreshInHeader         = badRequest("the refresh token goes in the body as refresh_token, not in the Authorization header")
	errRefreshInHeaderOrCookie = badRequest(
		"the refresh token goes in the body as refresh_token or in the refresh cookie, not in the Authorization header")
	errRefreshMissing = badRequest("refresh_token is required: send it as a field of a JSON or form body")
	errRefreshNone    = &requestError{kind: ErrNoToken, desc: "no refresh token in the body or the refresh cookie: log in again"}
)

// noRefreshToken explains a refresh request without a refresh token: 400
// when it sent one elsewhere (the Authorization header), or sent a body
// without one, or has no cookie to send it in; 401 for an empty request in
// cookie mode, where the refresh cookie has gone (expired, or cleared by a
// logout) and the user must log in again.
func (s *Sessions) noRefreshToken(r *http.Request) error {
	cookies := s.mode != bodyOnly
	switch {
	case len(r.Header["Authorization"]) > 0 && cookies:
		return errRefreshInHeaderOrCookie
	case len(r.Header["Authorization"]) > 0:
		return errRefreshInHeader
	case cookies && r.Header.Get("Content-Type") == "" && r.ContentLength <= 0:
		return errRefreshNone
	}
	return errRefreshMissing
}

func (s *Sessions) refresh(w http.ResponseWriter, r *http.Request) (fromCookie bool, err error) {
	w.Header()["Cache-Control"] = noStore
	if err := post(r); err != nil {
		return false, err
	}
	token, fromCookie, err := s.refreshToken(w, r, "refresh_token")
	if err != nil {
		return fromCookie, err
	}
	if s.refreshInCookies(fromCookie) && s.hasProof(r) {
		return fromCookie, s.cookieConflict("refresh", s.mode == perClient)
	}
	ctx := r.Context()
	v, err := s.issuer.refresh.Verify(ctx, token)
	if errors.Is(err, ErrExpired) {
		return fromCookie, s.expiredRefresh(token)
	}
	if err != nil {
		return fromCookie, err
	}
	tc := v.(*tokenClaims)
	if tc.sub == "" || tc.jti == "" {
		return fromCookie, errEmptyClaims
	}
	if tc.fid == "" {
		return fromCookie, errNoFamily
	}
	jkt, err := s.refreshProof(r, tc)
	if err != nil {
		return fromCookie, err
	}
	now := s.issuer.clock()
	bounds, err := s.checkRefresh(ctx, tc, now)
	if err != nil {
		return fromCookie, err
	}
	familyUntil := now.Add(s.issuer.refreshTTL + s.issuer.leeway)
	claims, err := tc.extra()
	if err != nil {
		return fromCookie, fmt.Errorf("%w: %w", errInternal, err)
	}
	if s.refreshCheck != nil {
		claims, err = s.refreshCheck(ctx, tc.sub, claims)
		switch {
		case errors.Is(err, ErrRefreshDenied):
			if err := s.endSession(ctx, tc.sub, tc.fid); err != nil {
				return fromCookie, err
			}
			return fromCookie, refreshDenied
		case err != nil:
			return fromCookie, fmt.Errorf("%w: refresh check: %w", ErrUnavailable, err)
		}
	}
	rot, err := s.store.Rotate(ctx, tc.iss, tc.fid, tc.jti, RefreshUse{
		At: now, ReuseInterval: s.reuseInterval,
		TokenUntil: tc.exp.Add(s.issuer.leeway), FamilyUntil: familyUntil,
	})
	if err != nil {
		return fromCookie, storeError(err)
	}
	switch rot {
	case RotationOK, RotationReplayed:
		// A replay within the interval gets a sibling: the same family,
		// fresh identifiers.
	case RotationReused:
		// The family is revoked: the session leaves the list. Best effort:
		// the answer is 401 either way, and a record left behind ends
		// with its refresh token.
		_ = s.store.DeleteSession(ctx, tc.iss, tc.sub, tc.fid)
		return fromCookie, refreshReused
	default:
		return fromCookie, familyRevoked
	}
	pair, err := s.issuer.issueBound(ctx, tc.sub, claims, tc.fid, jkt, bounds)
	if err != nil {
		return fromCookie, fmt.Errorf("%w: %w", errInternal, err)
	}
	if err := s.touchSession(ctx, tc, now, pair); err != nil {
		return fromCookie, err
	}
	s.mw.dpop.setNonce(w, r, nil)
	return fromCookie, s.writePair(w, pair, s.refreshInCookies(fromCookie))
}
