package grpcguard_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net"

	"github.com/jwtguard/jwtguard"
	"github.com/jwtguard/jwtguard/grpcguard"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/emptypb"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

// Guard a gRPC server with the Middleware that guards the HTTP routes: the
// health service stays open, Orders/Cancel needs the scope orders:write, and
// handlers read the claims with jwtguard.FromContext. A logging interceptor
// chained before the guard matches the jwtguard error with errors.Is.
func Example() {
	// In a real server the secret comes from configuration: at least 32
	// random bytes for HS256.
	secret := []byte("example-secret-example-secret-32")
	issuer, err := jwtguard.NewIssuer(jwtguard.IssuerConfig{
		Key:    jwtguard.Key{Algorithm: "HS256", Key: secret},
		Issuer: "https://auth.example.com",
	})
	if err != nil {
		log.Fatal(err)
	}
	store, err := jwtguard.NewMemoryStore() // the store of the Sessions that log users out
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close()
	mw, err := jwtguard.New(jwtguard.WithKey("HS256", secret), jwtguard.WithIssuer("https://auth.example.com"),
		jwtguard.WithStore(store))
	if err != nil {
		log.Fatal(err)
	}
	guard, err := grpcguard.New(mw,
		grpcguard.WithoutAuthentication("/grpc.health.v1.Health/*"),
		grpcguard.WithScope("/orders.v1.Orders/Cancel", "orders:write"),
	)
	if err != nil {
		log.Fatal(err)
	}
	logRefusals := func(ctx context.Context, req any, info *grpc.UnaryServerInfo, next grpc.UnaryHandler) (any, error) {
		resp, err := next(ctx, req)
		if errors.Is(err, jwtguard.ErrInsufficientScope) {
			fmt.Println("server: refused", info.FullMethod, "for lack of scope")
		}
		return resp, err
	}
	srv := grpc.NewServer(
		grpc.ChainUnaryInterceptor(logRefusals, guard.UnaryServerInterceptor()),
		grpc.ChainStreamInterceptor(guard.StreamServerInterceptor()),
	)

	// A service registered by hand; generated code registers the same way.
	ordersMethod := func(name string) grpc.MethodDesc {
		return grpc.MethodDesc{MethodName: name, Handler: func(_ any, ctx context.Context, dec func(any) error, ic grpc.UnaryServerInterceptor) (any, error) {
			if err := dec(new(emptypb.Empty)); err != nil {
				return nil, err
			}
			handler := func(ctx context.Context, _ any) (any, error) {
				claims, _ := jwtguard.FromContext(ctx)
				return wrapperspb.String(name + " for " + claims.Subject), nil
			}
			return ic(ctx, nil, &grpc.UnaryServerInfo{FullMethod: "/orders.v1.Orders/" + name}, handler)
		}}
	}
	srv.RegisterService(&grpc.ServiceDesc{
		ServiceName: "orders.v1.Orders",
		HandlerType: (*any)(nil),
		Methods:     []grpc.MethodDesc{ordersMethod("List"), ordersMethod("Cancel")},
	}, struct{}{})
	healthpb.RegisterHealthServer(srv, health.NewServer())

	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	go srv.Serve(lis)
	defer srv.Stop()

	// The client. Over a network, use TLS and send the token with per-RPC
	// credentials (grpc.WithPerRPCCredentials); here, plain metadata.
	conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		log.Fatal(err)
	}
	defer conn.Close()
	pair, err := issuer.Issue(context.Background(), "user-42", map[string]any{"scope": "orders:read"})
	if err != nil {
		log.Fatal(err)
	}
	withToken := metadata.AppendToOutgoingContext(context.Background(), "authorization", "Bearer "+pair.AccessToken)

	hc, err := healthpb.NewHealthClient(conn).Check(context.Background(), &healthpb.HealthCheckRequest{})
	fmt.Println("health without a token:", hc.GetStatus(), err)
	for _, call := range []struct {
		ctx    context.Context
		method string
	}{
		{withToken, "/orders.v1.Orders/List"},
		{context.Background(), "/orders.v1.Orders/List"},
		{withToken, "/orders.v1.Orders/Cancel"},
	} {
		out := new(wrapperspb.StringValue)
		if err := conn.Invoke(call.ctx, call.method, new(emptypb.Empty), out); err != nil {
			st := status.Convert(err)
			fmt.Printf("client: %s: %s\n", st.Code(), st.Message())
			continue
		}
		fmt.Println("client:", out.GetValue())
	}
	// Output:
	// health without a token: SERVING <nil>
	// client: List for user-42
	// client: Unauthenticated: a bearer token is required: send metadata "authorization: Bearer <token>"
	// server: refused /orders.v1.Orders/Cancel for lack of scope
	// client: PermissionDenied: insufficient scope: the method needs scope "orders:write"
}
