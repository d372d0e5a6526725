package jwtguard

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"
)

// DefaultMaxBodySize is the largest request body the login, refresh and
// logout handlers read, in bytes.
const DefaultMaxBodySize = 16 << 10

// LoginFunc checks a username and password for [Sessions.LoginHandler]. It
// returns the subject (the sub claim: a stable user id, not the username
// when that can change) and extra claims for both tokens (nil for none; see
// [Issuer.Issue]). For an unknown user and for a wrong password alike it
// returns an error matching [ErrInvalidCredentials]; any other error is
// taken for a failure of the application (503) and never shown.
type LoginFunc func(ctx context.Context, username, password string) (subject string, claims map[string]any, err error)

// RefreshFunc decides, at each refresh, whether subject may still refresh
// (for example whether the user is still active), and returns the extra
// claims of the next pair: claims as carried by the refresh token (decoded
// as encoding/json decodes into an any, but with numbers as json.Number),
// or fresh ones (roles changed). An error matching [ErrRefreshDenied] refuses the
// refresh (401) and revokes the family; any other error answers 503 and
// leaves the refresh token usable, so that the client can retry.
type RefreshFunc func(ctx context.Context, subject string, claims map[string]any) (map[string]any, error)

// Errors that a [LoginFunc] or a [RefreshFunc] return.
var (
	// ErrInvalidCredentials is returned by a LoginFunc for an unknown user
	// or a wrong password. Answered with 401 invalid_grant, the same for
	// both.
	ErrInvalidCredentials = errors.New("jwtguard: invalid credentials")
	// ErrRefreshDenied is returned by a RefreshFunc when the subject may no
	// longer refresh. Answered with 401 invalid_token.
	ErrRefreshDenied = errors.New("jwtguard: refresh denied")
)

// Sessions serves the token lifecycle over HTTP: login, refresh with
// rotation and reuse detection, and logout, with tokens in JSON bodies, in
// cookies, or each in the form its client uses ([WithCookiesForBrowsers]).
// Make one with [NewSessions]; protect routes with [Sessions.Handler] (or
// [Sessions.RequireRole], [Sessions.RequireScope],
// [Sessions.RequireFreshLogin], [Sessions.Optional]),
// whose guard refuses the tokens of a session that logged out. It is
// immutable and safe for concurrent use.
type Sessions struct {
	issuer        *Issuer
	store         Store
	mw            *Middleware
	mode          cookieMode
	cookies       tokenCookies
	refreshCookie Extractor
	refreshCheck  RefreshFunc
	maxBody       int64
	reuseInterval time.Duration
	session       sessionRules // session_lifetime.go
}

// A SessionsOption configures [NewSessions].
type SessionsOption func(*sessionsConfig)

type sessionsConfig struct {
	mode            cookieMode
	modes           []string // the cookie mode options given, by name
	cookieOpts      []string // the cookie options given that need a cookie mode, by name
	strictCookies   bool
	insecureCookies bool
	refreshPath     string
	refreshCheck    RefreshFunc
	maxBody         int64
	reuseInterval   time.Duration
	session         sessionConfig
	accessOpts      []Option
	errs            []error
}

// WithCookies turns cookie mode on: the login and refresh handlers set the
// tokens in HttpOnly cookies ([AccessCookieName], [RefreshCookieName]) and
// leave them out of the JSON body, so page scripts never see them; the
// middleware and the handlers read them from the cookies (or from the
// Authorization header and the body, as without cookies), and every unsafe
// request that carries a cookie must pass the CSRF defence ([CSRF]).
// Default: tokens in the JSON body only, no cookies.
func WithCookies() SessionsOption {
	return func(c *sessionsConfig) {
		c.mode = cookiesOnly
		c.modes = append(c.modes, "WithCookies")
	}
}

// WithCookiesAndBody is [WithCookies] with the tokens in the JSON body as
// well, where page scripts can read them. To serve browsers and other
// clients from the same endpoints, prefer [WithCookiesForBrowsers], which
// gives each only the form it uses.
func WithCookiesAndBody() SessionsOption {
	return func(c *sessionsConfig) {
		c.mode = cookiesAndBody
		c.modes = append(c.modes, "WithCookiesAndBody")
	}
}

