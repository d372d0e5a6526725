package grpcguard_test

import (
	"context"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/jwtguard/jwtguard"
	"github.com/jwtguard/jwtguard/grpcguard"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/types/known/emptypb"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

// The test service, registered by hand with a grpc.ServiceDesc (no code
// generation): unary methods take an Empty and answer a StringValue naming
// the caller ("anonymous" without claims); Watch streams three such
// answers, read from the stream's context.
const (
	service = "test.v1.Echo"
	whoami  = "/" + service + "/Whoami"
	public  = "/" + service + "/Public"
	maybe   = "/" + service + "/Maybe"
	write   = "/" + service + "/Write"
	admin   = "/" + service + "/Admin"
	watch   = "/" + service + "/Watch"
)

// Test identities and keys.
const (
	testIssuer   = "https://auth.test"
	testAudience = "echo.test"
)

var (
	secret      = []byte("grpcguard-test-secret-32-bytes!!")
	otherSecret = []byte("another-secret-32-bytes-long!!!!")
)

// caller names the caller of the handler's context.
func caller(ctx context.Context) string {
	claims, ok := jwtguard.FromContext(ctx)
	if !ok {
		return "anonymous"
	}
	return claims.Subject
}

func unary(name string) grpc.MethodDesc {
	return grpc.MethodDesc{
		MethodName: name,
		Handler: func(srv any, ctx context.Context, dec func(any) error, ic grpc.UnaryServerInterceptor) (any, error) {
			in := new(emptypb.Empty)
			if err := dec(in); err != nil {
				return nil, err
			}
			h := func(ctx context.Context, _ any) (any, error) { return wrapperspb.String(caller(ctx)), nil }
			if ic == nil {
				return h(ctx, in)
			}
			return ic(ctx, in, &grpc.UnaryServerInfo{Server: srv, FullMethod: "/" + service + "/" + name}, h)
		},
	}
}

var echoDesc = grpc.ServiceDesc{
	ServiceName: service,
	HandlerType: (*any)(nil),
	Methods:     []grpc.MethodDesc{unary("Whoami"), unary("Public"), unary("Maybe"), unary("Write"), unary("Admin")},
	Streams: []grpc.StreamDesc{{
		StreamName:    "Watch",
		ServerStreams: true,
		Handler: func(_ any, stream grpc.ServerStream) error {
			if err := stream.RecvMsg(new(emptypb.Empty)); err != nil {
				return err
			}
			for range 3 {
				if err := stream.SendMsg(wrapperspb.String(caller(stream.Context()))); err != nil {
					return err
				}
			}
			return nil
		},
	}},
}

// server is a real gRPC server on a loopback port, guarded, with a client
// connection to it. Every error the guard returns is seen by an outer
// interceptor, as a user's logging interceptor would, and kept in errs.
type server struct {
	conn *grpc.ClientConn
	mu   sync.Mutex
	errs []error
}

// lastErr returns the error the guard returned last, as the interceptors
// chained before it see it.
func (s *server) lastErr() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.errs) == 0 {
		return nil
	}
	return s.errs[len(s.errs)-1]
}

func (s *server) record(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.errs = append(s.errs, err)
}

func startServer(t testing.TB, mw *jwtguard.Middleware, opts ...grpcguard.Option) *server {
	t.Helper()
	guard, err := grpcguard.New(mw, opts...)
	require.NoError(t, err)
	return startGuarded(t, guard)
}

// startGuarded serves the test service and the standard health service
// behind guard (or unguarded when guard is nil).
func startGuarded(t testing.TB, guard *grpcguard.Guard) *server {
	t.Helper()
	s := &server{}
	var opts []grpc.ServerOption
	if guard != nil {
		opts = append(opts,
			grpc.ChainUnaryInterceptor(
				func(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
					resp, err := h(ctx, req)
					s.record(err)
					return resp, err
				},
				guard.UnaryServerInterceptor()),
			grpc.ChainStreamInterceptor(
				func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, h grpc.StreamHandler) error {
					err := h(srv, ss)
					s.record(err)
					return err
				},
				guard.StreamServerInterceptor()),
		)
	}
	srv := grpc.NewServer(opts...)
	srv.RegisterService(&echoDesc, struct{}{})
	healthpb.RegisterHealthServer(srv, health.NewServer())
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	served := make(chan error, 1)
	go func() { served <- srv.Serve(lis) }()
	conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	require.NoError(t, err)
	s.conn = conn
	t.Cleanup(func() {
		conn.Close()
		srv.Stop()
		require.NoError(t, <-served)
	})
	return s
}

// call invokes a unary method with the given metadata (key, value pairs)
// and returns the caller the handler saw.
func (s *server) call(t testing.TB, method string, md ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if len(md) > 0 {
		ctx = metadata.AppendToOutgoingContext(ctx, md...)
	}
	out := new(wrapperspb.StringValue)
	err := s.conn.Invoke(ctx, method, new(emptypb.Empty), out)
	return out.GetValue(), err
}

// newMiddleware returns a Middleware for the tokens of newIssuer and
// sign. Without a store of opts it accepts the Issuer's tokens without a
// revocation check, saying so.
func newMiddleware(t testing.TB, opts ...jwtguard.Option) *jwtguard.Middleware {
	t.Helper()
	mw, err := jwtguard.New(append([]jwtguard.Option{
		jwtguard.WithKey("HS256", secret),
		jwtguard.WithIssuer(testIssuer),
		jwtguard.WithAudience(testAudience),
		jwtguard.WithInsecureNoRevocationCheck(),
	}, opts...)...)
	require.NoError(t, err)
	return mw
}

func newIssuer(t testing.TB) *jwtguard.Issuer {
	t.Helper()
	iss, err := jwtguard.NewIssuer(jwtguard.IssuerConfig{
		Key:      jwtguard.Key{Algorithm: "HS256", Key: secret},
		Issuer:   testIssuer,
		Audience: []string{testAudience},
	})
	require.NoError(t, err)
	return iss
}

// issue returns an access and a refresh token from the package's Issuer.
func issue(t testing.TB, iss *jwtguard.Issuer, subject string, claims map[string]any) *jwtguard.TokenPair {
	t.Helper()
	pair, err := iss.Issue(context.Background(), subject, claims)
	require.NoError(t, err)
	return pair
}

// claims returns the claims of a valid access token for sign.
func claims(subject string) jwt.MapClaims {
	return jwt.MapClaims{
		"iss":  testIssuer,
		"aud":  testAudience,
		"sub":  subject,
		"type": "access",
		"jti":  "jti-" + subject,
		"exp":  time.Now().Add(time.Hour).Unix(),
	}
}

// sign signs claims with golang-jwt directly, as an independent issuer
// would.
func sign(t testing.TB, method jwt.SigningMethod, key any, c jwt.MapClaims) string {
	t.Helper()
	token, err := jwt.NewWithClaims(method, c).SignedString(key)
	require.NoError(t, err)
	return token
}

// incoming returns a context carrying incoming metadata, as the server
// gives a handler, for calling an interceptor directly.
func incoming(md ...string) context.Context {
	return metadata.NewIncomingContext(context.Background(), metadata.Pairs(md...))
}

func infoFor(method string) *grpc.UnaryServerInfo {
	return &grpc.UnaryServerInfo{FullMethod: method}
}
