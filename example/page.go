package main

import (
	"bytes"
	"crypto/sha256"
	_ "embed"
	"encoding/base64"
	"net/http"
)

// page is the whole browser client: HTML, CSS and script in one file,
// embedded at build time, no external assets.
//
//go:embed page.html
var page []byte

// pageHandler serves the page at GET /. The Content-Security-Policy allows
// the page's own inline script (by its hash) and nothing else: no other
// script, no connection to another origin, no framing by another site.
func pageHandler() http.Handler {
	csp := "default-src 'none'; script-src '" + scriptHash(page) + "'; style-src 'unsafe-inline'; " +
		"connect-src 'self'; form-action 'none'; frame-ancestors 'none'; base-uri 'none'"
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			writeError(w, http.StatusMethodNotAllowed, "invalid_request", "method not allowed")
			return
		}
		h := w.Header()
		h.Set("Content-Type", "text/html; charset=utf-8")
		h.Set("Cache-Control", "no-store")
		h.Set("Content-Security-Policy", csp)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		_, _ = w.Write(page)
	})
}

// scriptHash is the CSP source for the one inline <script> of html.
func scriptHash(html []byte) string {
	_, after, _ := bytes.Cut(html, []byte("<script>"))
	body, _, _ := bytes.Cut(after, []byte("</script>"))
	sum := sha256.Sum256(body)
	return "sha256-" + base64.StdEncoding.EncodeToString(sum[:])
}

// sessionProbe answers GET with which of the token cookies the request
// carries, {"access": bool, "refresh": bool}, always with 200. It
// verifies nothing: it tells the page, whose script cannot read the
// httpOnly cookies, whether asking /me or /refresh can succeed, so that
// opening the page without a session makes no request that fails.
func sessionProbe(access, refresh string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, errAccess := r.Cookie(access)
		_, errRefresh := r.Cookie(refresh)
		writeJSON(w, http.StatusOK, map[string]bool{"access": errAccess == nil, "refresh": errRefresh == nil})
	})
}
