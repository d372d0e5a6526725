package redisstore

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
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

// session subscribes to the channel on every source (see sources), fills
// the mirror, then applies the announcements and confirms the mirror with
// heartbeats until an error.
//
// Order matters. Subscribing first, then scanning, leaves no gap: a
// revocation committed before the scan starts is found by the scan (SCAN
// returns every key that exists for its whole run), and one committed
// after the subscription took effect is announced to us. So once the fill
// is done, the mirror holds everything committed before the scan started.
// Afterwards, a PING on the subscribed connection is answered after every
// message published before it, in order: when the answer to a PING sent at
// t arrives, the mirror holds everything committed before t.
//
// That holds for messages published on the node that answers the PING. On
// a Cluster a revocation is published by the master that stores it, and
// reaches the subscribers of other nodes only over the cluster bus, which
// may lag, or hold or drop messages while every node still answers PINGs
// and says cluster_state:ok (a bus link gone silent). So on a Cluster the
// store subscribes on every master, and confirms the mirror at t only once
// every master answered a PING sent at t: the argument above then holds
// master by master, with no bus in the way. A change of masters ends the
// session, so that the next one subscribes on the new ones and refills. A
// Ring is followed the same way, shard by shard: its shards have no bus at
// all, so a subscription on one shard never hears the others.
func (s *Store) session() (filled bool, err error) {
	ctx, cancel := context.WithCancel(s.ctx)
	defer cancel()
	sources, err := s.sources(ctx)
	if err != nil {
		return false, fmt.Errorf("redisstore: masters: %w", err)
	}
	subs := make([]*redis.PubSub, len(sources))
	for i, src := range sources {
		subs[i] = src.Subscribe(ctx)
	}
	s.mu.Lock()
	if s.closed.Load() {
		s.mu.Unlock()
		closeAll(subs)
		return false, ErrClosed
	}
	s.ps = subs
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		s.ps = nil
		s.mu.Unlock()
		closeAll(subs)
	}()

	for _, ps := range subs {
		if err := s.subscribe(ctx, ps); err != nil {
			return false, err
		}
	}

	start := s.now()
	fill, err := s.scan(ctx, sources)
	if err != nil {
		return false, fmt.Errorf("redisstore: fill: %w", err)
	}
	s.mirror.replace(fill)
	s.confirm(start)
	s.readyOnce.Do(func() { close(s.ready) })

	// pongs[i] is the send time of the last PING subs[i] answered: the
	// mirror is confirmed up to the earliest of them.
	pongs := make([]atomic.Int64, len(subs))
	for i := range pongs {
		pongs[i].Store(start)
	}
	errc := make(chan error, len(subs)+1)
	for i, ps := range subs {
		go func() { errc <- s.heartbeat(ctx, ps, &pongs[i], pongs) }()
	}
	running := len(subs)
	if s.sharded() {
		go func() { errc <- s.watchMasters(ctx, addrsOf(sources)) }()
		running++
	}
	err = <-errc
	cancel()
	closeAll(subs) // wakes the others' reads
	for range running - 1 {
		<-errc
	}
	return true, err
}

// subscribe subscribes ps to the channel and waits for the confirmation.
func (s *Store) subscribe(ctx context.Context, ps *redis.PubSub) error {
	if err := ps.Subscribe(ctx, s.keys.channel()); err != nil {
		return fmt.Errorf("redisstore: subscribe: %w", err)
	}
	msg, err := ps.ReceiveTimeout(ctx, max(s.bound, time.Second))
	if err != nil {
		return fmt.Errorf("redisstore: subscribe: %w", err)
	}
	if sub, ok := msg.(*redis.Subscription); !ok || sub.Kind != "subscribe" {
		return fmt.Errorf("redisstore: subscribe: unexpected reply %T", msg)
	}
	return nil
}

// heartbeat applies the announcements ps receives and PINGs on it every
// pingEvery, until an error (which it returns; never nil). At each answer
// it records the PING's send time in mine and confirms the mirror up to
// the earliest time in all (one per subscription).
func (s *Store) heartbeat(ctx context.Context, ps *redis.PubSub, mine *atomic.Int64, all []atomic.Int64) error {
	nextPing := time.Now()
	lastPong := time.Now()
	for {
		if now := time.Now(); !now.Before(nextPing) {
			if err := ps.Ping(ctx, strconv.FormatInt(s.now(), 10)); err != nil {
				return fmt.Errorf("redisstore: heartbeat: %w", err)
			}
			nextPing = now.Add(s.pingEvery)
		}
		if time.Since(lastPong) > s.bound/2 {
			// Renew the connection while the mirror may still be
			// served: a refill confirms it again.
			return errNoPong
		}
		msg, err := ps.ReceiveTimeout(ctx, max(time.Until(nextPing), time.Millisecond))
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() && ctx.Err() == nil {
				continue
			}
			return fmt.Errorf("redisstore: receive: %w", err)
		}
		switch m := msg.(type) {
		case *redis.Message:
			s.apply(m.Payload)
		case *redis.Pong:
			if at, err := strconv.ParseInt(m.Payload, 10, 64); err == nil {
				mine.Store(at)
				lastPong = time.Now()
				earliest := at
				for i := range all {
					earliest = min(earliest, all[i].Load())
				}
				s.confirm(earliest)
			}
		}
	}
}

// errMastersChanged ends a session on a Cluster whose masters (or a Ring
// whose live shards) changed.
var errMastersChanged = errors.New("redisstore: the masters or shards changed")

