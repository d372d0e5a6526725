package jwtguard

import (
	"context"
	"fmt"
	"math"
	"reflect"
	"time"
)

// A Store keeps the server-side state of the token lifecycle: revoked
// tokens, refresh tokens already used, and revoked refresh token families.
// [NewMemoryStore] is the in-process implementation; a shared store (Redis)
// lets several instances of a service agree.
//
// Every entry is keyed on the issuer and an identifier taken from the
// token's claims, (iss, jti) or (iss, family), never on the token bytes:
// signatures and base64url are malleable, identifiers are not. Every entry
// has an end time, after which the store may forget it, because the token
// it is about can no longer verify by then; that is what keeps a store's
// size bounded by the tokens alive, not by all tokens ever issued.
//
// Methods are called concurrently and must be safe for that. An error means
// "unknown", never "not revoked": callers fail closed ([ErrUnavailable],
// 503). Implementations must not hold the context beyond the call.
type Store interface {
	// Revoke marks the token (iss, jti) revoked until until (its exp plus
	// the verifier's leeway). Revoking a token again keeps the later of the
	// two times; it never shortens a revocation.
	Revoke(ctx context.Context, iss, jti string, until time.Time) error

	// IsRevoked reports whether (iss, jti) is revoked now.
	IsRevoked(ctx context.Context, iss, jti string) (bool, error)

	// Rotate records, in one atomic step, a use of the refresh token
	// (iss, jti) of family (iss, family) at use.At, and returns what the
	// caller may do:
	//
	//   - family revoked: nothing changes; return [RotationRevoked].
	//   - jti unused: mark it used until use.TokenUntil, recording use.At
	//     as its first use; return [RotationOK].
	//   - jti used, and use.At less than use.ReuseInterval away from its
	//     first use (before or after it): nothing changes; return
	//     [RotationReplayed].
	//   - jti used otherwise: revoke the family until use.FamilyUntil
	//     (keeping a later end time if there is one); return
	//     [RotationReused].
	//
	// Exactly one of any number of concurrent calls for one jti, on any
	// number of instances sharing the store, returns RotationOK; the others
	// return RotationReplayed or RotationReused by the rule above. The
	// decision uses use.At, the caller's clock, never the store's (nor
	// Redis's), so that a test clock decides it too. With ReuseInterval 0
	// every second use is reuse, and a store that never returns
	// RotationReplayed is that strict. On Redis this is one Lua script over
	// two keys that share a hash tag; the keys expire at the Until times.
	Rotate(ctx context.Context, iss, family, jti string, use RefreshUse) (Rotation, error)

	// RevokeFamily marks the refresh token family (iss, family) revoked
	// until until: its refresh tokens can no longer be rotated and access
	// tokens that name the family are refused. Like Revoke, it never
	// shortens a revocation.
	RevokeFamily(ctx context.Context, iss, family string, until time.Time) error

	// IsFamilyRevoked reports whether (iss, family) is revoked now.
	IsFamilyRevoked(ctx context.Context, iss, family string) (bool, error)

	// SessionStore revokes every token of a subject at once and keeps
	// the subject's sessions, for [Sessions].
	SessionStore
}

// RefreshUse describes one use of a refresh token to [Store.Rotate]: when
// it happened, how long after the first use a replay is still honest, and
// how long the store must remember what it records. It is a struct so that
// what a store is told about a refresh can grow without changing the
// method's signature.
type RefreshUse struct {
	// At is the time of this use, from the issuer's clock. The first use's
	// At is recorded with the token and decides whether a later use is a
	// replay within the interval.
	At time.Time

	// ReuseInterval is how long after (or before) the first use a use of
	// the same refresh token is answered [RotationReplayed] rather than
	// [RotationReused]; 0 makes every second use reuse. See
	// [WithReuseInterval].
	ReuseInterval time.Duration

	// TokenUntil is the refresh token's exp plus leeway: after it the token
	// fails verification on its own, and the store may forget its use.
	TokenUntil time.Time

	// FamilyUntil is the latest time a token of the family can still
	// verify (At plus the refresh lifetime plus leeway): the end of a
	// revocation for reuse.
	FamilyUntil time.Time
}

