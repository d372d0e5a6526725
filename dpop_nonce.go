package jwtguard

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"net/http"
	"sync/atomic"
	"time"
)

// DefaultDPoPNonceLifetime is how often the nonces of [DPoPNonces] rotate.
// A nonce is accepted during the period it was made in and the next one.
const DefaultDPoPNonceLifetime = 5 * time.Minute

// DPoPNonces makes the server require a nonce of its own in every proof
// (RFC 9449 §8 and §9): a proof without one, or with one that is not
// current, is answered with 401 WWW-Authenticate: DPoP
// error="use_dpop_nonce" (400 {"error":"use_dpop_nonce"} at the token
// endpoints of [Sessions]) and a fresh nonce in the DPoP-Nonce header, and
// the client retries with it. Every answer to a request under the DPoP
// scheme carries the current nonce, so clients keep up as nonces rotate.
//
// Nonces are stateless: an HMAC-SHA256 under secret of the number of the
// period (of length every) they were made in. Instances that share secret
// accept each other's nonces with no shared state, and a nonce is accepted
// for between every and twice every. secret must be at least 32 random
// bytes, kept like a signing key; every must be between 1 minute and 24
// hours (default [DefaultDPoPNonceLifetime], 5 minutes, when 0). Default:
// no nonces.
func DPoPNonces(secret []byte, every time.Duration) DPoPOption {
	return func(d *dpopConfig) {
		if len(secret) < 32 {
			d.errs = append(d.errs, fmt.Errorf("DPoPNonces: secret is %d bytes, at least 32 are required", len(secret)))
		}
		if every == 0 {
			every = DefaultDPoPNonceLifetime
		}
		if every < time.Minute || every > 24*time.Hour {
			d.errs = append(d.errs, fmt.Errorf("DPoPNonces: lifetime %v is outside [1m, 24h]", every))
		}
		d.nonce = append([]byte(nil), secret...)
		d.rotate = every
	}
}

// nonceSource makes and checks nonces.
type nonceSource struct {
	secret  []byte
	every   int64 // seconds
	clock   func() time.Time
	current atomic.Pointer[periodNonce] // the nonce of the latest period asked for
}

type periodNonce struct {
	period int64
	nonce  string
}

// nonceLabel separates these MACs from any other use of the secret.
const nonceLabel = "jwtguard DPoP nonce v1\x00"

func newNonceSource(secret []byte, every time.Duration, clock func() time.Time) *nonceSource {
	return &nonceSource{secret: secret, every: int64(every / time.Second), clock: clock}
}

// period returns the number of the current period.
func (n *nonceSource) period() int64 {
	return n.clock().Unix() / n.every
}

// make returns the nonce of period p: base64url of the period (8 bytes,
// big-endian) and the first 16 bytes of its MAC; 32 characters.
func (n *nonceSource) make(p int64) string {
	var buf [8 + 16]byte
	binary.BigEndian.PutUint64(buf[:8], uint64(p))
	copy(buf[8:], n.mac(p))
	return base64.RawURLEncoding.EncodeToString(buf[:])
}

func (n *nonceSource) mac(p int64) []byte {
	h := hmac.New(sha256.New, n.secret)
	h.Write([]byte(nonceLabel))
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], uint64(p))
	h.Write(b[:])
	return h.Sum(nil)[:16]
}

// fresh returns the nonce of the current period, made once per period.
func (n *nonceSource) fresh() string {
	p := n.period()
	if c := n.current.Load(); c != nil && c.period == p {
		return c.nonce
	}
	c := &periodNonce{period: p, nonce: n.make(p)}
	n.current.Store(c)
	return c.nonce
}

// valid reports whether nonce was made in the current period or the one
// before.
func (n *nonceSource) valid(nonce string) bool {
	var buf [8 + 16]byte
	if len(nonce) != 32 {
		return false
	}
	b, ok := decodeSegment(buf[:0], nonce)
	if !ok || len(b) != len(buf) {
		return false
	}
	p := int64(binary.BigEndian.Uint64(b[:8]))
	now := n.period()
	if p != now && p != now-1 {
		return false
	}
	return subtle.ConstantTimeCompare(b[8:], n.mac(p)) == 1
}

// checkNonce applies the nonce rule to a proof.
func (g *dpopGuard) checkNonce(p *proof) error {
	if g.nonces == nil {
		return nil
	}
	if !p.hasNonce {
		return errDPoPNoNonce
	}
	if !g.nonces.valid(p.nonce) {
		return errDPoPStaleNonce
	}
	return nil
}

// setNonce puts the current nonce in the DPoP-Nonce header of the answer
// to r, when nonces are on and r used DPoP or failed for want of a nonce.
func (g *dpopGuard) setNonce(w http.ResponseWriter, r *http.Request, err error) {
	if g == nil || g.nonces == nil || len(r.Header["Dpop"]) == 0 && !isDPoPNonceError(err) {
		return
	}
	w.Header()["Dpop-Nonce"] = []string{g.nonces.fresh()}
}
