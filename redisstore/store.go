package redisstore

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jwtguard/jwtguard"
	"github.com/redis/go-redis/v9"
)

// Defaults of [New].
const (
	// DefaultPrefix starts the name of every key and of the channel.
	DefaultPrefix = "jwtguard:"
	// DefaultStalenessBound is how long a mirror that could not be
	// confirmed against Redis is still served. It is a few heartbeats
	// long, so that a loaded machine or a short stall of Redis does not
	// turn every request into a 503, and short next to the lifetime of an
	// access token (30 minutes by default).
	DefaultStalenessBound = 2 * time.Second
	// maxHeartbeat is the longest interval between heartbeats.
	maxHeartbeat = 250 * time.Millisecond
	// DefaultSweepInterval is how often expired entries leave the mirror.
	DefaultSweepInterval = 10 * time.Second
)

// Errors of a [Store].
var (
	// ErrStale means the mirror could not be confirmed against Redis for
	// longer than the staleness bound, so revocations made elsewhere may be
	// missing from it. It matches [jwtguard.ErrUnavailable]: the middleware
	// answers 503.
	ErrStale = fmt.Errorf("%w: redisstore: revocation mirror is stale", jwtguard.ErrUnavailable)
	// ErrClosed means the Store was used after Close. It matches
	// [jwtguard.ErrUnavailable].
	ErrClosed = fmt.Errorf("%w: redisstore: store closed", jwtguard.ErrUnavailable)
)

// Store is a [jwtguard.Store] on Redis, shared by every instance of a
// service that uses the same Redis and prefix. Make one per instance with
// [New] and hand it to [jwtguard.WithStore] or [jwtguard.NewSessions]; it
// is safe for concurrent use. Call Close when done: it stops the Store's
// goroutines (the client stays open; it belongs to the caller).
//
// Revoke, RevokeFamily, RevokeSubject and Rotate make one round trip to
// Redis each (one Lua script), as do the session records' methods.
// IsRevoked, IsFamilyRevoked and IsSubjectRevoked, called by the middleware
// on every request, make none: they read the in-memory mirror, and fail
// with [ErrStale] once it is older than the staleness bound.
type Store struct {
	client     redis.UniversalClient
	keys       keys
	clock      func() time.Time
	bound      time.Duration
	serveStale bool
	sweepEvery time.Duration
	pingEvery  time.Duration

	mirror mirror

	// base and freshAt measure the mirror's age on the monotonic clock:
	// freshAt is the time (since base) before which every revocation
	// committed in Redis is known to be in the mirror. Zero: never.
	base    time.Time
	freshAt atomic.Int64

	mu      sync.Mutex
	lastErr error
	ps      []*redis.PubSub // the session's subscriptions, closed by Close

	ctx       context.Context
	cancel    context.CancelFunc
	ready     chan struct{} // closed after the first fill
	readyOnce sync.Once
	wg        sync.WaitGroup
	closeOnce sync.Once
	closed    atomic.Bool
}

// An Option configures [New].
type Option func(*config)

type config struct {
	prefix     string
	bound      time.Duration
	serveStale bool
	clock      func() time.Time
	sweepEvery time.Duration
	errs       []error
}

// WithPrefix sets the prefix of every key and of the pub/sub channel, so
// that several services, or several issuers' stores, can share one Redis
// without seeing each other's entries. It may not contain '{' or '}' (the
// braces of Cluster hash tags). Default: [DefaultPrefix].
func WithPrefix(prefix string) Option {
	return func(c *config) {
		if strings.ContainsAny(prefix, "{}") {
			c.errs = append(c.errs, fmt.Errorf("WithPrefix: %q contains a brace", prefix))
		}
		c.prefix = prefix
	}
}

// WithStalenessBound sets how long the mirror is served after it was last
// confirmed against Redis. Every revocation committed in Redis is enforced
// by every instance within that time, or the instance refuses requests
// with [ErrStale] (503). In normal operation a revocation reaches the other
// instances within milliseconds; the bound only matters when Redis or the
// network fails. A heartbeat confirms the mirror every quarter of the
// bound (at most every 250ms), and the connection is renewed when none was
// answered for half the bound. Default: [DefaultStalenessBound]; between
// 20ms and one hour.
func WithStalenessBound(d time.Duration) Option {
	return func(c *config) {
		if d < 20*time.Millisecond || d > time.Hour {
			c.errs = append(c.errs, fmt.Errorf("WithStalenessBound: %v is outside [20ms, 1h]", d))
		}
		c.bound = d
	}
}

// WithInsecureServeStaleMirror keeps serving the mirror when it is older
// than the staleness bound, instead of failing with [ErrStale]: while Redis
// is unreachable, revocations made by other instances are not seen, and
// tokens they revoked are accepted here until their exp. Writes (logout,
// refresh) still fail while Redis is down. Default: off, fail closed.
func WithInsecureServeStaleMirror() Option {
	return func(c *config) { c.serveStale = true }
}

