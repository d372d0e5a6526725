package redisstore_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/jwtguard/jwtguard"
	"github.com/jwtguard/jwtguard/redisstore"
)

// BenchmarkHS256 serves a valid HS256 access token (with jti and fid, as
// the issuer mints them) through the whole middleware into a handler that
// reads the claims, with no store, the in-memory store and the Redis store
// with its mirror warm (1000 other revocations in it). The Redis store
// must make no round trip here. Compare with benchstat -col /store.
func BenchmarkHS256(b *testing.B) {
	needRedis(b)
	pair := issue(b, "user-1234567890")
	memory, err := jwtguard.NewMemoryStore()
	if err != nil {
		b.Fatal(err)
	}
	defer memory.Close()
	// A long staleness bound: on a saturated machine (tight loops on every
	// P, other processes on the cores) the goroutine that follows Redis
	// can wait seconds for a CPU, and the mirror then goes stale honestly
	// (503). The request path measured here is the same for any bound.
	rs := newStore(b, newClient(b), redisstore.WithPrefix(testPrefix()), redisstore.WithStalenessBound(time.Minute))
	ctx := context.Background()
	for i := range 1000 {
		if err := rs.Revoke(ctx, testIssuer, "other-"+string(rune(0x4e00+i)), time.Now().Add(time.Hour)); err != nil {
			b.Fatal(err)
		}
	}
	stores := []struct {
		name  string
		store jwtguard.Store
	}{{"none", nil}, {"memory", memory}, {"redis", rs}}
	for _, st := range stores {
		opts := []jwtguard.Option{
			jwtguard.WithKeys(jwtguard.Key{ID: "k1", Algorithm: "HS256", Key: testSecret}),
			jwtguard.WithIssuer(testIssuer),
		}
		if st.store != nil {
			opts = append(opts, jwtguard.WithStore(st.store))
		} else {
			// The baseline: no revocation at all, said explicitly.
			opts = append(opts, jwtguard.WithInsecureNoRevocationCheck())
		}
		mw, err := jwtguard.New(opts...)
		if err != nil {
			b.Fatal(err)
		}
		benchVerifiedRequests(b, "store="+st.name, mw, pair.AccessToken)
	}
}

// BenchmarkPropagation measures how long a revocation made on one instance
// takes to be seen by two others (from the call to Revoke until IsRevoked
// answers true there), and reports the median and 99th percentile of those
// delays. Its ns/op is one revocation (a round trip) and its propagation
// to both.
func BenchmarkPropagation(b *testing.B) {
	c := newClient(b)
	prefix := testPrefix()
	a := newStore(b, c, redisstore.WithPrefix(prefix))
	others := []*redisstore.Store{
		newStore(b, newClient(b), redisstore.WithPrefix(prefix)),
		newStore(b, newClient(b), redisstore.WithPrefix(prefix)),
	}
	var delays []time.Duration
	i := 0
	for b.Loop() {
		delays = propagate(b, a, others, i, delays)
		i++
	}
	p50, p99 := percentiles(delays)
	b.ReportMetric(float64(p50.Microseconds()), "p50-µs")
	b.ReportMetric(float64(p99.Microseconds()), "p99-µs")
}

// discardWriter is a ResponseWriter that only remembers the status.
type discardWriter struct {
	h    http.Header
	code int
}

func (w *discardWriter) Header() http.Header         { return w.h }
func (w *discardWriter) Write(p []byte) (int, error) { return len(p), nil }
func (w *discardWriter) WriteHeader(code int)        { w.code = code }

// benchVerifiedRequests runs the sub-benchmarks name/mode=serial and
// name/mode=parallel: requests with access verified by mw, answered by a
// handler that checks the claims' subject.
func benchVerifiedRequests(b *testing.B, name string, mw *jwtguard.Middleware, access string) {
	h := mw.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, ok := jwtguard.FromContext(r.Context())
		if !ok || c.Subject != "user-1234567890" {
			w.WriteHeader(http.StatusTeapot)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	req := httptest.NewRequest(http.MethodGet, "/", nil)
	req.Header.Set("Authorization", "Bearer "+access)
	b.Run(name+"/mode=serial", func(b *testing.B) {
		w := &discardWriter{h: http.Header{}}
		b.ReportAllocs()
		for b.Loop() {
			w.code = 0
			h.ServeHTTP(w, req)
			if w.code != http.StatusNoContent {
				b.Fatalf("status %d", w.code)
			}
		}
	})
	b.Run(name+"/mode=parallel", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			w := &discardWriter{h: http.Header{}}
			for pb.Next() {
				w.code = 0
				h.ServeHTTP(w, req)
				if w.code != http.StatusNoContent {
					b.Errorf("status %d", w.code)
					return
				}
			}
		})
	})
}
