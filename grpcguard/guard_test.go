package grpcguard_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/jwtguard/jwtguard"
	"github.com/jwtguard/jwtguard/grpcguard"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/emptypb"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

// golang-jwt's error texts, none of which may reach a client.
var jwtTexts = []string{
	"token is expired", "signature is invalid", "token is malformed", "token has invalid",
	"token is unverifiable", "could not", "illegal base64",
}

// checkRefused asserts that a call was refused with code, a message
// containing msg and none of the token or golang-jwt's text, and that the
// interceptors before the guard saw an error matching want.
func checkRefused(t *testing.T, s *server, err error, code codes.Code, msg string, want error, token string) {
	t.Helper()
	require.Error(t, err)
	st := status.Convert(err)
	assert.Equal(t, code, st.Code(), "message: %s", st.Message())
	assert.Contains(t, st.Message(), msg)
	if token != "" {
		assert.NotContains(t, st.Message(), token)
		assert.NotContains(t, st.Message(), token[:min(len(token), 20)])
	}
	for _, text := range jwtTexts {
		assert.NotContains(t, st.Message(), text)
	}
	seen := s.lastErr()
	assert.ErrorIs(t, seen, want, "the error the server's interceptors see")
	assert.Equal(t, code, status.Code(seen), "status.Code on the server")
	assert.Equal(t, st.Message(), status.Convert(seen).Message())
}

func TestStatusCodes(t *testing.T) {
	mw := newMiddleware(t)
	s := startServer(t, mw)
	iss := newIssuer(t)
	pair := issue(t, iss, "alice", nil)
	independent := sign(t, jwt.SigningMethodHS256, secret, claims("bob"))

	expiredClaims := claims("carol")
	expiredClaims["exp"] = time.Now().Add(-time.Hour).Unix()
	expired := sign(t, jwt.SigningMethodHS256, secret, expiredClaims)
	forged := sign(t, jwt.SigningMethodHS256, otherSecret, claims("mallory"))
	wrongAud := claims("dave")
	wrongAud["aud"] = "other-api"
	hs384 := sign(t, jwt.SigningMethodHS384, []byte(strings.Repeat("k", 48)), claims("eve"))
	critTok := jwt.NewWithClaims(jwt.SigningMethodHS256, claims("dave"))
	critTok.Header["crit"] = []string{"exp"}
	crit, err := critTok.SignedString(secret)
	require.NoError(t, err)
	noSub := claims("erin")
	delete(noSub, "sub")
	huge := strings.Repeat("a", 2500) + "." + strings.Repeat("b", 2500) + "." + strings.Repeat("c", 100)

	ok := []struct {
		name, want string
		md         []string
	}{
		{"issuer token", "alice", []string{"authorization", "Bearer " + pair.AccessToken}},
		{"independent signer", "bob", []string{"authorization", "Bearer " + independent}},
		{"scheme in any case", "bob", []string{"authorization", "bEARER   " + independent + " "}},
		{"binary metadata beside", "alice", []string{"authorization", "Bearer " + pair.AccessToken, "trace-bin", "\x00\xff\x01"}},
	}
	for _, tc := range ok {
		t.Run(tc.name, func(t *testing.T) {
			got, err := s.call(t, whoami, tc.md...)
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
			assert.NoError(t, s.lastErr())
		})
	}

	refused := []struct {
		name  string
		md    []string
		code  codes.Code
		msg   string
		want  error
		token string
	}{
		{"no metadata", nil, codes.Unauthenticated, "a bearer token is required", jwtguard.ErrNoToken, ""},
		{"another scheme", []string{"authorization", "Basic dXNlcjpwYXNz"}, codes.Unauthenticated, "a bearer token is required", jwtguard.ErrNoToken, ""},
		{"token in binary metadata only", []string{"authorization-bin", "Bearer " + independent}, codes.Unauthenticated, "a bearer token is required", jwtguard.ErrNoToken, independent},
		{"bearer without token", []string{"authorization", "Bearer"}, codes.InvalidArgument, "malformed authorization metadata: bearer scheme without a token", jwtguard.ErrMalformedRequest, ""},
		{"space in token", []string{"authorization", "Bearer abc def"}, codes.InvalidArgument, "bearer token contains white space", jwtguard.ErrMalformedRequest, ""},
		{"two values", []string{"authorization", "Bearer " + independent, "authorization", "Bearer " + independent}, codes.InvalidArgument, "more than one authorization metadata value", jwtguard.ErrMalformedRequest, independent},
		{"expired", []string{"authorization", "Bearer " + expired}, codes.Unauthenticated, "invalid token: token expired", jwtguard.ErrExpired, expired},
		{"forged signature", []string{"authorization", "Bearer " + forged}, codes.Unauthenticated, "invalid token: invalid signature", jwtguard.ErrSignature, forged},
		{"wrong audience", []string{"authorization", "Bearer " + sign(t, jwt.SigningMethodHS256, secret, wrongAud)}, codes.Unauthenticated, "invalid token: wrong audience", jwtguard.ErrAudience, ""},
		{"algorithm not allowed", []string{"authorization", "Bearer " + hs384}, codes.Unauthenticated, "invalid token: algorithm not allowed", jwtguard.ErrAlgorithm, hs384},
		{"refresh token", []string{"authorization", "Bearer " + pair.RefreshToken}, codes.Unauthenticated, "invalid token: wrong token type", jwtguard.ErrTokenType, pair.RefreshToken},
		{"garbage", []string{"authorization", "Bearer not-a-jwt"}, codes.Unauthenticated, "invalid token: malformed token", jwtguard.ErrMalformedToken, "not-a-jwt"},
		{"token over the Middleware's limit", []string{"authorization", "Bearer " + huge}, codes.Unauthenticated, "invalid token: token too large", jwtguard.ErrMalformedToken, huge},
		{"crit header", []string{"authorization", "Bearer " + crit}, codes.Unauthenticated, "invalid token: unsupported crit header", jwtguard.ErrAlgorithm, crit},
		{"no sub", []string{"authorization", "Bearer " + sign(t, jwt.SigningMethodHS256, secret, noSub)}, codes.Unauthenticated, "invalid token: missing required claim: sub", jwtguard.ErrMissingClaim, ""},
		{"oversized value, refused before parsing", []string{"authorization", "Basic " + strings.Repeat("x", grpcguard.MaxAuthorizationSize)},
			codes.Unauthenticated, "authorization metadata value over", jwtguard.ErrMalformedToken, strings.Repeat("x", 40)},
	}
	for _, tc := range refused {
		t.Run(tc.name, func(t *testing.T) {
			_, err := s.call(t, whoami, tc.md...)
			checkRefused(t, s, err, tc.code, tc.msg, tc.want, tc.token)
			if tc.code == codes.Unauthenticated && tc.want != jwtguard.ErrNoToken {
				assert.ErrorIs(t, s.lastErr(), jwtguard.ErrInvalidToken)
			}
		})
	}
}