// replayed reports whether at is less than interval away from first, on
// either side: instances' clocks differ a little, and a replay on an
// instance whose clock is behind is still a replay.
func replayed(at, first time.Time, interval time.Duration) bool {
	d := at.Sub(first)
	return d < interval && -d < interval
}

// Rotation is the outcome of [Store.Rotate].
type Rotation int

const (
	// RotationOK means the refresh token was unused and is now used: the
	// caller may issue the next pair of the family.
	RotationOK Rotation = iota + 1
	// RotationReused means the refresh token had been used before: a sign
	// that it was stolen (RFC 9700 §4.14.2). The store has revoked the
	// family.
	RotationReused
	// RotationRevoked means the family was revoked already.
	RotationRevoked
	// RotationReplayed means the refresh token had been used, and this use
	// is within the reuse interval of the first one: a second browser tab,
	// or a client retrying a refresh whose answer it never got. Nothing
	// changed; the caller may issue another pair of the family, a sibling
	// of the one the first use got.
	RotationReplayed
)

// String returns the outcome's name.
func (r Rotation) String() string {
	switch r {
	case RotationOK:
		return "ok"
	case RotationReused:
		return "reused"
	case RotationRevoked:
		return "revoked"
	case RotationReplayed:
		return "replayed"
	}
	return fmt.Sprintf("Rotation(%d)", int(r))
}

// WithStore makes the middleware consult s after a token verifies: a token
// whose (iss, jti) is revoked, whose family (claim "fid") is revoked, or
// whose subject was revoked after it was issued ([Sessions.RevokeSubject]:
// its iat is before the subject's revocation), is refused with 401
// invalid_token ([ErrRevoked]); a token without a jti is
// refused too ([ErrMissingClaim]), since it could never be revoked. When s
// returns an error the request fails closed with 503 ([ErrUnavailable]).
// Default: no store, no revocation; then a token of a refresh token family
// (claim "fid", as an [Issuer] mints) is refused, since its logout could
// not be seen (see [WithInsecureNoRevocationCheck]).
func WithStore(s Store) Option {
	return func(c *config) {
		switch {
		case s == nil:
			c.errs = append(c.errs, fmt.Errorf("WithStore: nil store"))
		case nilStore(s):
			c.errs = append(c.errs, fmt.Errorf("WithStore: nil %T store: pass the store itself", s))
		}
		c.store = s
	}
}

// nilStore reports whether s holds a nil pointer (or another nil value), a
// typed nil such as (*MemoryStore)(nil), whose methods would panic at the
// first request.
func nilStore(s Store) bool {
	v := reflect.ValueOf(s)
	switch v.Kind() {
	case reflect.Pointer, reflect.Map, reflect.Func, reflect.Slice, reflect.Chan, reflect.Interface:
		return v.IsNil()
	}
	return false
}

// WithInsecureNoRevocationCheck makes a middleware without [WithStore]
// accept the tokens of refresh token families (claim "fid", as an [Issuer]
// mints) without checking for logouts: a token stays valid until it
// expires, whatever the user did. Use it only for a service that cannot
// reach the store of the [Sessions] that issue the tokens and accepts that
// delay (the access lifetime, 30 minutes by default).
//
// Without it, a middleware that has no store refuses such tokens with 503
// ([ErrUnavailable]) and a reason that says what to do, so that a route
// guarded by [New] next to a [Sessions] cannot go on accepting the tokens
// of a session that logged out: protect such routes with
// [Sessions.Handler], or give the middleware the sessions' store. Tokens
// without a fid claim (from other issuers) are never affected. It has no
// effect together with WithStore.
func WithInsecureNoRevocationCheck() Option {
	return func(c *config) { c.noRevocationCheck = true }
}