// WithCookiesForBrowsers serves browsers and API clients from the same
// login, refresh and logout endpoints, each in the form it uses:
//
//   - A browser gets the tokens in HttpOnly cookies only, as with
//     [WithCookies]. A browser's request is one that carries the CSRF
//     header ([DefaultCSRFHeader], X-Requested-With: fetch, or the header
//     named by [WithCSRF]), which a page must send on every cookie request
//     that changes state anyway, or, for refresh, a refresh token in the
//     refresh cookie.
//   - Any other client (no CSRF header at login; the refresh token in the
//     body at refresh) gets the tokens in the JSON body and no cookie, as
//     without cookie mode.
//
// So a page logs in with fetch and the header; a mobile app, a CLI or
// another service posts JSON or the OAuth 2.0 form without it. The
// middleware of [Sessions.Handler] reads either: the Authorization header,
// or the access cookie with the CSRF defence. A logout clears the cookies
// only for a request that passes the CSRF defence, so API clients get no
// Set-Cookie. With [WithDPoP] among the access options, a DPoP client is an
// API client: a login or refresh with a DPoP proof that would be answered
// in cookies is refused (400), since a DPoP-bound token cannot be sent from
// a cookie. Default: tokens in the JSON body only, no cookies.
func WithCookiesForBrowsers() SessionsOption {
	return func(c *sessionsConfig) {
		c.mode = perClient
		c.modes = append(c.modes, "WithCookiesForBrowsers")
	}
}

// WithStrictCookies sets SameSite=Strict on the token cookies: browsers then
// send them on no cross-site navigation at all, links included. Default:
// SameSite=Lax.
func WithStrictCookies() SessionsOption {
	return func(c *sessionsConfig) {
		c.strictCookies = true
		c.cookieOpts = append(c.cookieOpts, "WithStrictCookies")
	}
}

// WithInsecureCookies leaves Secure off the token cookies and drops the
// __Host- and __Secure- prefixes from their names (browsers refuse prefixed
// cookies without Secure), for local development over plain HTTP. Tokens
// then travel in clear text: never use it in production. Default: Secure.
func WithInsecureCookies() SessionsOption {
	return func(c *sessionsConfig) {
		c.insecureCookies = true
		c.cookieOpts = append(c.cookieOpts, "WithInsecureCookies")
	}
}

// WithRefreshCookiePath scopes the refresh cookie to path, the common prefix
// of the refresh and logout endpoints (such as "/api/v1/auth"), so browsers
// send it nowhere else; it is then named [PathRefreshCookieName]. Default:
// [RefreshCookieName] with Path=/.
func WithRefreshCookiePath(path string) SessionsOption {
	return func(c *sessionsConfig) {
		if err := validCookiePath(path); err != nil {
			c.errs = append(c.errs, fmt.Errorf("WithRefreshCookiePath: %q: %w", path, err))
		}
		c.refreshPath = path
		c.cookieOpts = append(c.cookieOpts, "WithRefreshCookiePath")
	}
}

// WithRefreshCheck calls fn at every refresh (see [RefreshFunc]). Default:
// every holder of a valid refresh token, unused or within its reuse
// interval, may refresh, keeping the claims it carries.
func WithRefreshCheck(fn RefreshFunc) SessionsOption {
	return func(c *sessionsConfig) {
		if fn == nil {
			c.errs = append(c.errs, errors.New("WithRefreshCheck: nil func"))
		}
		c.refreshCheck = fn
	}
}

// WithMaxBodySize sets the largest request body the handlers read; a larger
// one is answered with 413. Default: [DefaultMaxBodySize] (16 KiB). It must
// be between 1 KiB and 1 MiB.
func WithMaxBodySize(n int64) SessionsOption {
	return func(c *sessionsConfig) {
		if n < 1<<10 || n > 1<<20 {
			c.errs = append(c.errs, fmt.Errorf("WithMaxBodySize: %d is outside [1024, 1048576]", n))
		}
		c.maxBody = n
	}
}

// The default and the limit of [WithReuseInterval].
const (
	// DefaultReuseInterval is how long after its first use a refresh token
	// may be used again without counting as reuse.
	DefaultReuseInterval = 10 * time.Second
	// MaxReuseInterval is the longest reuse interval [NewSessions]
	// accepts.
	MaxReuseInterval = 60 * time.Second
)

