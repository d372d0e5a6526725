package grpcguard_test

import (
	"context"
	"testing"

	"github.com/jwtguard/jwtguard"
	"github.com/jwtguard/jwtguard/grpcguard"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/types/known/emptypb"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

// BenchmarkUnary times one unary RPC over a loopback connection, without
// the guard, with it, and with it and the verified-token cache. The
// difference is the guard's cost per call (an HS256 verification, the
// metadata read, the request the hooks would see). Besides wall time it
// reports cpu-ns/op, the CPU time of client and server together, which a
// machine shared with other work disturbs far less.
func BenchmarkUnary(b *testing.B) {
	token := issue(b, newIssuer(b), "alice", nil).AccessToken
	cases := []struct {
		name  string
		guard func() *grpcguard.Guard
	}{
		{"guard=none", func() *grpcguard.Guard { return nil }},
		{"guard=on", func() *grpcguard.Guard { return mustGuard(b, newMiddleware(b)) }},
		{"guard=cache", func() *grpcguard.Guard { return mustGuard(b, newMiddleware(b, jwtguard.WithCache(64))) }},
	}
	for _, bc := range cases {
		b.Run(bc.name, func(b *testing.B) {
			s := startGuarded(b, bc.guard())
			ctx := metadata.AppendToOutgoingContext(context.Background(), "authorization", "Bearer "+token)
			in, out := new(emptypb.Empty), new(wrapperspb.StringValue)
			b.ReportAllocs()
			cpu0, ok := cpuTime()
			for b.Loop() {
				if err := s.conn.Invoke(ctx, whoami, in, out); err != nil {
					b.Fatal(err)
				}
			}
			if cpu1, _ := cpuTime(); ok {
				b.ReportMetric(float64(cpu1-cpu0)/float64(b.N), "cpu-ns/op")
			}
		})
	}
}

func mustGuard(b *testing.B, mw *jwtguard.Middleware) *grpcguard.Guard {
	g, err := grpcguard.New(mw)
	require.NoError(b, err)
	return g
}

// BenchmarkInterceptor times the unary interceptor alone, called directly
// with the metadata a gRPC client sends, so that the guard's cost is
// measured without the noise of the network and the scheduler.
func BenchmarkInterceptor(b *testing.B) {
	token := issue(b, newIssuer(b), "alice", nil).AccessToken
	ctx := incoming("authorization", "Bearer "+token, ":authority", "127.0.0.1:50051",
		"content-type", "application/grpc", "user-agent", "grpc-go/1.84.0", "te", "trailers")
	info := infoFor(whoami)
	handler := func(context.Context, any) (any, error) { return nil, nil }
	for _, bc := range []struct {
		name string
		mw   *jwtguard.Middleware
	}{
		{"cache=off", newMiddleware(b)},
		{"cache=on", newMiddleware(b, jwtguard.WithCache(64))},
	} {
		b.Run(bc.name, func(b *testing.B) {
			intercept := mustGuard(b, bc.mw).UnaryServerInterceptor()
			b.ReportAllocs()
			for b.Loop() {
				if _, err := intercept(ctx, nil, info, handler); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
