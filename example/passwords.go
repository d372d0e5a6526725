package main

import (
	"errors"
	"fmt"
	"unicode/utf8"

	"golang.org/x/crypto/bcrypt"
	"golang.org/x/text/secure/precis"
)

// Password limits and bcrypt costs. minPasswordRunes and maxPasswordBytes
// (bcrypt's limit: it would check a longer password on its first 72 bytes
// only) are with the routes.
const (
	// maxPasswordInput bounds the input before any work. NFC shrinks text
	// by at most a factor of three (a Hangul syllable spelled as three
	// jamo), so nothing longer can fit maxPasswordBytes once prepared.
	maxPasswordInput = 3 * maxPasswordBytes
	// defaultBcryptCost is 2^12 rounds. OWASP's Password Storage Cheat
	// Sheet asks for a work factor of at least 10 and as much as the
	// server allows; PHP and Laravel moved their defaults from 10 (still
	// bcrypt.DefaultCost) to 12. A login then takes about 0.25 s of one
	// core (BenchmarkLogin); each step up doubles it.
	defaultBcryptCost = 12
	minBcryptCost     = 10 // OWASP's minimum
	maxBcryptCost     = 16 // several seconds a login
)

// errInvalidPassword is the cause of every refused password; the message
// of the error that wraps it says what is wrong.
var errInvalidPassword = errors.New("invalid password")

// passwordError is a password refused for a reason the user can fix. Its
// message names the field and the reason; it wraps errInvalidPassword.
func passwordError(format string, args ...any) error {
	return &inputError{cause: errInvalidPassword, msg: fmt.Sprintf(format, args...)}
}

// preparePassword returns the bytes of a password that are hashed and
// compared: the password under PRECIS OpaqueString (RFC 8265 §4.2), that
// is in NFC with every non-ASCII space as U+0020, so that one password
// typed on systems that compose accents differently is one password. It
// refuses (with an error that says why) what is not valid UTF-8, what
// OpaqueString refuses (control characters, unassigned code points) and
// what is longer than maxPasswordBytes once prepared: no account can have
// such a password. Registration and every login path call it.
func preparePassword(p string) ([]byte, error) {
	switch {
	case len(p) > maxPasswordInput:
		return nil, passwordError("password must be at most %d bytes in UTF-8 (bcrypt's limit)", maxPasswordBytes)
	case !utf8.ValidString(p):
		return nil, passwordError("password is not valid UTF-8")
	}
	out, err := precis.OpaqueString.Bytes([]byte(p))
	if err != nil {
		for _, r := range p {
			if _, err := precis.OpaqueString.String(string(r)); err != nil {
				return nil, passwordError("password contains %s, which a password may not contain (RFC 8265)", runeName(r))
			}
		}
		return nil, passwordError("password is not valid under PRECIS OpaqueString (RFC 8265)")
	}
	if len(out) > maxPasswordBytes {
		return nil, passwordError("password must be at most %d bytes in UTF-8 (bcrypt's limit); this one is %d", maxPasswordBytes, len(out))
	}
	return out, nil
}

// newPassword is preparePassword for a new password, which must also have
// at least minPasswordRunes characters.
func newPassword(p string) ([]byte, error) {
	out, err := preparePassword(p)
	if err != nil {
		return nil, err
	}
	if utf8.RuneCount(out) < minPasswordRunes {
		return nil, passwordError("password must be at least %d characters", minPasswordRunes)
	}
	return out, nil
}

// passwordHasher hashes prepared passwords and checks them against
// hashes. The application uses bcryptHasher; tests wrap it to count the
// calls.
type passwordHasher interface {
	// Hash returns a new salted hash of password.
	Hash(password []byte) ([]byte, error)
	// Compare returns nil when password matches hash.
	Compare(hash, password []byte) error
	// Outdated reports whether hash should be made again at the current
	// cost.
	Outdated(hash []byte) bool
}

// bcryptHasher is bcrypt at cost (bcrypt.MinCost to bcrypt.MaxCost).
type bcryptHasher struct{ cost int }

func (h bcryptHasher) Hash(password []byte) ([]byte, error) {
	return bcrypt.GenerateFromPassword(password, h.cost) // refuses over 72 bytes
}

// Compare refuses a password over 72 bytes: bcrypt.CompareHashAndPassword
// would compare its first 72 bytes only.
func (h bcryptHasher) Compare(hash, password []byte) error {
	if len(password) > maxPasswordBytes {
		return bcrypt.ErrPasswordTooLong
	}
	return bcrypt.CompareHashAndPassword(hash, password)
}

func (h bcryptHasher) Outdated(hash []byte) bool {
	cost, err := bcrypt.Cost(hash)
	return err == nil && cost != h.cost
}
