// Command example is a small but real application protected by jwtguard:
// users in an embedded SQLite database (pure Go) with bcrypt passwords, the
// seed flow's HTTP API (register, login, me, refresh, logout) for API
// clients, the user's sessions (list, end one, sign out elsewhere or
// everywhere, change the password after a fresh login), and a page at /
// that runs the same flow in a browser with the tokens in httpOnly
// cookies.
//
//	go run ./example            # from the repository root
//
// Configuration comes from the environment (see Config and README.md in
// this directory): ADDR, JWT_SECRET, JWT_ISSUER,
// JWT_AUDIENCE, DB_PATH, ACCESS_TOKEN_TTL, REFRESH_TOKEN_TTL,
// INSECURE_COOKIES, TLS_CERT_FILE, TLS_KEY_FILE, BCRYPT_COST, DPOP,
// DPOP_NONCE, SESSION_MAX_AGE and FRESH_MAX_AGE.
package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"
)

func main() {
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := run(ctx, os.Getenv, log, func(url string) {
		fmt.Printf("jwtguard example: open %s in a browser, or try the API:\n  curl -i -X POST %s/api/v1/auth/register -H 'Content-Type: application/json' -d '{\"email\":\"ada@example.com\",\"password\":\"correct horse\"}'\n", url, url)
	})
	if err != nil {
		log.Error("example stopped", "err", err)
		os.Exit(1)
	}
}

// run serves until ctx is done, then shuts down gracefully. It calls ready
// with the server's URL once it listens. adjust, if any, change the
// configuration read from getenv (tests set a Clock).
func run(ctx context.Context, getenv func(string) string, log *slog.Logger, ready func(url string), adjust ...func(*Config)) error {
	cfg, err := loadConfig(getenv)
	if err != nil {
		return err
	}
	for _, fn := range adjust {
		fn(&cfg)
	}
	if cfg.SecretGenerated {
		log.Warn("JWT_SECRET is not set: using a random secret; tokens will not survive a restart")
	}
	if !cfg.secureContext() && !cfg.InsecureCookies {
		log.Warn("ADDR is not a loopback address and TLS is off: browsers will refuse the page's Secure cookies; " +
			"set TLS_CERT_FILE and TLS_KEY_FILE, or INSECURE_COOKIES=1 for development only (API clients are not affected)")
	}
	if cfg.InsecureCookies {
		log.Warn("INSECURE_COOKIES is on: token cookies travel without Secure; never use this in production")
	}
	users, err := openUsers(ctx, cfg.DBPath)
	if err != nil {
		return err
	}
	defer users.Close()
	app, err := newApp(cfg, users, cfg.BcryptCost, log)
	if err != nil {
		return err
	}
	defer app.Close()

	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return err
	}
	srv := &http.Server{
		Handler:           app.Handler(),
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	scheme := "http"
	if cfg.TLSCertFile != "" {
		scheme = "https"
	}
	errc := make(chan error, 1)
	go func() {
		if cfg.TLSCertFile != "" {
			errc <- srv.ServeTLS(ln, cfg.TLSCertFile, cfg.TLSKeyFile)
		} else {
			errc <- srv.Serve(ln)
		}
	}()
	log.Info("listening", "addr", ln.Addr().String(), "db", cfg.DBPath, "issuer", cfg.Issuer, "audience", cfg.Audience)
	if ready != nil {
		ready(scheme + "://" + displayAddr(cfg.Addr, ln.Addr()))
	}
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down")
	shutdown, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdown); err != nil {
		return err
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// displayAddr is the host of ADDR (localhost stays localhost, which
// browsers treat as a secure context) with the port actually bound.
func displayAddr(addr string, bound net.Addr) string {
	host, _, _ := net.SplitHostPort(addr)
	_, port, _ := net.SplitHostPort(bound.String())
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "localhost"
	}
	return net.JoinHostPort(host, port)
}
