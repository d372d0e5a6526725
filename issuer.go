package jwtguard

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Defaults of [NewIssuer].
const (
	// DefaultAccessTTL is the lifetime of access tokens.
	DefaultAccessTTL = 30 * time.Minute
	// DefaultRefreshTTL is the lifetime of refresh tokens.
	DefaultRefreshTTL = 7 * 24 * time.Hour
)

// Header typ values of the tokens an [Issuer] mints (RFC 8725 §3.11
// explicit typing). They name the type claim, so a verifier that checks
// either one refuses the other kind of token.
const (
	AccessTokenTyp  = "access+jwt"
	RefreshTokenTyp = "refresh+jwt"
)

// IssuerConfig configures an [Issuer]. Only Key and Issuer are required.
type IssuerConfig struct {
	// Key signs the tokens: a []byte secret for HS256, HS384 and HS512 (at
	// least 32, 48 and 64 bytes), or a private key (*rsa.PrivateKey of at
	// least 2048 bits, *ecdsa.PrivateKey on the algorithm's curve,
	// ed25519.PrivateKey). When Key.ID is set, tokens carry it as kid.
	// Set either Key or KeySet.
	Key Key

	// KeySet, instead of Key, signs every token with the set's current
	// key at the time of signing, stamping its kid, and the issuer's
	// verifiers (and those of [NewSessions]) accept every key of the set,
	// so keys can rotate while the service runs.
	KeySet *KeySet

	// Issuer is the iss claim, and the issuer the verifiers require.
	Issuer string

	// Audience is the aud claim (a string when there is one, an array
	// otherwise) and the audiences the verifiers require. Default: none.
	Audience []string

	// AccessTTL is the lifetime of access tokens. Default:
	// [DefaultAccessTTL] (30 minutes).
	AccessTTL time.Duration

	// RefreshTTL is the lifetime of refresh tokens. Default:
	// [DefaultRefreshTTL] (7 days). It must be longer than AccessTTL.
	RefreshTTL time.Duration

	// Leeway is the clock skew the verifiers allow, as [WithLeeway].
	// Default: 0.
	Leeway time.Duration

	// Clock is the source of the current time, for tests. Default:
	// time.Now.
	Clock func() time.Time
}

// An Issuer mints token pairs: a short-lived access token and a long-lived
// refresh token of one family. Make one with [NewIssuer]. It is immutable
// and safe for concurrent use.
//
// The tokens are signed JWTs (JWS compact serialization), not encrypted:
// anyone who holds one can read every claim in it. Put nothing secret in the
// claims passed to [Issuer.Issue].
type Issuer struct {
	keys       signingKeys
	iss        string
	aud        any // nil, a string, or a []string
	audience   []string
	accessTTL  time.Duration
	refreshTTL time.Duration
	leeway     time.Duration
	clock      func() time.Time
	keyOption  Option      // how verifiers get the keys: WithKeys or WithKeySet
	access     *Middleware // verifies access tokens, no store
	refresh    *Middleware // verifies refresh tokens, no store
}

// TokenPair is what [Issuer.Issue] returns.
type TokenPair struct {
	// AccessToken is the access token (claim type "access").
	AccessToken string
	// RefreshToken is the refresh token (claim type "refresh").
	RefreshToken string
	// AccessExpiresAt is the access token's exp.
	AccessExpiresAt time.Time
	// RefreshExpiresAt is the refresh token's exp.
	RefreshExpiresAt time.Time
	// DPoPKey is the RFC 7638 thumbprint of the DPoP key both tokens are
	// bound to (their cnf.jkt claim), or "" for bearer tokens.
	DPoPKey string

	issuedAt time.Time // the iat of both tokens; zero for a pair made by hand
}

// accessLifetime is the access token's lifetime in whole seconds, exp − iat
// (expires_in, RFC 6749 §5.1): the access lifetime, or less near the end of
// the session. For a pair made by hand it is the time left at now.
func (p *TokenPair) accessLifetime(now time.Time) int64 {
	if !p.issuedAt.IsZero() {
		now = p.issuedAt
	}
	return int64(maxAge(p.AccessExpiresAt, now))
}

