package jwtguard

import (
	"context"
	"errors"
	"net/http"
)

// LogoutHandler returns the logout endpoint, a POST. It revokes what the
// request presents: the access token (Authorization header or, in cookie
// mode, the access cookie), whose family is revoked and whose jti is
// revoked until its exp; and the refresh token (refresh_token in a JSON or
// form body, or the refresh cookie), whose family is revoked. Revoking a
// family ends every token of that login session, and the session leaves
// the session list. It clears the token cookies and answers 204.
//
// The query parameter scope widens it: scope=local (the default) is the
// above; scope=others ends every other session of the user
// ([Sessions.EndOtherSessions]) and keeps the presented one, its tokens and
// its cookies; scope=global signs the user out everywhere
// ([Sessions.RevokeSubject]), the presented session included. Any other
// scope is answered 400. A token that is itself revoked cannot widen a
// logout: others and global need a presented token that is not (401
// otherwise).
//
// At least one of the two tokens must verify (an already revoked one does:
// logging out twice is harmless); otherwise it answers 401 as the
// middleware would, and still clears the cookies. A refresh token sent in
// the Authorization header, with none in the body or the refresh cookie,
// is answered 400 invalid_request as at the refresh endpoint ("the refresh
// token goes in the body as refresh_token, not in the Authorization
// header"), and ends nothing. A request authenticated
// by a cookie must pass the CSRF defence (403), and only a request that
// passes it has its cookies cleared, whatever the answer: a cross-site form
// cannot log a browser out.
//
// With [WithDPoP] among the access options, a DPoP-bound token counts only
// with a proof by its key, as at a resource: the access token under the
// DPoP scheme, "Authorization: DPoP <token>", with a DPoP proof for this
// request (htm POST, htu the logout URL, ath), checked by the middleware's
// own checks (its jti recorded, its nonce required with [DPoPNonces]); a
// bound refresh token with the same proof, or, sent without an access
// token, with a proof as at the refresh endpoint (no ath). A bound token as
// a bearer token, or with no proof or another key's, ends nothing: 401
// with a DPoP challenge (invalid_token, invalid_dpop_proof or
// use_dpop_nonce), and 400 for a DPoP header beside a bearer token. With
// [DPoPRequired], an unbound access token is refused as at a resource; an
// unbound refresh token still logs its session out.
//
// When the store fails it answers 503 and leaves the cookies. A 503 may
// have been applied in whole, in part or not at all (the store may have
// recorded a revocation whose answer was lost); the families go first, so
// a partial logout has already ended the session's tokens wherever the
// store's revocations are seen. The client retries with the same tokens:
// the retry revokes what is left and answers 204.
func (s *Sessions) LogoutHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header()["Cache-Control"] = noStore
		scope, err := s.logout(w, r)
		// The cookies go only for a request that passes the CSRF defence
		// (a cross-site form carries no SameSite cookie, and must not
		// clear them either), and not when it was refused before anything
		// was looked at or the store failed: then the client keeps them
		// to try again, since not everything may have been revoked. A
		// logout of the others keeps this session's cookies, unless its
		// tokens were refused.
		keep := scope == "" || scope == logoutOthers && !errors.Is(err, ErrInvalidToken)
		if s.mode != bodyOnly && !keep && s.mw.csrf.check(r) == nil &&
			!errors.Is(err, errMethod) && !errors.Is(err, ErrCrossOrigin) && !errors.Is(err, ErrUnavailable) {
			s.cookies.clear(w)
		}
		if err != nil {
			if dpopCode(err) != "" {
				// As at a resource (RFC 9449 §7.1): 401 and a DPoP
				// challenge, not the 400 of the token endpoints.
				s.mw.fail(w, r, err)
				return
			}
			s.fail(w, r, err)
			return
		}
		s.mw.dpop.setNonce(w, r, nil)
		w.WriteHeader(http.StatusNoContent)
	})
}

// logout does the logout and returns its scope ("" when the request was
// refused before the scope was read).
func (s *Sessions) logout(w http.ResponseWriter, r *http.Request) (string, error) {
	if err := post(r); err != nil {
		return "", err
	}
	scope, err := s.logoutScope(r)
	if err != nil {
		return "", err
	}
	return scope, s.logoutScoped(w, r, scope)
}

