package jwtguard

import (
	"context"
	"fmt"
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

	// Rotate records, in one atomic step, the use of the refresh token
	// (iss, jti) of family (iss, family). Exactly one of any number of
	// concurrent calls for one jti, on any number of instances sharing the
	// store, may return [RotationOK]:
	//
	//   - family revoked: nothing changes; return [RotationRevoked].
	//   - jti already used: revoke the family until familyUntil (keeping a
	//     later end time if there is one); return [RotationReused].
	//   - otherwise: mark jti used until tokenUntil; return [RotationOK].
	//
	// tokenUntil is the refresh token's exp plus leeway (after it the token
	// fails verification on its own); familyUntil is the latest time a
	// token of the family can still verify (now plus the refresh lifetime
	// plus leeway). On Redis this is one Lua script over two keys that share
	// a hash tag; the keys expire at those times.
	Rotate(ctx context.Context, iss, family, jti string, tokenUntil, familyUntil time.Time) (Rotation, error)

	// RevokeFamily marks the refresh token family (iss, family) revoked
	// until until: its refresh tokens can no longer be rotated and access
	// tokens that name the family are refused. Like Revoke, it never
	// shortens a revocation.
	RevokeFamily(ctx context.Context, iss, family string, until time.Time) error

	// IsFamilyRevoked reports whether (iss, family) is revoked now.
	IsFamilyRevoked(ctx context.Context, iss, family string) (bool, error)
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
	}
	return fmt.Sprintf("Rotation(%d)", int(r))
}

// WithStore makes the middleware consult s after a token verifies: a token
// whose (iss, jti) is revoked, or whose family (claim "fid") is revoked, is
// refused with 401 invalid_token ([ErrRevoked]); a token without a jti is
// refused too ([ErrMissingClaim]), since it could never be revoked. When s
// returns an error the request fails closed with 503 ([ErrUnavailable]).
// Default: no store, no revocation.
func WithStore(s Store) Option {
	return func(c *config) {
		if s == nil {
			c.errs = append(c.errs, fmt.Errorf("WithStore: nil store"))
		}
		c.store = s
	}
}

// checkRevoked asks the store about a token that has verified; text is the
// payload string of default claims, or "".
func (m *Middleware) checkRevoked(ctx context.Context, cv *claimView, text string) error {
	if m.store == nil {
		return nil
	}
	if !cv.hasJTI || len(cv.jti.b) == 0 {
		return errNoJTI
	}
	iss, jti, fid := cv.ids(text)
	return m.isRevoked(ctx, iss, jti, fid, cv.hasFID)
}

// ids returns iss, jti and fid as strings for the store, which takes
// strings: three conversions were three allocations on the request path.
// With default claims they are cut from text, the payload string their
// strings already share (no allocation); with text "" they come from one
// allocation. (text is a parameter, not a field of claimView: escape
// analysis does not tell fields apart, and returning a field's substrings
// would move the stack buffer the spans point into to the heap.)
func (cv *claimView) ids(text string) (iss, jti, fid string) {
	if text != "" || cv.iss.escaped || cv.jti.escaped || cv.fid.escaped {
		return cv.iss.in(text), cv.jti.in(text), cv.fid.in(text)
	}
	var buf [192]byte
	all := string(append(append(append(buf[:0], cv.iss.b...), cv.jti.b...), cv.fid.b...))
	i, j := len(cv.iss.b), len(cv.iss.b)+len(cv.jti.b)
	return all[:i], all[i:j], all[j:]
}

// isRevoked asks the store about the token (iss, jti) and, when hasFID, its
// family (iss, fid).
func (m *Middleware) isRevoked(ctx context.Context, iss, jti, fid string, hasFID bool) error {
	revoked, err := m.store.IsRevoked(ctx, iss, jti)
	if err != nil {
		return storeError(err)
	}
	if !revoked && hasFID {
		revoked, err = m.store.IsFamilyRevoked(ctx, iss, fid)
		if err != nil {
			return storeError(err)
		}
	}
	if revoked {
		return errRevoked
	}
	return nil
}

// storeError wraps a store failure so that it matches [ErrUnavailable].
func storeError(err error) error {
	return fmt.Errorf("%w: store: %w", ErrUnavailable, err)
}