// NewIssuer returns an Issuer configured by cfg, reporting every problem at
// once: no issuer, a missing or weak key (the same rules as [New]: an HMAC
// secret shorter than its hash, an RSA key under 2048 bits, the "none"
// algorithm), a public key where the private one is needed, or lifetimes
// out of order.
func NewIssuer(cfg IssuerConfig) (*Issuer, error) {
	if cfg.AccessTTL == 0 {
		cfg.AccessTTL = DefaultAccessTTL
	}
	if cfg.RefreshTTL == 0 {
		cfg.RefreshTTL = DefaultRefreshTTL
	}
	if cfg.Clock == nil {
		cfg.Clock = time.Now
	}
	var errs []error
	if cfg.Issuer == "" {
		errs = append(errs, errors.New("no issuer"))
	}
	if cfg.AccessTTL < time.Second {
		errs = append(errs, fmt.Errorf("access lifetime %v is under a second", cfg.AccessTTL))
	}
	if cfg.RefreshTTL <= cfg.AccessTTL {
		errs = append(errs, fmt.Errorf("refresh lifetime %v is not longer than the access lifetime %v", cfg.RefreshTTL, cfg.AccessTTL))
	}
	var (
		sk        signingKeys
		keyOption Option
		err       error
	)
	switch {
	case cfg.KeySet != nil && (cfg.Key.Key != nil || cfg.Key.Algorithm != "" || cfg.Key.ID != ""):
		err = errors.New("both Key and KeySet: set one")
	case cfg.KeySet == nil && cfg.Key.Key == nil && cfg.Key.Algorithm == "":
		err = errors.New("no key: set Key or KeySet")
	case cfg.KeySet != nil:
		sk, keyOption = keySetSigner{cfg.KeySet}, WithKeySet(cfg.KeySet)
		_, err = sk.signingKey()
	default:
		sk, err = newStaticKey(cfg.Key)
		keyOption = WithKeys(cfg.Key)
	}
	if err != nil {
		errs = append(errs, err)
	}
	var access, refresh *Middleware
	if err == nil {
		// The handlers that use these verifiers consult the store
		// themselves.
		common := []Option{
			keyOption, WithIssuer(cfg.Issuer), WithClock(cfg.Clock), WithLeeway(cfg.Leeway),
			WithClaimsType[tokenClaims](), WithInsecureNoRevocationCheck(),
		}
		if len(cfg.Audience) > 0 {
			common = append(common, WithAudience(cfg.Audience...))
		}
		// The issuer's name, audience and leeway are checked here as New
		// checks them; the first error reports them all.
		if access, err = New(append(common, WithTokenType(TypeAccess))...); err != nil {
			errs = append(errs, err)
		} else if refresh, err = New(append(common, WithTokenType(TypeRefresh))...); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("jwtguard: invalid issuer configuration: %w", err)
	}
	i := &Issuer{
		keys:       sk,
		iss:        cfg.Issuer,
		audience:   append([]string(nil), cfg.Audience...),
		accessTTL:  cfg.AccessTTL,
		refreshTTL: cfg.RefreshTTL,
		leeway:     cfg.Leeway,
		clock:      cfg.Clock,
		keyOption:  keyOption,
		access:     access,
		refresh:    refresh,
	}
	switch len(i.audience) {
	case 0:
	case 1:
		i.aud = i.audience[0]
	default:
		i.aud = i.audience
	}
	return i, nil
}

