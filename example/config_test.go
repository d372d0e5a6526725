package main

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jwtguard/jwtguard"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func env(vars map[string]string) func(string) string {
	return func(name string) string { return vars[name] }
}

func TestLoadConfigDefaults(t *testing.T) {
	c, err := loadConfig(env(nil))
	require.NoError(t, err)
	assert.Equal(t, "localhost:8080", c.Addr)
	assert.Len(t, c.Secret, 32)
	assert.True(t, c.SecretGenerated)
	assert.Equal(t, "jwtguard-example", c.Issuer)
	assert.Equal(t, "jwtguard-example", c.Audience)
	assert.Equal(t, "jwtguard-example.db", c.DBPath)
	assert.Equal(t, 30*time.Minute, c.AccessTTL)
	assert.Equal(t, 168*time.Hour, c.RefreshTTL)
	assert.False(t, c.InsecureCookies)
	assert.Equal(t, 12, c.BcryptCost)
	assert.Equal(t, jwtguard.DPoPAllowed, c.DPoP)
	assert.False(t, c.DPoPNonce)
	assert.Equal(t, 30*24*time.Hour, c.SessionMaxAge)
	assert.Equal(t, 5*time.Minute, c.FreshMaxAge)
	assert.True(t, c.secureContext())

	other, err := loadConfig(env(nil))
	require.NoError(t, err)
	assert.NotEqual(t, c.Secret, other.Secret, "a random secret each start")
}

func TestLoadConfigFromEnvironment(t *testing.T) {
	c, err := loadConfig(env(map[string]string{
		"ADDR": "0.0.0.0:9000", "JWT_SECRET": testSecret, "JWT_ISSUER": "iss", "JWT_AUDIENCE": "aud",
		"DB_PATH": "/tmp/x.db", "ACCESS_TOKEN_TTL": "2s", "REFRESH_TOKEN_TTL": "1h", "INSECURE_COOKIES": "true",
		"BCRYPT_COST": "11", "DPOP": "required", "DPOP_NONCE": "1",
		"SESSION_MAX_AGE": "24h", "FRESH_MAX_AGE": "90s",
	}))
	require.NoError(t, err)
	assert.Equal(t, Config{
		Addr: "0.0.0.0:9000", Secret: []byte(testSecret), Issuer: "iss", Audience: "aud", DBPath: "/tmp/x.db",
		AccessTTL: 2 * time.Second, RefreshTTL: time.Hour, InsecureCookies: true, BcryptCost: 11,
		DPoP: jwtguard.DPoPRequired, DPoPNonce: true,
		SessionMaxAge: 24 * time.Hour, FreshMaxAge: 90 * time.Second,
	}, c)
	assert.False(t, c.secureContext())
}

func TestLoadConfigRefuses(t *testing.T) {
	tests := []struct {
		name string
		vars map[string]string
		want string
	}{
		{name: "short secret", vars: map[string]string{"JWT_SECRET": "too-short"}, want: "JWT_SECRET is 9 bytes: at least 32"},
		{name: "31-byte secret", vars: map[string]string{"JWT_SECRET": strings.Repeat("s", 31)}, want: "at least 32"},
		{name: "bad access TTL", vars: map[string]string{"ACCESS_TOKEN_TTL": "soon"}, want: "ACCESS_TOKEN_TTL"},
		{name: "negative refresh TTL", vars: map[string]string{"REFRESH_TOKEN_TTL": "-1h"}, want: "REFRESH_TOKEN_TTL"},
		{name: "refresh not longer", vars: map[string]string{"ACCESS_TOKEN_TTL": "1h", "REFRESH_TOKEN_TTL": "1h"}, want: "must be longer"},
		{name: "insecure cookies typo", vars: map[string]string{"INSECURE_COOKIES": "yes please"}, want: "INSECURE_COOKIES"},
		{name: "half TLS", vars: map[string]string{"TLS_CERT_FILE": "cert.pem"}, want: "TLS_KEY_FILE"},
		{name: "address without port", vars: map[string]string{"ADDR": "localhost"}, want: "ADDR"},
		{name: "bcrypt cost under OWASP's minimum", vars: map[string]string{"BCRYPT_COST": "9"}, want: "BCRYPT_COST=\"9\": want a whole number from 10"},
		{name: "bcrypt cost too high", vars: map[string]string{"BCRYPT_COST": "17"}, want: "BCRYPT_COST"},
		{name: "bcrypt cost not a number", vars: map[string]string{"BCRYPT_COST": "12.5"}, want: "BCRYPT_COST"},
		{name: "unknown DPoP mode", vars: map[string]string{"DPOP": "on"}, want: `DPOP="on": want disabled, allowed or required`},
		{name: "DPoP nonce not 0 or 1", vars: map[string]string{"DPOP_NONCE": "true"}, want: `DPOP_NONCE="true": want 0 or 1`},
		{name: "query in DB path", vars: map[string]string{"DB_PATH": "x.db?mode=ro"}, want: "DB_PATH"},
		{name: "session max age too short", vars: map[string]string{"SESSION_MAX_AGE": "30s"}, want: `SESSION_MAX_AGE="30s": want a duration from 1m`},
		{name: "session max age too long", vars: map[string]string{"SESSION_MAX_AGE": "10000h"}, want: "SESSION_MAX_AGE"},
		{name: "session max age not a duration", vars: map[string]string{"SESSION_MAX_AGE": "30 days"}, want: "SESSION_MAX_AGE"},
		{name: "fresh max age not a duration", vars: map[string]string{"FRESH_MAX_AGE": "5"}, want: "FRESH_MAX_AGE"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := loadConfig(env(tt.vars))
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.want)
			if s := tt.vars["JWT_SECRET"]; s != "" {
				assert.NotContains(t, err.Error(), s, "the secret is never printed")
			}
		})
	}
}

