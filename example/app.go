package main

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/jwtguard/jwtguard"
)

// Routes of the HTTP API. The refresh cookie is scoped to authPrefix, so the
// browser sends it to the refresh and logout endpoints and nowhere else
// outside the auth API.
const (
	authPrefix       = "/api/v1/auth"
	registerPath     = authPrefix + "/register"
	loginPath        = authPrefix + "/login"        // JSON tokens for API clients (cookies with X-Requested-With)
	cookieLoginPath  = authPrefix + "/cookie-login" // httpOnly cookies, for the page and HTML forms
	mePath           = authPrefix + "/me"
	refreshPath      = authPrefix + "/refresh"
	logoutPath       = authPrefix + "/logout"
	sessionPath      = authPrefix + "/session" // which token cookies the page holds
	minPasswordRunes = 8
	maxPasswordBytes = 72 // bcrypt reads no further: longer is refused, see preparePassword
	maxBodyBytes     = 16 << 10
)

// App is the example application: users in SQLite, tokens from jwtguard.
type App struct {
	users *Users
	store *jwtguard.MemoryStore
	// sessions answers each client in its form: the page (which sends
	// X-Requested-With, or logs in at cookieLoginPath) gets httpOnly
	// cookies and never a token in a body; an API client gets the tokens
	// in the JSON body and never a cookie. Its guard serves /me to both.
	sessions *jwtguard.Sessions
	// passwords hashes and compares passwords (bcrypt at the cost given
	// to newApp); tests swap in a counting wrapper.
	passwords passwordHasher
	dummyHash []byte // compared against for unknown users, to take as long
	log       *slog.Logger
	// freshMaxAge is how recent a login a change of password needs
	// (sessions.go).
	freshMaxAge time.Duration
}

// newApp builds the application on users. bcryptCost is the
// configuration's (defaultBcryptCost unless BCRYPT_COST says otherwise),
// and bcrypt.MinCost in tests.
func newApp(cfg Config, users *Users, bcryptCost int, log *slog.Logger) (*App, error) {
	issuer, err := jwtguard.NewIssuer(jwtguard.IssuerConfig{
		Key:        jwtguard.Key{Algorithm: "HS256", Key: cfg.Secret},
		Issuer:     cfg.Issuer,
		Audience:   []string{cfg.Audience},
		AccessTTL:  cfg.AccessTTL,
		RefreshTTL: cfg.RefreshTTL,
		Clock:      cfg.Clock,
	})
	if err != nil {
		return nil, err
	}
	var storeOpts []jwtguard.MemoryStoreOption
	if cfg.Clock != nil {
		storeOpts = append(storeOpts, jwtguard.MemoryStoreClock(cfg.Clock))
	}
	store, err := jwtguard.NewMemoryStore(storeOpts...)
	if err != nil {
		return nil, err
	}
	a := &App{users: users, store: store, passwords: bcryptHasher{cost: bcryptCost}, log: log, freshMaxAge: cfg.FreshMaxAge}
	if a.freshMaxAge == 0 {
		a.freshMaxAge = defaultFreshMaxAge
	}
	opts := []jwtguard.SessionsOption{
		jwtguard.WithCookiesForBrowsers(), jwtguard.WithRefreshCookiePath(authPrefix),
		jwtguard.WithRefreshCheck(a.mayRefresh),
		// Why a request was refused, never its token: debug level for
		// what clients sent, error level when the server failed.
		jwtguard.WithAccessOptions(jwtguard.WithLogger(log, slog.LevelDebug),
			jwtguard.WithDPoP(cfg.DPoP, cfg.dpopOptions()...)),
	}
	if cfg.SessionMaxAge != 0 {
		opts = append(opts, jwtguard.WithSessionMaxAge(cfg.SessionMaxAge))
	}
	if cfg.InsecureCookies {
		opts = append(opts, jwtguard.WithInsecureCookies())
	}
	if a.sessions, err = jwtguard.NewSessions(issuer, store, opts...); err != nil {
		store.Close()
		return nil, err
	}
	if a.dummyHash, err = a.passwords.Hash([]byte("not a password anyone has")); err != nil {
		store.Close()
		return nil, err
	}
	return a, nil
}

