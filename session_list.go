package jwtguard

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"
)

// ErrSessionNotFound is returned by [Sessions.EndSession] for an id that
// is not a live session of the subject: ended, expired, never started, or
// another subject's. The session handlers answer it with 404.
var ErrSessionNotFound = errors.New("jwtguard: session not found")

// ListSessions returns the live sessions of subject, oldest first: one per
// login not yet ended (by a logout, [Sessions.EndSession],
// [Sessions.RevokeSubject] or reuse of a refresh token) nor over (its
// refresh token expired, or its maximum age passed). Sessions started
// before this version recorded sessions are not listed.
func (s *Sessions) ListSessions(ctx context.Context, subject string) ([]Session, error) {
	list, err := s.store.ListSessions(ctx, s.issuer.iss, subject)
	if err != nil {
		return nil, storeError(err)
	}
	return list, nil
}

// EndSession ends the session id of subject: it revokes its family, so
// that its refresh token and its access tokens are refused from then on,
// wherever the store's revocations are seen, and forgets the session. An id
// that is not a live session of subject gets [ErrSessionNotFound] and ends
// nothing. A store failure matches [ErrUnavailable]; the session may then
// have been ended in part (its family revoked, its record still listed),
// and calling again completes it.
func (s *Sessions) EndSession(ctx context.Context, subject, id string) error {
	list, err := s.ListSessions(ctx, subject)
	if err != nil {
		return err
	}
	for _, sess := range list {
		if sess.ID == id {
			return s.endSession(ctx, subject, id)
		}
	}
	return ErrSessionNotFound
}

// EndOtherSessions ends every live session of subject except those whose
// id is in keep (the caller's own, to sign out everywhere else), as
// [Sessions.EndSession] ends one.
func (s *Sessions) EndOtherSessions(ctx context.Context, subject string, keep ...string) error {
	list, err := s.ListSessions(ctx, subject)
	if err != nil {
		return err
	}
next:
	for _, sess := range list {
		for _, k := range keep {
			if sess.ID == k {
				continue next
			}
		}
		if err := s.endSession(ctx, subject, sess.ID); err != nil {
			return err
		}
	}
	return nil
}

// endSession revokes the family of session id, then forgets the session:
// in that order, so that a failure in between leaves a session listed but
// ended, never one gone from the list but alive.
func (s *Sessions) endSession(ctx context.Context, subject, id string) error {
	until := s.issuer.clock().Add(s.issuer.refreshTTL + s.issuer.leeway)
	if err := s.store.RevokeFamily(ctx, s.issuer.iss, id, until); err != nil {
		return storeError(err)
	}
	if err := s.store.DeleteSession(ctx, s.issuer.iss, subject, id); err != nil {
		return storeError(err)
	}
	return nil
}

// caller authenticates a request to the session routes with the sessions'
// middleware (revocations, CSRF defence, DPoP and all), and reads the
// subject and family of its access token, and where the token came from;
// on failure it has answered.
func (s *Sessions) caller(w http.ResponseWriter, r *http.Request) (*tokenClaims, Source, bool) {
	if _, err := s.mw.Check(r); err != nil {
		s.mw.fail(w, r, err)
		return nil, 0, false
	}
	s.mw.dpop.setNonce(w, r, nil)
	// The token has verified with the sessions' middleware, whatever its
	// claims type; the issuer's own verifier reads the claims the
	// handlers act on.
	token, source := s.mw.presentedToken(r)
	tc, err := verifyLifecycle(r.Context(), s.issuer.access, token)
	if err == nil && tc.sub == "" {
		err = errEmptyClaims
	}
	if err != nil {
		s.mw.fail(w, r, err)
		return nil, 0, false
	}
	return tc, source, true
}

var (
	// errNoSessionID is a bug of the application: the handler's route
	// pattern has no {id} wildcard.
	errNoSessionID  = fmt.Errorf("%w: EndSessionHandler: the route pattern must name the session {id}, e.g. DELETE /sessions/{id}", errInternal)
	allowGet        = []string{"GET, HEAD"}
	allowDelete     = []string{http.MethodDelete}
	notFoundSession = body("not_found", "no such session of this user")
)

