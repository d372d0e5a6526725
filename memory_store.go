package jwtguard

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// Defaults of [NewMemoryStore].
const (
	// DefaultSweepInterval is how often a [MemoryStore] drops expired
	// entries.
	DefaultSweepInterval = time.Minute
	// DefaultMaxEntries is the most entries a [MemoryStore] holds.
	DefaultMaxEntries = 1 << 20
)

// Errors of a [MemoryStore]. Callers fail closed on them (503).
var (
	// ErrStoreFull means a MemoryStore holds its maximum number of live
	// entries and refused another.
	ErrStoreFull = errors.New("jwtguard: memory store full")
	// ErrStoreClosed means a MemoryStore was used after Close.
	ErrStoreClosed = errors.New("jwtguard: memory store closed")
)

// MemoryStore is the in-process [Store]: a map guarded by a mutex, and a
// goroutine that drops entries once they expire, so that its memory follows
// the tokens alive rather than every token ever seen. It is safe for
// concurrent use. Its state is lost on restart and not shared between
// instances; use a shared store (Redis) when either matters.
//
// Call Close when done with it to stop the sweeping goroutine.
type MemoryStore struct {
	clock      func() time.Time
	maxEntries int

	mu       sync.Mutex
	entries  map[memoryKey]memoryEntry
	sessions memorySessions // memory_sessions.go
	closed   bool

	stop      chan struct{}
	done      chan struct{}
	closeOnce sync.Once
}

// memoryKey names one entry. Fields are kept apart, so no choice of issuer
// or identifier can collide with another.
type memoryKey struct {
	kind   byte // 'r' revoked token, 'u' used refresh token, 'f' revoked family, 's' revoked subject
	iss    string
	id     string
	family string // for 'u': the family, so that a jti is only unique within it
}

// memoryEntry is what the store holds for a key.
type memoryEntry struct {
	until time.Time // end time: the entry is forgotten then
	at    time.Time // for 'u': the At of the refresh token's first use; for 's': the valid-after time
}

// A MemoryStoreOption configures a [MemoryStore].
type MemoryStoreOption func(*memoryConfig)

type memoryConfig struct {
	clock      func() time.Time
	interval   time.Duration
	maxEntries int
	errs       []error
}

// MemoryStoreClock sets the source of the current time that decides when
// entries expire, for tests. Use the clock given to [WithClock]. Default:
// time.Now.
func MemoryStoreClock(now func() time.Time) MemoryStoreOption {
	return func(c *memoryConfig) {
		if now == nil {
			c.errs = append(c.errs, errors.New("MemoryStoreClock: nil clock"))
			return
		}
		c.clock = now
	}
}

// MemoryStoreSweepInterval sets how often expired entries are dropped.
// Default: [DefaultSweepInterval]. It must be at least a millisecond.
// Expired entries are never reported, swept or not.
func MemoryStoreSweepInterval(d time.Duration) MemoryStoreOption {
	return func(c *memoryConfig) {
		if d < time.Millisecond {
			c.errs = append(c.errs, fmt.Errorf("MemoryStoreSweepInterval: %v is under 1ms", d))
		}
		c.interval = d
	}
}

// MemoryStoreMaxEntries caps the number of live entries. A write that would
// exceed it fails with [ErrStoreFull], so the caller fails closed (a logout
// or a refresh answers 503) rather than the process running out of memory.
// Default: [DefaultMaxEntries].
func MemoryStoreMaxEntries(n int) MemoryStoreOption {
	return func(c *memoryConfig) {
		if n < 1 {
			c.errs = append(c.errs, fmt.Errorf("MemoryStoreMaxEntries: %d is not positive", n))
		}
		c.maxEntries = n
	}
}

// NewMemoryStore returns a [MemoryStore] and starts its sweeping goroutine,
// which runs until [MemoryStore.Close].
func NewMemoryStore(opts ...MemoryStoreOption) (*MemoryStore, error) {
	c := memoryConfig{clock: time.Now, interval: DefaultSweepInterval, maxEntries: DefaultMaxEntries}
	for _, opt := range opts {
		if opt != nil {
			opt(&c)
		}
	}
	if err := errors.Join(c.errs...); err != nil {
		return nil, fmt.Errorf("jwtguard: invalid memory store configuration: %w", err)
	}
	s := &MemoryStore{
		clock:      c.clock,
		maxEntries: c.maxEntries,
		entries:    make(map[memoryKey]memoryEntry),
		sessions:   newMemorySessions(),
		stop:       make(chan struct{}),
		done:       make(chan struct{}),
	}
	go s.sweeper(c.interval)
	return s, nil
}