// Close stops the revocation store's sweeper. It does not close users.
func (a *App) Close() error { return a.store.Close() }

// Handler returns the routes. Every error answer is JSON.
func (a *App) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/{$}", pageHandler())
	mux.Handle(registerPath, onlyPost(http.HandlerFunc(a.register)))
	mux.Handle(loginPath, a.sessions.LoginHandler(a.authenticate))
	mux.Handle(cookieLoginPath, a.sessions.CookieLoginHandler(a.authenticate))
	mux.Handle(sessionPath, onlyGet(sessionProbe(a.sessions.CookieNames())))
	mux.Handle(mePath, onlyGet(a.sessions.Handler(http.HandlerFunc(a.me))))
	mux.Handle(refreshPath, a.sessions.RefreshHandler())
	mux.Handle(logoutPath, a.sessions.LogoutHandler())
	a.handleSessions(mux)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "not_found", "no such endpoint")
	})
	return mux
}

// register creates a user: POST JSON {"email", "password"}. The body is
// read as strictly as jwtguard reads its own (see decodeJSON); the email
// is stored in its canonical form (see canonicalEmail), which the users
// table keeps unique, so one identity is one account however it is
// spelled; the password is prepared and checked by newPassword.
func (a *App) register(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Email    *string `json:"email"`
		Password *string `json:"password"`
	}
	if status, msg := decodeJSON(w, r, &in); status != 0 {
		writeError(w, status, "invalid_request", msg)
		return
	}
	if status, msg := required(field{"email", in.Email}, field{"password", in.Password}); status != 0 {
		writeError(w, status, "invalid_request", msg)
		return
	}
	email, err := canonicalEmail(*in.Email)
	if err != nil {
		writeError(w, http.StatusUnprocessableEntity, "invalid_request", err.Error())
		return
	}
	password, err := newPassword(*in.Password)
	if err != nil {
		writeError(w, http.StatusUnprocessableEntity, "invalid_request", err.Error())
		return
	}
	hash, err := a.passwords.Hash(password)
	if err != nil {
		a.unavailable(w, r, err)
		return
	}
	u, err := a.users.Create(r.Context(), email, hash)
	switch {
	case errors.Is(err, errEmailTaken):
		writeError(w, http.StatusConflict, "invalid_request", "email already registered")
		return
	case err != nil:
		a.unavailable(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, map[string]any{"id": u.ID, "email": u.Email})
}

// authenticate is the jwtguard.LoginFunc of both logins (JSON tokens and
// cookies, JSON body or form): every path checks a password the same way.
// The username is the email, in any spelling of its identity.
//
// A password that no account can have (over bcrypt's 72 bytes, or not a
// valid OpaqueString) is refused at once, before the email is looked at:
// its time depends on the input alone, never on the account. Otherwise an
// unknown email, a wrong password and an inactive user get the same answer
// (401) after exactly one bcrypt comparison each, against a hash of the
// same cost, so the time says nothing about whether the account exists.
// A correct password stored at another cost is hashed again at the
// current one.
func (a *App) authenticate(ctx context.Context, username, password string) (string, map[string]any, error) {
	pw, err := preparePassword(password)
	if err != nil {
		return "", nil, jwtguard.ErrInvalidCredentials
	}
	email, err := canonicalEmail(username)
	var u *User
	if err == nil {
		u, err = a.users.ByEmail(ctx, email)
	}
	switch {
	case err == nil:
	case errors.Is(err, errNotFound) || errors.Is(err, errInvalidEmail):
		_ = a.passwords.Compare(a.dummyHash, pw)
		return "", nil, jwtguard.ErrInvalidCredentials
	default:
		return "", nil, err // 503, never shown
	}
	if a.passwords.Compare(u.PasswordHash, pw) != nil || !u.Active {
		return "", nil, jwtguard.ErrInvalidCredentials
	}
	if a.passwords.Outdated(u.PasswordHash) {
		a.rehash(ctx, u, pw)
	}
	return strconv.FormatInt(u.ID, 10), nil, nil
}

