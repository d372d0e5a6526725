package jwtguard

import (
	"context"
	"sync"
	"testing"
	"time"
)

// FakeJWKSClock is a clock for JWKS tests: its time moves only when the test
// calls Advance, and every wait of the background goroutine is reported to
// NextWait, so that a test knows when a fetch has ended and what comes next.
type FakeJWKSClock struct {
	mu     sync.Mutex
	t      time.Time
	timers map[*fakeTimer]bool
	waits  chan time.Duration
}

type fakeTimer struct {
	at time.Time
	c  chan time.Time
}

// NewFakeJWKSClock returns a clock at start.
func NewFakeJWKSClock(start time.Time) *FakeJWKSClock {
	return &FakeJWKSClock{t: start, timers: map[*fakeTimer]bool{}, waits: make(chan time.Duration, 1024)}
}

// NewJWKSOnClock is NewJWKS on a fake clock.
func NewJWKSOnClock(ctx context.Context, url string, algs []string, c *FakeJWKSClock, opts ...JWKSOption) (*JWKS, error) {
	return newJWKS(ctx, url, algs, c, opts...)
}

func (c *FakeJWKSClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *FakeJWKSClock) after(d time.Duration) (<-chan time.Time, func()) {
	c.mu.Lock()
	ft := &fakeTimer{at: c.t.Add(d), c: make(chan time.Time, 1)}
	c.timers[ft] = true
	c.fireLocked()
	c.mu.Unlock()
	c.waits <- d
	return ft.c, func() {
		c.mu.Lock()
		delete(c.timers, ft)
		c.mu.Unlock()
	}
}

func (c *FakeJWKSClock) fireLocked() {
	for ft := range c.timers {
		if !ft.at.After(c.t) {
			ft.c <- c.t
			delete(c.timers, ft)
		}
	}
}

// Now returns the clock's time.
func (c *FakeJWKSClock) Now() time.Time { return c.now() }

// Advance moves the clock by d and fires the timers due.
func (c *FakeJWKSClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
	c.fireLocked()
}

// NextWait waits until the background goroutine of the JWKS waits (after
// each fetch) and returns for how long it waits.
func (c *FakeJWKSClock) NextWait(t testing.TB) time.Duration {
	t.Helper()
	select {
	case d := <-c.waits:
		return d
	case <-time.After(time.Minute): // a guard against a hang, not a bound
		t.Fatal("the JWKS never waited again: no fetch ended")
		return 0
	}
}

// NoWait fails t if the background goroutine has waited since the last
// NextWait, that is if a fetch has ended since.
func (c *FakeJWKSClock) NoWait(t testing.TB) {
	t.Helper()
	select {
	case d := <-c.waits:
		t.Fatalf("unexpected fetch, then a wait of %v", d)
	default:
	}
}
