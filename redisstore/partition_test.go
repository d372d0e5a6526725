package redisstore_test

import (
	"context"
	"io"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/jwtguard/jwtguard/redisstore"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"
)

// A network partition leaves the connections open but silent: no error
// ever comes back. The heartbeat notices, requests fail closed after the
// bound, and the store recovers when the network does.
func TestSilentPartitionFailsClosedAndRecovers(t *testing.T) {
	needRedis(t)
	p := newFreezingProxy(t, redisAddr)
	const bound = 200 * time.Millisecond
	// Commands on a frozen connection time out rather than hang; a second
	// leaves room for a loaded machine when the network works.
	copts := redis.Options{Addr: p.addr(), MaxRetries: -1, ReadTimeout: time.Second, WriteTimeout: time.Second}
	ins := newInstances(t, copts, testPrefix(), 2, redisstore.WithStalenessBound(bound))
	pair := issue(t, "alice")
	for _, in := range ins {
		waitStatus(t, in, pair.AccessToken, http.StatusOK, hangGuard)
	}

	// No heartbeat sent after the freeze is answered: a request sent more
	// than the bound after it must not pass (waitStatus checks it).
	p.freeze(true)
	frozen := time.Now()
	for _, in := range ins {
		waitStatus(t, in, pair.AccessToken, http.StatusServiceUnavailable, bound)
	}
	t.Logf("503 after %v of silence (bound %v)", time.Since(frozen), bound)
	for _, in := range ins {
		// A subject's revocation fails closed too: it may have been
		// announced while the connection was silent.
		_, err := in.store.IsSubjectRevoked(context.Background(), testIssuer, "alice", time.Time{})
		require.ErrorIs(t, err, redisstore.ErrStale, "instance %s", in.name)
	}

	p.freeze(false)
	for _, in := range ins {
		waitStatus(t, in, pair.AccessToken, http.StatusOK, hangGuard)
	}
	require.Equal(t, http.StatusNoContent, ins[0].logout(t, pair.AccessToken))
	waitStatus(t, ins[1], pair.AccessToken, http.StatusUnauthorized, enforceWithin)
}

// freezingProxy forwards TCP connections to a Redis, and can stop
// forwarding without closing anything, as a partitioned network does.
type freezingProxy struct {
	l      net.Listener
	mu     sync.Mutex
	cond   *sync.Cond
	frozen bool
	conns  []net.Conn
	wg     sync.WaitGroup
}

func newFreezingProxy(t *testing.T, upstream string) *freezingProxy {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	p := &freezingProxy{l: l}
	p.cond = sync.NewCond(&p.mu)
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			u, err := net.Dial("tcp", upstream)
			if err != nil {
				_ = c.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, c, u)
			p.mu.Unlock()
			p.wg.Add(2)
			go p.pipe(c, u)
			go p.pipe(u, c)
		}
	}()
	t.Cleanup(func() {
		_ = l.Close()
		p.mu.Lock()
		p.frozen = false
		p.cond.Broadcast()
		for _, c := range p.conns {
			_ = c.Close()
		}
		p.mu.Unlock()
		p.wg.Wait()
	})
	return p
}

func (p *freezingProxy) addr() string { return p.l.Addr().String() }

// freeze stops or resumes forwarding on every connection, old and new.
func (p *freezingProxy) freeze(on bool) {
	p.mu.Lock()
	p.frozen = on
	p.cond.Broadcast()
	p.mu.Unlock()
}

func (p *freezingProxy) pipe(dst, src net.Conn) {
	defer p.wg.Done()
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		p.mu.Lock()
		for p.frozen {
			p.cond.Wait()
		}
		p.mu.Unlock()
		if n > 0 {
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			if err != io.EOF {
				_ = dst.Close()
			}
			if tc, ok := dst.(*net.TCPConn); ok {
				_ = tc.CloseWrite()
			}
			return
		}
	}
}