// Issue mints a new pair for subject, starting a new refresh token family.
// claims are extra claims put in both tokens as they are (for example
// "roles": []string{"admin"} or "scope": "orders:read"); they may be nil.
// They must not name a claim the issuer sets (iss, sub, aud, exp, nbf, iat,
// jti, type, fid, cnf, auth_time), nor differ from a known claim only in
// case, and "roles" and "scope" must have the types of [Claims].
//
// Each token gets a random jti; both carry the family id in claim "fid",
// and the time of issue as auth_time, the time the user authenticated (RFC
// 9068 §2.2.1): call Issue when the user has just logged in. Anyone can
// read the claims: put nothing secret in them.
func (i *Issuer) Issue(ctx context.Context, subject string, claims map[string]any) (*TokenPair, error) {
	fid, err := randomID()
	if err != nil {
		return nil, err
	}
	return i.issue(ctx, subject, claims, fid, sessionBounds{})
}

// sessionBounds are what a pair carries of its session: when the user
// logged in (auth_time), and the end no token of the session may outlive.
// Zero values: a login now, and no end.
type sessionBounds struct {
	authTime, end time.Time
}

// ErrCannotIssue is matched by the error of [Issuer.Issue] for a pair it
// refuses to mint, rather than mint tokens that would fail later: an empty
// subject, an extra claim that the issuer sets itself or that the verifier
// would refuse (the message names the claim and the JSON type it needs), a
// token over [DefaultMaxTokenSize], or, in cookie mode, a cookie over the
// 4096 bytes browsers keep. The login and refresh handlers answer it with
// 500 server_error, and report it to the failure hook and the logger: it is
// a bug of the application (its [LoginFunc] or [RefreshFunc]), not of the
// client.
var ErrCannotIssue = errors.New("jwtguard: cannot issue token")

// issue mints a pair of family fid.
func (i *Issuer) issue(ctx context.Context, subject string, claims map[string]any, fid string, b sessionBounds) (*TokenPair, error) {
	return i.issueBound(ctx, subject, claims, fid, "", b)
}

// issueBound mints a pair of family fid bound to the DPoP key thumbprint
// jkt (claim cnf.jkt, RFC 9449 §6.1), or unbound when jkt is "".
func (i *Issuer) issueBound(_ context.Context, subject string, claims map[string]any, fid, jkt string, b sessionBounds) (*TokenPair, error) {
	if subject == "" {
		return nil, fmt.Errorf("%w: empty subject: the subject is the user's stable ID", ErrCannotIssue)
	}
	if err := checkClaims(claims); err != nil {
		return nil, err
	}
	key, err := i.keys.signingKey()
	if err != nil {
		return nil, fmt.Errorf("jwtguard: issue: %w", err)
	}
	now := i.clock().Truncate(time.Second)
	pair := &TokenPair{AccessExpiresAt: now.Add(i.accessTTL), RefreshExpiresAt: now.Add(i.refreshTTL), DPoPKey: jkt, issuedAt: now}
	if b.authTime.IsZero() {
		b.authTime = now
	}
	if !b.end.IsZero() {
		// A session ends at its end, whatever the lifetimes say.
		pair.AccessExpiresAt = earliest(pair.AccessExpiresAt, b.end)
		pair.RefreshExpiresAt = earliest(pair.RefreshExpiresAt, b.end)
	}
	if pair.AccessToken, err = i.mint(key, subject, claims, fid, jkt, TypeAccess, now, pair.AccessExpiresAt, b.authTime); err != nil {
		return nil, err
	}
	if pair.RefreshToken, err = i.mint(key, subject, claims, fid, jkt, TypeRefresh, now, pair.RefreshExpiresAt, b.authTime); err != nil {
		return nil, err
	}
	return pair, nil
}

