package redisstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jwtguard/jwtguard"
	"github.com/redis/go-redis/v9"
)

// dpopPart names the keys of DPoP proof identifiers: P dpop:<id>.
const dpopPart = "dpop:"

var _ jwtguard.ReplayCache = (*Store)(nil)

// Remember implements [jwtguard.ReplayCache], so that the Store can be
// given to [jwtguard.DPoPReplayCache] and a DPoP proof replayed to any
// instance sharing the Redis and prefix is refused. It is one atomic
// command, SET <prefix>dpop:<id> 1 NX PXAT <until>: of any number of
// concurrent calls with one id exactly one sets the key, and Redis drops
// the key at until. It does not use the mirror. Any error (Redis down, a
// timeout, the Store closed) is returned, and the middleware fails closed
// with 503: a proof is never taken as new because Redis could not say.
func (s *Store) Remember(ctx context.Context, id string, until time.Time) (bool, error) {
	if s.closed.Load() {
		return false, ErrClosed
	}
	ms := until.UnixMilli()
	if now := s.clock().UnixMilli(); ms <= now {
		ms = now + 1 // already over: still set, for a moment, so the answer stays atomic
	}
	err := s.client.Do(ctx, "SET", s.keys.prefix+dpopPart+escape(id), "1", "NX", "PXAT", ms).Err()
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, redis.Nil):
		return false, nil
	}
	return false, fmt.Errorf("redisstore: DPoP replay cache: %w", err)
}
