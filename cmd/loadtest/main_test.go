package main

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jwtguard/jwtguard"
)

// fakeReuseInterval is the fake API's reuse interval, short so that the
// driver's replays of rotated tokens fall within a short run.
const fakeReuseInterval = 100 * time.Millisecond

// fakeAPI serves the example's API with jwtguard's Sessions, so the driver
// is tested without building the example.
func fakeAPI(t *testing.T) *httptest.Server {
	t.Helper()
	iss, err := jwtguard.NewIssuer(jwtguard.IssuerConfig{
		Key:    jwtguard.Key{Algorithm: "HS256", Key: []byte(secret)},
		Issuer: "loadtest", Audience: []string{"loadtest"},
	})
	if err != nil {
		t.Fatal(err)
	}
	store, err := jwtguard.NewMemoryStore()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = store.Close() })
	s, err := jwtguard.NewSessions(iss, store, jwtguard.WithReuseInterval(fakeReuseInterval))
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	users := map[string]string{}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /api/v1/auth/register", func(w http.ResponseWriter, r *http.Request) {
		var u struct{ Email, Password string }
		if json.NewDecoder(r.Body).Decode(&u) != nil || u.Email == "" {
			http.Error(w, "bad", http.StatusBadRequest)
			return
		}
		mu.Lock()
		users[u.Email] = u.Password
		mu.Unlock()
		w.WriteHeader(http.StatusCreated)
	})
	mux.Handle("POST /api/v1/auth/login", s.LoginHandler(func(_ context.Context, username, password string) (string, map[string]any, error) {
		mu.Lock()
		defer mu.Unlock()
		if p, ok := users[username]; !ok || p != password {
			return "", nil, jwtguard.ErrInvalidCredentials
		}
		return username, nil, nil
	}))
	mux.Handle("POST /api/v1/auth/refresh", s.RefreshHandler())
	mux.Handle("POST /api/v1/auth/logout", s.LogoutHandler())
	mux.Handle("GET /api/v1/auth/me", s.Middleware().Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, _ := jwtguard.FromContext(r.Context())
		_ = json.NewEncoder(w).Encode(map[string]string{"sub": c.Subject})
	})))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

func TestDriverAgainstFakeAPI(t *testing.T) {
	srv := fakeAPI(t)
	d := newDriver(srv.URL, secret)
	d.reuseInterval = fakeReuseInterval
	ctx := context.Background()
	if err := d.setup(ctx, 3); err != nil {
		t.Fatal(err)
	}
	// A fixed number of operations (the clients' random choices are
	// seeded), not a duration: on a loaded machine a short run could miss
	// the rarer operations or make fewer than the 100 requests the verdict
	// asks for. The minute is a guard against a hang.
	d.opsPerClient = 300
	rep := d.drive(ctx, 3, time.Minute, &rssSampler{})
	var b strings.Builder
	rep.print(&b)
	t.Log(b.String())
	if err := rep.verdict(0); err != nil {
		t.Fatal(err)
	}
	if !d.resign {
		t.Error("re-signing with the secret should keep tokens valid")
	}
	for _, op := range []string{opMe, opRefresh, opLogout, opExpired, opReuse, opAfterReuse, opLoggedOut} {
		if rep.byOp[op] == nil {
			t.Errorf("no %q request in the run", op)
		}
	}
	if n := rep.byOp[opExpired].details["401 token expired"]; n == 0 {
		t.Errorf("expired tokens were not refused as expired: %v", rep.byOp[opExpired].details)
	}
}

// TestVerdictCatchesAcceptedInvalid: the report fails a run in which an
// invalid token was accepted or a valid request failed.
func TestVerdictCatchesAcceptedInvalid(t *testing.T) {
	for _, r := range []result{
		{op: opTampered, status: 200},
		{op: opMe, valid: true, status: 401},
		{op: opMe, valid: true, err: errors.New("reset")},
		{op: opTampered, status: 500},
	} {
		rep := &report{byOp: map[string]*opStats{}}
		for i := 0; i < 200; i++ {
			rep.add(result{op: opMe, valid: true, status: 200})
		}
		rep.add(r)
		if rep.verdict(1<<30) == nil {
			t.Errorf("%+v passed the verdict", r)
		}
	}
}

func TestRSSSampler(t *testing.T) {
	if rss := (&rssSampler{pid: os.Getpid()}).read(); rss <= 0 {
		t.Skipf("no /proc here: %d", rss)
	}
	if rss := (&rssSampler{}).read(); rss != -1 {
		t.Errorf("pid 0 read %d, want -1", rss)
	}
}
