package redisstore_test

import (
	"context"
	"errors"
	"strconv"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/jwtguard/jwtguard"
	"github.com/jwtguard/jwtguard/redisstore"
)

// BenchmarkRevokeAll measures what checking the subject's revocation
// ("sign out everywhere") adds to a verified request: an HS256 access
// token as the issuer mints it (jti, fid, sub, iat) through the whole
// middleware into a handler, on the Redis store with its mirror warm (1000
// revoked tokens, 1000 revoked subjects, and the token's own subject
// revoked before the token was issued, so that its lookup finds an entry
// and compares it). subjects=on is the store as it is; subjects=off is the
// same store with its IsSubjectRevoked answering false at once: the
// request as it was before subjects were checked. Compare with benchstat
// -col /subjects.
func BenchmarkRevokeAll(b *testing.B) {
	needRedis(b)
	issuer := newIssuer(b)
	pair, err := issuer.Issue(context.Background(), "user-1234567890", nil)
	if err != nil {
		b.Fatal(err)
	}
	// A long staleness bound, as in BenchmarkHS256: the path measured is
	// the same for any bound.
	rs := newStore(b, newClient(b), redisstore.WithPrefix(testPrefix()), redisstore.WithStalenessBound(time.Minute))
	ctx := context.Background()
	now := time.Now()
	for i := range 1000 {
		id := strconv.Itoa(i)
		if err := rs.Revoke(ctx, testIssuer, "other-"+id, now.Add(time.Hour)); err != nil {
			b.Fatal(err)
		}
		if err := rs.RevokeSubject(ctx, testIssuer, "other-user-"+id, now, now.Add(time.Hour)); err != nil {
			b.Fatal(err)
		}
	}
	if err := rs.RevokeSubject(ctx, testIssuer, "user-1234567890", now.Add(-time.Hour), now.Add(time.Hour)); err != nil {
		b.Fatal(err)
	}
	for _, st := range []struct {
		name  string
		store jwtguard.Store
	}{{"off", noSubjects{rs}}, {"on", rs}} {
		mw, err := jwtguard.New(jwtguard.WithKeys(jwtguard.Key{ID: "k1", Algorithm: "HS256", Key: testSecret}),
			jwtguard.WithIssuer(testIssuer), jwtguard.WithStore(st.store))
		if err != nil {
			b.Fatal(err)
		}
		benchVerifiedRequests(b, "subjects="+st.name, mw, pair.AccessToken)
	}
}

// follower is an instance that enforces revocations made elsewhere: its
// middleware, and the Redis commands made by its verifications.
type follower struct {
	mw       *jwtguard.Middleware
	commands *commandCounter
}

// enforce revokes a new subject on a, and appends, for each of others, the
// time from the call to RevokeSubject until the middleware refuses a token
// of that subject issued before. It counts the verifications it made.
func enforce(b *testing.B, issuer *jwtguard.Issuer, a *redisstore.Store, others []follower, i int,
	delays []time.Duration, verifications *int) []time.Duration {
	ctx := context.WithValue(context.Background(), verifying{}, true)
	sub := "prop-" + strconv.Itoa(i) + "-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	pair, err := issuer.Issue(ctx, sub, nil)
	if err != nil {
		b.Fatal(err)
	}
	start := time.Now()
	// Every token of sub issued before the next second is revoked.
	if err := a.RevokeSubject(ctx, testIssuer, sub, start.Add(time.Second), start.Add(time.Minute)); err != nil {
		b.Fatal(err)
	}
	seen := make([]bool, len(others))
	for left := len(others); left > 0; {
		for j, o := range others {
			if seen[j] {
				continue
			}
			_, err := o.mw.Verify(ctx, pair.AccessToken)
			*verifications++
			switch {
			case errors.Is(err, jwtguard.ErrRevoked):
				seen[j] = true
				delays = append(delays, time.Since(start))
				left--
			case err != nil:
				b.Fatalf("verify: %v", err)
			}
		}
		if time.Since(start) > 5*time.Second {
			b.Fatalf("revocation %d not enforced after 5s", i)
		}
		time.Sleep(20 * time.Microsecond)
	}
	return delays
}

// noSubjects is a store whose subjects are never revoked: the request
// path without the subject's check.
type noSubjects struct{ *redisstore.Store }

func (noSubjects) IsSubjectRevoked(context.Context, string, string, time.Time) (bool, error) {
	return false, nil
}

// BenchmarkRevokeAllPropagation measures how long a revocation of every
// token of a subject ("sign out everywhere"), made on one instance, takes
// to be enforced by two others: from the call to RevokeSubject on A until
// verifying a token of that subject with B's and C's middleware (their own
// Redis clients and stores, on one Redis) is refused. It reports the
// median and 99th percentile of those delays, and the Redis commands made
// by the verifications per verification (cmds/verify: there must be none;
// the mirror answers). Its ns/op is one revocation and its enforcement on
// both.
func BenchmarkRevokeAllPropagation(b *testing.B) {
	needRedis(b)
	prefix := testPrefix()
	issuer := newIssuer(b)
	a := newStore(b, newClient(b), redisstore.WithPrefix(prefix))
	var others []follower
	for range 2 {
		c := redis.NewClient(&redis.Options{Addr: redisAddr})
		b.Cleanup(func() { _ = c.Close() })
		counter := &commandCounter{}
		c.AddHook(counter)
		mw, err := jwtguard.New(jwtguard.WithKeys(jwtguard.Key{ID: "k1", Algorithm: "HS256", Key: testSecret}),
			jwtguard.WithIssuer(testIssuer), jwtguard.WithStore(newStore(b, c, redisstore.WithPrefix(prefix))))
		if err != nil {
			b.Fatal(err)
		}
		others = append(others, follower{mw, counter})
	}
	var delays []time.Duration
	verifications := 0
	i := 0
	for b.Loop() {
		delays = enforce(b, issuer, a, others, i, delays, &verifications)
		i++
	}
	p50, p99 := percentiles(delays)
	b.ReportMetric(float64(p50.Microseconds()), "p50-µs")
	b.ReportMetric(float64(p99.Microseconds()), "p99-µs")
	var cmds int64
	for _, o := range others {
		cmds += o.commands.n.Load()
	}
	b.ReportMetric(float64(cmds)/float64(verifications), "cmds/verify")
}
