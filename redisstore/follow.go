package redisstore

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// minBackoff is the first wait before reconnecting after a failure; it
// doubles up to maxBackoff.
const (
	minBackoff = 10 * time.Millisecond
	maxBackoff = time.Second
)

// errNoPong means the heartbeat went unanswered for half the staleness
// bound: the connection is taken for dead even if the socket says
// otherwise.
var errNoPong = errors.New("redisstore: heartbeat unanswered for half the staleness bound")

// follow keeps the mirror current until Close: it runs sessions, and
// after each failure waits a backoff and starts again.
func (s *Store) follow() {
	defer s.wg.Done()
	backoff := minBackoff
	limit := min(maxBackoff, max(s.pingEvery, minBackoff))
	for {
		filled, err := s.session()
		if s.ctx.Err() != nil {
			return
		}
		s.setError(err)
		if filled {
			backoff = minBackoff
		}
		t := time.NewTimer(backoff)
		select {
		case <-s.ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		backoff = min(2*backoff, limit)
	}
}

// session subscribes to the channel, fills the mirror, then applies the
// announcements and confirms the mirror with heartbeats until an error.
//
// Order matters. Subscribing first, then scanning, leaves no gap: a
// revocation committed before the scan starts is found by the scan (SCAN
// returns every key that exists for its whole run), and one committed
// after the subscription took effect is announced to us. So once the fill
// is done, the mirror holds everything committed before the scan started.
// Afterwards, a PING on the subscribed connection is answered after every
// message published before it, in order: when the answer to a PING sent at
// t arrives, the mirror holds everything committed before t.
func (s *Store) session() (filled bool, err error) {
	ctx := s.ctx
	ps := s.client.Subscribe(ctx)
	s.mu.Lock()
	if s.closed.Load() {
		s.mu.Unlock()
		_ = ps.Close()
		return false, ErrClosed
	}
	s.ps = ps
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		s.ps = nil
		s.mu.Unlock()
		_ = ps.Close()
	}()

	if err := ps.Subscribe(ctx, s.keys.channel()); err != nil {
		return false, fmt.Errorf("redisstore: subscribe: %w", err)
	}
	msg, err := ps.ReceiveTimeout(ctx, max(s.bound, time.Second))
	if err != nil {
		return false, fmt.Errorf("redisstore: subscribe: %w", err)
	}
	if sub, ok := msg.(*redis.Subscription); !ok || sub.Kind != "subscribe" {
		return false, fmt.Errorf("redisstore: subscribe: unexpected reply %T", msg)
	}

	start := s.now()
	fill, err := s.scan(ctx)
	if err != nil {
		return false, fmt.Errorf("redisstore: fill: %w", err)
	}
	s.mirror.replace(fill)
	s.confirm(start)
	s.readyOnce.Do(func() { close(s.ready) })

	nextPing := time.Now()
	lastPong := time.Now()
	for {
		if now := time.Now(); !now.Before(nextPing) {
			if err := ps.Ping(ctx, strconv.FormatInt(s.now(), 10)); err != nil {
				return true, fmt.Errorf("redisstore: heartbeat: %w", err)
			}
			nextPing = now.Add(s.pingEvery)
		}
		if time.Since(lastPong) > s.bound/2 {
			// Renew the connection while the mirror may still be
			// served: a refill confirms it again.
			return true, errNoPong
		}
		msg, err := ps.ReceiveTimeout(ctx, max(time.Until(nextPing), time.Millisecond))
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() && ctx.Err() == nil {
				continue
			}
			return true, fmt.Errorf("redisstore: receive: %w", err)
		}
		switch m := msg.(type) {
		case *redis.Message:
			s.apply(m.Payload)
		case *redis.Pong:
			if at, err := strconv.ParseInt(m.Payload, 10, 64); err == nil {
				s.confirm(at)
				lastPong = time.Now()
			}
		}
	}
}

// apply records an announcement, "<end ms> <key>".
func (s *Store) apply(payload string) {
	end, key, ok := strings.Cut(payload, " ")
	if !ok {
		return
	}
	n, err := strconv.ParseInt(end, 10, 64)
	if err != nil {
		return
	}
	if e, ok := s.keys.parse(key); ok {
		s.mirror.put(e, n)
	}
}

// scan reads every revocation stored under the prefix, on every master of
// a Cluster (or shard of a Ring).
func (s *Store) scan(ctx context.Context) (map[entry]int64, error) {
	var mu sync.Mutex
	fill := make(map[entry]int64)
	node := func(ctx context.Context, c redis.Cmdable) error {
		for _, pattern := range s.keys.patterns() {
			var cursor uint64
			for {
				ks, next, err := c.Scan(ctx, cursor, pattern, 1000).Result()
				if err != nil {
					return err
				}
				if len(ks) > 0 {
					if err := s.read(ctx, c, ks, fill, &mu); err != nil {
						return err
					}
				}
				if cursor = next; cursor == 0 {
					break
				}
			}
		}
		return nil
	}
	var err error
	switch c := s.client.(type) {
	case *redis.ClusterClient:
		err = c.ForEachMaster(ctx, func(ctx context.Context, c *redis.Client) error { return node(ctx, c) })
	case *redis.Ring:
		err = c.ForEachShard(ctx, func(ctx context.Context, c *redis.Client) error { return node(ctx, c) })
	default:
		err = node(ctx, c)
	}
	return fill, err
}

// read gets the ends of ks in one pipeline and records them in fill. A key
// gone meanwhile has expired; a value that is not a number (not written by
// this package) counts as revoked until the next fill: fail closed.
func (s *Store) read(ctx context.Context, c redis.Cmdable, ks []string, fill map[entry]int64, mu *sync.Mutex) error {
	cmds, err := c.Pipelined(ctx, func(p redis.Pipeliner) error {
		for _, k := range ks {
			p.Get(ctx, k)
		}
		return nil
	})
	if err != nil && !errors.Is(err, redis.Nil) {
		return err
	}
	mu.Lock()
	defer mu.Unlock()
	for i, k := range ks {
		e, ok := s.keys.parse(k)
		if !ok {
			continue
		}
		end, err := cmds[i].(*redis.StringCmd).Int64()
		switch {
		case errors.Is(err, redis.Nil):
			continue
		case err != nil:
			end = math.MaxInt64
		}
		if old, ok := fill[e]; !ok || end > old {
			fill[e] = end
		}
	}
	return nil
}

// sweep drops expired entries from the mirror until Close.
func (s *Store) sweep() {
	defer s.wg.Done()
	t := time.NewTicker(s.sweepEvery)
	defer t.Stop()
	for {
		select {
		case <-s.ctx.Done():
			return
		case <-t.C:
			s.mirror.sweep(s.clock().UnixMilli())
		}
	}
}
