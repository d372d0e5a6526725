package jwtguard

import "context"

// keySource supplies the keys the middleware verifies with. Three kinds
// exist: the static keys of [WithKey] and [WithKeys] (a *keyring), a
// [KeySet] ([WithKeySet]) and a remote [JWKS] ([WithJWKS]). The interface
// is unexported on purpose: the request path works on the package's own
// checked keys, and a user with another source of keys feeds a KeySet.
type keySource interface {
	// current returns the keys in force now. It never blocks and never
	// returns nil: on the request path it is one atomic load at most.
	current() *keyring
	// refresh is called when the current keys have no key for a token. It
	// may fetch new keys (rate limited, sharing one fetch among concurrent
	// callers) and returns the keyring to retry with, or nil when there is
	// nothing newer. An error matching [ErrUnavailable] means the token
	// cannot be checked at all.
	refresh(ctx context.Context) (*keyring, error)
}

// current returns kr itself: static keys never change.
func (kr *keyring) current() *keyring { return kr }

// refresh returns nil: static keys have nothing newer.
func (kr *keyring) refresh(context.Context) (*keyring, error) { return nil, nil }
