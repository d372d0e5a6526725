package main

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/jwtguard/jwtguard"
)

// The operations the clients mix, and whether each must succeed (valid) or
// be refused (invalid).
const (
	opMe         = "me (valid token)"
	opRefresh    = "refresh (valid)"
	opLogout     = "logout (valid)"
	opLogin      = "login (valid)"
	opTampered   = "me: tampered signature"
	opTamperedPL = "me: tampered payload"
	opExpired    = "me: expired token (re-signed)"
	opWrongType  = "me: refresh token as access token"
	opNone       = "me: alg none"
	opGarbage    = "me: garbage token"
	opReuse      = "refresh: rotated token reused"
	opAfterReuse = "me: access token of a family revoked by reuse"
	opLoggedOut  = "me: access token after logout"
	opRefreshAcc = "refresh: access token as refresh token"
)

// driver drives one server.
type driver struct {
	base   string
	secret []byte
	client *http.Client
	// reuseInterval is the server's reuse interval of refresh tokens: a
	// rotated token is replayed once it is over, when the replay is reuse.
	reuseInterval time.Duration

	mu      sync.Mutex
	users   []user
	resign  bool // re-signing a token with the secret keeps it valid
	resignd bool // resign was checked

	// opsPerClient, when positive, ends each client's loop after that many
	// operations drawn at random, even before the run's time is up: a
	// test's run then does the same work however loaded the machine.
	opsPerClient int
}

type user struct{ email, password string }

// session is one client's logged-in state.
type session struct {
	user            user
	access, refresh string
}

type tokenPair struct {
	Access    string `json:"access_token"`
	Refresh   string `json:"refresh_token"`
	TokenType string `json:"token_type"`
	ExpiresIn int64  `json:"expires_in"`
}

func newDriver(base, secret string) *driver {
	return &driver{
		base:   strings.TrimRight(base, "/"),
		secret: []byte(secret),
		client: &http.Client{
			Timeout:   10 * time.Second,
			Transport: &http.Transport{MaxIdleConnsPerHost: 64},
		},
		reuseInterval: jwtguard.DefaultReuseInterval,
	}
}

// setup registers one user per client.
func (d *driver) setup(ctx context.Context, clients int) error {
	suffix := time.Now().UnixNano()
	for i := 0; i < clients; i++ {
		u := user{fmt.Sprintf("load%d-%d@example.test", i, suffix), fmt.Sprintf("load-password-%d-long-enough", i)}
		status, body, err := d.post(ctx, "/api/v1/auth/register", "", map[string]string{"email": u.email, "password": u.password})
		if err != nil {
			return fmt.Errorf("register: %w", err)
		}
		if status != http.StatusCreated {
			return fmt.Errorf("register %s: status %d: %s", u.email, status, body)
		}
		d.users = append(d.users, u)
	}
	return nil
}

// result is one request's outcome.
type result struct {
	op      string
	valid   bool // the request must succeed
	status  int
	latency time.Duration
	err     error
	detail  string // the challenge's error_description of a refusal
}

func (r result) ok() bool {
	if r.err != nil {
		return false
	}
	if r.valid {
		return r.status >= 200 && r.status < 300
	}
	return r.status == http.StatusUnauthorized || r.status == http.StatusBadRequest
}

// drive runs clients until duration has passed and returns the report.
func (d *driver) drive(ctx context.Context, clients int, duration time.Duration, rss *rssSampler) *report {
	rep := &report{clients: clients, byOp: map[string]*opStats{}, rssBefore: -1, rssAfter: -1}
	results := make(chan []result, clients)
	start := time.Now()
	end := start.Add(duration)
	warm := start.Add(duration / 5)
	// Sample memory after a warm-up (allocator and caches settled) and at
	// the end; a run that ends before the warm-up (opsPerClient) has no
	// first sample.
	stop, sampled := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(sampled)
		select {
		case <-time.After(time.Until(warm)):
			rep.rssBefore = rss.read()
		case <-stop:
		}
	}()
	// The throughput is measured over the clients' main loops, not the
	// replays of rotated tokens that wait for the reuse interval after.
	var running sync.WaitGroup
	running.Add(clients)
	for i := 0; i < clients; i++ {
		go func(i int) {
			results <- d.client1(ctx, d.users[i], end, uint64(i), running.Done)
		}(i)
	}
	running.Wait()
	rep.elapsed = time.Since(start)
	close(stop)
	<-sampled
	rep.rssAfter = rss.read()
	for i := 0; i < clients; i++ {
		for _, r := range <-results {
			rep.add(r)
		}
	}
	return rep
}

// replay is a rotated refresh token to replay once the server's reuse
// interval after its use is over, and the access token its rotation got.
type replay struct {
	refresh, access string
	due             time.Time
}