// failingStore is a revocation store that cannot be reached.
type failingStore struct{ jwtguard.Store }

var errStoreDown = errors.New("dial tcp 10.0.0.7:6379: connection refused")

func (failingStore) IsRevoked(context.Context, string, string) (bool, error) {
	return false, errStoreDown
}

func TestRevokedAndUnavailable(t *testing.T) {
	store, err := jwtguard.NewMemoryStore()
	require.NoError(t, err)
	t.Cleanup(func() { store.Close() })
	s := startServer(t, newMiddleware(t, jwtguard.WithStore(store)))
	pair := issue(t, newIssuer(t), "alice", nil)
	md := []string{"authorization", "Bearer " + pair.AccessToken}

	got, err := s.call(t, whoami, md...)
	require.NoError(t, err)
	require.Equal(t, "alice", got)

	claims, err := newMiddleware(t).Verify(context.Background(), pair.AccessToken)
	require.NoError(t, err)
	c := claims.(*jwtguard.Claims)
	require.NoError(t, store.Revoke(context.Background(), c.Issuer, c.ID, c.ExpiresAt.Time))
	_, err = s.call(t, whoami, md...)
	checkRefused(t, s, err, codes.Unauthenticated, "invalid token: token revoked", jwtguard.ErrRevoked, pair.AccessToken)

	t.Run("store down", func(t *testing.T) {
		s := startServer(t, newMiddleware(t, jwtguard.WithStore(failingStore{})))
		_, err := s.call(t, whoami, md...)
		checkRefused(t, s, err, codes.Unavailable, "the token cannot be checked now", jwtguard.ErrUnavailable, pair.AccessToken)
		assert.NotContains(t, status.Convert(err).Message(), "10.0.0.7")
		assert.ErrorIs(t, s.lastErr(), errStoreDown, "the store's error stays reachable on the server")
	})
}