// Close stops the sweeping goroutine and waits for it to return. Later
// calls to the store fail with [ErrStoreClosed]. Close is idempotent and
// always returns nil.
func (s *MemoryStore) Close() error {
	s.closeOnce.Do(func() {
		s.mu.Lock()
		s.closed = true
		s.entries = nil
		s.sessions = memorySessions{}
		s.mu.Unlock()
		close(s.stop)
		<-s.done
	})
	return nil
}

// Len returns the number of entries held, sessions included, expired ones
// not yet swept included.
func (s *MemoryStore) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.entries) + s.sessions.n
}

// Revoke implements [Store].
func (s *MemoryStore) Revoke(_ context.Context, iss, jti string, until time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.extend(memoryKey{kind: 'r', iss: iss, id: jti}, until)
}

// IsRevoked implements [Store].
func (s *MemoryStore) IsRevoked(_ context.Context, iss, jti string) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.live(memoryKey{kind: 'r', iss: iss, id: jti})
}

// RevokeFamily implements [Store].
func (s *MemoryStore) RevokeFamily(_ context.Context, iss, family string, until time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.extend(memoryKey{kind: 'f', iss: iss, id: family}, until)
}

// IsFamilyRevoked implements [Store].
func (s *MemoryStore) IsFamilyRevoked(_ context.Context, iss, family string) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.live(memoryKey{kind: 'f', iss: iss, id: family})
}

// Rotate implements [Store]: one critical section checks the family, then
// checks and marks the token, recording the time of its first use.
func (s *MemoryStore) Rotate(_ context.Context, iss, family, jti string, use RefreshUse) (Rotation, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	fam := memoryKey{kind: 'f', iss: iss, id: family}
	revoked, err := s.live(fam)
	if err != nil {
		return 0, err
	}
	if revoked {
		return RotationRevoked, nil
	}
	used := memoryKey{kind: 'u', iss: iss, id: jti, family: family}
	now := s.clock()
	if e, ok := s.entries[used]; ok && now.Before(e.until) {
		if replayed(use.At, e.at, use.ReuseInterval) {
			return RotationReplayed, nil
		}
		if err := s.extend(fam, use.FamilyUntil); err != nil {
			return 0, err
		}
		return RotationReused, nil
	}
	if !now.Before(use.TokenUntil) {
		return RotationOK, nil // already over: nothing to remember
	}
	if _, ok := s.entries[used]; !ok {
		if err := s.room(now); err != nil {
			return 0, err
		}
	}
	s.entries[used] = memoryEntry{until: use.TokenUntil, at: use.At}
	return RotationOK, nil
}

// live reports whether k is held and not expired. s.mu is held.
func (s *MemoryStore) live(k memoryKey) (bool, error) {
	if s.closed {
		return false, ErrStoreClosed
	}
	e, ok := s.entries[k]
	return ok && s.clock().Before(e.until), nil
}

// extend sets k's end time to until unless it already ends later. s.mu is
// held.
func (s *MemoryStore) extend(k memoryKey, until time.Time) error {
	if s.closed {
		return ErrStoreClosed
	}
	now := s.clock()
	if !now.Before(until) {
		return nil // already over: nothing to remember
	}
	old, ok := s.entries[k]
	if ok {
		if until.After(old.until) {
			old.until = until
			s.entries[k] = old
		}
		return nil
	}
	if err := s.room(now); err != nil {
		return err
	}
	s.entries[k] = memoryEntry{until: until}
	return nil
}

// room makes room for one more entry, sweeping when the store is full, or
// fails with ErrStoreFull. s.mu is held.
func (s *MemoryStore) room(now time.Time) error {
	if len(s.entries)+s.sessions.n >= s.maxEntries {
		s.sweepLocked(now)
		if len(s.entries)+s.sessions.n >= s.maxEntries {
			return ErrStoreFull
		}
	}
	return nil
}

func (s *MemoryStore) sweeper(interval time.Duration) {
	defer close(s.done)
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
			s.mu.Lock()
			if !s.closed {
				s.sweepLocked(s.clock())
			}
			s.mu.Unlock()
		}
	}
}

// sweepLocked drops the entries over at now. s.mu is held.
func (s *MemoryStore) sweepLocked(now time.Time) {
	for k, e := range s.entries {
		if !now.Before(e.until) {
			delete(s.entries, k)
		}
	}
	s.sessions.sweep(now)
}

var _ Store = (*MemoryStore)(nil)
