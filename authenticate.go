package jwtguard

import (
	"context"
	"net/http"
)

// Authenticate is the check of [Middleware.Handler] for calls that do not
// reach net/http, such as gRPC calls: the transport finds the token itself
// and describes the call as r, the request the hooks of [WithSuccessHook]
// and [WithFailureHook] receive (r.Context() is the call's context).
//
// It verifies token exactly as [Middleware.Verify] does, with the same key
// set, revocation store and cache. On success it reports the claims to the
// success hook (with r carrying them in its context) and returns r's context
// carrying them, where [FromContext] and [ClaimsFromContext] find them, and
// the claims. On failure it reports the error to the failure hook and the
// logger, and returns it; an empty token is [ErrNoToken]. Nothing is written anywhere:
// answering the call is the transport's job.
func (m *Middleware) Authenticate(r *http.Request, token string) (context.Context, any, error) {
	v, err := m.verifyResult(r.Context(), token)
	if err != nil {
		m.Reject(r, err)
		return nil, nil, err
	}
	ctx := m.newClaimsContext(r.Context(), v)
	if m.onSuccess != nil {
		m.onSuccess(r.WithContext(ctx), ctx.claims)
	}
	return ctx, ctx.claims, nil
}

// Reject reports err, a failure the transport found itself (a malformed
// call, claims that lack a required scope or role), to the hook of
// [WithFailureHook] and the logger of [WithLogger] with r, as
// [Middleware.Handler] does before it answers (the record's status is the
// HTTP status the default responses give err). err should match one of the
// package's sentinel errors.
func (m *Middleware) Reject(r *http.Request, err error) {
	m.report(r, err, 0)
}
