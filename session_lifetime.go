package jwtguard

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/golang-jwt/jwt/v5"
)

// The default and limits of [WithSessionMaxAge].
const (
	// DefaultSessionMaxAge is how long after the login a session ends,
	// however often it is refreshed.
	DefaultSessionMaxAge = 30 * 24 * time.Hour
	// MaxSessionMaxAge is the longest maximum age [NewSessions] accepts:
	// 400 days, the longest browsers keep a cookie.
	MaxSessionMaxAge = 400 * 24 * time.Hour
)

// Limits of the metadata a session keeps ([WithSessionMetadata]).
const (
	maxMetadataEntries = 8
	maxMetadataKey     = 32  // bytes: lower-case letters, digits, '_'
	maxMetadataValue   = 256 // bytes of UTF-8; longer values are cut
)

// WithSessionMaxAge sets the absolute lifetime of a session: d after the
// login, its refresh tokens can no longer be refreshed, however often they
// were. Rotation never extends a session past it: the exp of every token of
// the session (refresh and access) is at most the login's time (auth_time)
// plus d, and a refresh after it is refused with 401 invalid_token,
// "the session reached its maximum age: log in again". The refresh token
// lifetime (IssuerConfig.RefreshTTL) stays the idle timeout: a session not
// refreshed for that long ends sooner. Default: [DefaultSessionMaxAge] (30
// days); between a minute and [MaxSessionMaxAge] (400 days).
func WithSessionMaxAge(d time.Duration) SessionsOption {
	return func(c *sessionsConfig) {
		if d < time.Minute || d > MaxSessionMaxAge {
			c.errs = append(c.errs, fmt.Errorf("WithSessionMaxAge: %v is outside [1m, %v]", d, MaxSessionMaxAge))
		}
		c.session.maxAge = d
	}
}

// WithSessionMetadata sets what a session records of the request that
// logged in, for the session list ([Sessions.ListSessions]): fn returns
// names and values, such as {"user_agent": r.UserAgent(), "ip": …}. Names
// are 1 to 32 bytes of lower-case ASCII letters, digits and '_', other than
// the members the session list has already (id, created_at, last_used_at,
// expires_at, current); values are cut to 256 bytes of UTF-8; at most 8
// entries. A login whose metadata breaks these rules fails with 500 (a bug
// of fn, reported to the failure hook). What is recorded is shown to the
// user and kept in the store: record no secrets. Default: the User-Agent
// header, as "user_agent" ("" when the request has none).
func WithSessionMetadata(fn func(r *http.Request) map[string]string) SessionsOption {
	return func(c *sessionsConfig) {
		if fn == nil {
			c.errs = append(c.errs, errors.New("WithSessionMetadata: nil func"))
		}
		c.session.metadata = fn
	}
}

// sessionConfig is what the session options set.
type sessionConfig struct {
	maxAge   time.Duration
	metadata func(*http.Request) map[string]string
}

func defaultSessionConfig() sessionConfig {
	return sessionConfig{maxAge: DefaultSessionMaxAge, metadata: userAgentMetadata}
}

// userAgentMetadata is the default metadata of a session.
func userAgentMetadata(r *http.Request) map[string]string {
	return map[string]string{"user_agent": r.UserAgent()}
}

// sessionRules is how a [Sessions] starts and refreshes sessions.
type sessionRules struct {
	maxAge   time.Duration
	metadata func(*http.Request) map[string]string
}

func newSessionRules(c *sessionConfig) sessionRules {
	return sessionRules{maxAge: c.maxAge, metadata: c.metadata}
}

// Answers about sessions, 401 invalid_token with a description that says
// what happened.
var (
	errSessionEnded = publicTokenError(ErrExpired, jwt.ErrTokenExpired,
		"the session reached its maximum age: log in again")
	errRefreshExpired = publicTokenError(ErrExpired, jwt.ErrTokenExpired,
		"refresh token expired: log in again")
	errNoAuthTime = publicTokenError(ErrMissingClaim, jwt.ErrTokenRequiredClaimMissing,
		"the refresh token has no auth_time (minted before sessions had a maximum age): log in again")
	errSubjectRevoked = publicTokenError(ErrRevoked, nil,
		"token revoked: the user signed out everywhere or changed the password; log in again")
)

// reservedSessionMembers are the members of a session in the session list,
// which metadata may not use.
var reservedSessionMembers = [...]string{"id", "created_at", "last_used_at", "expires_at", "current"}

// sessionMetadata returns the checked metadata of a login request.
func (rules *sessionRules) sessionMetadata(r *http.Request) (map[string]string, error) {
	md := rules.metadata(r)
	if len(md) > maxMetadataEntries {
		return nil, fmt.Errorf("%w: session metadata has %d entries, at most %d", errInternal, len(md), maxMetadataEntries)
	}
	var out map[string]string
	for k, v := range md {
		if !metadataName(k) {
			return nil, fmt.Errorf("%w: session metadata name %q: want 1 to %d bytes of a-z, 0-9 and _, not one of %v",
				errInternal, k, maxMetadataKey, reservedSessionMembers)
		}
		if out == nil {
			out = make(map[string]string, len(md))
		}
		out[k] = cutUTF8(v, maxMetadataValue)
	}
	return out, nil
}