// replayRotated replays p's refresh token, which must be refused as reuse,
// then checks that the family is revoked.
func (d *driver) replayRotated(ctx context.Context, p replay) []result {
	return []result{d.refreshOp(ctx, opReuse, false, p.refresh, nil), d.me(ctx, opAfterReuse, false, p.access)}
}

// client1 is one client's loop; it calls mainDone when the loop is over,
// before it replays the rotated tokens still waiting for their interval.
func (d *driver) client1(ctx context.Context, u user, end time.Time, seed uint64, mainDone func()) []result {
	rng := rand.New(rand.NewPCG(seed, 0x5eed))
	var out []result
	var pending []replay // in order of due
	s, r := d.login(ctx, u)
	out = append(out, r)
	// ops counts the operations drawn at random: replays and logins, whose
	// number depends on timing, do not count.
	for ops := 0; time.Now().Before(end) && ctx.Err() == nil && (d.opsPerClient <= 0 || ops < d.opsPerClient); {
		if len(pending) > 0 && !time.Now().Before(pending[0].due) {
			out = append(out, d.replayRotated(ctx, pending[0])...)
			pending = pending[1:]
			continue
		}
		if s == nil {
			s, r = d.login(ctx, u)
			out = append(out, r)
			if s == nil {
				time.Sleep(50 * time.Millisecond)
			}
			continue
		}
		ops++
		switch n := rng.IntN(100); {
		case n < 50:
			out = append(out, d.me(ctx, opMe, true, s.access))
		case n < 56:
			out = append(out, d.me(ctx, opTampered, false, tamperSignature(s.access)))
		case n < 60:
			out = append(out, d.me(ctx, opTamperedPL, false, tamperPayload(s.access)))
		case n < 64:
			out = append(out, d.me(ctx, opExpired, false, d.expired(ctx, s.access)))
		case n < 68:
			out = append(out, d.me(ctx, opWrongType, false, s.refresh))
		case n < 70:
			out = append(out, d.me(ctx, opNone, false, algNone(s.access)))
		case n < 72:
			out = append(out, d.me(ctx, opGarbage, false, "garbage.token.value"))
		case n < 74:
			out = append(out, d.refreshOp(ctx, opRefreshAcc, false, s.access, nil))
		case n < 88:
			out = append(out, d.refreshOp(ctx, opRefresh, true, s.refresh, s))
		case n < 92:
			// Refresh, leave the session, and replay the rotated token
			// once the reuse interval is over (a replay within it would
			// get a new pair, as a second tab does): theft detected, the
			// family is revoked, even the new access token stops working.
			old := s.refresh
			r := d.refreshOp(ctx, opRefresh, true, old, s)
			out = append(out, r)
			if r.ok() {
				pending = append(pending, replay{refresh: old, access: s.access, due: time.Now().Add(d.reuseInterval)})
				s = nil
			}
		default:
			status, _, lat, err := d.timedPost(ctx, "/api/v1/auth/logout", s.access, map[string]string{"refresh_token": s.refresh})
			r := result{op: opLogout, valid: true, status: status, latency: lat, err: err}
			if status != http.StatusNoContent && err == nil {
				r.err = fmt.Errorf("status %d, want 204", status)
			}
			out = append(out, r)
			if r.ok() {
				out = append(out, d.me(ctx, opLoggedOut, false, s.access))
				s = nil
			}
		}
	}
	mainDone()
	for _, p := range pending {
		t := time.NewTimer(time.Until(p.due))
		select {
		case <-ctx.Done():
			t.Stop()
			return out
		case <-t.C:
		}
		out = append(out, d.replayRotated(ctx, p)...)
	}
	return out
}

func (d *driver) login(ctx context.Context, u user) (*session, result) {
	status, body, lat, err := d.timedPost(ctx, "/api/v1/auth/login", "", map[string]string{"username": u.email, "password": u.password})
	r := result{op: opLogin, valid: true, status: status, latency: lat, err: err}
	if err != nil || status != http.StatusOK {
		if err == nil {
			r.err = fmt.Errorf("status %d: %.200s", status, body)
		}
		return nil, r
	}
	var p tokenPair
	if err := json.Unmarshal(body, &p); err != nil || p.Access == "" || p.Refresh == "" || !strings.EqualFold(p.TokenType, "bearer") {
		r.err = fmt.Errorf("login answer %.200s: %v", body, err)
		return nil, r
	}
	return &session{user: u, access: p.Access, refresh: p.Refresh}, r
}

func (d *driver) me(ctx context.Context, op string, valid bool, token string) result {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, d.base+"/api/v1/auth/me", nil)
	if err != nil {
		return result{op: op, valid: valid, err: err}
	}
	req.Header.Set("Authorization", "Bearer "+token)
	start := time.Now()
	resp, err := d.client.Do(req)
	lat := time.Since(start)
	if err != nil {
		return result{op: op, valid: valid, err: err, latency: lat}
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return result{op: op, valid: valid, status: resp.StatusCode, latency: lat, detail: description(resp.Header.Get("WWW-Authenticate"))}
}

