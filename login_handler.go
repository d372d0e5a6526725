package jwtguard

import (
	"errors"
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
// with Cache-Control: no-store. expires_in is the access token's lifetime
// in seconds, its exp − iat: the issuer's AccessTTL, or less when the
// session's maximum age cuts it short. In cookie mode it sets the cookies
// (Max-Age the tokens' lifetimes, expires_in for the access cookie) and
// leaves the tokens out of the body (or not, with [WithCookiesAndBody]).
// Each login starts a session, listed by [Sessions.ListSessions] with the
// request's User-Agent ([WithSessionMetadata]), which ends at the latest
// after its maximum age ([WithSessionMaxAge]).
//
// With [WithCookiesForBrowsers], a request that carries the CSRF header
// (X-Requested-With) is answered in cookies, any other in the body; see
// also [Sessions.CookieLoginHandler].
//
// Errors, all JSON {"error", "error_description"} whose description says
// what to fix: 405 (with Allow: POST) for another method; 415 for another
// content type; 413 for a body over the limit; 400 invalid_request for a
// body that is not valid JSON or form ("body is not valid JSON"), a missing
// field ("username and password are required"), or another grant_type
// ("unsupported grant_type: only password is accepted"); 401 invalid_grant
// for bad credentials, the same for an unknown user and a wrong password;
// 503 temporarily_unavailable ("the login cannot be completed now: try
// again", an error matching [ErrUnavailable] and authenticate's for the
// failure hook and the logger) when authenticate fails otherwise; 500
// server_error when the issuer
// cannot mint what authenticate returned ([ErrCannotIssue]: an empty
// subject, a claim of the wrong JSON type such as "roles": "admin", tokens
// too large for a cookie), reported to the failure hook and the logger
// ([WithLogger]) with the claim named. A login answered in cookies must
// also pass [http.CrossOriginProtection] (403), so that no other site can
// log a browser into an account of its choosing; the custom header of
// [CSRF] is not required, since no cookie authenticates a login.
//
// With [WithDPoP] among the access options, a login that carries a DPoP
// proof (htm POST, htu this endpoint, no ath) gets a pair bound to the
// proof's key, with token_type "DPoP" (RFC 9449 §5); a bad proof is
// answered 400 invalid_dpop_proof, and with [DPoPNonces] a proof without a
// current nonce 400 use_dpop_nonce with a DPoP-Nonce header. A login with a
// proof that would be answered in cookies (cookie mode, or the CSRF header
// with [WithCookiesForBrowsers]) is refused with 400 invalid_request naming
// the conflict, before the proof or the password is checked: a bound token
// in a cookie could never be used, since a browser sends the cookie with no
// proof, and the body is where the application chose not to put tokens for
// browsers. A DPoP client sends no CSRF header and gets the tokens in the
// body.
func (s *Sessions) LoginHandler(authenticate LoginFunc) http.Handler {
	if authenticate == nil {
		panic("jwtguard: nil LoginFunc")
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := s.login(w, r, authenticate, s.loginInCookies(r), s.mode == perClient); err != nil {
			s.fail(w, r, err)
		}
	})
}

// CookieLoginHandler is [Sessions.LoginHandler] answering every login in
// cookies, whatever the request carries: the other way, besides the CSRF
// header, for a browser to say that it wants cookies, for example a page
// that posts an HTML form, or that keeps a login endpoint of its own for
// the page. Mount it beside the LoginHandler (as "/auth/cookie-login"); the
// refresh and logout handlers serve both. The request must pass
// [http.CrossOriginProtection] (403), as every login answered in cookies,
// and carry no DPoP proof (400 invalid_request; see
// [Sessions.LoginHandler]).
// It panics if s has no cookie mode ([WithCookiesForBrowsers],
// [WithCookies] or [WithCookiesAndBody]), since its guard would then never
// read the cookies it sets.
func (s *Sessions) CookieLoginHandler(authenticate LoginFunc) http.Handler {
	if authenticate == nil {
		panic("jwtguard: nil LoginFunc")
	}
	if s.mode == bodyOnly {
		panic("jwtguard: CookieLoginHandler needs a cookie mode: NewSessions with WithCookiesForBrowsers or WithCookies")
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := s.login(w, r, authenticate, true, false); err != nil {
			s.fail(w, r, err)
		}
	})
}

// login serves a login, answered in cookies when inCookies; byClient says
// that the client chose it ([WithCookiesForBrowsers]).
func (s *Sessions) login(w http.ResponseWriter, r *http.Request, authenticate LoginFunc, inCookies, byClient bool) error {
	if err := post(r); err != nil {
		return err
	}
	if inCookies {
		if err := s.mw.csrf.crossOrigin(r); err != nil {
			return err
		}
	}
	f, err := s.readFields(w, r, "username", "password", "grant_type", "email")
	if err != nil {
		return err
	}
	if f["grant_type"] != "" && f["grant_type"] != "password" {
		return errLoginGrant
	}
	if f["username"] == "" && f["email"] != "" {
		return errLoginEmail
	}
	if f["username"] == "" || f["password"] == "" {
		return errLoginFields
	}
	if inCookies && s.hasProof(r) {
		return s.cookieConflict("login", byClient)
	}
	jkt, err := s.tokenProof(r, "")
	if err != nil {
		return err
	}
	subject, claims, err := authenticate(r.Context(), f["username"], f["password"])
	switch {
	case errors.Is(err, ErrInvalidCredentials):
		return errBadLogin
	case err != nil:
		return &loginUnavailable{err}
	}
	pair, err := s.startSession(r.Context(), r, subject, claims, jkt)
	if err != nil {
		return err
	}
	s.mw.dpop.setNonce(w, r, nil)
	return s.writePair(w, pair, inCookies)
}

// loginUnavailable is the failure of a [LoginFunc] with an error other than
// [ErrInvalidCredentials]: 503 temporarily_unavailable, described for a
// login ("the login cannot be completed now: try again"), not as a token
// that cannot be checked. It matches [ErrUnavailable] and the LoginFunc's
// error, which the failure hook and the logger see and the client never
// does.
type loginUnavailable struct{ err error }

func (e *loginUnavailable) Error() string {
	return "jwtguard: the login cannot be completed now: the LoginFunc failed: " + e.err.Error()
}

func (e *loginUnavailable) Unwrap() []error { return []error{ErrUnavailable, e.err} }

func (e *loginUnavailable) description() string {
	return "the login cannot be completed now: try again"
}
