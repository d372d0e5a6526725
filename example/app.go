package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"net/mail"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/jwtguard/jwtguard"
	"golang.org/x/crypto/bcrypt"
)

// Routes of the HTTP API. The refresh cookie is scoped to authPrefix, so the
// browser sends it to the refresh and logout endpoints and nowhere else
// outside the auth API.
const (
	authPrefix       = "/api/v1/auth"
	registerPath     = authPrefix + "/register"
	loginPath        = authPrefix + "/login"        // JSON tokens, for API clients
	cookieLoginPath  = authPrefix + "/cookie-login" // httpOnly cookies, for the page
	mePath           = authPrefix + "/me"
	refreshPath      = authPrefix + "/refresh"
	logoutPath       = authPrefix + "/logout"
	minPasswordRunes = 8
	maxPasswordBytes = 72 // bcrypt reads no further
	maxEmailBytes    = 254
	maxBodyBytes     = 16 << 10
)

// App is the example application: users in SQLite, tokens from jwtguard.
type App struct {
	users *Users
	store *jwtguard.MemoryStore
	// api answers API clients: tokens in the JSON body, never cookies.
	api *jwtguard.Sessions
	// browser answers the page: tokens in httpOnly cookies, never in the
	// body; it also reads the Authorization header and body tokens, so
	// its middleware serves /me for both kinds of client.
	browser *jwtguard.Sessions
	// cookieNames are the token cookie names; a refresh or logout request
	// that carries one is a browser's.
	cookieNames []string
	bcryptCost  int
	dummyHash   []byte // compared against for unknown users, to take as long
	log         *slog.Logger
}

// newApp builds the application on users. bcryptCost is
// bcrypt.DefaultCost except in tests.
func newApp(cfg Config, users *Users, bcryptCost int, log *slog.Logger) (*App, error) {
	issuer, err := jwtguard.NewIssuer(jwtguard.IssuerConfig{
		Key:        jwtguard.Key{Algorithm: "HS256", Key: cfg.Secret},
		Issuer:     cfg.Issuer,
		Audience:   []string{cfg.Audience},
		AccessTTL:  cfg.AccessTTL,
		RefreshTTL: cfg.RefreshTTL,
	})
	if err != nil {
		return nil, err
	}
	store, err := jwtguard.NewMemoryStore()
	if err != nil {
		return nil, err
	}
	a := &App{users: users, store: store, bcryptCost: bcryptCost, log: log}
	common := []jwtguard.SessionsOption{
		jwtguard.WithRefreshCheck(a.mayRefresh),
		jwtguard.WithAccessOptions(jwtguard.WithFailureHook(func(r *http.Request, err error) {
			log.Debug("refused", "method", r.Method, "path", r.URL.Path, "reason", err)
		})),
	}
	cookieOpts := append([]jwtguard.SessionsOption{
		jwtguard.WithCookies(), jwtguard.WithRefreshCookiePath(authPrefix),
	}, common...)
	if cfg.InsecureCookies {
		cookieOpts = append(cookieOpts, jwtguard.WithInsecureCookies())
	}
	if a.api, err = jwtguard.NewSessions(issuer, store, common...); err != nil {
		store.Close()
		return nil, err
	}
	if a.browser, err = jwtguard.NewSessions(issuer, store, cookieOpts...); err != nil {
		store.Close()
		return nil, err
	}
	access, refresh := a.browser.CookieNames()
	a.cookieNames = []string{access, refresh}
	if a.dummyHash, err = bcrypt.GenerateFromPassword([]byte("not a password anyone has"), bcryptCost); err != nil {
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
	mux.Handle(loginPath, a.api.LoginHandler(a.authenticate))
	mux.Handle(cookieLoginPath, a.browser.LoginHandler(a.authenticate))
	mux.Handle(mePath, onlyGet(a.browser.Middleware().Handler(http.HandlerFunc(a.me))))
	mux.Handle(refreshPath, a.byClient(a.api.RefreshHandler(), a.browser.RefreshHandler()))
	mux.Handle(logoutPath, a.byClient(a.api.LogoutHandler(), a.browser.LogoutHandler()))
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "not_found", "no such endpoint")
	})
	return mux
}

// byClient sends a request that carries a token cookie to the cookie-mode
// handler, which answers with cookies, and any other request to the
// JSON-mode handler, which answers with tokens in the body: an API client
// never gets cookies and the page never gets tokens. Both share the
// issuer and the store, so a family revoked by one is revoked for both.
func (a *App) byClient(api, browser http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for _, name := range a.cookieNames {
			if _, err := r.Cookie(name); err == nil {
				browser.ServeHTTP(w, r)
				return
			}
		}
		api.ServeHTTP(w, r)
	})
}