// refreshOp refreshes with token; when s is not nil and it succeeds, s gets
// the new pair.
func (d *driver) refreshOp(ctx context.Context, op string, valid bool, token string, s *session) result {
	status, body, lat, err := d.timedPost(ctx, "/api/v1/auth/refresh", "", map[string]string{"refresh_token": token})
	r := result{op: op, valid: valid, status: status, latency: lat, err: err}
	if valid && err == nil && status == http.StatusOK {
		var p tokenPair
		if err := json.Unmarshal(body, &p); err != nil || p.Access == "" || p.Refresh == "" {
			r.err = fmt.Errorf("refresh answer %.200s: %v", body, err)
		} else if s != nil {
			s.access, s.refresh = p.Access, p.Refresh
		}
	}
	if !valid && err == nil && status == http.StatusOK {
		r.detail = "accepted"
	}
	return r
}

// expired returns token with its exp (and iat, nbf) moved an hour into the
// past, re-signed with the server's secret. The first time, it checks that
// re-signing the token unchanged keeps it valid (the server signs with the
// secret as an HS256 key); when it does not, the expired token is still
// sent, and only its refusal is checked.
func (d *driver) expired(ctx context.Context, token string) string {
	d.mu.Lock()
	checked := d.resignd
	d.mu.Unlock()
	if !checked {
		same, err := resign(token, d.secret, nil)
		ok := err == nil && d.me(ctx, "", true, same).status == http.StatusOK
		d.mu.Lock()
		d.resign, d.resignd = ok, true
		d.mu.Unlock()
	}
	past := time.Now().Add(-time.Hour).Unix()
	t, err := resign(token, d.secret, func(claims map[string]any) {
		claims["exp"] = past
		for _, k := range []string{"iat", "nbf"} {
			if _, ok := claims[k]; ok {
				claims[k] = past - 1800
			}
		}
	})
	if err != nil {
		return tamperPayload(token)
	}
	return t
}

// resign decodes token's payload, edits it, and signs it again with
// HS256 under its own header.
func resign(token string, key []byte, edit func(map[string]any)) (string, error) {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return "", errors.New("not a compact JWS")
	}
	enc := base64.RawURLEncoding
	payload, err := enc.DecodeString(parts[1])
	if err != nil {
		return "", err
	}
	if edit != nil {
		var claims map[string]any
		dec := json.NewDecoder(bytes.NewReader(payload))
		dec.UseNumber()
		if err := dec.Decode(&claims); err != nil {
			return "", err
		}
		edit(claims)
		if payload, err = json.Marshal(claims); err != nil {
			return "", err
		}
	}
	input := parts[0] + "." + enc.EncodeToString(payload)
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(input))
	return input + "." + enc.EncodeToString(mac.Sum(nil)), nil
}

// tamperSignature changes the first character of the signature.
func tamperSignature(token string) string {
	i := strings.LastIndexByte(token, '.') + 1
	if i <= 0 || i >= len(token) {
		return token + "x"
	}
	c := byte('A')
	if token[i] == 'A' {
		c = 'B'
	}
	return token[:i] + string(c) + token[i+1:]
}

// tamperPayload changes the first character of the payload.
func tamperPayload(token string) string {
	i := strings.IndexByte(token, '.') + 1
	if i <= 0 || i >= len(token) {
		return token + "x"
	}
	c := byte('e')
	if token[i] == 'e' {
		c = 'f'
	}
	return token[:i] + string(c) + token[i+1:]
}

// algNone replaces the header with {"alg":"none"} and drops the signature.
func algNone(token string) string {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return token
	}
	return base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none","typ":"JWT"}`)) + "." + parts[1] + "."
}

// description returns the error_description of a challenge.
func description(challenge string) string {
	_, rest, ok := strings.Cut(challenge, `error_description="`)
	if !ok {
		return ""
	}
	desc, _, _ := strings.Cut(rest, `"`)
	return desc
}

func (d *driver) post(ctx context.Context, path, bearer string, body any) (int, []byte, error) {
	status, b, _, err := d.timedPost(ctx, path, bearer, body)
	return status, b, err
}