func TestScopeAndRole(t *testing.T) {
	s := startServer(t, newMiddleware(t),
		grpcguard.WithScope(write, "orders:write"),
		grpcguard.WithRole(admin, "admin"),
		grpcguard.WithScope("/"+service+"/*", "echo"),
	)
	iss := newIssuer(t)
	token := func(claims map[string]any) []string {
		return []string{"authorization", "Bearer " + issue(t, iss, "alice", claims).AccessToken}
	}
	tests := []struct {
		name   string
		method string
		md     []string
		code   codes.Code
		msg    string
	}{
		{"service scope held", whoami, token(map[string]any{"scope": "echo"}), codes.OK, ""},
		{"service scope missing", whoami, token(map[string]any{"scope": "orders:write"}), codes.PermissionDenied, `needs scope "echo"`},
		{"method and service scopes held", write, token(map[string]any{"scope": "orders:read echo orders:write"}), codes.OK, ""},
		{"method scope missing", write, token(map[string]any{"scope": "orders:read echo"}), codes.PermissionDenied, `needs scope "orders:write echo"`},
		{"no scope claim", write, token(nil), codes.PermissionDenied, "insufficient scope"},
		{"role held", admin, token(map[string]any{"roles": []string{"admin"}, "scope": "echo"}), codes.OK, ""},
		{"role missing", admin, token(map[string]any{"roles": []string{"user"}, "scope": "echo"}), codes.PermissionDenied, "needs scope \"echo\" and a role the token lacks"},
		{"no token is still unauthenticated", write, nil, codes.Unauthenticated, "a bearer token is required"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := s.call(t, tc.method, tc.md...)
			if tc.code == codes.OK {
				require.NoError(t, err)
				assert.Equal(t, "alice", got)
				return
			}
			want := jwtguard.ErrInsufficientScope
			if tc.code == codes.Unauthenticated {
				want = jwtguard.ErrNoToken
			}
			checkRefused(t, s, err, tc.code, tc.msg, want, "")
			if tc.name == "role missing" {
				assert.NotContains(t, status.Convert(err).Message(), "admin", "roles are not named to the client")
				assert.Contains(t, s.lastErr().Error(), "insufficient scope", "the server-side error is the status text")
				assert.Contains(t, errors.Unwrap(s.lastErr()).Error(), `role "admin"`, "the wrapped error names the role")
			}
		})
	}
}

func TestExemptAndOptional(t *testing.T) {
	s := startServer(t, newMiddleware(t),
		grpcguard.WithoutAuthentication(public, "/grpc.health.v1.Health/*"),
		grpcguard.WithOptional(maybe),
	)
	valid := sign(t, jwt.SigningMethodHS256, secret, claims("bob"))
	forged := sign(t, jwt.SigningMethodHS256, otherSecret, claims("mallory"))
	tests := []struct {
		name   string
		method string
		md     []string
		want   string
		code   codes.Code
	}{
		{"exempt without token", public, nil, "anonymous", codes.OK},
		{"exempt ignores a forged token", public, []string{"authorization", "Bearer " + forged}, "anonymous", codes.OK},
		{"exempt ignores malformed metadata", public, []string{"authorization", "Bearer"}, "anonymous", codes.OK},
		{"optional without token", maybe, nil, "anonymous", codes.OK},
		{"optional with another scheme", maybe, []string{"authorization", "Basic eDp5"}, "anonymous", codes.OK},
		{"optional with a valid token", maybe, []string{"authorization", "Bearer " + valid}, "bob", codes.OK},
		{"optional with a forged token", maybe, []string{"authorization", "Bearer " + forged}, "", codes.Unauthenticated},
		{"optional with malformed metadata", maybe, []string{"authorization", "Bearer"}, "", codes.InvalidArgument},
		{"other methods still guarded", whoami, nil, "", codes.Unauthenticated},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := s.call(t, tc.method, tc.md...)
			assert.Equal(t, tc.code, status.Code(err), "%v", err)
			assert.Equal(t, tc.want, got)
		})
	}

	t.Run("health service", func(t *testing.T) {
		resp, err := healthpb.NewHealthClient(s.conn).Check(context.Background(), &healthpb.HealthCheckRequest{})
		require.NoError(t, err)
		assert.Equal(t, healthpb.HealthCheckResponse_SERVING, resp.GetStatus())
	})
}