// errNoStore refuses a token of a family in a middleware that cannot see
// its logout.
var errNoStore = fmt.Errorf("%w: the token belongs to a refresh token family (claim fid), as an Issuer mints, "+
	"and this middleware has no store to see its logout: protect the route with Sessions.Handler, "+
	"or add WithStore with the sessions' store (or WithInsecureNoRevocationCheck to accept it until it expires)", ErrUnavailable)

// checkRevoked asks the store about a token that has verified; text is the
// payload string of default claims, or "".
func (m *Middleware) checkRevoked(ctx context.Context, cv *claimView, text string) error {
	if m.store == nil {
		if cv.hasFID && !m.noRevocationCheck {
			return errNoStore
		}
		return nil
	}
	if !cv.hasJTI || len(cv.jti.b) == 0 {
		return errNoJTI
	}
	iss, jti, fid, sub := cv.ids(text)
	return m.isRevoked(ctx, revocationIDs{iss: iss, jti: jti, fid: fid, sub: sub,
		hasFID: cv.hasFID, iat: cv.iat, hasIat: cv.hasIat})
}

// ids returns iss, jti, fid and sub as strings for the store, which takes
// strings: four conversions were four allocations on the request path.
// With default claims they are cut from text, the payload string their
// strings already share (no allocation); with text "" they come from one
// allocation. (text is a parameter, not a field of claimView: escape
// analysis does not tell fields apart, and returning a field's substrings
// would move the stack buffer the spans point into to the heap.)
func (cv *claimView) ids(text string) (iss, jti, fid, sub string) {
	if text != "" || cv.iss.escaped || cv.jti.escaped || cv.fid.escaped || cv.sub.escaped {
		return cv.iss.in(text), cv.jti.in(text), cv.fid.in(text), cv.sub.in(text)
	}
	var buf [256]byte
	all := string(append(append(append(append(buf[:0], cv.iss.b...), cv.jti.b...), cv.fid.b...), cv.sub.b...))
	i, j, k := len(cv.iss.b), len(cv.iss.b)+len(cv.jti.b), len(cv.iss.b)+len(cv.jti.b)+len(cv.fid.b)
	return all[:i], all[i:j], all[j:k], all[k:]
}

// revocationIDs is what the store is asked about a verified token.
type revocationIDs struct {
	iss, jti, fid, sub string
	hasFID             bool    // fid claim present: the family is asked about
	iat                float64 // Unix seconds
	hasIat             bool
}

// isRevoked asks the store about the token (iss, jti), its family (iss,
// fid) when it has one, and its subject (iss, sub) when it has one.
func (m *Middleware) isRevoked(ctx context.Context, ids revocationIDs) error {
	revoked, err := m.store.IsRevoked(ctx, ids.iss, ids.jti)
	if err != nil {
		return storeError(err)
	}
	if !revoked && ids.hasFID {
		revoked, err = m.store.IsFamilyRevoked(ctx, ids.iss, ids.fid)
		if err != nil {
			return storeError(err)
		}
	}
	if !revoked && ids.sub != "" {
		var issued time.Time // zero: no iat, before any revocation
		if ids.hasIat {
			issued = secondsTime(ids.iat)
		}
		revoked, err = m.store.IsSubjectRevoked(ctx, ids.iss, ids.sub, issued)
		if err != nil {
			return storeError(err)
		}
	}
	if revoked {
		return errRevoked
	}
	return nil
}

// secondsTime converts NumericDate seconds to a time without allocating.
func secondsTime(seconds float64) time.Time {
	whole, frac := math.Modf(seconds)
	return time.Unix(int64(whole), int64(frac*1e9))
}

// storeError wraps a store failure so that it matches [ErrUnavailable].
func storeError(err error) error {
	return fmt.Errorf("%w: store: %w", ErrUnavailable, err)
}
