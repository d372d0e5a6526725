// Command loadtest builds the example server, runs it on loopback and drives
// it with concurrent clients for a bounded time: valid requests, invalid
// tokens (tampered, expired, of the wrong type, alg none), refreshes, reuse
// of rotated refresh tokens (replayed after the server's reuse interval,
// -reuse-interval, so that the run lasts up to that much longer), and
// logouts. It reports throughput, p50/p99
// latency, error counts and the server's memory, and exits non-zero when a
// valid request failed, an invalid one was accepted, or the server's memory
// grew beyond the bound.
//
//	go run ./cmd/loadtest -duration 10s
//
// It uses the example's API: POST /api/v1/auth/register {"email","password"}
// (201), POST /api/v1/auth/login {"username","password"} (a token pair), GET
// /api/v1/auth/me (Bearer), POST /api/v1/auth/refresh {"refresh_token"} and
// POST /api/v1/auth/logout (204). With -url it drives a server that is
// already running instead.
package main

import (
	"context"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/jwtguard/jwtguard"
)

// secret is the fixed JWT_SECRET of the server the tool starts: knowing it
// lets the tool mint correctly signed expired tokens.
const secret = "loadtest-secret-0123456789abcdefghijklmnopqrstuvwxyz"

func main() {
	var (
		duration = flag.Duration("duration", 10*time.Second, "how long to drive the server")
		clients  = flag.Int("clients", 8, "concurrent clients")
		pkg      = flag.String("example", "./example", "the example server's package, built with go build")
		baseURL  = flag.String("url", "", "drive this running server instead of starting one (memory is not measured)")
		maxGrow  = flag.Int64("max-rss-growth-mb", 64, "fail when the server's RSS grows more than this after warm-up")
		reuse    = flag.Duration("reuse-interval", jwtguard.DefaultReuseInterval, "the server's reuse interval of refresh tokens: rotated tokens are replayed after it")
	)
	flag.Parse()
	if err := run(*duration, *clients, *pkg, *baseURL, *maxGrow<<20, *reuse); err != nil {
		fmt.Fprintln(os.Stderr, "loadtest:", err)
		os.Exit(1)
	}
}

func run(duration time.Duration, clients int, pkg, baseURL string, maxGrowth int64, reuseInterval time.Duration) error {
	var srv *server
	if baseURL == "" {
		var err error
		if srv, err = startServer(pkg); err != nil {
			return err
		}
		defer srv.stop()
		baseURL = srv.url
	}
	d := newDriver(baseURL, secret)
	d.reuseInterval = reuseInterval
	ctx, cancel := context.WithTimeout(context.Background(), duration+reuseInterval+30*time.Second)
	defer cancel()
	if err := d.setup(ctx, clients); err != nil {
		return err
	}

	var rss rssSampler
	if srv != nil {
		rss.pid = srv.cmd.Process.Pid
	}
	rep := d.drive(ctx, clients, duration, &rss)
	rep.print(os.Stdout)
	if srv != nil {
		if err := srv.alive(); err != nil {
			return err
		}
	}
	return rep.verdict(maxGrowth)
}

// server is the example server process.
type server struct {
	cmd  *exec.Cmd
	url  string
	dir  string
	exit chan error
}

// startServer builds pkg and runs it on a free loopback port with a fixed
// secret and a temporary database, and waits until it answers.
func startServer(pkg string) (*server, error) {
	dir, err := os.MkdirTemp("", "jwtguard-loadtest-")
	if err != nil {
		return nil, err
	}
	bin := filepath.Join(dir, "example-server")
	build := exec.Command("go", "build", "-o", bin, pkg)
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("go build %s: %w", pkg, err)
	}
	addr, err := freeAddr()
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	cmd := exec.Command(bin)
	cmd.Env = append(os.Environ(),
		"ADDR="+addr, "JWT_SECRET="+secret, "DB_PATH="+filepath.Join(dir, "loadtest.db"))
	logFile, err := os.Create(filepath.Join(dir, "server.log"))
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("start %s: %w", bin, err)
	}
	s := &server{cmd: cmd, url: "http://" + addr, dir: dir, exit: make(chan error, 1)}
	go func() { s.exit <- cmd.Wait(); logFile.Close() }()
	deadline := time.Now().Add(20 * time.Second)
	for {
		select {
		case err := <-s.exit:
			s.exit <- err
			log, _ := os.ReadFile(filepath.Join(dir, "server.log"))
			os.RemoveAll(dir)
			return nil, fmt.Errorf("the server exited at start (%v):\n%s", err, log)
		default:
		}
		resp, err := http.Get(s.url + "/api/v1/auth/me")
		if err == nil {
			resp.Body.Close()
			return s, nil
		}
		if time.Now().After(deadline) {
			s.stop()
			return nil, fmt.Errorf("the server did not answer on %s within 20s", addr)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// alive reports an error if the server has died.
func (s *server) alive() error {
	select {
	case err := <-s.exit:
		s.exit <- err
		return fmt.Errorf("the server died during the run: %v", err)
	default:
		return nil
	}
}

// stop asks the server to shut down, kills it after 10 s, and removes its
// files.
func (s *server) stop() {
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.exit:
	case <-time.After(10 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.exit
	}
	os.RemoveAll(s.dir)
}

func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

// rssSampler reads a process's resident set size from /proc.
type rssSampler struct{ pid int }

// read returns the RSS in bytes, or -1 when it cannot be read.
func (s *rssSampler) read() int64 {
	if s.pid == 0 {
		return -1
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", s.pid))
	if err != nil {
		return -1
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			f := strings.Fields(rest)
			if len(f) == 2 && f[1] == "kB" {
				kb, err := strconv.ParseInt(f[0], 10, 64)
				if err == nil {
					return kb << 10
				}
			}
		}
	}
	return -1
}