// ListSessionsHandler returns the endpoint that lists the caller's
// sessions, a GET authenticated by an access token as
// [Sessions.Middleware] authenticates it. It answers 200 with
//
//	{"sessions": [{"id": "…", "created_at": "2026-01-02T15:04:05Z",
//	  "last_used_at": "…", "expires_at": "…", "current": true,
//	  "user_agent": "…"}]}
//
// oldest first: every live session of the token's subject, and of no other
// subject, with its times in RFC 3339 (UTC), "current" true for the
// session of the token that asked, and the session's metadata
// ([WithSessionMetadata]) as further string members. Errors are those of
// the middleware (401, 503), and 405 for another method. Answers carry
// Cache-Control: no-store. With [WithDPoP], a DPoP-bound access token comes
// under the DPoP scheme with a proof for this request, as at any route of
// [Sessions.Handler].
func (s *Sessions) ListSessionsHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header()["Cache-Control"] = noStore
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			s.failMethod(w, r, allowGet)
			return
		}
		tc, _, ok := s.caller(w, r)
		if !ok {
			return
		}
		list, err := s.ListSessions(r.Context(), tc.sub)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		out := make([]map[string]any, 0, len(list))
		for _, sess := range list {
			m := make(map[string]any, len(sess.Metadata)+5)
			for k, v := range sess.Metadata {
				m[k] = v
			}
			m["id"] = sess.ID
			m["created_at"] = rfc3339(sess.CreatedAt)
			m["last_used_at"] = rfc3339(sess.LastUsedAt)
			m["expires_at"] = rfc3339(sess.ExpiresAt)
			m["current"] = sess.ID == tc.fid
			out = append(out, m)
		}
		b, err := json.Marshal(map[string]any{"sessions": out})
		if err != nil {
			s.fail(w, r, fmt.Errorf("%w: %w", errInternal, err))
			return
		}
		w.Header()["Content-Type"] = contentTypeJSON
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(append(b, '\n'))
	})
}

// rfc3339 formats t in UTC, whole seconds.
func rfc3339(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// EndSessionHandler returns the endpoint that ends one of the caller's
// sessions, a DELETE authenticated by an access token as
// [Sessions.Middleware] authenticates it (with the CSRF defence when the
// token comes from a cookie). The session's id is the path value "id":
// register it with a pattern such as
//
//	mux.Handle("DELETE /api/v1/auth/sessions/{id}", sessions.EndSessionHandler())
//
// It ends the session as [Sessions.EndSession] does and answers 204: from
// then on the session's refresh token and access tokens are refused. An id
// that is not a live session of the token's subject is answered 404
// {"error": "not_found"}, whether it is another user's, ended, or never
// existed. The wildcard must be named id: mounted with a pattern that has
// no {id} (such as {sid}), every request is answered 500 server_error, and
// the failure hook and the logger get a reason that says so. Ending the caller's own session with a token from the access
// cookie clears the token cookies. Errors are otherwise those of the
// middleware (401, 403, 503), and 405 for another method. Answers carry
// Cache-Control: no-store. With [WithDPoP], a DPoP-bound access token comes
// under the DPoP scheme with a proof for this request (htm DELETE).
func (s *Sessions) EndSessionHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header()["Cache-Control"] = noStore
		if r.Method != http.MethodDelete {
			s.failMethod(w, r, allowDelete)
			return
		}
		id := r.PathValue("id")
		if id == "" {
			s.fail(w, r, errNoSessionID)
			return
		}
		tc, source, ok := s.caller(w, r)
		if !ok {
			return
		}
		err := s.EndSession(r.Context(), tc.sub, id)
		switch {
		case errors.Is(err, ErrSessionNotFound):
			s.mw.report(r, err, http.StatusNotFound)
			w.Header()["Content-Type"] = contentTypeJSON
			w.WriteHeader(http.StatusNotFound)
			_, _ = w.Write(notFoundSession)
		case err != nil:
			s.fail(w, r, err)
		default:
			if id == tc.fid && source == SourceCookie {
				s.cookies.clear(w)
			}
			w.WriteHeader(http.StatusNoContent)
		}
	})
}

// failMethod answers 405 with Allow: allow.
func (s *Sessions) failMethod(w http.ResponseWriter, r *http.Request, allow []string) {
	s.mw.report(r, errMethod, http.StatusMethodNotAllowed)
	h := w.Header()
	h["Allow"] = allow
	h["Content-Type"] = contentTypeJSON
	h["Cache-Control"] = noStore
	w.WriteHeader(http.StatusMethodNotAllowed)
	_, _ = w.Write(methodBody)
}