// rehash stores the password of u hashed at the current cost. A failure
// is logged: the login goes on with the old hash still valid.
func (a *App) rehash(ctx context.Context, u *User, password []byte) {
	hash, err := a.passwords.Hash(password)
	if err == nil {
		err = a.users.SetPasswordHash(ctx, u.ID, u.PasswordHash, hash)
	}
	if err != nil {
		a.log.Warn("password not rehashed at the current bcrypt cost", "user", u.ID, "err", err)
	}
}

// mayRefresh is the jwtguard.RefreshFunc: only an existing, active user may
// refresh; a refused refresh revokes the token family.
func (a *App) mayRefresh(ctx context.Context, subject string, claims map[string]any) (map[string]any, error) {
	id, err := strconv.ParseInt(subject, 10, 64)
	if err != nil {
		return nil, jwtguard.ErrRefreshDenied
	}
	u, err := a.users.ByID(ctx, id)
	switch {
	case errors.Is(err, errNotFound):
		return nil, jwtguard.ErrRefreshDenied
	case err != nil:
		return nil, err // 503, the refresh token stays usable
	case !u.Active:
		return nil, jwtguard.ErrRefreshDenied
	}
	return claims, nil
}

// currentUser returns the active user the verified claims name, or
// answers 401 (unknown or inactive user) or 503 and returns false.
func (a *App) currentUser(w http.ResponseWriter, r *http.Request, claims *jwtguard.Claims) (*User, bool) {
	id, err := strconv.ParseInt(claims.Subject, 10, 64)
	if err != nil {
		writeTokenError(w, "unknown user")
		return nil, false
	}
	u, err := a.users.ByID(r.Context(), id)
	switch {
	case errors.Is(err, errNotFound):
		writeTokenError(w, "unknown user")
		return nil, false
	case err != nil:
		a.unavailable(w, r, err)
		return nil, false
	case !u.Active:
		writeTokenError(w, "user inactive")
		return nil, false
	}
	return u, true
}

// me answers the current user, after the middleware accepted the access
// token (Authorization header or access cookie).
func (a *App) me(w http.ResponseWriter, r *http.Request) {
	claims, ok := jwtguard.FromContext(r.Context())
	if !ok {
		a.unavailable(w, r, errors.New("no claims in context"))
		return
	}
	u, ok := a.currentUser(w, r, claims)
	if !ok {
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"id": u.ID, "email": u.Email, "is_active": u.Active, "created_at": u.CreatedAt,
	})
}

func onlyPost(h http.Handler) http.Handler { return only(http.MethodPost, h) }
func onlyGet(h http.Handler) http.Handler  { return only(http.MethodGet, h) }

func only(method string, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != method && !(method == http.MethodGet && r.Method == http.MethodHead) {
			w.Header().Set("Allow", method)
			writeError(w, http.StatusMethodNotAllowed, "invalid_request", "method not allowed")
			return
		}
		h.ServeHTTP(w, r)
	})
}

// unavailable answers 503 for a failure of ours (database, bcrypt), logged
// and never shown to the client.
func (a *App) unavailable(w http.ResponseWriter, r *http.Request, err error) {
	a.log.Error("request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	writeError(w, http.StatusServiceUnavailable, "temporarily_unavailable", "the request could not be completed, try again")
}

// writeTokenError refuses a token that verified but names no usable user,
// as jwtguard refuses a bad token: 401 invalid_token (RFC 6750).
func writeTokenError(w http.ResponseWriter, description string) {
	w.Header().Set("WWW-Authenticate",
		`Bearer realm="`+jwtguard.DefaultRealm+`", error="invalid_token", error_description="`+description+`"`)
	writeError(w, http.StatusUnauthorized, "invalid_token", description)
}

// writeError writes the package's error body: {"error", "error_description"}.
func writeError(w http.ResponseWriter, status int, code, description string) {
	writeJSON(w, status, map[string]string{"error": code, "error_description": description})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status, b = http.StatusInternalServerError, []byte(`{"error":"server_error"}`)
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
}
