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
// middleware would, and still clears the cookies. A request authenticated
// by a cookie must pass the CSRF defence (403), and only a request that
// passes it has its cookies cleared, whatever the answer: a cross-site form
// cannot log a browser out.
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
			s.fail(w, r, err)
			return
		}
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
	access, source, err := extract(s.mw.extractors, r)
	if err != nil && err != ErrNoToken {
		return err
	}
	if source == SourceCookie {
		if err := s.mw.csrf.check(r); err != nil {
			return err
		}
	}
	refresh, _, err := s.refreshToken(w, r, "")
	if err != nil {
		return err
	}

	now := s.issuer.clock()
	familyUntil := now.Add(s.issuer.refreshTTL + s.issuer.leeway)
	accessTC, accessErr := verifyLifecycle(ctx, s.issuer.access, access)
	refreshTC, refreshErr := verifyLifecycle(ctx, s.issuer.refresh, refresh)
	if accessTC == nil && refreshTC == nil {
		if accessErr != ErrNoToken {
			return accessErr
		}
		return refreshErr
	}
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

// verifyLifecycle verifies token with one of the issuer's verifiers; an
// empty token is ErrNoToken.
func verifyLifecycle(ctx context.Context, mw *Middleware, token string) (*tokenClaims, error) {
	v, err := mw.Verify(ctx, token)
	if err != nil {
		return nil, err
	}
	return v.(*tokenClaims), nil
}