// WithReuseInterval sets the reuse interval of refresh tokens: a refresh
// token used again less than d after its first use (a second browser tab
// refreshing at the same moment, a client retrying a refresh whose answer
// it never got, or one answered 503) gets a new pair of the same family,
// and nothing is revoked; a use after that is reuse, taken as theft (RFC
// 9700 §4.14.2), and revokes the family. 0 is strict: every second use is
// reuse. Default: [DefaultReuseInterval] (10s); between 0 and
// [MaxReuseInterval] (60s).
//
// A use within the interval gets a sibling of the pair the first use got,
// not that pair again: the store never holds token bytes, so it cannot
// hand them out twice. Every pair handed out belongs to the family, is
// ended by a logout of any token of the family and by a reuse detected on
// any of its refresh tokens, and each refresh token rotates once, plus
// replays within the interval of that one use. A thief who uses a stolen
// refresh token within the interval of the user's own use is not detected
// then; a shorter interval narrows that window.
func WithReuseInterval(d time.Duration) SessionsOption {
	return func(c *sessionsConfig) {
		if d < 0 || d > MaxReuseInterval {
			c.errs = append(c.errs, fmt.Errorf("WithReuseInterval: %v is outside [0s, %.0fs]", d, MaxReuseInterval.Seconds()))
		}
		c.reuseInterval = d
	}
}

// WithAccessOptions adds options to the access token [Middleware] of
// [Sessions.Middleware], after the ones NewSessions sets (the issuer's key,
// iss, aud, clock and leeway, the store, and the header and cookie
// extractors): for example [WithCSRF], [WithErrorHandler],
// [WithFailureHook], [WithLogger], [WithCache], [WithDPoP] or
// [WithClaimsType]. The handlers use its CSRF defence, error responses and
// hooks too.
//
// What the [Issuer] supplies cannot be changed here, since the guard would
// then refuse the issuer's own tokens or accept the wrong ones (a refresh
// token as an access token): NewSessions refuses, naming it, an option
// that sets the keys ([WithKey], [WithKeys], [WithKeySet], [WithJWKS],
// [WithIssuers], [WithIssuerResolver]), the issuer ([WithIssuer]), the
// audience ([WithAudience]), the token type ([WithTokenType],
// [WithTypeClaim], [WithTokenTypeHeader], [WithInsecureNoTokenType]),
// [WithSubjectOptional], the store ([WithStore],
// [WithInsecureNoRevocationCheck]), the clock ([WithClock]) or the leeway
// ([WithLeeway]). Set those in the [IssuerConfig].
func WithAccessOptions(opts ...Option) SessionsOption {
	return func(c *sessionsConfig) { c.accessOpts = append(c.accessOpts, opts...) }
}

// NewSessions returns the lifecycle handlers for issuer, keeping revocation
// and rotation state in store (a [MemoryStore], or a shared store when
// several instances serve the same users). It reports every configuration
// problem at once, in an error that matches [ErrInvalidConfig]: a nil
// issuer, a nil store (or a nil *MemoryStore), two cookie modes, a cookie
// option ([WithRefreshCookiePath], [WithInsecureCookies],
// [WithStrictCookies]) without a cookie mode, an access option that would
// change what the issuer supplies (see [WithAccessOptions]), and the
// problems of each option.
//
// Protect routes with the guard it hands out, [Sessions.Handler] (or
// [Sessions.Middleware]): it verifies with the issuer's keys, issuer and
// audience and asks store about every token, so a logout ends the session
// at once. A middleware built with [New] from the same key alone sees no
// logout; since the tokens of an Issuer belong to a refresh token family,
// it refuses them (503) unless it has [WithStore] with this store, or
// [WithInsecureNoRevocationCheck].
func NewSessions(issuer *Issuer, store Store, opts ...SessionsOption) (*Sessions, error) {
	c := sessionsConfig{maxBody: DefaultMaxBodySize, reuseInterval: DefaultReuseInterval, session: defaultSessionConfig()}
	for _, opt := range opts {
		if opt != nil {
			opt(&c)
		}
	}
	errs := c.errs
	if issuer == nil {
		errs = append(errs, errors.New("nil issuer"))
	}
	switch {
	case store == nil:
		errs = append(errs, errors.New("nil store: rotation and revocation need one"))
	case nilStore(store):
		errs = append(errs, fmt.Errorf("nil %T store: pass the store itself, such as the *MemoryStore NewMemoryStore returns", store))
	}
	if len(c.modes) > 1 {
		errs = append(errs, fmt.Errorf("%s: more than one cookie mode: choose one", strings.Join(c.modes, " and ")))
	}
	if len(c.modes) == 0 && len(c.cookieOpts) > 0 {
		errs = append(errs, fmt.Errorf("%s without a cookie mode: add WithCookiesForBrowsers, WithCookies or WithCookiesAndBody, or remove it",
			strings.Join(c.cookieOpts, " and ")))
	}
	errs = append(errs, issuerOwnedOptions(c.accessOpts)...)
	if err := errors.Join(errs...); err != nil {
		return nil, &sessionsConfigError{err}
	}
	s := &Sessions{
		issuer: issuer, store: store, mode: c.mode, cookies: newTokenCookies(&c),
		refreshCheck: c.refreshCheck, maxBody: c.maxBody, reuseInterval: c.reuseInterval,
	}
	s.refreshCookie = Cookie(s.cookies.refresh)
	mwOpts := []Option{
		issuer.keyOption, WithIssuer(issuer.iss), WithClock(issuer.clock),
		WithLeeway(issuer.leeway), WithStore(store),
	}
	if len(issuer.audience) > 0 {
		mwOpts = append(mwOpts, WithAudience(issuer.audience...))
	}
	if s.mode != bodyOnly {
		mwOpts = append(mwOpts, WithExtractors(AuthorizationHeader(), Cookie(s.cookies.access)))
	}
	mw, err := New(append(mwOpts, c.accessOpts...)...)
	if err != nil {
		return nil, err
	}
	s.mw = mw
	s.session = newSessionRules(&c.session)
	return s, nil
}