func (d *driver) timedPost(ctx context.Context, path, bearer string, body any) (int, []byte, time.Duration, error) {
	b, err := json.Marshal(body)
	if err != nil {
		return 0, nil, 0, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, d.base+path, bytes.NewReader(b))
	if err != nil {
		return 0, nil, 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	start := time.Now()
	resp, err := d.client.Do(req)
	lat := time.Since(start)
	if err != nil {
		return 0, nil, lat, err
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return resp.StatusCode, out, lat, err
}

// report sums the results.
type report struct {
	clients             int
	elapsed             time.Duration
	byOp                map[string]*opStats
	latencies           []time.Duration
	validFailed         int
	invalidAccepted     int
	invalidOddStatus    int
	rssBefore, rssAfter int64
	firstErrors         []string
}

type opStats struct {
	n, bad  int
	valid   bool
	details map[string]int
}

func (rep *report) add(r result) {
	st := rep.byOp[r.op]
	if st == nil {
		st = &opStats{valid: r.valid, details: map[string]int{}}
		rep.byOp[r.op] = st
	}
	st.n++
	rep.latencies = append(rep.latencies, r.latency)
	key := fmt.Sprint(r.status)
	if r.detail != "" {
		key += " " + r.detail
	}
	if r.err != nil {
		key = "error"
	}
	st.details[key]++
	if r.ok() {
		return
	}
	st.bad++
	switch {
	case r.valid:
		rep.validFailed++
	case r.err == nil && r.status >= 200 && r.status < 300:
		rep.invalidAccepted++
	default:
		rep.invalidOddStatus++
	}
	if len(rep.firstErrors) < 10 {
		rep.firstErrors = append(rep.firstErrors, fmt.Sprintf("%s: status %d err %v %s", r.op, r.status, r.err, r.detail))
	}
}

func (rep *report) percentile(p float64) time.Duration {
	if len(rep.latencies) == 0 {
		return 0
	}
	sort.Slice(rep.latencies, func(i, j int) bool { return rep.latencies[i] < rep.latencies[j] })
	return rep.latencies[int(p*float64(len(rep.latencies)-1))]
}

func (rep *report) print(w io.Writer) {
	total := len(rep.latencies)
	fmt.Fprintf(w, "loadtest: %d clients, %v, %d requests, %.0f req/s, p50 %v, p99 %v\n",
		rep.clients, rep.elapsed.Round(time.Millisecond), total, float64(total)/rep.elapsed.Seconds(),
		rep.percentile(0.50).Round(time.Microsecond), rep.percentile(0.99).Round(time.Microsecond))
	ops := make([]string, 0, len(rep.byOp))
	for op := range rep.byOp {
		ops = append(ops, op)
	}
	slices.Sort(ops)
	for _, op := range ops {
		st := rep.byOp[op]
		kind := "invalid"
		if st.valid {
			kind = "valid"
		}
		var ds []string
		for k, n := range st.details {
			ds = append(ds, fmt.Sprintf("%s ×%d", k, n))
		}
		slices.Sort(ds)
		fmt.Fprintf(w, "  %-48s %-7s n=%-6d wrong=%-4d %s\n", op, kind, st.n, st.bad, strings.Join(ds, ", "))
	}
	fmt.Fprintf(w, "  valid requests failed: %d; invalid requests accepted: %d; invalid requests with another status than 400/401: %d\n",
		rep.validFailed, rep.invalidAccepted, rep.invalidOddStatus)
	if rep.rssBefore > 0 && rep.rssAfter > 0 {
		fmt.Fprintf(w, "  server RSS after warm-up %.1f MiB, at the end %.1f MiB (%+.1f MiB)\n",
			mib(rep.rssBefore), mib(rep.rssAfter), mib(rep.rssAfter-rep.rssBefore))
	} else {
		fmt.Fprintln(w, "  server RSS not measured")
	}
	for _, e := range rep.firstErrors {
		fmt.Fprintln(w, "  wrong:", e)
	}
}

func mib(b int64) float64 { return float64(b) / (1 << 20) }

// verdict fails the run for a valid request that failed, an invalid one
// that was accepted or answered with another status than 400 or 401 (a 5xx
// for bad input), too much memory growth, or too few requests to mean
// anything.
func (rep *report) verdict(maxGrowth int64) error {
	var errs []error
	if rep.validFailed > 0 {
		errs = append(errs, fmt.Errorf("%d valid requests failed", rep.validFailed))
	}
	if rep.invalidAccepted > 0 {
		errs = append(errs, fmt.Errorf("%d invalid requests were accepted", rep.invalidAccepted))
	}
	if rep.invalidOddStatus > 0 {
		errs = append(errs, fmt.Errorf("%d invalid requests got another status than 400 or 401", rep.invalidOddStatus))
	}
	if rep.rssBefore > 0 && rep.rssAfter-rep.rssBefore > maxGrowth {
		errs = append(errs, fmt.Errorf("server RSS grew by %.1f MiB, more than %.1f MiB", mib(rep.rssAfter-rep.rssBefore), mib(maxGrowth)))
	}
	if len(rep.latencies) < 100 {
		errs = append(errs, fmt.Errorf("only %d requests", len(rep.latencies)))
	}
	return errors.Join(errs...)
}