// earliest returns the earlier of a and b.
func earliest(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

// mint signs one token.
func (i *Issuer) mint(key *signingKey, subject string, extra map[string]any, fid, jkt, typ string, now, exp, authTime time.Time) (string, error) {
	jti, err := randomID()
	if err != nil {
		return "", err
	}
	payload := make(map[string]any, len(extra)+10)
	for k, v := range extra {
		payload[k] = v
	}
	payload["iss"] = i.iss
	payload["sub"] = subject
	if i.aud != nil {
		payload["aud"] = i.aud
	}
	payload["iat"] = now.Unix()
	payload["nbf"] = now.Unix()
	payload["exp"] = exp.Unix()
	payload["jti"] = jti
	payload["type"] = typ
	payload["fid"] = fid
	if jkt != "" {
		payload["cnf"] = map[string]string{"jkt": jkt}
	}
	payload["auth_time"] = authTime.Unix()
	pb, err := json.Marshal(payload)
	if err != nil {
		return "", fmt.Errorf("%w: claims: %w", ErrCannotIssue, err)
	}
	// What the verifier would refuse is refused here, not at the first
	// request (checkClaims has named the claim of most such problems).
	if _, err := scanClaims(pb, DefaultTypeClaim, nil); err != nil {
		return "", fmt.Errorf("%w: claims would not verify: %w", ErrCannotIssue, err)
	}
	typHeader := AccessTokenTyp
	if typ == TypeRefresh {
		typHeader = RefreshTokenTyp
	}
	hb, err := json.Marshal(struct {
		Alg string `json:"alg"`
		Kid string `json:"kid,omitempty"`
		Typ string `json:"typ"`
	}{key.alg, key.id, typHeader})
	if err != nil {
		return "", err
	}
	enc := base64.RawURLEncoding
	input := enc.EncodeToString(hb) + "." + enc.EncodeToString(pb)
	sig, err := key.method.Sign(input, key.key)
	if err != nil {
		return "", fmt.Errorf("jwtguard: issue: sign: %w", err)
	}
	token := input + "." + enc.EncodeToString(sig)
	if len(token) > DefaultMaxTokenSize {
		return "", fmt.Errorf("%w: the %s token is %d bytes, over the %d verifiers accept: carry fewer or shorter claims",
			ErrCannotIssue, typ, len(token), DefaultMaxTokenSize)
	}
	return token, nil
}

// checkClaims refuses, naming it, the first extra claim (in name order)
// that the issuer sets itself, that cannot be encoded as JSON, or that the
// verifier would refuse: a name that differs from a claim the package reads
// only in case, or "roles" or "scope" of another JSON type.
func checkClaims(claims map[string]any) error {
	names := slices.Sorted(maps.Keys(claims))
	for i, name := range names {
		if reservedClaim(name) {
			return fmt.Errorf("%w: claim %q is set by the issuer", ErrCannotIssue, name)
		}
		for _, other := range names[i+1:] {
			if strings.EqualFold(name, other) {
				return fmt.Errorf("%w: claims %q and %q differ only in case, which verifiers refuse", ErrCannotIssue, name, other)
			}
		}
		for _, k := range knownNames {
			if name != k && strings.EqualFold(name, k) {
				return fmt.Errorf("%w: claim %q differs from %q only in case, which verifiers refuse", ErrCannotIssue, name, k)
			}
		}
		b, err := json.Marshal(claims[name])
		if err != nil {
			return fmt.Errorf("%w: claim %q cannot be encoded as JSON: %w", ErrCannotIssue, name, err)
		}
		switch name {
		case "roles":
			s := scanner{b: b}
			if _, ok := s.stringArray("", nil); !ok || !s.end() {
				return fmt.Errorf("%w: claim \"roles\" must be a JSON array of strings (such as []string{\"admin\"}), got %s",
					ErrCannotIssue, jsonKind(b))
			}
		case "scope":
			if b[0] != '"' {
				return fmt.Errorf("%w: claim \"scope\" must be a JSON string of space-separated scopes, got %s", ErrCannotIssue, jsonKind(b))
			}
		}
	}
	return nil
}

// jsonKind names the JSON type of the encoded value b.
func jsonKind(b []byte) string {
	switch b[0] {
	case '"':
		return "a string"
	case '[':
		return "an array with an element that is not a string"
	case '{':
		return "an object"
	case 't', 'f':
		return "a boolean"
	case 'n':
		return "null"
	}
	return "a number"
}

// reservedClaim reports whether name is, or differs only in case from, a
// claim the issuer sets.
func reservedClaim(name string) bool {
	for _, r := range [...]string{"iss", "sub", "aud", "exp", "nbf", "iat", "jti", "type", "fid", "cnf", "auth_time"} {
		if strings.EqualFold(name, r) {
			return true
		}
	}
	return false
}

// randomID returns 128 random bits, base64url-encoded.
func randomID() (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("jwtguard: random: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b[:]), nil
}

// signingKeys is the one place an Issuer gets the key it signs with. A key
// set with rotation can implement it to hand out its current key.
type signingKeys interface {
	signingKey() (*signingKey, error)
}

// keySetSigner signs with the current key of a KeySet.
type keySetSigner struct{ ks *KeySet }

func (s keySetSigner) signingKey() (*signingKey, error) {
	k, err := s.ks.SigningKey()
	if err != nil {
		return nil, err
	}
	sk, err := newStaticKey(k)
	if err != nil {
		return nil, err
	}
	return &sk.k, nil
}

// signingKey is a checked key ready to sign.
type signingKey struct {
	id     string
	alg    string
	method jwt.SigningMethod
	key    any // []byte, *rsa.PrivateKey, *ecdsa.PrivateKey or ed25519.PrivateKey
}

// staticKey is a single signing key.
type staticKey struct{ k signingKey }

func (s *staticKey) signingKey() (*signingKey, error) { return &s.k, nil }

// newStaticKey checks k with the verification rules of keys.go, and that
// it is the private half where there are two.
func newStaticKey(k Key) (*staticKey, error) {
	if strings.EqualFold(k.Algorithm, "none") {
		return nil, errors.New(`algorithm "none" is never allowed`)
	}
	v, err := checkKey(k)
	if err != nil {
		return nil, err
	}
	key := k.Key
	switch k.Key.(type) {
	case []byte:
		key = v.key // the private copy checkKey made
	case *rsa.PrivateKey, *ecdsa.PrivateKey, ed25519.PrivateKey:
	default:
		return nil, keyError(k, fmt.Errorf("signing with %s needs the private key, got %T", k.Algorithm, k.Key))
	}
	return &staticKey{k: signingKey{id: k.ID, alg: k.Algorithm, method: v.method, key: key}}, nil
}

// tokenClaims is what the lifecycle handlers read of a verified token: the
// claims they act on, and the raw members to carry over to the next pair.
type tokenClaims struct {
	iss, sub, jti, fid string
	exp                time.Time
	iat                time.Time // zero: no iat
	authTime           time.Time // zero: no auth_time
	raw                map[string]json.RawMessage
}

// UnmarshalJSON reads a payload the verifier has already checked strictly.
func (c *tokenClaims) UnmarshalJSON(b []byte) error {
	if err := json.Unmarshal(b, &c.raw); err != nil {
		return err
	}
	for name, dst := range map[string]*string{"iss": &c.iss, "sub": &c.sub, "jti": &c.jti, "fid": &c.fid} {
		if v, ok := c.raw[name]; ok {
			if err := json.Unmarshal(v, dst); err != nil {
				return err
			}
		}
	}
	for name, dst := range map[string]*time.Time{"exp": &c.exp, "iat": &c.iat, "auth_time": &c.authTime} {
		if v, ok := c.raw[name]; ok {
			var secs float64
			if err := json.Unmarshal(v, &secs); err != nil {
				return err
			}
			*dst = toDate(secs).Time
		}
	}
	return nil
}

// extra returns the claims the issuer did not set, to mint the next pair
// with, decoded as encoding/json does into an any, except that numbers are
// json.Number, so that they are minted again digit for digit.
func (c *tokenClaims) extra() (map[string]any, error) {
	out := make(map[string]any, len(c.raw))
	for name, raw := range c.raw {
		if reservedClaim(name) {
			continue
		}
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.UseNumber()
		var v any
		if err := dec.Decode(&v); err != nil {
			return nil, err
		}
		out[name] = v
	}
	return out, nil
}