// Middleware returns the access token middleware that matches the issuer:
// its key, issuer, audience, clock and leeway, the store (revoked tokens and
// families are refused: a logout logs out), the Authorization header and,
// in cookie mode, the access cookie with the CSRF defence. [Sessions.Handler]
// and the other guards of s are its methods.
func (s *Sessions) Middleware() *Middleware { return s.mw }

// Handler returns next protected by the sessions' guard, s.Middleware().Handler:
// a request reaches next only with a valid access token whose session has
// not logged out, and finds its claims with [FromContext]; the others get
// the RFC 6750 answers of [Middleware.Handler]. This is the guard for the
// routes of an application that logs users in with s.
func (s *Sessions) Handler(next http.Handler) http.Handler { return s.mw.Handler(next) }

// Optional is [Middleware.Optional] with the sessions' guard: a request
// without a token reaches next anonymously; one with a token must pass as
// with [Sessions.Handler].
func (s *Sessions) Optional(next http.Handler) http.Handler { return s.mw.Optional(next) }

// RequireRole is [Middleware.RequireRole] with the sessions' guard: it lets
// a request through only if its access token is valid, not logged out, and
// has every one of roles in its "roles" claim (403 naming them otherwise).
// It can stand alone or inside [Sessions.Handler].
func (s *Sessions) RequireRole(roles ...string) func(http.Handler) http.Handler {
	return s.mw.RequireRole(roles...)
}

// RequireScope is [Middleware.RequireScope] with the sessions' guard, for
// the "scope" claim.
func (s *Sessions) RequireScope(scopes ...string) func(http.Handler) http.Handler {
	return s.mw.RequireScope(scopes...)
}

// RequireFreshLogin is [Middleware.RequireFreshLogin] with the sessions'
// guard: it lets a request through only if its access token is valid, not
// logged out, and its login (auth_time, kept across refreshes) is at most
// maxAge old on the issuer's clock; otherwise 401 with the RFC 9470
// step-up challenge (insufficient_user_authentication, max_age), and the
// user must log in again. Use it in front of a change of password or
// email, or a payment. It can stand alone or inside [Sessions.Handler]. It
// panics if maxAge is under a second.
func (s *Sessions) RequireFreshLogin(maxAge time.Duration) func(http.Handler) http.Handler {
	return s.mw.RequireFreshLogin(maxAge)
}

// SetCookies writes the token cookies for pair, as the login and refresh
// handlers do in cookie mode, for applications that mint pairs in handlers
// of their own. It writes nothing and returns an error matching
// [ErrCannotIssue] when a cookie would be over the 4096 bytes of name and
// value that browsers keep (they drop larger ones silently), and for a nil
// pair.
func (s *Sessions) SetCookies(w http.ResponseWriter, pair *TokenPair) error {
	if pair == nil {
		return fmt.Errorf("%w: SetCookies: nil pair: pass the pair Issuer.Issue returned", ErrCannotIssue)
	}
	if err := s.cookies.fit(pair); err != nil {
		return err
	}
	s.cookies.set(w, pair, s.issuer.clock())
	return nil
}

