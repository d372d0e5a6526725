package main

import (
	"errors"
	"net/http"
	"time"

	"github.com/jwtguard/jwtguard"
)

// Routes of a user's sessions and password.
const (
	sessionsPath       = authPrefix + "/sessions" // GET: the list; DELETE /sessions/{id}: end one
	passwordPath       = authPrefix + "/password" // POST: change the password
	defaultFreshMaxAge = 5 * time.Minute
)

// handleSessions adds the routes of the user's sessions and the change of
// password to mux. They take the access token from the Authorization
// header or the access cookie, as /me does; the change of password answers
// the page (which sends X-Requested-With) in cookies and an API client in
// the body, as a login does.
//
//	GET    /api/v1/auth/sessions       the caller's sessions (access token)
//	DELETE /api/v1/auth/sessions/{id}  end one of them: 204, or 404
//	POST   /api/v1/auth/password       change the password: a login within
//	                                   FRESH_MAX_AGE, then every earlier token
//	                                   of the user is refused and a new pair
//	                                   (a new session) is the answer
func (a *App) handleSessions(mux *http.ServeMux) {
	mux.Handle(sessionsPath, a.sessions.ListSessionsHandler())
	mux.Handle(sessionsPath+"/{id}", a.sessions.EndSessionHandler())
	// A login within freshMaxAge (RFC 9470 step-up: 401
	// insufficient_user_authentication with max_age otherwise).
	mux.Handle(passwordPath, onlyPost(a.sessions.RequireFreshLogin(a.freshMaxAge)(
		http.HandlerFunc(a.changePassword))))
}

// changePassword changes the password of the user of the access token:
// POST JSON {"current_password", "new_password"}. The new password must be
// one registration accepts (422 otherwise); a wrong current password gets
// the answer of a failed login (401 invalid_grant), after one bcrypt
// comparison, as a login. Then the user is signed out everywhere (every
// token issued until now, in every session, the caller's included, is
// refused from then on) and the answer is a new pair, a new session, as a
// login's: 200 with the tokens in the body for an API client, in cookies
// for the page; a DPoP client (Authorization: DPoP and a proof for this
// request) gets a pair bound to the same key, which sessions.Login takes
// from the proof the guard checked.
//
// When signing out everywhere fails (503) the password has changed: the
// client retries with the new password as the current one, and the retry
// completes it.
func (a *App) changePassword(w http.ResponseWriter, r *http.Request) {
	claims, ok := jwtguard.FromContext(r.Context())
	if !ok {
		a.unavailable(w, r, errors.New("no claims in context"))
		return
	}
	var in struct {
		Current *string `json:"current_password"`
		New     *string `json:"new_password"`
	}
	if status, msg := decodeJSON(w, r, &in); status != 0 {
		writeError(w, status, "invalid_request", msg)
		return
	}
	if status, msg := required(field{"current_password", in.Current}, field{"new_password", in.New}); status != 0 {
		writeError(w, status, "invalid_request", msg)
		return
	}
	newPw, err := newPassword(*in.New)
	if err != nil {
		writeError(w, http.StatusUnprocessableEntity, "invalid_request", "new_"+err.Error())
		return
	}
	u, ok := a.currentUser(w, r, claims)
	if !ok {
		return
	}
	current, err := preparePassword(*in.Current)
	if err != nil || a.passwords.Compare(u.PasswordHash, current) != nil {
		writeBadLogin(w)
		return
	}
	hash, err := a.passwords.Hash(newPw)
	if err != nil {
		a.unavailable(w, r, err)
		return
	}
	changed, err := a.users.ReplacePasswordHash(r.Context(), u.ID, u.PasswordHash, hash)
	switch {
	case err != nil:
		a.unavailable(w, r, err)
		return
	case !changed: // changed meanwhile: the current password is no longer current
		writeBadLogin(w)
		return
	}
	if err := a.sessions.RevokeSubject(r.Context(), claims.Subject); err != nil {
		a.unavailable(w, r, err)
		return
	}
	if err := a.sessions.Login(w, r, claims.Subject, nil); err != nil {
		a.log.Error("new session after a change of password", "user", u.ID, "err", err)
	}
}

// writeBadLogin answers as jwtguard's login handler answers bad
// credentials: 401 invalid_grant with a bare challenge.
func writeBadLogin(w http.ResponseWriter) {
	w.Header().Set("WWW-Authenticate", `Bearer realm="`+jwtguard.DefaultRealm+`"`)
	writeError(w, http.StatusUnauthorized, "invalid_grant", "invalid username or password")
}