func TestSecureContext(t *testing.T) {
	for addr, want := range map[string]bool{
		"localhost:8080": true, "127.0.0.1:8080": true, "[::1]:8080": true, "app.localhost:80": true,
		":8080": false, "0.0.0.0:8080": false, "example.com:443": false, "192.168.1.2:8080": false,
	} {
		assert.Equal(t, want, Config{Addr: addr}.secureContext(), addr)
	}
	assert.True(t, Config{Addr: ":443", TLSCertFile: "c", TLSKeyFile: "k"}.secureContext())
}

// syncBuffer is a log destination safe for the server's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// startRun runs the whole program with vars as its environment and returns
// its URL; the server is shut down gracefully at the end of the test.
// Unless vars set BCRYPT_COST, it is the lowest the configuration allows:
// one hash at the default cost takes seconds under the race detector.
func startRun(t *testing.T, vars map[string]string, logs io.Writer, adjust ...func(*Config)) string {
	t.Helper()
	if _, ok := vars["BCRYPT_COST"]; !ok {
		vars = maps.Clone(vars)
		vars["BCRYPT_COST"] = strconv.Itoa(minBcryptCost)
	}
	ctx, cancel := context.WithCancel(context.Background())
	urls := make(chan string, 1)
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, env(vars), slog.New(slog.NewTextHandler(logs, nil)), func(url string) { urls <- url }, adjust...)
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			assert.NoError(t, err, "graceful shutdown")
		case <-time.After(time.Minute): // a guard against a hang, not a bound
			t.Error("the server did not shut down")
		}
	})
	select {
	case url := <-urls:
		return url
	case err := <-done:
		t.Fatalf("run: %v", err)
	case <-time.After(time.Minute): // a guard against a hang, not a bound
		t.Fatal("the server did not start")
	}
	return ""
}

func TestRun(t *testing.T) {
	var logs syncBuffer
	url := startRun(t, map[string]string{
		"ADDR": "localhost:0", "DB_PATH": filepath.Join(t.TempDir(), "users.db"),
	}, &logs)
	assert.True(t, strings.HasPrefix(url, "http://localhost:"), url)
	resp, err := http.Get(url + "/")
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Contains(t, logs.String(), "JWT_SECRET is not set: using a random secret; tokens will not survive a restart")

	t.Run("refuses a short secret", func(t *testing.T) {
		err := run(context.Background(), env(map[string]string{"JWT_SECRET": "short"}), slog.New(slog.NewTextHandler(io.Discard, nil)), nil)
		assert.ErrorContains(t, err, "at least 32 random bytes")
	})
	t.Run("warns when browsers will drop Secure cookies", func(t *testing.T) {
		var logs syncBuffer
		startRun(t, map[string]string{"ADDR": "0.0.0.0:0", "JWT_SECRET": testSecret, "DB_PATH": filepath.Join(t.TempDir(), "u.db")}, &logs)
		assert.Contains(t, logs.String(), "INSECURE_COOKIES=1 for development only")
		assert.NotContains(t, logs.String(), "JWT_SECRET is not set")
	})
}