// ClearCookies deletes the token cookies, as the logout handler does.
func (s *Sessions) ClearCookies(w http.ResponseWriter) { s.cookies.clear(w) }

// CookieNames returns the names of the access and refresh token cookies s
// writes in cookie mode: [AccessCookieName], and [RefreshCookieName] or
// [PathRefreshCookieName], without their prefixes under
// [WithInsecureCookies]. Use them to tell a browser's request from an API
// client's, or to read the cookies in handlers of your own.
func (s *Sessions) CookieNames() (access, refresh string) {
	return s.cookies.access, s.cookies.refresh
}

// tokenResponse is the body of a successful login or refresh (RFC 6749
// §5.1).
type tokenResponse struct {
	AccessToken  string `json:"access_token,omitempty"`
	RefreshToken string `json:"refresh_token,omitempty"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int64  `json:"expires_in"`
}

// writePair answers with a new pair: in cookies (and, with
// WithCookiesAndBody, the body too) when inCookies, in the JSON body
// otherwise. It refuses, writing nothing, a pair whose cookies browsers
// would drop. expires_in is the access token's lifetime, exp − iat: the
// access lifetime configured, or less when the session's maximum age cut
// it short; the cookies' Max-Age count from the same iat, so that the
// access cookie's equals expires_in.
func (s *Sessions) writePair(w http.ResponseWriter, pair *TokenPair, inCookies bool) error {
	now := s.issuer.clock()
	if !pair.issuedAt.IsZero() {
		now = pair.issuedAt
	}
	resp := tokenResponse{TokenType: pair.tokenType(), ExpiresIn: pair.accessLifetime(now)}
	if !inCookies || s.mode == cookiesAndBody {
		resp.AccessToken, resp.RefreshToken = pair.AccessToken, pair.RefreshToken
	}
	if inCookies {
		if err := s.cookies.fit(pair); err != nil {
			return err
		}
		s.cookies.set(w, pair, now)
	}
	b, _ := json.Marshal(resp)
	h := w.Header()
	h["Content-Type"] = contentTypeJSON
	h["Cache-Control"] = noStore
	h["Pragma"] = noCache
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(append(b, '\n'))
	return nil
}

// loginInCookies reports whether the answer to a login goes in cookies: in
// cookie mode always, with WithCookiesForBrowsers when the request carries
// the CSRF header.
func (s *Sessions) loginInCookies(r *http.Request) bool {
	switch s.mode {
	case bodyOnly:
		return false
	case perClient:
		v := r.Header[s.mw.csrf.header]
		return len(v) > 0 && v[0] != ""
	}
	return true
}

// refreshInCookies reports whether the answer to a refresh goes in
// cookies: in cookie mode always, with WithCookiesForBrowsers when the
// refresh token came from the cookie.
func (s *Sessions) refreshInCookies(fromCookie bool) bool {
	switch s.mode {
	case bodyOnly:
		return false
	case perClient:
		return fromCookie
	}
	return true
}

var noCache = []string{"no-cache"}

// Errors of the handlers that are not about a token.
var (
	errMethod      = errors.New("jwtguard: method not allowed")
	errBodyTooBig  = errors.New("jwtguard: request body too large")
	errMediaType   = errors.New("jwtguard: unsupported content type")
	errBodyRead    = badRequest("body could not be read")
	errBodyUTF8    = badRequest("body is not valid UTF-8")
	errBodyJSON    = badRequest("body is not valid JSON")
	errBodyObject  = badRequest("body must be a JSON object")
	errBodyFields  = badRequest("body has a field twice, too many fields or too deep a nesting")
	errBodyForm    = badRequest("body is not a valid form")
	errLoginFields = badRequest("username and password are required")
	errLoginEmail  = badRequest("username and password are required: send the email as username")
	errLoginGrant  = badRequest("unsupported grant_type: only password is accepted")
	errRefreshGrnt = badRequest("unsupported grant_type: only refresh_token is accepted")
	errTwoRefresh  = badRequest("refresh token in the body and in a cookie: send it in one only")
	errBadLogin    = fmt.Errorf("%w: unknown user or wrong password", ErrInvalidCredentials)
	errInternal    = errors.New("jwtguard: internal error")
	allowPost      = []string{http.MethodPost}
	methodBody     = body("invalid_request", "method not allowed")
	tooLargeBody   = body("invalid_request", "request body too large")
	mediaTypeBody  = body("invalid_request", "content type must be application/json or application/x-www-form-urlencoded")
	badLoginBody   = body("invalid_grant", "invalid username or password")
	internalBody   = body("server_error", "the request could not be completed")
	refreshDenied  = newTokenError(ErrRevoked, nil, "refresh denied")
	refreshReused  = newTokenError(ErrRevoked, nil, "refresh token reused: family revoked")
	familyRevoked  = newTokenError(ErrRevoked, nil, "family revoked")
	errNoFamily    = newTokenError(ErrMissingClaim, nil, "fid is required in a refresh token")
	errEmptyClaims = newTokenError(ErrMissingClaim, nil, "sub and jti are required")
)

// fail answers a failed lifecycle request. Token, request, CSRF and store
// errors go through the middleware's responses (and its error handler and
// failure hook); the others are answered here. Nothing from err reaches the
// body.
func (s *Sessions) fail(w http.ResponseWriter, r *http.Request, err error) {
	if s.dpopFail(w, r, err) {
		return
	}
	var status int
	var b []byte
	h := w.Header()
	switch {
	case errors.Is(err, errMethod):
		status, b = http.StatusMethodNotAllowed, methodBody
		h["Allow"] = allowPost
	case errors.Is(err, errBodyTooBig):
		status, b = http.StatusRequestEntityTooLarge, tooLargeBody
	case errors.Is(err, errMediaType):
		status, b = http.StatusUnsupportedMediaType, mediaTypeBody
	case errors.Is(err, ErrInvalidCredentials):
		status, b = http.StatusUnauthorized, badLoginBody
		h["Www-Authenticate"] = s.mw.responses.noToken.challenge
	case errors.Is(err, errInternal), errors.Is(err, ErrCannotIssue):
		status, b = http.StatusInternalServerError, internalBody
	default:
		s.mw.fail(w, r, err)
		return
	}
	s.mw.report(r, err, status)
	h["Content-Type"] = contentTypeJSON
	h["Cache-Control"] = noStore
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// readFields reads the request body, a JSON object or a urlencoded form,
// and returns the string values of the named fields ("" when absent). An
// empty body has no fields. Its errors name what is wrong with the body.
func (s *Sessions) readFields(w http.ResponseWriter, r *http.Request, names ...string) (map[string]string, error) {
	out := make(map[string]string, len(names))
	ct := r.Header.Get("Content-Type")
	if ct == "" && r.ContentLength <= 0 {
		// No declared body: anything sent anyway is not looked at.
		return out, nil
	}
	media, _, err := mime.ParseMediaType(ct)
	if err != nil || media != "application/json" && media != "application/x-www-form-urlencoded" {
		return nil, errMediaType
	}
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.maxBody))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return nil, errBodyTooBig
		}
		return nil, errBodyRead
	}
	if !utf8.Valid(b) {
		return nil, errBodyUTF8
	}
	if len(bytes.TrimSpace(b)) == 0 {
		return out, nil
	}
	if media == "application/json" {
		if !json.Valid(b) {
			return nil, errBodyJSON
		}
		// The strict scanner refuses duplicate names, which encoding/json
		// would resolve silently.
		sc := scanner{b: b}
		sc.skipSpace()
		if sc.peek() != '{' {
			return nil, errBodyObject
		}
		if !sc.object(1, maxMembers) || !sc.end() {
			return nil, errBodyFields
		}
		var fields map[string]any
		if json.Unmarshal(b, &fields) != nil {
			return nil, errBodyJSON
		}
		for _, n := range names {
			switch v := fields[n].(type) {
			case nil:
			case string:
				out[n] = v
			default:
				return nil, badRequest("field " + n + " must be a string")
			}
		}
		return out, nil
	}
	form, err := url.ParseQuery(string(b))
	if err != nil {
		return nil, errBodyForm
	}
	for _, n := range names {
		switch v := form[n]; len(v) {
		case 0:
		case 1:
			out[n] = v[0]
		default:
			return nil, badRequest("field " + n + " is given twice")
		}
	}
	return out, nil
}

// post checks the method.
func post(r *http.Request) error {
	if r.Method != http.MethodPost {
		return errMethod
	}
	return nil
}
