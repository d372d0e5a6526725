package redisstore_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jwtguard/jwtguard"
	"github.com/jwtguard/jwtguard/redisstore"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"
)

var testSecret = []byte("redisstore-test-secret-32-bytes!")

const testIssuer = "https://auth.test"

// newIssuer returns the issuer every instance shares (same key, same iss).
func newIssuer(t testing.TB) *jwtguard.Issuer {
	t.Helper()
	issuer, err := jwtguard.NewIssuer(jwtguard.IssuerConfig{
		Key:    jwtguard.Key{ID: "k1", Algorithm: "HS256", Key: testSecret},
		Issuer: testIssuer,
	})
	require.NoError(t, err)
	return issuer
}

// instance is one instance of a service: its own Redis client, store,
// sessions and HTTP server.
type instance struct {
	name     string
	store    *redisstore.Store
	sessions *jwtguard.Sessions
	srv      *httptest.Server
	client   *http.Client
	// verifyCommands counts the Redis commands made on behalf of the
	// requests to GET /me, which only verify a token: there must be none.
	verifyCommands *commandCounter
	// unavailable is the reason of the last request this instance answered
	// with 503, for the messages of failed assertions.
	unavailable atomic.Pointer[string]
}

// reason returns why the instance last answered 503, or "".
func (in *instance) reason() string {
	if p := in.unavailable.Load(); p != nil {
		return *p
	}
	return ""
}

// verifying marks the context of a request that only verifies a token.
type verifying struct{}

// commandCounter is a go-redis hook that counts the commands (pipelined
// ones included) whose context is marked verifying.
type commandCounter struct{ n atomic.Int64 }

func (c *commandCounter) DialHook(next redis.DialHook) redis.DialHook { return next }

func (c *commandCounter) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		if ctx.Value(verifying{}) != nil {
			c.n.Add(1)
		}
		return next(ctx, cmd)
	}
}

func (c *commandCounter) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		if ctx.Value(verifying{}) != nil {
			c.n.Add(int64(len(cmds)))
		}
		return next(ctx, cmds)
	}
}

// testLogin logs in any username with the password "pw", as the subject
// of that name.
func testLogin(_ context.Context, username, password string) (string, map[string]any, error) {
	if password != "pw" {
		return "", nil, jwtguard.ErrInvalidCredentials
	}
	return username, nil, nil
}

// newInstances starts n instances on the Redis of copts (each with a
// client of its own), sharing prefix.
func newInstances(t testing.TB, copts redis.Options, prefix string, n int, opts ...redisstore.Option) []*instance {
	t.Helper()
	return newInstancesOn(t, singleNode(copts), prefix, n, opts...)
}

// singleNode returns a dial function for newInstancesOn: a client of the
// Redis of copts each time.
func singleNode(copts redis.Options) func() redis.UniversalClient {
	if copts.PoolSize == 0 {
		copts.PoolSize = 100 // a connection per concurrent refresh, no pool wait
	}
	return func() redis.UniversalClient {
		o := copts
		return redis.NewClient(&o)
	}
}

// newInstancesOn starts n instances sharing prefix, each on a client of
// its own made by dial (a single node, Sentinel or Cluster client) and
// closed with t.
func newInstancesOn(t testing.TB, dial func() redis.UniversalClient, prefix string, n int, opts ...redisstore.Option) []*instance {
	t.Helper()
	return newInstancesWith(t, dial, prefix, n, fleet{issuer: newIssuer(t)}, opts...)
}

// fleet is what the instances of one service share besides Redis: the
// issuer (with its clock), and the options of their Sessions.
type fleet struct {
	issuer   *jwtguard.Issuer
	sessions []jwtguard.SessionsOption
}

