package jwtguard

import (
	"errors"
	"log/slog"
	"net/http"
)

// WithLogger logs every refused request to logger, so that a developer sees
// why a request was refused without guessing from the client's answer:
//
//	level=INFO msg="jwtguard: request refused" method=GET path=/me status=401 reason="jwtguard: wrong token type: missing required claim: type"
//
// Requests refused because of what the client sent (no token, a bad token,
// a malformed request, a failed CSRF check, a missing scope or role: every
// 4xx) are logged at level. Requests the server could not answer (503: a
// store or a JWKS that failed; 500 from the [Sessions] handlers: claims the
// issuer cannot mint) are logged at [slog.LevelError], or at level if that
// is higher.
//
// Each record has the attributes method, path (without the query string),
// status (the status of the default responses, also under
// [WithErrorHandler]) and reason: the error's message, which names what
// was wrong (the claim, the header, the limit) and never holds a token or a
// key. Errors returned by a [LoginFunc], a [RefreshFunc] or a [Store] are
// part of the reason as they are. Records use the request's context, for
// handlers that add trace IDs. A [WithFailureHook] is still called, before
// the record is written.
//
// For [Sessions], pass it with [WithAccessOptions]: the middleware and the
// login, refresh and logout handlers then log through it. Default: nothing
// is logged.
func WithLogger(logger *slog.Logger, level slog.Level) Option {
	return func(c *config) {
		if logger == nil {
			c.errs = append(c.errs, errors.New("WithLogger: nil logger"))
		}
		c.logger, c.logLevel = logger, level
	}
}

// report passes a refusal to the failure hook and the logger. status is the
// status answered, or 0 for that of the default responses.
func (m *Middleware) report(r *http.Request, err error, status int) {
	if m.onFailure != nil {
		m.onFailure(r, err)
	}
	if m.logger == nil {
		return
	}
	if status == 0 {
		status = m.responses.lookup(err).status
	}
	level := m.logLevel
	if status >= http.StatusInternalServerError && level < slog.LevelError {
		level = slog.LevelError
	}
	ctx := r.Context()
	if !m.logger.Enabled(ctx, level) {
		return
	}
	m.logger.LogAttrs(ctx, level, "jwtguard: request refused",
		slog.String("method", r.Method),
		slog.String("path", r.URL.Path),
		slog.Int("status", status),
		slog.String("reason", err.Error()),
	)
}
