package jwtguard_test

import (
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"testing/fstest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jwtguard/jwtguard"
)

// pfCounter counts the calls that reach the handler it wraps.
type pfCounter struct {
	calls atomic.Int64
	next  http.Handler
}

func (c *pfCounter) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	c.calls.Add(1)
	c.next.ServeHTTP(w, r)
}

// pfPurge is the protected handler of the forged preflight: it answers
// "purged" to any method, as a handler that does not look at the method
// does.
var pfPurge = http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
	_, _ = w.Write([]byte("purged"))
})

// pfSecret is the content of the private file served behind the guard.
const pfSecret = "the private file"

// TestForgedPreflightNeedsToken sends the requests of a forged CORS
// preflight (OPTIONS with Origin and Access-Control-Request-Method, no
// token) through every guard. By default each answers 401 with the bare
// challenge and never calls the protected handler, a FileServer included;
// with WithInsecurePreflightPassthrough the preflight reaches the handler.
// Optional lets it through without claims, as any request without a token.
func TestForgedPreflightNeedsToken(t *testing.T) {
	// The attacker-tester's request, and a genuine preflight with a token.
	forged := http.Header{"Origin": {"https://evil.example"}, "Access-Control-Request-Method": {"DELETE"}}
	withToken := http.Header{
		"Origin": {"https://evil.example"}, "Access-Control-Request-Method": {"DELETE"},
		"Authorization": {"Bearer " + htToken(t, map[string]any{
			"roles": []string{"admin"}, "scope": "admin", "auth_time": testNow.Unix(),
		})},
	}
	files := http.FileServerFS(fstest.MapFS{"private.txt": {Data: []byte(pfSecret)}})
	type route struct {
		path    string
		handler http.Handler
	}
	purge := func(h http.Handler) route { return route{"/admin/purge", h} }
	file := func(h http.Handler) route { return route{"/private.txt", h} }
	guards := []struct {
		name     string
		sessions bool // a Sessions guard: tokens come from its issuer
		protect  func(mw *jwtguard.Middleware, s *jwtguard.Sessions, h http.Handler) http.Handler
		route    func(http.Handler) route
		body     string // what the handler answers
		optional bool   // Optional: no token is no error
	}{
		{name: "Handler", protect: func(mw *jwtguard.Middleware, _ *jwtguard.Sessions, h http.Handler) http.Handler {
			return mw.Handler(h)
		}, route: purge, body: "purged"},
		{name: "Handler around a mux", protect: func(mw *jwtguard.Middleware, _ *jwtguard.Sessions, h http.Handler) http.Handler {
			mux := http.NewServeMux()
			mux.Handle("/admin/purge", h)
			return mw.Handler(mux)
		}, route: purge, body: "purged"},
		{name: "Handler and RequireRole", protect: func(mw *jwtguard.Middleware, _ *jwtguard.Sessions, h http.Handler) http.Handler {
			return mw.Handler(mw.RequireRole("admin")(h))
		}, route: purge, body: "purged"},
		{name: "Optional and RequireRole", protect: func(mw *jwtguard.Middleware, _ *jwtguard.Sessions, h http.Handler) http.Handler {
			return mw.Optional(mw.RequireRole("admin")(h))
		}, route: purge, body: "purged"},
		{name: "RequireRole", protect: func(mw *jwtguard.Middleware, _ *jwtguard.Sessions, h http.Handler) http.Handler {
			return mw.RequireRole("admin")(h)
		}, route: purge, body: "purged"},
		{name: "RequireScope", protect: func(mw *jwtguard.Middleware, _ *jwtguard.Sessions, h http.Handler) http.Handler {
			return mw.RequireScope("admin")(h)
		}, route: purge, body: "purged"},
		{name: "RequireFreshLogin", protect: func(mw *jwtguard.Middleware, _ *jwtguard.Sessions, h http.Handler) http.Handler {
			return mw.RequireFreshLogin(5 * time.Minute)(h)
		}, route: purge, body: "purged"},
		{name: "Handler around a FileServer", protect: func(mw *jwtguard.Middleware, _ *jwtguard.Sessions, h http.Handler) http.Handler {
			return mw.Handler(h)
		}, route: file, body: pfSecret},
		{name: "Sessions.Handler", sessions: true, protect: func(_ *jwtguard.Middleware, s *jwtguard.Sessions, h http.Handler) http.Handler {
			return s.Handler(h)
		}, route: purge, body: "purged"},
		{name: "Sessions.Handler around a FileServer", sessions: true, protect: func(_ *jwtguard.Middleware, s *jwtguard.Sessions, h http.Handler) http.Handler {
			return s.Handler(h)
		}, route: file, body: pfSecret},
		{name: "Sessions.RequireRole", sessions: true, protect: func(_ *jwtguard.Middleware, s *jwtguard.Sessions, h http.Handler) http.Handler {
			return s.RequireRole("admin")(h)
		}, route: purge, body: "purged"},
		{name: "Sessions.RequireScope", sessions: true, protect: func(_ *jwtguard.Middleware, s *jwtguard.Sessions, h http.Handler) http.Handler {
			return s.RequireScope("admin")(h)
		}, route: purge, body: "purged"},
		{name: "Sessions.Middleware().RequireFreshLogin", sessions: true, protect: func(_ *jwtguard.Middleware, s *jwtguard.Sessions, h http.Handler) http.Handler {
			return s.Middleware().RequireFreshLogin(5 * time.Minute)(h)
		}, route: purge, body: "purged"},
		{name: "Optional", protect: func(mw *jwtguard.Middleware, _ *jwtguard.Sessions, h http.Handler) http.Handler {
			return mw.Optional(h)
		}, route: purge, body: "purged", optional: true},
	}
	for _, g := range guards {
		for _, passthrough := range []bool{false, true} {
			for _, token := range []bool{false, true} {
				if token && g.sessions {
					continue // the token is not of the sessions' issuer
				}
				name := g.name
				if passthrough {
					name += "/WithInsecurePreflightPassthrough"
				}
				header := forged
				if token {
					name += "/with token"
					header = withToken
				}
				t.Run(name, func(t *testing.T) {
					var opts []jwtguard.Option
					if passthrough {
						opts = append(opts, jwtguard.WithInsecurePreflightPassthrough())
					}
					mw := htNew(t, opts...)
					l := newLifecycle(t, jwtguard.WithAccessOptions(opts...))
					handler := pfPurge
					if g.body == pfSecret {
						handler = files.ServeHTTP
					}
					r := g.route(handler)
					counter := &pfCounter{next: r.handler}
					srv := httptest.NewServer(g.protect(mw, l.sessions, counter))
					defer srv.Close()

					got := htDo(t, srv.Client(), http.MethodOptions, srv.URL+r.path, header)

					if passthrough || token || g.optional {
						assert.Equal(t, http.StatusOK, got.status, "status (body %q)", got.body)
						assert.Equal(t, g.body, got.body)
						assert.Equal(t, int64(1), counter.calls.Load(), "calls of the protected handler")
						return
					}
					htAssertResponse(t, got, http.StatusUnauthorized, htBare, htNoTokenBody)
					assert.NotContains(t, got.body, g.body)
					assert.Zero(t, counter.calls.Load(), "calls of the protected handler")
				})
			}
		}
	}
}

