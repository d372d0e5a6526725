package jwtguard

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// Cookie names of cookie mode (see [WithCookies]).
const (
	// AccessCookieName is the access token cookie. The __Host- prefix makes
	// browsers refuse it unless it is Secure, host-only and for Path=/, so
	// no sibling subdomain can set or shadow it.
	AccessCookieName = "__Host-access_token"
	// RefreshCookieName is the refresh token cookie: a __Host- cookie of
	// its own name, or, with [WithRefreshCookiePath],
	// [PathRefreshCookieName] scoped to that path.
	RefreshCookieName = "__Host-refresh_token"
	// PathRefreshCookieName is the refresh token cookie scoped to the path
	// set with [WithRefreshCookiePath]. __Secure- makes browsers refuse it
	// unless it is Secure.
	PathRefreshCookieName = "__Secure-refresh_token"
)

// cookieMode says where the handlers put tokens.
type cookieMode uint8

const (
	bodyOnly       cookieMode = iota // JSON body only
	cookiesOnly                      // cookies, no tokens in the body
	cookiesAndBody                   // both
	perClient                        // cookies for browsers, the body for other clients
)

// maxCookieSize is the most a browser keeps of a cookie's name plus value
// (RFC 6265bis §5.6, the "name-and-value" limit): a larger cookie is
// dropped, silently.
const maxCookieSize = 4096

// fit refuses a pair whose cookies browsers would drop.
func (tc *tokenCookies) fit(pair *TokenPair) error {
	for _, c := range [...]struct{ name, value string }{{tc.access, pair.AccessToken}, {tc.refresh, pair.RefreshToken}} {
		if n := len(c.name) + len(c.value); n > maxCookieSize {
			return fmt.Errorf("%w: the %s cookie would be %d bytes (name and value), over the %d browsers keep: carry fewer or shorter claims in cookie mode",
				ErrCannotIssue, c.name, n, maxCookieSize)
		}
	}
	return nil
}

// tokenCookies writes and clears the token cookies.
type tokenCookies struct {
	access, refresh string // names
	refreshPath     string
	secure          bool
	sameSite        http.SameSite
}

// newTokenCookies applies the cookie options: prefixes need Secure, so
// [WithInsecureCookies] drops them.
func newTokenCookies(c *sessionsConfig) tokenCookies {
	tc := tokenCookies{
		access: AccessCookieName, refresh: RefreshCookieName, refreshPath: "/",
		secure: !c.insecureCookies, sameSite: http.SameSiteLaxMode,
	}
	if c.strictCookies {
		tc.sameSite = http.SameSiteStrictMode
	}
	if c.refreshPath != "" {
		tc.refresh, tc.refreshPath = PathRefreshCookieName, c.refreshPath
	}
	if c.insecureCookies {
		tc.access = strings.TrimPrefix(tc.access, "__Host-")
		tc.refresh = strings.TrimPrefix(strings.TrimPrefix(tc.refresh, "__Host-"), "__Secure-")
	}
	return tc
}

func (tc *tokenCookies) cookie(name, path, value string, maxAge int) *http.Cookie {
	return &http.Cookie{
		Name: name, Value: value, Path: path, MaxAge: maxAge,
		Secure: tc.secure, HttpOnly: true, SameSite: tc.sameSite,
	}
}

// set writes both cookies, each with Max-Age the token's remaining
// lifetime.
func (tc *tokenCookies) set(w http.ResponseWriter, pair *TokenPair, now time.Time) {
	http.SetCookie(w, tc.cookie(tc.access, "/", pair.AccessToken, maxAge(pair.AccessExpiresAt, now)))
	http.SetCookie(w, tc.cookie(tc.refresh, tc.refreshPath, pair.RefreshToken, maxAge(pair.RefreshExpiresAt, now)))
}

// clear deletes both cookies (Max-Age=0), with the attributes they were set
// with, which browsers need to delete prefixed cookies.
func (tc *tokenCookies) clear(w http.ResponseWriter) {
	http.SetCookie(w, tc.cookie(tc.access, "/", "", -1))
	http.SetCookie(w, tc.cookie(tc.refresh, tc.refreshPath, "", -1))
}

// maxAge is the whole seconds from now to exp, at least 1.
func maxAge(exp, now time.Time) int {
	if s := int(exp.Sub(now) / time.Second); s > 0 {
		return s
	}
	return 1
}

// validCookiePath reports whether p can stand in a Path attribute.
func validCookiePath(p string) error {
	if !strings.HasPrefix(p, "/") {
		return errors.New("path must start with /")
	}
	for i := 0; i < len(p); i++ {
		if c := p[i]; c < 0x20 || c >= 0x7F || c == ';' {
			return errors.New("path has a control character or ;")
		}
	}
	return nil
}
