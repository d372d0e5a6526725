package jwtguard

import (
	"context"
	"crypto/sha256"
	"errors"
	"sync"
	"time"
)

// A ReplayCache remembers the identifiers of DPoP proofs already used, so
// that a proof is accepted once ([DPoPReplayCache]). [MemoryReplayCache]
// keeps them in the process; a shared one (the Redis store of the
// redisstore module) catches a proof replayed to another instance.
//
// Remember is called concurrently and must be safe for that.
type ReplayCache interface {
	// Remember records id until until, in one atomic step, and reports
	// whether it was new: false when id is already recorded and its time
	// has not passed. Of any number of concurrent calls with one id, on any
	// number of instances sharing the cache, exactly one may return true.
	// id is 22 base64url characters (128 bits derived from the proof's key
	// and jti). An error means "unknown": the middleware fails closed
	// (503, [ErrUnavailable]).
	Remember(ctx context.Context, id string, until time.Time) (fresh bool, err error)
}

// ErrReplayCacheFull is returned by a [MemoryReplayCache] that holds its
// maximum of live entries: the request is refused (503) rather than a
// replay let through.
var ErrReplayCacheFull = errors.New("jwtguard: DPoP replay cache full")

// replayShards is the number of independently locked parts of a
// MemoryReplayCache.
const replayShards = 64

// MemoryReplayCache is a [ReplayCache] in the memory of one process: a
// hash map of 16-byte keys to end times, split in 64 locked shards. It
// holds at most its maximum of entries; expired entries are swept from a
// shard when it is full, and every minute of the clock otherwise, so its
// size follows the proofs of the last window. When a shard is full of live
// entries, Remember returns [ErrReplayCacheFull] (the middleware answers
// 503) until some expire: a replay is never let through to make room. An
// entry takes about 35 bytes (measured by TestMemoryReplayCacheSize).
//
// It is safe for concurrent use. The zero value is not usable: make one
// with [NewMemoryReplayCache].
type MemoryReplayCache struct {
	shards [replayShards]replayShard
	clock  func() time.Time
}

type replayShard struct {
	mu        sync.Mutex
	entries   map[[16]byte]int64 // end time, Unix seconds
	max       int
	nextSweep int64    // when to sweep next, Unix seconds
	fullSweep int64    // when it was last swept for being full
	_         [32]byte // keeps shards on separate cache lines
}

// NewMemoryReplayCache returns a cache of at most maxEntries identifiers
// (at least 1024; rounded down to a multiple of 64).
func NewMemoryReplayCache(maxEntries int) *MemoryReplayCache {
	return newMemoryReplayCache(maxEntries, time.Now)
}

func newMemoryReplayCache(maxEntries int, clock func() time.Time) *MemoryReplayCache {
	per := max(maxEntries, 1024) / replayShards
	c := &MemoryReplayCache{clock: clock}
	for i := range c.shards {
		c.shards[i].entries = make(map[[16]byte]int64)
		c.shards[i].max = per
	}
	return c
}

// sweepEvery is how often, in seconds, a shard drops its expired entries
// even when not full.
const sweepEvery = 60

// Remember implements [ReplayCache].
func (c *MemoryReplayCache) Remember(_ context.Context, id string, until time.Time) (bool, error) {
	var key [16]byte
	if b, ok := decodeSegment(key[:0], id); !ok || len(b) != len(key) {
		sum := sha256.Sum256([]byte(id))
		copy(key[:], sum[:16])
	}
	now := c.clock().Unix()
	s := &c.shards[key[0]%replayShards]
	s.mu.Lock()
	defer s.mu.Unlock()
	if end, ok := s.entries[key]; ok && end > now {
		return false, nil
	}
	if now >= s.nextSweep {
		s.sweep(now)
	}
	if len(s.entries) >= s.max && now > s.fullSweep {
		s.fullSweep = now
		s.sweep(now)
	}
	if len(s.entries) >= s.max {
		return false, ErrReplayCacheFull
	}
	s.entries[key] = until.Unix()
	return true, nil
}

// sweep drops the expired entries. A full shard is swept at most once a
// second, so that it costs one pass per second, not one per request.
func (s *replayShard) sweep(now int64) {
	for k, end := range s.entries {
		if end <= now {
			delete(s.entries, k)
		}
	}
	s.nextSweep = now + sweepEvery
}

// Len returns the number of entries held, expired ones included until they
// are swept.
func (c *MemoryReplayCache) Len() int {
	n := 0
	for i := range c.shards {
		s := &c.shards[i]
		s.mu.Lock()
		n += len(s.entries)
		s.mu.Unlock()
	}
	return n
}