// WithClock sets the source of the current time that decides when entries
// end, for tests: use the clock given to [jwtguard.WithClock] and the
// issuer. Key TTLs in Redis are computed from it as durations, so a clock
// that differs from Redis's only shifts them. The staleness bound is
// measured on the monotonic clock, whatever this says. Default: time.Now.
func WithClock(now func() time.Time) Option {
	return func(c *config) {
		if now == nil {
			c.errs = append(c.errs, errors.New("WithClock: nil clock"))
			return
		}
		c.clock = now
	}
}

// WithSweepInterval sets how often entries whose end has passed leave the
// mirror (they are never reported, swept or not). Default:
// [DefaultSweepInterval]; at least a millisecond.
func WithSweepInterval(d time.Duration) Option {
	return func(c *config) {
		if d < time.Millisecond {
			c.errs = append(c.errs, fmt.Errorf("WithSweepInterval: %v is under 1ms", d))
		}
		c.sweepEvery = d
	}
}

// New returns a Store on client and starts its goroutines: one subscribes
// to the revocation channel, fills the mirror with SCAN, then follows the
// channel and sends heartbeats, reconnecting with backoff whenever Redis
// fails; another drops expired entries from the mirror. New waits for the
// first fill until ctx is done, and returns an error (having stopped
// everything) if it did not happen by then. client may be a single node,
// Sentinel (failover), Cluster or Ring client; the Store never closes it.
// On a Cluster (a Ring) the Store subscribes, scans and sends heartbeats on
// every master (shard), one connection each, so that no revocation depends
// on the cluster bus to reach it (a Ring has none).
func New(ctx context.Context, client redis.UniversalClient, opts ...Option) (*Store, error) {
	c := config{prefix: DefaultPrefix, bound: DefaultStalenessBound, clock: time.Now, sweepEvery: DefaultSweepInterval}
	for _, opt := range opts {
		if opt != nil {
			opt(&c)
		}
	}
	if client == nil {
		c.errs = append(c.errs, errors.New("nil client"))
	}
	if err := errors.Join(c.errs...); err != nil {
		return nil, fmt.Errorf("redisstore: invalid configuration: %w", err)
	}
	s := &Store{
		client:     client,
		keys:       keys{prefix: c.prefix},
		clock:      c.clock,
		bound:      c.bound,
		serveStale: c.serveStale,
		sweepEvery: c.sweepEvery,
		pingEvery:  min(c.bound/4, maxHeartbeat),
		mirror:     newMirror(),
		base:       time.Now(),
		ready:      make(chan struct{}),
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	s.wg.Add(2)
	go s.follow()
	go s.sweep()
	select {
	case <-s.ready:
		return s, nil
	case <-ctx.Done():
		err := s.lastError()
		_ = s.Close()
		return nil, fmt.Errorf("redisstore: first fill of the mirror: %w", errors.Join(ctx.Err(), err))
	}
}

// Close stops the Store's goroutines and waits for them. Later calls fail
// with [ErrClosed]. The client is left open. Close is idempotent and
// always returns nil.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		s.closed.Store(true)
		s.cancel()
		s.mu.Lock()
		closeAll(s.ps) // wakes blocked reads
		s.mu.Unlock()
		s.wg.Wait()
	})
	return nil
}

// Ready reports whether the mirror is confirmed within the staleness
// bound: nil if so, else an error matching [ErrStale] with the last Redis
// failure. Use it for a readiness probe.
func (s *Store) Ready() error {
	if s.closed.Load() {
		return ErrClosed
	}
	if age, ok := s.fresh(); !ok {
		return s.staleError(age)
	}
	return nil
}

func (s *Store) staleError(age time.Duration) error {
	return fmt.Errorf("%w: last confirmed %v ago: %w", ErrStale, age.Round(time.Millisecond), s.lastError())
}

// Revoke implements [jwtguard.Store]: one script sets the key with a TTL
// that ends at until, unless a later end is stored, and announces it to
// every instance. This instance's mirror has it on return.
func (s *Store) Revoke(ctx context.Context, iss, jti string, until time.Time) error {
	return s.revoke(ctx, entry{kind: kindToken, iss: iss, id: jti}, s.keys.token(iss, jti), until)
}

// RevokeFamily implements [jwtguard.Store], as Revoke for the family key.
func (s *Store) RevokeFamily(ctx context.Context, iss, family string, until time.Time) error {
	return s.revoke(ctx, entry{kind: kindFamily, iss: iss, id: family}, s.keys.family(iss, family), until)
}