func TestStream(t *testing.T) {
	s := startServer(t, newMiddleware(t))
	pair := issue(t, newIssuer(t), "alice", nil)
	watchAll := func(t *testing.T, md ...string) ([]string, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if len(md) > 0 {
			ctx = metadata.AppendToOutgoingContext(ctx, md...)
		}
		stream, err := s.conn.NewStream(ctx, &echoDesc.Streams[0], watch)
		require.NoError(t, err)
		require.NoError(t, stream.SendMsg(new(emptypb.Empty)))
		require.NoError(t, stream.CloseSend())
		var got []string
		for {
			msg := new(wrapperspb.StringValue)
			if err := stream.RecvMsg(msg); err != nil {
				if err.Error() == "EOF" {
					return got, nil
				}
				return got, err
			}
			got = append(got, msg.GetValue())
		}
	}

	got, err := watchAll(t, "authorization", "Bearer "+pair.AccessToken)
	require.NoError(t, err)
	assert.Equal(t, []string{"alice", "alice", "alice"}, got, "claims from the wrapped stream's Context")

	got, err = watchAll(t)
	assert.Empty(t, got)
	checkRefused(t, s, err, codes.Unauthenticated, "a bearer token is required", jwtguard.ErrNoToken, "")

	got, err = watchAll(t, "authorization", "Bearer "+pair.RefreshToken)
	assert.Empty(t, got)
	checkRefused(t, s, err, codes.Unauthenticated, "wrong token type", jwtguard.ErrTokenType, pair.RefreshToken)
}

// Custom claims types are read with ClaimsFromContext, and keep the scope
// rules through the embedded Claims.
func TestCustomClaims(t *testing.T) {
	type tenantClaims struct {
		jwtguard.Claims
		Tenant string `json:"tenant"`
	}
	mw := newMiddleware(t, jwtguard.WithClaimsType[tenantClaims]())
	guard, err := grpcguard.New(mw, grpcguard.WithScope(whoami, "echo"))
	require.NoError(t, err)
	var seen *tenantClaims
	_, err = guard.UnaryServerInterceptor()(
		incoming("authorization", "Bearer "+sign(t, jwt.SigningMethodHS256, secret, withClaims(claims("alice"), "tenant", "acme", "scope", "echo"))),
		nil, infoFor(whoami),
		func(ctx context.Context, _ any) (any, error) {
			seen, _ = jwtguard.ClaimsFromContext[tenantClaims](ctx)
			return nil, nil
		})
	require.NoError(t, err)
	require.NotNil(t, seen)
	assert.Equal(t, "acme", seen.Tenant)
	assert.Equal(t, "alice", seen.Subject)
}

func withClaims(c jwt.MapClaims, kv ...string) jwt.MapClaims {
	for i := 0; i+1 < len(kv); i += 2 {
		c[kv[i]] = kv[i+1]
	}
	return c
}

// Errors wrapped by the user's interceptors keep the code and still do not
// carry jwtguard's text to the client.
func TestWrappedError(t *testing.T) {
	mw := newMiddleware(t, jwtguard.WithStore(failingStore{}))
	guard, err := grpcguard.New(mw)
	require.NoError(t, err)
	_, err = guard.UnaryServerInterceptor()(
		incoming("authorization", "Bearer "+sign(t, jwt.SigningMethodHS256, secret, claims("alice"))),
		nil, infoFor(whoami), func(context.Context, any) (any, error) {
			t.Fatal("handler called")
			return nil, nil
		})
	wrapped := errors.Join(errors.New("audit"), err)
	assert.ErrorIs(t, wrapped, jwtguard.ErrUnavailable)
	assert.ErrorIs(t, wrapped, errStoreDown)
	st := status.Convert(wrapped)
	assert.Equal(t, codes.Unavailable, st.Code())
	assert.NotContains(t, st.Message(), "10.0.0.7")
}
