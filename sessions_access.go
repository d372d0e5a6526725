package jwtguard

import (
	"fmt"
	"time"
)

// issuerOwnedOptions returns an error for each access option among opts
// ([WithAccessOptions]) that would change what the guard of [NewSessions]
// takes from the issuer: its keys, iss, aud, clock and leeway, the typing
// of its access and refresh tokens, its sub, and the store. Such an option
// would break the issuer's own tokens silently (a refresh token taken for
// an access token, every access token refused, a logout not seen), so
// NewSessions refuses it, naming it.
//
// It applies opts to a probe configuration whose fields of the issuer hold
// values no option sets, and names the options whose fields changed; the
// options themselves are not looked at, so that a new option that sets one
// of these fields is caught as well.
func issuerOwnedOptions(opts []Option) []error {
	const unset = "\x00"
	const unsetLeeway = -time.Nanosecond
	p := config{
		issuer: unset, typeMode: -1, typeClaim: unset, tokenType: unset,
		leeway: unsetLeeway, clock: nil,
	}
	for _, opt := range opts {
		if opt != nil {
			opt(&p)
		}
	}
	var errs []error
	refuse := func(option, reason string) {
		errs = append(errs, fmt.Errorf("WithAccessOptions: %s is not allowed: %s; remove it", option, reason))
	}
	if len(p.keys) > 0 {
		refuse("WithKey/WithKeys", "the Issuer supplies the keys (IssuerConfig.Key or KeySet)")
	}
	switch p.source.(type) {
	case *KeySet:
		refuse("WithKeySet", "the Issuer supplies the keys (IssuerConfig.Key or KeySet)")
	case *JWKS:
		refuse("WithJWKS", "the Issuer supplies the keys (IssuerConfig.Key or KeySet)")
	}
	if p.issuers != nil {
		if len(p.issuers.static) > 0 {
			refuse("WithIssuers", "the Issuer supplies the one issuer, and its keys, that the guard trusts")
		}
		if p.issuers.resolve != nil {
			refuse("WithIssuerResolver", "the Issuer supplies the one issuer, and its keys, that the guard trusts")
		}
	}
	if p.issuer != unset {
		refuse("WithIssuer", "the Issuer supplies the iss the guard requires (IssuerConfig.Issuer)")
	}
	if len(p.audience) > 0 {
		refuse("WithAudience", "the Issuer supplies the aud the guard requires (IssuerConfig.Audience)")
	}
	const typing = "the Issuer supplies the token types (claim type access or refresh), which the guard checks so that a refresh token never passes for an access token"
	switch {
	case p.typeMode == typeUnchecked:
		refuse("WithInsecureNoTokenType", typing)
	case p.typeMode == typeByHeader:
		refuse("WithTokenTypeHeader", typing)
	case p.typeClaim != unset:
		refuse("WithTypeClaim", typing)
	case p.tokenType != unset:
		refuse("WithTokenType", typing)
	}
	if p.subjectOptional {
		refuse("WithSubjectOptional", "the Issuer supplies tokens that always carry sub")
	}
	if p.store != nil {
		refuse("WithStore", "the Issuer's tokens are checked against the store given to NewSessions")
	}
	if p.noRevocationCheck {
		refuse("WithInsecureNoRevocationCheck", "the Issuer's tokens are checked against the store given to NewSessions, so that a logout logs out")
	}
	if p.clock != nil {
		refuse("WithClock", "the Issuer supplies the clock (IssuerConfig.Clock)")
	}
	if p.leeway != unsetLeeway {
		refuse("WithLeeway", "the Issuer supplies the leeway (IssuerConfig.Leeway)")
	}
	return errs
}

// sessionsConfigError is the error of [NewSessions]: it matches
// [ErrInvalidConfig] and lists every problem.
type sessionsConfigError struct{ err error }

func (e *sessionsConfigError) Error() string {
	return "jwtguard: invalid sessions configuration: " + e.err.Error()
}

func (e *sessionsConfigError) Unwrap() []error { return []error{ErrInvalidConfig, e.err} }