func (s *Sessions) logoutScoped(w http.ResponseWriter, r *http.Request, scope string) error {
	ctx := r.Context()
	accessTC, refreshTC, err := s.presented(w, r)
	if err != nil {
		return err
	}
	now := s.issuer.clock()
	familyUntil := now.Add(s.issuer.refreshTTL + s.issuer.leeway)
	if scope != logoutLocal {
		if err := s.logoutWide(ctx, scope, accessTC, refreshTC); err != nil || scope == logoutOthers {
			return err
		}
	}
	// The families first: revoking one ends every token of the session,
	// so a logout cut short after it has done what matters most. Each
	// step may be repeated: a retry after a 503 does them all again.
	for _, tc := range []*tokenClaims{accessTC, refreshTC} {
		if tc != nil && tc.fid != "" {
			if err := s.store.RevokeFamily(ctx, tc.iss, tc.fid, familyUntil); err != nil {
				return storeError(err)
			}
		}
	}
	// Then the sessions leave the list (and the store).
	for _, tc := range []*tokenClaims{accessTC, refreshTC} {
		if tc != nil && tc.fid != "" && tc.sub != "" {
			if err := s.store.DeleteSession(ctx, tc.iss, tc.sub, tc.fid); err != nil {
				return storeError(err)
			}
		}
	}
	if accessTC != nil && accessTC.jti != "" {
		// Revoked until it expires on its own.
		if err := s.store.Revoke(ctx, accessTC.iss, accessTC.jti, accessTC.exp.Add(s.issuer.leeway)); err != nil {
			return storeError(err)
		}
	}
	return nil
}

// presented finds and verifies the tokens a logout request presents, and
// returns those that count (nil for one absent or refused), or, when
// neither does, the error that refused the access token, or else the
// refresh token's. A revoked token counts: logging out twice is harmless.
//
// The access token comes from the Authorization header or, in cookie mode,
// the access cookie (which must pass the CSRF defence). With DPoP on, it
// counts as at the middleware: under the DPoP scheme with a proof by the
// key it is bound to (checked by the middleware's own checks, its jti
// recorded), as a bearer token only if it is not bound and the mode is not
// [DPoPRequired]. The refresh token (body or refresh cookie) counts when it
// is not bound, or with a proof by its key: the one that proved the access
// token, or, without an access token under the DPoP scheme, the request's
// proof as at the token endpoints (no ath).
func (s *Sessions) presented(w http.ResponseWriter, r *http.Request) (access, refresh *tokenClaims, err error) {
	ctx := r.Context()
	g := s.mw.dpop
	var token, proof string
	source := SourceHeader
	if g != nil {
		if token, proof, err = g.schemeToken(s.mw, r); err != nil {
			return nil, nil, err
		}
	}
	scheme := token != "" // under the DPoP scheme
	if !scheme {
		token, source, err = extract(s.mw.extractors, r)
		if err != nil && err != ErrNoToken {
			return nil, nil, err
		}
		if g != nil && token != "" && len(r.Header["Dpop"]) > 0 {
			return nil, nil, errDPoPWithBearer
		}
	}
	if source == SourceCookie {
		if err := s.mw.csrf.check(r); err != nil {
			return nil, nil, err
		}
	}
	refreshToken, _, err := s.refreshToken(w, r, "")
	if err != nil {
		return nil, nil, err
	}

	var b binding
	access, accessErr := verifyLifecycle(withBinding(ctx, &b), s.issuer.access, token)
	proven := "" // the key the proof proved for the access token
	if access != nil && g != nil {
		switch {
		case scheme:
			if accessErr = g.prove(s.mw, r, proof, token, b.jkt); accessErr == nil {
				proven = b.jkt
			}
		case b.bound:
			accessErr = errDPoPBearerBound
		case g.mode == DPoPRequired:
			accessErr = errDPoPBearer
		}
		if accessErr != nil {
			access = nil
		}
	}
	refresh, refreshErr := verifyLifecycle(ctx, s.issuer.refresh, refreshToken)
	if refresh != nil {
		if refreshErr = s.logoutRefreshProof(r, refresh, scheme, proven); refreshErr != nil {
			refresh = nil
		}
	}
	if access == nil && refresh == nil {
		if accessErr != ErrNoToken {
			if refreshToken == "" && !scheme && source == SourceHeader && errors.Is(accessErr, ErrTokenType) {
				if _, err := verifyLifecycle(ctx, s.issuer.refresh, token); err == nil {
					// A refresh token in the Authorization header: 400
					// saying where it goes, as at the refresh endpoint.
					return nil, nil, s.noRefreshToken(r)
				}
			}
			return nil, nil, accessErr
		}
		return nil, nil, refreshErr
	}
	return access, refresh, nil
}

// verifyLifecycle verifies token with one of the issuer's verifiers; an
// empty token is ErrNoToken.
func verifyLifecycle(ctx context.Context, mw *Middleware, token string) (*tokenClaims, error) {
	v, err := mw.Verify(ctx, token)
	if err != nil {
		return nil, err
	}
	return v.(*tokenClaims), nil
}
