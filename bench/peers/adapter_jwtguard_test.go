//go:build peerbench

// This file is the jwtguard adapter of the peer harness in
// ../shared/bench/peers (relative to the repository root). It is built only
// there, with -tags peerbench: run.sh in this folder copies the harness to
// a scratch directory, drops this file in and runs it.

package peerbench

import (
	"net/http"

	"github.com/jwtguard/jwtguard"
)

func init() {
	register(Adapter{Name: "jwtguard", Order: 5, Algs: AllAlgs, New: func(alg Alg) (http.Handler, error) {
		return newJWTGuard(alg, false)
	}})
	register(Adapter{Name: "jwtguard-cached", Order: 6, Algs: AllAlgs, New: func(alg Alg) (http.Handler, error) {
		return newJWTGuard(alg, true)
	}})
}

// jwtguardClaims are the token's app claims: jwtguard's Claims (registered
// claims, type, roles) plus email. It needs no Clone method: a struct that
// embeds Claims and adds simple fields is filled by jwtguard's scanner, on
// a cache hit too (a Clone method would be used instead, and the one
// written with Claims.Clone allocates more).
type jwtguardClaims struct {
	jwtguard.Claims
	Email string `json:"email"`
}

// newJWTGuard configures jwtguard like the peers: only alg, issuer wantIss,
// audience wantAud, the key verifyKey(alg); it also checks the "type":
// "access" claim (its default). cached adds WithCache(10000).
func newJWTGuard(alg Alg, cached bool) (http.Handler, error) {
	opts := []jwtguard.Option{
		jwtguard.WithKey(string(alg), verifyKey(alg)),
		jwtguard.WithIssuer(wantIss),
		jwtguard.WithAudience(wantAud),
		jwtguard.WithClaimsType[jwtguardClaims](),
	}
	if cached {
		opts = append(opts, jwtguard.WithCache(10000))
	}
	mw, err := jwtguard.New(opts...)
	if err != nil {
		return nil, err
	}
	final := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, ok := jwtguard.ClaimsFromContext[jwtguardClaims](r.Context())
		if !ok {
			Saw(w, "", "", "", 0)
			return
		}
		Saw(w, c.Subject, c.Email, c.Type, len(c.Roles))
	})
	return mw.Handler(final), nil
}