// register creates a user: POST JSON {"email", "password"}.
func (a *App) register(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Email    *string `json:"email"`
		Password *string `json:"password"`
	}
	if status, msg := decodeJSON(w, r, &in); status != 0 {
		writeError(w, status, "invalid_request", msg)
		return
	}
	if in.Email == nil || in.Password == nil {
		writeError(w, http.StatusBadRequest, "invalid_request", "email and password are required")
		return
	}
	email, err := normalizeEmail(*in.Email)
	if err != nil {
		writeError(w, http.StatusUnprocessableEntity, "invalid_request", err.Error())
		return
	}
	if err := checkPassword(*in.Password); err != nil {
		writeError(w, http.StatusUnprocessableEntity, "invalid_request", err.Error())
		return
	}
	hash, err := bcrypt.GenerateFromPassword([]byte(*in.Password), a.bcryptCost)
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

// authenticate is the jwtguard.LoginFunc: the username is the email. An
// unknown email, a wrong password and an inactive user get the same
// answer (401), and take about as long.
func (a *App) authenticate(ctx context.Context, username, password string) (string, map[string]any, error) {
	email, err := normalizeEmail(username)
	var u *User
	if err == nil {
		u, err = a.users.ByEmail(ctx, email)
	}
	switch {
	case err == nil:
	case errors.Is(err, errNotFound) || errors.Is(err, errInvalidEmail):
		_ = bcrypt.CompareHashAndPassword(a.dummyHash, []byte(password))
		return "", nil, jwtguard.ErrInvalidCredentials
	default:
		return "", nil, err // 503, never shown
	}
	if bcrypt.CompareHashAndPassword(u.PasswordHash, []byte(password)) != nil || !u.Active {
		return "", nil, jwtguard.ErrInvalidCredentials
	}
	return strconv.FormatInt(u.ID, 10), nil, nil
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

// me answers the current user, after the middleware accepted the access
// token (Authorization header or access cookie).
func (a *App) me(w http.ResponseWriter, r *http.Request) {
	claims, ok := jwtguard.FromContext(r.Context())
	if !ok {
		a.unavailable(w, r, errors.New("no claims in context"))
		return
	}
	id, err := strconv.ParseInt(claims.Subject, 10, 64)
	if err != nil {
		writeTokenError(w, "unknown user")
		return
	}
	u, err := a.users.ByID(r.Context(), id)
	switch {
	case errors.Is(err, errNotFound):
		writeTokenError(w, "unknown user")
		return
	case err != nil:
		a.unavailable(w, r, err)
		return
	case !u.Active:
		writeTokenError(w, "user inactive")
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"id": u.ID, "email": u.Email, "is_active": u.Active, "created_at": u.CreatedAt,
	})
}

var errInvalidEmail = errors.New("invalid email address")

// normalizeEmail checks a bare address (no display name) and lowercases it,
// so that one mailbox is one account.
func normalizeEmail(s string) (string, error) {
	if len(s) == 0 || len(s) > maxEmailBytes {
		return "", errInvalidEmail
	}
	addr, err := mail.ParseAddress(s)
	if err != nil || addr.Name != "" || addr.Address != s {
		return "", errInvalidEmail
	}
	at := strings.LastIndexByte(s, '@')
	if at <= 0 || !strings.Contains(s[at+1:], ".") {
		return "", errInvalidEmail
	}
	return strings.ToLower(s), nil
}

func checkPassword(p string) error {
	switch {
	case utf8.RuneCountInString(p) < minPasswordRunes:
		return fmt.Errorf("password must be at least %d characters", minPasswordRunes)
	case len(p) > maxPasswordBytes:
		return fmt.Errorf("password must be at most %d bytes", maxPasswordBytes)
	}
	return nil
}

// decodeJSON reads a JSON object of at most maxBodyBytes into v. It returns
// a status and message for the client when the request is unusable.
func decodeJSON(w http.ResponseWriter, r *http.Request, v any) (int, string) {
	if media, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || media != "application/json" {
		return http.StatusUnsupportedMediaType, "content type must be application/json"
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBodyBytes))
	if err := dec.Decode(v); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return http.StatusRequestEntityTooLarge, "request body too large"
		}
		return http.StatusBadRequest, "malformed JSON body: want {\"email\": string, \"password\": string}"
	}
	if _, err := dec.Token(); err != io.EOF {
		return http.StatusBadRequest, "malformed JSON body: trailing data"
	}
	return 0, ""
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
