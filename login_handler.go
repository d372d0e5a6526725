package jwtguard

import (
	"errors"
	"fmt"
	"net/http"
)

// LoginHandler returns the login endpoint: a POST with a JSON body
// {"username": …, "password": …} or an OAuth 2.0 password grant form
// (application/x-www-form-urlencoded: username, password, and grant_type,
// which must be "password" when present). It checks the credentials with
// authenticate and answers 200 with a new pair (RFC 6749 §5.1):
//
//	{"access_token": …, "refresh_token": …, "token_type": "bearer", "expires_in": 1800}
//
// with Cache-Control: no-store; in cookie mode it sets the cookies and
// leaves the tokens out of the body (or not, with [WithCookiesAndBody]).
//
// Errors, all JSON {"error", "error_description"}: 405 (with Allow: POST)
// for another method; 415 for another content type; 413 for a body over the
// limit; 400 invalid_request for a malformed body or a missing field; 401
// invalid_grant for bad credentials, the same for an unknown user and a
// wrong password; 503 when authenticate fails otherwise. In cookie mode a
// login must also pass [http.CrossOriginProtection] (403), so that no other
// site can log a browser into an account of its choosing; the custom header
// of [CSRF] is not required, since no cookie authenticates a login.
func (s *Sessions) LoginHandler(authenticate LoginFunc) http.Handler {
	if authenticate == nil {
		panic("jwtguard: nil LoginFunc")
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := s.login(w, r, authenticate); err != nil {
			s.fail(w, r, err)
		}
	})
}

func (s *Sessions) login(w http.ResponseWriter, r *http.Request, authenticate LoginFunc) error {
	if err := post(r); err != nil {
		return err
	}
	if s.mode != bodyOnly {
		if err := s.mw.csrf.crossOrigin(r); err != nil {
			return err
		}
	}
	f, err := s.readFields(w, r, "username", "password", "grant_type")
	if err != nil {
		return err
	}
	if f["grant_type"] != "" && f["grant_type"] != "password" {
		return errGrantType
	}
	if f["username"] == "" || f["password"] == "" {
		return errMissing
	}
	subject, claims, err := authenticate(r.Context(), f["username"], f["password"])
	switch {
	case errors.Is(err, ErrInvalidCredentials):
		return errBadLogin
	case err != nil:
		return fmt.Errorf("%w: login: %w", ErrUnavailable, err)
	}
	pair, err := s.issuer.Issue(r.Context(), subject, claims)
	if err != nil {
		return fmt.Errorf("%w: %w", errInternal, err)
	}
	s.writePair(w, pair)
	return nil
}