// metadataName reports whether k may name a metadata entry.
func metadataName(k string) bool {
	if k == "" || len(k) > maxMetadataKey {
		return false
	}
	for _, m := range reservedSessionMembers {
		if k == m {
			return false
		}
	}
	for i := 0; i < len(k); i++ {
		if c := k[i]; !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}

// cutUTF8 returns s, made valid UTF-8 and cut to at most n bytes on a
// character boundary.
func cutUTF8(s string, n int) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// startSession mints the pair of a new session for subject, bound to the
// DPoP key jkt when it is not "", and records the session with the
// metadata of r.
func (s *Sessions) startSession(ctx context.Context, r *http.Request, subject string, claims map[string]any, jkt string) (*TokenPair, error) {
	md, err := s.session.sessionMetadata(r)
	if err != nil {
		return nil, err
	}
	fid, err := randomID()
	if err != nil {
		return nil, fmt.Errorf("%w: %w", errInternal, err)
	}
	now := s.issuer.clock()
	login := now.Truncate(time.Second)
	pair, err := s.issuer.issueBound(ctx, subject, claims, fid, jkt, sessionBounds{authTime: login, end: login.Add(s.session.maxAge)})
	switch {
	case errors.Is(err, ErrCannotIssue):
		return nil, fmt.Errorf("login: %w", err)
	case err != nil:
		return nil, fmt.Errorf("%w: %w", errInternal, err)
	}
	// CreatedAt is the login's time as the clock gave it, not auth_time's
	// whole second, so that the sessions of one second list in order.
	rec := Session{ID: fid, Subject: subject, CreatedAt: now, LastUsedAt: now,
		ExpiresAt: pair.RefreshExpiresAt, Metadata: md}
	if err := s.store.StartSession(ctx, s.issuer.iss, rec, pair.RefreshExpiresAt.Add(s.issuer.leeway)); err != nil {
		return nil, storeError(err)
	}
	return pair, nil
}

// Login starts a session for subject, as [Sessions.LoginHandler] does once
// the credentials are checked: it mints a pair of a new family with extra
// claims (nil for none; see [Issuer.Issue]), records the session with the
// metadata of r ([WithSessionMetadata]), and answers 200 with the pair, in
// the JSON body or in cookies as the login handler would answer r. Use it
// in handlers of your own that log a user in, such as a change of password
// after [Sessions.RevokeSubject]. On failure it has answered (503 when the
// store fails, 500 when the claims cannot be minted) and returns the error.
//
// With [WithDPoP] among the access options, the pair is bound to the key of
// r's DPoP proof, with token_type "DPoP", as the login handler binds it: in
// a handler behind [Sessions.Handler] (or another guard of s), the key that
// proved the request's DPoP-bound access token, so a DPoP client keeps its
// key across, say, a change of password; in a handler with no guard, the
// key of a DPoP proof checked as at the login endpoint (htm POST, htu the
// request's URL, no ath; 400 invalid_dpop_proof or use_dpop_nonce
// otherwise). A request with neither gets a bearer pair. A request that
// would be answered in cookies and carries a DPoP proof is refused with 400
// invalid_request, as at the login handler: a bound token in a cookie could
// never be used.
func (s *Sessions) Login(w http.ResponseWriter, r *http.Request, subject string, claims map[string]any) error {
	w.Header()["Cache-Control"] = noStore
	inCookies := s.loginInCookies(r)
	jkt, err := s.loginKey(r, inCookies)
	var pair *TokenPair
	if err == nil {
		pair, err = s.startSession(r.Context(), r, subject, claims, jkt)
	}
	if err == nil {
		s.mw.dpop.setNonce(w, r, nil)
		err = s.writePair(w, pair, inCookies)
	}
	if err != nil {
		s.fail(w, r, err)
	}
	return err
}

// checkRefresh applies the session's rules to a refresh token that has
// verified: it must have auth_time, its session must not have reached its
// maximum age at now, and its subject must not have been revoked since it
// was issued. It returns the session's bounds for the next pair.
func (s *Sessions) checkRefresh(ctx context.Context, tc *tokenClaims, now time.Time) (sessionBounds, error) {
	if tc.authTime.IsZero() {
		return sessionBounds{}, errNoAuthTime
	}
	b := sessionBounds{authTime: tc.authTime, end: tc.authTime.Add(s.session.maxAge)}
	if !now.Before(b.end) {
		return sessionBounds{}, errSessionEnded
	}
	revoked, err := s.store.IsSubjectRevoked(ctx, tc.iss, tc.sub, tc.iat)
	if err != nil {
		return sessionBounds{}, storeError(err)
	}
	if revoked {
		return sessionBounds{}, errSubjectRevoked
	}
	return b, nil
}

// touchSession records a refresh of the session of tc that minted pair.
func (s *Sessions) touchSession(ctx context.Context, tc *tokenClaims, now time.Time, pair *TokenPair) error {
	err := s.store.TouchSession(ctx, tc.iss, tc.sub, tc.fid, now, pair.RefreshExpiresAt, pair.RefreshExpiresAt.Add(s.issuer.leeway))
	if err != nil {
		return storeError(err)
	}
	return nil
}

// expiredRefresh explains a refresh token refused as expired: the session
// reached its maximum age when its exp is the end of its session
// (auth_time plus the maximum age), and the refresh token expired (the idle
// timeout) otherwise. The token's signature has verified (a token is found
// expired only after that), so its claims are the issuer's; they choose a
// description, nothing else.
func (s *Sessions) expiredRefresh(token string) error {
	var c struct {
		Exp      float64 `json:"exp"`
		AuthTime float64 `json:"auth_time"`
	}
	parts := strings.Split(token, ".")
	if len(parts) == 3 {
		if b, err := base64.RawURLEncoding.DecodeString(parts[1]); err == nil && json.Unmarshal(b, &c) == nil &&
			c.AuthTime > 0 && int64(c.Exp) == int64(c.AuthTime)+int64(s.session.maxAge/time.Second) {
			return errSessionEnded
		}
	}
	return errRefreshExpired
}
