package jwtguard_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"github.com/jwtguard/jwtguard"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// logRecords decodes the JSON lines a slog.JSONHandler wrote.
func logRecords(t *testing.T, buf *bytes.Buffer) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		if line == "" {
			continue
		}
		var rec map[string]any
		require.NoError(t, json.Unmarshal([]byte(line), &rec), line)
		out = append(out, rec)
	}
	return out
}

// TestWithLoggerMiddleware checks that every refusal is logged at the level
// chosen (server failures at ERROR), with the reason and never the token,
// and that the description the client gets names the missing claim.
func TestWithLoggerMiddleware(t *testing.T) {
	// A token as a FastAPI tutorial mints it: sub and exp, no type claim.
	fastAPI := htToken(t, map[string]any{"type": nil})
	tests := []struct {
		name       string
		opts       []jwtguard.Option
		header     string
		wantStatus int
		wantLevel  string
		wantReason string
		wantDesc   string
	}{
		{name: "token without a type claim", header: "Bearer " + fastAPI, wantStatus: 401, wantLevel: "INFO",
			wantReason: "jwtguard: wrong token type: missing required claim: type", wantDesc: "missing required claim: type"},
		{name: "type claim named otherwise", opts: []jwtguard.Option{jwtguard.WithTypeClaim("token_use")}, header: "Bearer " + fastAPI,
			wantStatus: 401, wantLevel: "INFO", wantReason: "missing required claim: token_use", wantDesc: "missing required claim: token_use"},
		{name: "no token", wantStatus: 401, wantLevel: "INFO", wantReason: "jwtguard: no token"},
		{name: "white space in the token", header: "Bearer a, Bearer b", wantStatus: 400, wantLevel: "INFO",
			wantReason: "bearer token contains white space", wantDesc: "bearer token contains white space"},
		{name: "store down: ERROR whatever the level", opts: []jwtguard.Option{jwtguard.WithStore(failingStore{})},
			header: "Bearer " + htToken(t, nil), wantStatus: 503, wantLevel: "ERROR", wantReason: "store down"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			logger := slog.New(slog.NewJSONHandler(&buf, nil))
			var hooked []error
			mw := htNew(t, append([]jwtguard.Option{
				jwtguard.WithLogger(logger, slog.LevelInfo),
				jwtguard.WithFailureHook(func(_ *http.Request, err error) { hooked = append(hooked, err) }),
			}, tt.opts...)...)
			r := htRequest(t, tt.header)
			r.URL.RawQuery = "secret=query"
			got := htRecord(mw.Handler(&htEcho{}), r)
			require.Equal(t, tt.wantStatus, got.status, got.body)
			if tt.wantDesc != "" {
				assert.Contains(t, got.body, `"error_description":"`+tt.wantDesc+`"`)
			}
			recs := logRecords(t, &buf)
			require.Len(t, recs, 1)
			require.Len(t, hooked, 1, "the failure hook is still called")
			rec := recs[0]
			assert.Equal(t, tt.wantLevel, rec["level"])
			assert.Equal(t, "jwtguard: request refused", rec["msg"])
			assert.Equal(t, "GET", rec["method"])
			assert.Equal(t, "/", rec["path"])
			assert.EqualValues(t, tt.wantStatus, rec["status"])
			assert.Contains(t, rec["reason"], tt.wantReason)
			if tt.header != "" {
				token := strings.TrimPrefix(tt.header, "Bearer ")
				assert.NotContains(t, buf.String(), token[len(token)/2:], "never the token")
			}
			assert.NotContains(t, buf.String(), "secret=query", "never the query string")
		})
	}

	t.Run("below the handler's level: nothing", func(t *testing.T) {
		var buf bytes.Buffer
		logger := slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelWarn}))
		mw := htNew(t, jwtguard.WithLogger(logger, slog.LevelDebug))
		got := htRecord(mw.Handler(&htEcho{}), htRequest(t, "Bearer "+fastAPI))
		require.Equal(t, 401, got.status)
		assert.Empty(t, buf.String())
	})
	t.Run("nil logger is a configuration error", func(t *testing.T) {
		_, err := jwtguard.New(jwtguard.WithKey("HS256", secret256), jwtguard.WithLogger(nil, slog.LevelInfo))
		require.ErrorIs(t, err, jwtguard.ErrInvalidConfig)
		assert.Contains(t, err.Error(), "WithLogger: nil logger")
	})
}

// TestLoginRefusesClaimsItCannotMint checks that a LoginFunc returning
// claims the issuer cannot mint ("roles": "admin") gets a documented 500,
// reported to the hook and the logger with the claim and the JSON type it
// needs, and nothing of it reaches the client.
func TestLoginRefusesClaimsItCannotMint(t *testing.T) {
	var buf bytes.Buffer
	var hooked error
	l := newLifecycle(t, jwtguard.WithAccessOptions(
		jwtguard.WithLogger(slog.New(slog.NewJSONHandler(&buf, nil)), slog.LevelDebug),
		jwtguard.WithFailureHook(func(_ *http.Request, err error) { hooked = err }),
	))
	login := func(context.Context, string, string) (string, map[string]any, error) {
		return "1", map[string]any{"roles": "admin"}, nil
	}
	w := serve(l.sessions.LoginHandler(login), jsonRequest(t, "POST", "/login", map[string]string{"username": "a", "password": "b"}))
	require.Equal(t, http.StatusInternalServerError, w.Code)
	assert.JSONEq(t, `{"error":"server_error","error_description":"the request could not be completed"}`, w.Body.String())
	require.ErrorIs(t, hooked, jwtguard.ErrCannotIssue)
	const want = `claim "roles" must be a JSON array of strings (such as []string{"admin"}), got a string`
	assert.Contains(t, hooked.Error(), want)
	recs := logRecords(t, &buf)
	require.Len(t, recs, 1)
	assert.Equal(t, "ERROR", recs[0]["level"])
	assert.EqualValues(t, 500, recs[0]["status"])
	assert.Contains(t, recs[0]["reason"], want)
}

// TestSessionsLogRefusals checks that the lifecycle handlers log through
// the logger given with WithAccessOptions, with the status they answered.
func TestSessionsLogRefusals(t *testing.T) {
	var buf bytes.Buffer
	l := newLifecycle(t, jwtguard.WithAccessOptions(jwtguard.WithLogger(slog.New(slog.NewJSONHandler(&buf, nil)), slog.LevelWarn)))
	w := serve(l.sessions.LoginHandler(authenticate), jsonRequest(t, "POST", "/login", map[string]string{"username": "alice", "password": "nope"}))
	require.Equal(t, http.StatusUnauthorized, w.Code)
	w = serve(l.sessions.RefreshHandler(), jsonRequest(t, "POST", "/refresh", map[string]string{}))
	require.Equal(t, http.StatusBadRequest, w.Code)
	recs := logRecords(t, &buf)
	require.Len(t, recs, 2)
	assert.Equal(t, "WARN", recs[0]["level"])
	assert.EqualValues(t, 401, recs[0]["status"])
	assert.Contains(t, recs[0]["reason"], "invalid credentials")
	assert.EqualValues(t, 400, recs[1]["status"])
	assert.Contains(t, recs[1]["reason"], "refresh_token is required")
	assert.NotContains(t, buf.String(), alicePass)
}
