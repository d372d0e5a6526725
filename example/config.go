package main

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/jwtguard/jwtguard"
)

// Config is the example's configuration, read from the environment by
// loadConfig. Every field has a default that lets `go run ./example` work
// with no set-up.
type Config struct {
	// Addr is the listen address (ADDR, default localhost:8080).
	Addr string
	// Secret is the HS256 key (JWT_SECRET, at least 32 bytes). When unset,
	// a random one is made and SecretGenerated is true.
	Secret          []byte
	SecretGenerated bool
	// Issuer and Audience are the iss and aud claims (JWT_ISSUER and
	// JWT_AUDIENCE, default jwtguard-example).
	Issuer, Audience string
	// DBPath is the SQLite database file (DB_PATH, default
	// jwtguard-example.db in the working directory).
	DBPath string
	// AccessTTL and RefreshTTL are the token lifetimes (ACCESS_TOKEN_TTL,
	// default 30m; REFRESH_TOKEN_TTL, default 168h).
	AccessTTL, RefreshTTL time.Duration
	// InsecureCookies drops Secure and the __Host-/__Secure- prefixes from
	// the token cookies (INSECURE_COOKIES=1), for development over plain
	// HTTP on an address that browsers do not treat as secure.
	InsecureCookies bool
	// TLSCertFile and TLSKeyFile serve HTTPS when both are set
	// (TLS_CERT_FILE, TLS_KEY_FILE).
	TLSCertFile, TLSKeyFile string
	// BcryptCost is the bcrypt cost of new password hashes (BCRYPT_COST,
	// default 12, from 10 to 16); a login moves an older hash to it.
	BcryptCost int
	// DPoP is the DPoP (RFC 9449) mode of the API (DPOP=disabled, allowed
	// or required; default allowed): with allowed, a login or refresh with
	// a DPoP proof gets DPoP-bound tokens and /me takes them with a proof,
	// beside bearer tokens; with required, /me takes DPoP-bound tokens only.
	DPoP jwtguard.DPoPMode
	// DPoPNonce makes the server require its own nonce in DPoP proofs
	// (DPOP_NONCE=1; default 0).
	DPoPNonce bool
	// SessionMaxAge caps a session across refreshes (SESSION_MAX_AGE,
	// default 720h: 30 days, from 1m to 9600h: 400 days); FreshMaxAge is
	// how recent a login a change of password needs (FRESH_MAX_AGE,
	// default 5m).
	SessionMaxAge, FreshMaxAge time.Duration
	// Clock is the source of the current time for the tokens and the
	// revocation store; nil is time.Now. Tests set it to move time on.
	Clock func() time.Time
}

// minSecretLen is the shortest HS256 secret accepted: the hash size, as
// RFC 7518 §3.2 asks.
const minSecretLen = 32