func (s *Store) revoke(ctx context.Context, e entry, key string, until time.Time) error {
	if s.closed.Load() {
		return ErrClosed
	}
	end, ttl, ok := s.end(until)
	if !ok {
		return nil // already over: nothing to remember
	}
	if err := revokeScript.Run(ctx, s.client, []string{key}, end, ttl, s.keys.channel()).Err(); err != nil {
		return fmt.Errorf("redisstore: revoke: %w", err)
	}
	s.mirror.put(e, mark{end: end})
	return nil
}

// IsRevoked implements [jwtguard.Store] from the mirror, without a round
// trip; it fails with [ErrStale] when the mirror is older than the
// staleness bound (unless [WithInsecureServeStaleMirror]).
func (s *Store) IsRevoked(_ context.Context, iss, jti string) (bool, error) {
	return s.isRevoked(entry{kind: kindToken, iss: iss, id: jti})
}

// IsFamilyRevoked implements [jwtguard.Store] from the mirror, as
// IsRevoked.
func (s *Store) IsFamilyRevoked(_ context.Context, iss, family string) (bool, error) {
	return s.isRevoked(entry{kind: kindFamily, iss: iss, id: family})
}

func (s *Store) isRevoked(e entry) (bool, error) {
	mk, ok, err := s.lookup(e)
	return ok && s.clock().UnixMilli() < mk.end, err
}

// lookup reads e from the mirror, or fails when the store is closed or the
// mirror stale.
func (s *Store) lookup(e entry) (mark, bool, error) {
	if s.closed.Load() {
		return mark{}, false, ErrClosed
	}
	if !s.serveStale {
		if age, ok := s.fresh(); !ok {
			return mark{}, false, s.staleError(age)
		}
	}
	mk, ok := s.mirror.get(e)
	return mk, ok, nil
}

// Rotate implements [jwtguard.Store] with one Lua script over the family's
// key and the token's used key, which share a hash tag: atomic on a single
// node, in a Cluster and on a Ring, whichever instance calls it. The used
// key records use.At, the first use's time on the caller's clock (never
// Redis's), and whether a later use is a replay within use.ReuseInterval
// is decided in the script against it.
func (s *Store) Rotate(ctx context.Context, iss, family, jti string, use jwtguard.RefreshUse) (jwtguard.Rotation, error) {
	if s.closed.Load() {
		return 0, ErrClosed
	}
	_, tokenTTL, _ := s.end(use.TokenUntil)
	famEnd, famTTL, _ := s.end(use.FamilyUntil)
	famKey := s.keys.family(iss, family)
	n, err := rotateScript.Run(ctx, s.client, []string{famKey, s.keys.used(iss, family, jti)},
		use.At.UnixMilli(), max(use.ReuseInterval.Milliseconds(), 0),
		tokenTTL, famEnd, famTTL, s.keys.channel()).Int()
	if err != nil {
		return 0, fmt.Errorf("redisstore: rotate: %w", err)
	}
	switch r := jwtguard.Rotation(n); r {
	case jwtguard.RotationOK, jwtguard.RotationRevoked, jwtguard.RotationReplayed:
		return r, nil
	case jwtguard.RotationReused:
		s.mirror.put(entry{kind: kindFamily, iss: iss, id: family}, mark{end: famEnd})
		return r, nil
	}
	return 0, fmt.Errorf("redisstore: rotate: unexpected script result %d", n)
}

// end converts until to the stored end (unix ms) and the key's TTL (ms,
// at least 1); ok is false when until is not in the future.
func (s *Store) end(until time.Time) (end, ttl int64, ok bool) {
	now := s.clock()
	ttl = until.Sub(now).Milliseconds()
	if ttl < 1 {
		ttl = 1
	}
	return until.UnixMilli(), ttl, now.Before(until)
}

// fresh returns the mirror's age and whether it is within the bound.
func (s *Store) fresh() (time.Duration, bool) {
	at := s.freshAt.Load()
	if at == 0 {
		return time.Since(s.base), false
	}
	age := time.Duration(s.now() - at)
	return age, age <= s.bound
}

// now is the monotonic time since base, never 0.
func (s *Store) now() int64 { return int64(time.Since(s.base)) + 1 }

// confirm records that every revocation committed before at is in the
// mirror.
func (s *Store) confirm(at int64) {
	for {
		old := s.freshAt.Load()
		if at <= old || s.freshAt.CompareAndSwap(old, at) {
			return
		}
	}
}

func (s *Store) setError(err error) {
	s.mu.Lock()
	s.lastErr = err
	s.mu.Unlock()
}

func (s *Store) lastError() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.lastErr == nil {
		return errors.New("no error recorded")
	}
	return s.lastErr
}

var _ jwtguard.Store = (*Store)(nil)
