package jwtguard

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"
)

// ErrInsufficientUserAuthentication means a valid token's login is older
// than a route requires ([Middleware.RequireFreshLogin]), or the token does
// not say when the user logged in (no auth_time claim). Answered with 401
// insufficient_user_authentication and a max_age (RFC 9470 §3): the user
// must log in again. It does not match [ErrInvalidToken]: the token is
// valid, the login is not recent enough.
var ErrInsufficientUserAuthentication = errors.New("jwtguard: insufficient user authentication")

// answeredError is an error that carries its own prebuilt response (a
// description, challenge or code the error's kind does not have): the
// middleware's responses answer it as it is.
type answeredError struct {
	err  error
	resp response
}

func (e *answeredError) Error() string { return e.err.Error() }
func (e *answeredError) Unwrap() error { return e.err }

// newAnsweredError returns err answered with status, code and description,
// and the challenge that goes with them (RFC 6750 §3) followed by extra
// auth-params (such as `, max_age=300`).
func newAnsweredError(realm string, err error, status int, code, description, extra string) error {
	resp := newResponse(realm, status, code, description, "")
	if extra != "" {
		resp.challenge = []string{resp.challenge[0] + extra}
	}
	return &answeredError{err: err, resp: resp}
}

// AuthenticatedAt returns the auth_time claim: when the user logged in.
// ok is false when the token has none.
func (c *Claims) AuthenticatedAt() (at time.Time, ok bool) {
	if c == nil || c.AuthTime == nil {
		return time.Time{}, false
	}
	return c.AuthTime.Time, true
}

// authTimed is what the claims type needs for RequireFreshLogin; [Claims]
// and every struct embedding it have it.
type authTimed interface{ AuthenticatedAt() (time.Time, bool) }

// RequireFreshLogin returns middleware that lets a request through only if
// the user logged in at most maxAge ago: the token's auth_time claim (RFC
// 9068 §2.2.1), which an [Issuer] sets at login and keeps unchanged across
// refreshes, is no older than maxAge on the middleware's clock. Use it in
// front of what must not be done with a token stolen long ago or a session
// left open: a change of password or email, a payment.
//
// Otherwise it answers 401 with the step-up challenge of RFC 9470 §3, and
// the client sends the user to log in again, which gives a fresh token:
//
//	WWW-Authenticate: Bearer realm="…", error="insufficient_user_authentication",
//	  error_description="a login within the last 300 seconds is required: log in again", max_age=300
//
// A token without auth_time (minted elsewhere), or whose claims type has no
// AuthenticatedAt method ([Claims] has one), is answered the same way. The
// error matches [ErrInsufficientUserAuthentication]. Like
// [Middleware.RequireScope], it uses the claims an outer handler put in the
// context, and authenticates the request itself when there are none. It
// panics if maxAge is under a second.
func (m *Middleware) RequireFreshLogin(maxAge time.Duration) func(http.Handler) http.Handler {
	if maxAge < time.Second {
		panic(fmt.Sprintf("jwtguard: RequireFreshLogin: max age %v is under a second", maxAge))
	}
	secs := strconv.FormatInt(int64(maxAge/time.Second), 10)
	denied := newAnsweredError(m.responses.realm,
		fmt.Errorf("%w: no login within %v", ErrInsufficientUserAuthentication, maxAge),
		http.StatusUnauthorized, "insufficient_user_authentication",
		"a login within the last "+secs+" seconds is required: log in again", ", max_age="+secs)
	return m.require(denied, func(claims any) bool {
		c, ok := claims.(authTimed)
		if !ok {
			return false
		}
		at, ok := c.AuthenticatedAt()
		age := m.clock().Sub(at)
		return ok && age <= maxAge && age >= -m.leeway
	})
}