// TestPreflightPassthroughOnlyPreflights checks that
// WithInsecurePreflightPassthrough lets only preflights through: an OPTIONS
// request without both CORS headers, or another method with them, still
// needs a token.
func TestPreflightPassthroughOnlyPreflights(t *testing.T) {
	tests := []struct {
		name   string
		method string
		header http.Header
	}{
		{name: "OPTIONS without CORS headers", method: http.MethodOptions},
		{name: "OPTIONS with Origin only", method: http.MethodOptions, header: http.Header{"Origin": {"https://evil.example"}}},
		{name: "OPTIONS with Access-Control-Request-Method only", method: http.MethodOptions, header: http.Header{"Access-Control-Request-Method": {"DELETE"}}},
		{name: "DELETE with preflight headers", method: http.MethodDelete, header: http.Header{"Origin": {"https://evil.example"}, "Access-Control-Request-Method": {"DELETE"}}},
		{name: "GET with preflight headers", method: http.MethodGet, header: http.Header{"Origin": {"https://evil.example"}, "Access-Control-Request-Method": {"DELETE"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mw := htNew(t, jwtguard.WithInsecurePreflightPassthrough())
			counter := &pfCounter{next: pfPurge}
			srv := httptest.NewServer(mw.Handler(counter))
			defer srv.Close()
			got := htDo(t, srv.Client(), tt.method, srv.URL+"/admin/purge", tt.header)
			htAssertResponse(t, got, http.StatusUnauthorized, htBare, htNoTokenBody)
			require.Zero(t, counter.calls.Load(), "calls of the protected handler")
		})
	}
}
