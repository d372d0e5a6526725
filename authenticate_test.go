package jwtguard_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/jwtguard/jwtguard"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

type authCtxKey struct{}

func TestAuthenticate(t *testing.T) {
	var successes, failures []string
	mw := htNew(t,
		jwtguard.WithSuccessHook(func(r *http.Request, claims any) {
			inCtx, _ := jwtguard.FromContext(r.Context())
			successes = append(successes, fmt.Sprintf("%s %s ctx=%t", r.URL.Path, claims.(*jwtguard.Claims).Subject, inCtx == claims))
		}),
		jwtguard.WithFailureHook(func(r *http.Request, err error) {
			failures = append(failures, r.URL.Path+" "+err.Error())
		}),
	)
	base := context.WithValue(context.Background(), authCtxKey{}, "call")
	r := (&http.Request{Method: http.MethodPost, URL: &url.URL{Path: "/pkg.Svc/M"}}).WithContext(base)

	ctx, claims, err := mw.Authenticate(r, hs256(t, validClaims()))
	require.NoError(t, err)
	got, ok := jwtguard.FromContext(ctx)
	require.True(t, ok)
	assert.Same(t, claims, got)
	assert.Equal(t, "user-1", got.Subject)
	assert.Equal(t, "call", ctx.Value(authCtxKey{}), "the call's context is kept")

	tests := []struct {
		name  string
		token string
		want  error
	}{
		{"empty token", "", jwtguard.ErrNoToken},
		{"expired", hs256(t, htClaims(map[string]any{"exp": testNow.Add(-time.Hour).Unix()})), jwtguard.ErrExpired},
		{"garbage", "x.y.z", jwtguard.ErrMalformedToken},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx, claims, err := mw.Authenticate(r, tc.token)
			assert.ErrorIs(t, err, tc.want)
			assert.Nil(t, ctx)
			assert.Nil(t, claims)
		})
	}

	denied := fmt.Errorf("%w: needs admin", jwtguard.ErrInsufficientScope)
	mw.Reject(r, denied)

	assert.Equal(t, []string{"/pkg.Svc/M user-1 ctx=true"}, successes)
	assert.Equal(t, []string{
		"/pkg.Svc/M jwtguard: no token",
		"/pkg.Svc/M jwtguard: token expired",
		"/pkg.Svc/M jwtguard: malformed token: invalid base64url",
		"/pkg.Svc/M jwtguard: insufficient scope: needs admin",
	}, failures)

	// Without hooks both are quiet.
	plain := htNew(t)
	_, _, err = plain.Authenticate(r, "")
	assert.True(t, errors.Is(err, jwtguard.ErrNoToken))
	plain.Reject(r, denied)
}

// Authenticate serves transports other than net/http: here a queue
// consumer whose messages carry a token. The hooks see the request that
// describes the message; the handler reads the claims as an HTTP handler
// would.
func ExampleMiddleware_Authenticate() {
	secret := []byte("example-secret-example-secret-32")
	mw, err := jwtguard.New(
		jwtguard.WithKey("HS256", secret),
		jwtguard.WithFailureHook(func(r *http.Request, err error) {
			fmt.Println("refused", r.URL.Path+":", err)
		}),
	)
	if err != nil {
		log.Fatal(err)
	}
	token, _ := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{
		"sub": "worker-7", "type": "access", "exp": time.Now().Add(time.Hour).Unix(),
	}).SignedString(secret)

	consume := func(queue, token string) {
		r := &http.Request{Method: http.MethodPost, URL: &url.URL{Path: "/queues/" + queue}}
		ctx, _, err := mw.Authenticate(r.WithContext(context.Background()), token)
		if err != nil {
			return // the failure hook has seen it
		}
		claims, _ := jwtguard.FromContext(ctx)
		fmt.Println("message from", claims.Subject)
	}
	consume("orders", token)
	consume("orders", "")
	// Output:
	// message from worker-7
	// refused /queues/orders: jwtguard: no token
}