// loadConfig reads the configuration through getenv (os.Getenv in main).
// It reports every problem at once.
func loadConfig(getenv func(string) string) (Config, error) {
	c := Config{
		Addr:        or(getenv("ADDR"), "localhost:8080"),
		Issuer:      or(getenv("JWT_ISSUER"), "jwtguard-example"),
		Audience:    or(getenv("JWT_AUDIENCE"), "jwtguard-example"),
		DBPath:      or(getenv("DB_PATH"), "jwtguard-example.db"),
		TLSCertFile: getenv("TLS_CERT_FILE"),
		TLSKeyFile:  getenv("TLS_KEY_FILE"),
		BcryptCost:  defaultBcryptCost,
		DPoP:        jwtguard.DPoPAllowed,
	}
	var errs []error
	if s := getenv("JWT_SECRET"); s == "" {
		c.Secret, c.SecretGenerated = make([]byte, minSecretLen), true
		_, _ = rand.Read(c.Secret) // never fails (crypto/rand panics instead)
	} else if len(s) < minSecretLen {
		errs = append(errs, fmt.Errorf("JWT_SECRET is %d bytes: at least %d random bytes are required (try: openssl rand -base64 48)", len(s), minSecretLen))
	} else {
		c.Secret = []byte(s)
	}
	var err error
	if c.AccessTTL, err = duration(getenv, "ACCESS_TOKEN_TTL", 30*time.Minute); err != nil {
		errs = append(errs, err)
	}
	if c.RefreshTTL, err = duration(getenv, "REFRESH_TOKEN_TTL", 7*24*time.Hour); err != nil {
		errs = append(errs, err)
	}
	if c.SessionMaxAge, err = duration(getenv, "SESSION_MAX_AGE", jwtguard.DefaultSessionMaxAge); err != nil {
		errs = append(errs, err)
	} else if c.SessionMaxAge < time.Minute || c.SessionMaxAge > jwtguard.MaxSessionMaxAge {
		errs = append(errs, fmt.Errorf("SESSION_MAX_AGE=%q: want a duration from 1m to %v (400 days)", getenv("SESSION_MAX_AGE"), jwtguard.MaxSessionMaxAge))
	}
	if c.FreshMaxAge, err = duration(getenv, "FRESH_MAX_AGE", 5*time.Minute); err != nil {
		errs = append(errs, err)
	}
	if c.AccessTTL > 0 && c.RefreshTTL > 0 && c.RefreshTTL <= c.AccessTTL {
		errs = append(errs, fmt.Errorf("REFRESH_TOKEN_TTL (%v) must be longer than ACCESS_TOKEN_TTL (%v)", c.RefreshTTL, c.AccessTTL))
	}
	if v := getenv("INSECURE_COOKIES"); v != "" {
		if c.InsecureCookies, err = strconv.ParseBool(v); err != nil {
			errs = append(errs, fmt.Errorf("INSECURE_COOKIES=%q: want true or false", v))
		}
	}
	if v := getenv("BCRYPT_COST"); v != "" {
		if c.BcryptCost, err = strconv.Atoi(v); err != nil || c.BcryptCost < minBcryptCost || c.BcryptCost > maxBcryptCost {
			errs = append(errs, fmt.Errorf("BCRYPT_COST=%q: want a whole number from %d (OWASP's minimum) to %d", v, minBcryptCost, maxBcryptCost))
		}
	}
	switch v := getenv("DPOP"); v {
	case "", "allowed":
	case "disabled":
		c.DPoP = jwtguard.DPoPDisabled
	case "required":
		c.DPoP = jwtguard.DPoPRequired
	default:
		errs = append(errs, fmt.Errorf("DPOP=%q: want disabled, allowed or required", v))
	}
	switch v := getenv("DPOP_NONCE"); v {
	case "", "0":
	case "1":
		c.DPoPNonce = true
	default:
		errs = append(errs, fmt.Errorf("DPOP_NONCE=%q: want 0 or 1", v))
	}
	if (c.TLSCertFile == "") != (c.TLSKeyFile == "") {
		errs = append(errs, errors.New("TLS_CERT_FILE and TLS_KEY_FILE go together: set both or neither"))
	}
	if _, _, err := net.SplitHostPort(c.Addr); err != nil {
		errs = append(errs, fmt.Errorf("ADDR=%q: want host:port", c.Addr))
	}
	if strings.ContainsAny(c.DBPath, "?#") {
		errs = append(errs, fmt.Errorf("DB_PATH=%q: ? and # are not allowed in the file name", c.DBPath))
	}
	if err := errors.Join(errs...); err != nil {
		return Config{}, fmt.Errorf("invalid configuration:\n%w", err)
	}
	return c, nil
}

// dpopOptions are the options of jwtguard.WithDPoP for c. The nonce secret
// is derived from the token secret, so that instances that share
// JWT_SECRET accept each other's nonces.
func (c Config) dpopOptions() []jwtguard.DPoPOption {
	if !c.DPoPNonce {
		return nil
	}
	mac := hmac.New(sha256.New, c.Secret)
	mac.Write([]byte("jwtguard example: DPoP nonces"))
	return []jwtguard.DPoPOption{jwtguard.DPoPNonces(mac.Sum(nil), 0)}
}

// duration reads a positive duration such as 30m or 168h.
func duration(getenv func(string) string, name string, def time.Duration) (time.Duration, error) {
	v := getenv(name)
	if v == "" {
		return def, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < time.Second {
		return 0, fmt.Errorf("%s=%q: want a duration of at least 1s, such as 30m or 168h", name, v)
	}
	return d, nil
}

// secureContext reports whether browsers will keep Secure cookies set by
// this server: over TLS, or on a loopback address, which Chromium and
// Firefox treat as a secure context even over plain HTTP.
func (c Config) secureContext() bool {
	if c.TLSCertFile != "" {
		return true
	}
	host, _, err := net.SplitHostPort(c.Addr)
	if err != nil {
		return false
	}
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func or(v, def string) string {
	if v != "" {
		return v
	}
	return def
}