// mastersEvery is how often a session on a Cluster or Ring checks them.
const mastersEvery = time.Second

// watchMasters checks every mastersEvery that the Cluster's masters (the
// Ring's live shards) are still addrs, and returns errMastersChanged when
// they are not, or the error that kept it from knowing (never nil).
func (s *Store) watchMasters(ctx context.Context, addrs []string) error {
	t := time.NewTicker(mastersEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
		sources, err := s.sources(ctx)
		if err != nil {
			return fmt.Errorf("redisstore: masters: %w", err)
		}
		if !slices.Equal(addrsOf(sources), addrs) {
			return errMastersChanged
		}
	}
}

// sources returns the clients through which the store follows the
// revocations: every master of a Cluster or every shard of a Ring (each
// announces the revocations stored in its slots), sorted by address; for
// any other client, the client itself.
func (s *Store) sources(ctx context.Context) ([]redis.UniversalClient, error) {
	var mu sync.Mutex
	var nodes []*redis.Client
	add := func(_ context.Context, n *redis.Client) error {
		mu.Lock()
		nodes = append(nodes, n)
		mu.Unlock()
		return nil
	}
	var err error
	switch c := s.client.(type) {
	case *redis.ClusterClient:
		err = c.ForEachMaster(ctx, add)
	case *redis.Ring:
		err = c.ForEachShard(ctx, add)
	default:
		return []redis.UniversalClient{s.client}, nil
	}
	if err != nil {
		return nil, err
	}
	if len(nodes) == 0 {
		return nil, errors.New("no master or shard is up")
	}
	slices.SortFunc(nodes, func(a, b *redis.Client) int { return strings.Compare(a.Options().Addr, b.Options().Addr) })
	out := make([]redis.UniversalClient, len(nodes))
	for i, n := range nodes {
		out[i] = n
	}
	return out, nil
}

// sharded reports whether revocations are stored on several nodes that
// each announce their own: a Cluster or a Ring.
func (s *Store) sharded() bool {
	switch s.client.(type) {
	case *redis.ClusterClient, *redis.Ring:
		return true
	}
	return false
}

// addrsOf returns the address of each source that is a single node
// client (every master of a Cluster).
func addrsOf(sources []redis.UniversalClient) []string {
	var out []string
	for _, src := range sources {
		if c, ok := src.(*redis.Client); ok {
			out = append(out, c.Options().Addr)
		}
	}
	return out
}

// closeAll closes every subscription; closing one twice is harmless.
func closeAll(subs []*redis.PubSub) {
	for _, ps := range subs {
		_ = ps.Close()
	}
}

// apply records an announcement: "<end ms> <key>" for a token or a
// family, "<end ms> <key> <valid-after ms>" for a subject (whose key ends
// with a brace, and escaped keys have no brace within).
func (s *Store) apply(payload string) {
	end, rest, ok := strings.Cut(payload, " ")
	if !ok {
		return
	}
	n, err := strconv.ParseInt(end, 10, 64)
	if err != nil {
		return
	}
	if e, ok := s.keys.parse(rest); ok && e.kind != kindSubject {
		s.mirror.put(e, mark{end: n})
		return
	}
	i := strings.LastIndexByte(rest, ' ')
	if i < 0 {
		return
	}
	after, err := strconv.ParseInt(rest[i+1:], 10, 64)
	if err != nil {
		return
	}
	if e, ok := s.keys.parse(rest[:i]); ok && e.kind == kindSubject {
		s.mirror.put(e, mark{end: n, after: after})
	}
}

// scan reads every revocation stored under the prefix, on every source
// (every master of a Cluster, every shard of a Ring).
func (s *Store) scan(ctx context.Context, sources []redis.UniversalClient) (map[entry]mark, error) {
	var mu sync.Mutex
	fill := make(map[entry]mark)
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
	errs := make([]error, len(sources))
	var wg sync.WaitGroup
	for i, src := range sources {
		wg.Go(func() { errs[i] = node(ctx, src) })
	}
	wg.Wait()
	return fill, errors.Join(errs...)
}

// read gets the revocations of ks in one pipeline and records them in fill.
// A key gone meanwhile has expired; a value this package did not write
// counts as revoked until the next fill (for a subject, every token of it):
// fail closed.
func (s *Store) read(ctx context.Context, c redis.Cmdable, ks []string, fill map[entry]mark, mu *sync.Mutex) error {
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
		v, err := cmds[i].(*redis.StringCmd).Result()
		if errors.Is(err, redis.Nil) {
			continue
		}
		mk, ok := parseMark(e.kind, v)
		if err != nil || !ok {
			mk = mark{end: math.MaxInt64, after: math.MaxInt64}
		}
		if old, ok := fill[e]; ok {
			mk.end, mk.after = max(mk.end, old.end), max(mk.after, old.after)
		}
		fill[e] = mk
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

// parseMark reads the value of a revocation key of kind: "<end>" for a
// token or a family, "<end> <valid-after>" for a subject (unix ms).
func parseMark(kind byte, v string) (mark, bool) {
	if kind != kindSubject {
		end, err := strconv.ParseInt(v, 10, 64)
		return mark{end: end}, err == nil
	}
	end, after, ok := strings.Cut(v, " ")
	if !ok {
		return mark{}, false
	}
	e, err1 := strconv.ParseInt(end, 10, 64)
	a, err2 := strconv.ParseInt(after, 10, 64)
	return mark{end: e, after: a}, err1 == nil && err2 == nil
}
