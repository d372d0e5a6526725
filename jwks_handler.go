package jwtguard

import (
	"bytes"
	"net/http"
	"strconv"
	"time"
)

// JWKSHandler returns an http.Handler that serves the public keys of ks as a
// JSON Web Key Set (RFC 7517 §5), so that other services can verify the
// tokens this one signs: the current key first, then the others, each with
// kid, alg, "use":"sig" and its public parameters. Private halves and HMAC
// secrets are never served.
//
// Responses carry Content-Type application/jwk-set+json, an ETag (a request
// with a matching If-None-Match gets 304), and "Cache-Control: public,
// max-age=N" with N the whole seconds of maxAge ("no-cache" when maxAge is
// under a second). Choose maxAge shorter than the time between adding a key
// and rotating to it, so that verifiers learn the key before it signs. Only
// GET and HEAD are answered; other methods get 405.
//
// The document is built when the set changes, not per request.
func (ks *KeySet) JWKSHandler(maxAge time.Duration) http.Handler {
	cacheControl := []string{"no-cache"}
	if s := int64(maxAge / time.Second); s > 0 {
		cacheControl = []string{"public, max-age=" + strconv.FormatInt(s, 10)}
	}
	contentType := []string{"application/jwk-set+json"}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, http.StatusText(http.StatusMethodNotAllowed), http.StatusMethodNotAllowed)
			return
		}
		st := ks.state.Load()
		h := w.Header()
		h["Content-Type"] = contentType
		h["Cache-Control"] = cacheControl
		h["Etag"] = []string{st.etag}
		h["X-Content-Type-Options"] = []string{"nosniff"}
		http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(st.jwks))
	})
}
