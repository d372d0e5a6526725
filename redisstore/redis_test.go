package redisstore_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// redisAddr is the Redis every test shares: REDIS_ADDR, or a redis-server
// TestMain started. Empty: no Redis, the tests skip.
var redisAddr string

// externalRedis is true when redisAddr came from REDIS_ADDR.
var externalRedis bool

// skipReason says why there is no Redis.
var skipReason string

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	// go-redis logs every failed dial; the tests that stop Redis make many.
	redis.SetLogger(quietLogger{})
	// The cluster tests start theirs at first use (needCluster).
	defer stopSharedCluster()
	if addr := os.Getenv("REDIS_ADDR"); addr != "" {
		redisAddr, externalRedis = addr, true
		return m.Run()
	}
	if _, err := exec.LookPath("redis-server"); err != nil {
		skipReason = "redis-server is not on PATH and REDIS_ADDR is not set: " +
			"install redis-server (./test.sh does it as root) or point REDIS_ADDR at a Redis"
		fmt.Fprintln(os.Stderr, "!!! redisstore: SKIPPING every Redis test:", skipReason)
		return m.Run()
	}
	dir, err := os.MkdirTemp("", "redisstore-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	srv, err := startRedis(dir, 0, false)
	if err != nil {
		fmt.Fprintln(os.Stderr, "redisstore: starting redis-server:", err)
		return 1
	}
	defer srv.stop()
	redisAddr = srv.addr
	return m.Run()
}

// redisServer is a redis-server process the tests started.
type redisServer struct {
	addr string
	port int
	cmd  *exec.Cmd
}

// freePorts returns n distinct loopback ports that were free a moment ago:
// it holds them all open at once, so none is returned twice.
func freePorts(n int) ([]int, error) {
	var ports []int
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			_ = l.Close()
		}
	}()
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// startRedis starts redis-server on loopback, on port (a free one when 0),
// with its files in dir, and waits until it answers. persist turns the
// append-only file on, fsynced at every write, so that a restart on the
// same dir keeps the data. extra is appended to the command line (the
// cluster tests add their --cluster-* flags).
func startRedis(dir string, port int, persist bool, extra ...string) (*redisServer, error) {
	if port == 0 {
		ports, err := freePorts(1)
		if err != nil {
			return nil, err
		}
		port = ports[0]
	}
	args := []string{"--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--save", "", "--dir", dir,
		"--protected-mode", "yes", "--daemonize", "no", "--loglevel", "warning",
		"--logfile", filepath.Join(dir, "redis.log")}
	if persist {
		args = append(args, "--appendonly", "yes", "--appendfsync", "always")
	} else {
		args = append(args, "--appendonly", "no")
	}
	args = append(args, extra...)
	cmd := exec.Command("redis-server", args...)
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	srv := &redisServer{addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), port: port, cmd: cmd}
	c := redis.NewClient(&redis.Options{Addr: srv.addr, MaxRetries: -1})
	defer c.Close()
	deadline := time.Now().Add(hangGuard)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		err := c.Ping(ctx).Err()
		cancel()
		if err == nil {
			return srv, nil
		}
		if time.Now().After(deadline) {
			srv.stop()
			return nil, fmt.Errorf("redis-server on %s did not answer: %w", srv.addr, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// stop kills the server and waits for it.
func (s *redisServer) stop() {
	_ = s.cmd.Process.Kill()
	_ = s.cmd.Wait()
}

// needRedis skips t loudly when there is no Redis.
func needRedis(t testing.TB) {
	t.Helper()
	if redisAddr == "" {
		t.Skip("!!! SKIPPED, no Redis: " + skipReason)
	}
}

// newClient returns a client of the shared Redis, closed with t.
func newClient(t testing.TB) *redis.Client {
	t.Helper()
	needRedis(t)
	c := redis.NewClient(&redis.Options{Addr: redisAddr})
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// testPrefix returns a prefix of its own for one test, so that tests on a
// shared Redis never see each other's keys.
func testPrefix() string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return "jwtguard-test:" + hex.EncodeToString(b) + ":"
}

// quietLogger drops go-redis's log lines.
type quietLogger struct{}

func (quietLogger) Printf(context.Context, string, ...any) {}
