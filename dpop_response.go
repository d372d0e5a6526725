package jwtguard

import (
	"errors"
	"net/http"
	"strings"
)

// This file writes the responses of a Middleware with DPoP on (RFC 9449
// §7.1, §9). Failures of a request under the DPoP scheme, and DPoP
// failures, are challenged with the DPoP scheme:
//
//	error                        status  WWW-Authenticate
//	ErrNoToken (allowed)         401     Bearer realm="…"  and  DPoP algs="…"
//	ErrNoToken (required)        401     DPoP algs="…"
//	ErrDPoPProof, ErrDPoPReplay  401     DPoP algs="…", error="invalid_dpop_proof", error_description="…"
//	ErrDPoPNonce                 401     DPoP algs="…", error="use_dpop_nonce", error_description="…" (+ DPoP-Nonce)
//	ErrDPoPBinding, …Required    401     DPoP algs="…", error="invalid_token", error_description="…"
//	any other, DPoP scheme       as without DPoP, with the DPoP challenge in place of the Bearer one
//	any other, bearer            as without DPoP

// dpopCode returns the OAuth error code of a DPoP failure, or "".
func dpopCode(err error) string {
	switch {
	case errors.Is(err, ErrDPoPNonce):
		return "use_dpop_nonce"
	case errors.Is(err, ErrDPoPProof):
		return "invalid_dpop_proof"
	case errors.Is(err, ErrDPoPBinding), errors.Is(err, ErrDPoPRequired):
		return "invalid_token"
	}
	return ""
}

// dpopDetail returns the error_description of a DPoP failure.
func dpopDetail(err error) string {
	var de *dpopError
	if errors.As(err, &de) {
		return de.detail
	}
	return "invalid DPoP proof"
}

// usesDPoPScheme reports whether r's Authorization header names the DPoP
// scheme.
func usesDPoPScheme(r *http.Request) bool {
	values := r.Header["Authorization"]
	if len(values) != 1 {
		return false
	}
	v := strings.TrimSpace(values[0])
	return len(v) >= 5 && strings.EqualFold(v[:4], "dpop") && v[4] == ' '
}

// write answers r for err with the table above. It reports false when the
// default response is to be written instead.
func (g *dpopGuard) write(w http.ResponseWriter, r *http.Request, err error, rs *responses) bool {
	var resp response
	switch code := dpopCode(err); {
	case code != "":
		d := dpopDetail(err)
		resp = response{
			status:    http.StatusUnauthorized,
			challenge: []string{g.challenge + `, error="` + code + `", error_description="` + d + `"`},
			body:      body(code, d),
		}
	case errors.Is(err, ErrNoToken):
		resp = rs.noToken
		if g.mode == DPoPRequired {
			resp.challenge = []string{g.challenge}
			resp.body = body("unauthorized", "a DPoP-bound access token and a DPoP proof are required")
		} else {
			resp.challenge = []string{rs.noToken.challenge[0], g.challenge}
			resp.body = body("unauthorized", "an access token is required")
		}
	case usesDPoPScheme(r):
		resp = *rs.lookup(err)
		if resp.challenge != nil {
			bearer := `Bearer realm="` + rs.realm + `"`
			resp.challenge = []string{g.challenge + strings.TrimPrefix(resp.challenge[0], bearer)}
		}
	default:
		return false
	}
	h := w.Header()
	if resp.challenge != nil {
		h["Www-Authenticate"] = resp.challenge
	}
	h["Content-Type"] = contentTypeJSON
	h["Cache-Control"] = noStore
	w.WriteHeader(resp.status)
	_, _ = w.Write(resp.body)
	return true
}

// isDPoPNonceError reports whether err asks the client for a nonce.
func isDPoPNonceError(err error) bool { return errors.Is(err, ErrDPoPNonce) }