// newInstancesWith is newInstancesOn with the issuer and Sessions options
// of f.
func newInstancesWith(t testing.TB, dial func() redis.UniversalClient, prefix string, n int, f fleet, opts ...redisstore.Option) []*instance {
	t.Helper()
	var out []*instance
	for i := range n {
		rc := dial()
		t.Cleanup(func() { _ = rc.Close() })
		counter := &commandCounter{}
		rc.AddHook(counter)
		store := newStore(t, rc, append([]redisstore.Option{redisstore.WithPrefix(prefix)}, opts...)...)
		in := &instance{name: string(rune('A' + i)), store: store, verifyCommands: counter}
		sessions, err := jwtguard.NewSessions(f.issuer, store, append(f.sessions,
			jwtguard.WithAccessOptions(jwtguard.WithFailureHook(func(_ *http.Request, err error) {
				if errors.Is(err, jwtguard.ErrUnavailable) {
					msg := err.Error()
					in.unavailable.Store(&msg)
				}
			})))...)
		require.NoError(t, err)
		mux := http.NewServeMux()
		mux.Handle("/auth/login", sessions.LoginHandler(testLogin))
		mux.Handle("/auth/refresh", sessions.RefreshHandler())
		mux.Handle("/auth/logout", sessions.LogoutHandler())
		mux.Handle("/auth/sessions", sessions.ListSessionsHandler())
		mux.Handle("/auth/sessions/{id}", sessions.EndSessionHandler())
		me := sessions.Middleware().Handler(http.HandlerFunc(
			func(w http.ResponseWriter, r *http.Request) {
				c, _ := jwtguard.FromContext(r.Context())
				_, _ = w.Write([]byte(c.Subject))
			}))
		mux.Handle("GET /me", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			me.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), verifying{}, true)))
		}))
		srv := httptest.NewServer(mux)
		t.Cleanup(srv.Close)
		client := srv.Client()
		client.Transport.(*http.Transport).MaxIdleConnsPerHost = 100
		// 200 concurrent refreshes under -race on a loaded machine (with
		// the other modules' tests running alongside) take seconds.
		client.Timeout = time.Minute
		in.sessions, in.srv, in.client = sessions, srv, client
		out = append(out, in)
	}
	return out
}

// me calls GET /me with the access token and returns the status.
func (in *instance) me(t testing.TB, access string) int {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, in.srv.URL+"/me", nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+access)
	resp, err := in.client.Do(req)
	require.NoError(t, err)
	_ = resp.Body.Close()
	return resp.StatusCode
}

// logout revokes the access token's jti and family.
func (in *instance) logout(t testing.TB, access string) int {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, in.srv.URL+"/auth/logout", nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+access)
	resp, err := in.client.Do(req)
	require.NoError(t, err)
	_ = resp.Body.Close()
	return resp.StatusCode
}

// tokens is the body of a successful refresh.
type tokens struct {
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token"`
}

// refresh posts the refresh token; it is safe to call from any goroutine
// (errors come back, no t.FailNow).
func (in *instance) refresh(refresh string) (int, tokens, error) {
	resp, err := in.client.Post(in.srv.URL+"/auth/refresh", "application/json",
		strings.NewReader(`{"refresh_token":"`+refresh+`"}`))
	if err != nil {
		return 0, tokens{}, err
	}
	defer resp.Body.Close()
	var tok tokens
	if resp.StatusCode == http.StatusOK {
		err = json.NewDecoder(resp.Body).Decode(&tok)
	}
	return resp.StatusCode, tok, err
}

// issue mints a pair of a new family.
func issue(t testing.TB, subject string) *jwtguard.TokenPair {
	t.Helper()
	pair, err := newIssuer(t).Issue(context.Background(), subject, nil)
	require.NoError(t, err)
	return pair
}

// waitStatus polls in until the access token gets want, and returns how
// long that took.
//
// When want is not 200, bound is how long the token may still pass after
// the call: a request sent later than that and answered 200 fails the test.
// That holds on a machine however loaded, since it compares the time a
// request was sent, not answered, with the time the change (a logout, Redis
// stopping) had surely happened: before waitStatus was called. How long the
// wanted status takes to come is only logged; a minute without it is taken
// for a hang.
func waitStatus(t testing.TB, in *instance, access string, want int, bound time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	for {
		sent := time.Now()
		got := in.me(t, access)
		if got == want {
			return time.Since(start)
		}
		if got == http.StatusOK && sent.Sub(start) > bound {
			t.Fatalf("instance %s: status 200 to a request sent %v after the change, past the %v bound (want %d)",
				in.name, sent.Sub(start), bound, want)
		}
		if time.Since(start) > hangGuard {
			t.Fatalf("instance %s: status %d, want %d, after %v", in.name, got, want, hangGuard)
		}
		time.Sleep(time.Millisecond)
	}
}

// login logs username in on in and returns the pair.
func (in *instance) login(t testing.TB, username string) tokens {
	t.Helper()
	resp, err := in.client.Post(in.srv.URL+"/auth/login", "application/json",
		strings.NewReader(`{"username":"`+username+`","password":"pw"}`))
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	var tok tokens
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&tok))
	return tok
}

// post posts to path on in with the access token and returns the status.
func (in *instance) post(t testing.TB, path, access string) int {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, in.srv.URL+path, nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+access)
	resp, err := in.client.Do(req)
	require.NoError(t, err)
	_ = resp.Body.Close()
	return resp.StatusCode
}

// hangGuard is how long a test waits for something that must happen before
// it takes it for a hang. It is no bound: tests that check one compare
// times they know to be early or late whatever the load (see waitStatus).
const hangGuard = time.Minute
