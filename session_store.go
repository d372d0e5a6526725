package jwtguard

import (
	"cmp"
	"context"
	"slices"
	"time"
)

// Session is one login of a subject: the refresh token family a login
// starts, from the login to its end. [Sessions] records one at every login
// and lists them with [Sessions.ListSessions].
type Session struct {
	// ID is the session's identifier: the family id, claim "fid" of every
	// token of the session.
	ID string

	// Subject is the sub claim of the session's tokens.
	Subject string

	// CreatedAt is when the user logged in, on the issuer's clock: the
	// auth_time claim of every token of the session (RFC 9068 §2.2.1) is
	// this time in whole seconds. Stores keep it to the millisecond at
	// least, so that sessions started within one second are listed in the
	// order they started.
	CreatedAt time.Time

	// LastUsedAt is when the session last refreshed, or CreatedAt before
	// its first refresh.
	LastUsedAt time.Time

	// ExpiresAt is the exp of the session's current refresh token: the
	// session ends then unless it is refreshed first, and never later than
	// CreatedAt plus the maximum age ([WithSessionMaxAge]).
	ExpiresAt time.Time

	// Metadata is what the application attached at login
	// ([WithSessionMetadata]): by default the request's User-Agent, under
	// "user_agent". The store keeps it as it is; nil for none.
	Metadata map[string]string
}

// SessionStore is the part of a [Store] that [Sessions] needs to sign a
// subject out everywhere and to list and end its sessions. It is keyed, as
// the rest of a Store, on identifiers from the tokens' claims: the issuer
// and the subject, and a session's id (its family id). Every entry has an
// end time after which the store forgets it, so that its size follows the
// sessions alive.
//
// A subject's revocation ([SessionStore.RevokeSubject]) is read by the
// middleware on every request, like [Store.IsRevoked]; a shared store must
// answer it without a round trip to keep requests cheap (the Redis store
// reads it from its local mirror). The session records are read and written
// only by the handlers: at login, refresh, logout and on the sessions
// routes.
type SessionStore interface {
	// RevokeSubject refuses, from now on, every token of the subject
	// (iss, sub) issued before validAfter (its iat is before validAfter),
	// until until: the time by which every such token has expired anyway.
	// Revoking again keeps the later validAfter and the later until; it
	// never shortens a revocation nor moves validAfter back.
	RevokeSubject(ctx context.Context, iss, sub string, validAfter, until time.Time) error

	// IsSubjectRevoked reports whether a token of (iss, sub) issued at
	// issuedAt (its iat) is refused now by RevokeSubject: issuedAt is
	// before the subject's validAfter. The zero time stands for a token
	// without iat, which is before every validAfter.
	IsSubjectRevoked(ctx context.Context, iss, sub string, issuedAt time.Time) (bool, error)

	// StartSession records s, a session of issuer iss, until until (the
	// exp of its refresh token plus the leeway), replacing any record of
	// the same (iss, s.Subject, s.ID).
	StartSession(ctx context.Context, iss string, s Session, until time.Time) error

	// TouchSession records a refresh of the session (iss, sub, id): its
	// LastUsedAt and ExpiresAt, and its new end until. A session that is
	// not held (ended, expired, or never recorded) stays absent: a touch
	// never brings one back.
	TouchSession(ctx context.Context, iss, sub, id string, lastUsed, expires, until time.Time) error

	// ListSessions returns the sessions of (iss, sub) held and not over,
	// oldest first (by CreatedAt, kept to the millisecond at least, then
	// ID: see [SortSessions]); none is not an error.
	ListSessions(ctx context.Context, iss, sub string) ([]Session, error)

	// DeleteSession forgets the session (iss, sub, id). Deleting one that
	// is not held is not an error. It revokes nothing by itself:
	// [Sessions] revokes the session's family first.
	DeleteSession(ctx context.Context, iss, sub, id string) error
}

// SortSessions orders sessions as [SessionStore.ListSessions] returns
// them: oldest first, by CreatedAt, then by ID. Stores of other packages
// use it.
func SortSessions(ss []Session) {
	slices.SortFunc(ss, func(a, b Session) int {
		if c := a.CreatedAt.Compare(b.CreatedAt); c != 0 {
			return c
		}
		return cmp.Compare(a.ID, b.ID)
	})
}
