package main

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestExampleRoutes(t *testing.T) {
	secret := []byte("example-test-secret-of-32-bytes!")
	h, err := newHandler(secret, slog.New(slog.NewTextHandler(io.Discard, nil)))
	require.NoError(t, err)
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)

	token, err := demoToken(secret, time.Now())
	require.NoError(t, err)
	other, err := demoToken([]byte("another-secret-another-secret-32"), time.Now())
	require.NoError(t, err)
	expired, err := demoToken(secret, time.Now().Add(-time.Hour))
	require.NoError(t, err)

	tests := []struct {
		name   string
		path   string
		auth   string
		status int
		body   string
	}{
		{name: "public without token", path: "/public", status: http.StatusOK, body: "hello, anyone\n"},
		{name: "protected with token", path: "/api/hello", auth: "Bearer " + token, status: http.StatusOK, body: "hello, demo-user\n"},
		{name: "protected without token", path: "/api/hello", status: http.StatusUnauthorized},
		{name: "protected with foreign token", path: "/api/hello", auth: "Bearer " + other, status: http.StatusUnauthorized},
		{name: "protected with expired token", path: "/api/hello", auth: "Bearer " + expired, status: http.StatusUnauthorized},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequest(http.MethodGet, srv.URL+tt.path, nil)
			require.NoError(t, err)
			if tt.auth != "" {
				req.Header.Set("Authorization", tt.auth)
			}
			resp, err := srv.Client().Do(req)
			require.NoError(t, err)
			defer resp.Body.Close()
			b, err := io.ReadAll(resp.Body)
			require.NoError(t, err)
			assert.Equal(t, tt.status, resp.StatusCode)
			if tt.body != "" {
				assert.Equal(t, tt.body, string(b))
			}
			if tt.status == http.StatusUnauthorized {
				assert.Contains(t, resp.Header.Get("WWW-Authenticate"), `Bearer realm=`)
			}
		})
	}
}

func TestLoadSecret(t *testing.T) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	t.Setenv("JWT_SECRET", "")
	s, err := loadSecret(log)
	require.NoError(t, err)
	assert.Len(t, s, 32)

	t.Setenv("JWT_SECRET", "too-short")
	_, err = loadSecret(log)
	assert.ErrorContains(t, err, "at least 32 bytes")

	t.Setenv("JWT_SECRET", "example-test-secret-of-32-bytes!")
	s, err = loadSecret(log)
	require.NoError(t, err)
	assert.Equal(t, "example-test-secret-of-32-bytes!", string(s))
}
