package jwtguard

import (
	"context"
	"errors"
	"net/http"
	"time"
)

// RevokeSubject signs subject out everywhere: every token of subject issued
// until now, access and refresh, of every session, is refused from then on,
// by the middleware and the refresh handler of every instance that shares
// the store, and every session of subject ends (its family is revoked and
// it leaves the list). Tokens issued afterwards work: log the user in again
// with [Sessions.Login] (or the login handler). Use it when the user signs
// out everywhere, changes the password, or is disabled.
//
// It records in the store that the subject's tokens are valid only if
// issued at or after the current second (their iat, whole seconds, is not
// before it), which the middleware compares on every request without a
// round trip (the Redis store reads it from its mirror), then ends the
// subject's sessions one by one. A token issued within the same second as
// the revocation, before it, is refused through its session; one that
// belongs to no session (minted with [Issuer.Issue] directly) is not.
//
// A store failure matches [ErrUnavailable]; the revocation may have been
// applied in whole or in part, and calling again completes it.
func (s *Sessions) RevokeSubject(ctx context.Context, subject string) error {
	if subject == "" {
		return errors.New("jwtguard: RevokeSubject: empty subject")
	}
	now := s.issuer.clock()
	// Every token issued before now expires by now plus the refresh
	// lifetime: the revocation is forgotten after that.
	until := now.Add(s.issuer.refreshTTL + s.issuer.leeway)
	if err := s.store.RevokeSubject(ctx, s.issuer.iss, subject, now.Truncate(time.Second), until); err != nil {
		return storeError(err)
	}
	return s.EndOtherSessions(ctx, subject)
}

// Scopes of a logout (RFC-less, as Supabase Auth's logout?scope=).
const (
	logoutLocal  = "local"  // the presented session
	logoutOthers = "others" // every session of the user but the presented one
	logoutGlobal = "global" // every session and token of the user
)

// Answers to a logout whose scope cannot be applied, 400 invalid_request.
var (
	errLogoutScope = badRequest("scope must be local, others or global")
	errTwoSubjects = badRequest("the access and refresh tokens belong to different users")
	errNoSession   = badRequest("scope=others needs a token of a session (with a fid claim)")
)

// logoutScope reads the scope query parameter: local when absent.
func (s *Sessions) logoutScope(r *http.Request) (string, error) {
	switch v := r.URL.Query()["scope"]; {
	case len(v) == 0:
		return logoutLocal, nil
	case len(v) > 1:
		return "", errLogoutScope
	default:
		switch v[0] {
		case logoutLocal, logoutOthers, logoutGlobal:
			return v[0], nil
		}
		return "", errLogoutScope
	}
}

// logoutWide ends more than the presented session, for scope others or
// global, on behalf of the user of the presented tokens (nil for absent),
// at least one of which has verified. A token that is itself revoked does
// not count: a token stolen from a session that has ended cannot end the
// user's other sessions.
func (s *Sessions) logoutWide(ctx context.Context, scope string, tokens ...*tokenClaims) error {
	var live []*tokenClaims
	var refused error
	subject := ""
	for _, tc := range tokens {
		if tc == nil {
			continue
		}
		if tc.sub == "" {
			return errEmptyClaims
		}
		if subject != "" && tc.sub != subject {
			return errTwoSubjects
		}
		subject = tc.sub
		if err := s.notRevoked(ctx, tc); err != nil {
			if !errors.Is(err, ErrRevoked) {
				return err
			}
			refused = err
			continue
		}
		live = append(live, tc)
	}
	if len(live) == 0 {
		return refused
	}
	if scope == logoutGlobal {
		return s.RevokeSubject(ctx, subject)
	}
	var keep []string
	for _, tc := range live {
		if tc.fid != "" {
			keep = append(keep, tc.fid)
		}
	}
	if len(keep) == 0 {
		return errNoSession
	}
	return s.EndOtherSessions(ctx, subject, keep...)
}

// notRevoked checks tc against the store as the middleware checks a token:
// its jti, its family and its subject.
func (s *Sessions) notRevoked(ctx context.Context, tc *tokenClaims) error {
	ids := revocationIDs{iss: tc.iss, jti: tc.jti, fid: tc.fid, sub: tc.sub, hasFID: tc.fid != ""}
	if !tc.iat.IsZero() {
		ids.iat, ids.hasIat = float64(tc.iat.Unix()), true
	}
	return s.mw.isRevoked(ctx, ids)
}
