package redisstore_test

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jwtguard/jwtguard/redisstore"
)

// TestRevokeSubjectOnOneInstanceIsEnforcedOnTheOthers runs three
// instances on one Redis. A user signs out everywhere on A
// (logout?scope=global): every earlier token of the user, of every session
// and of none, is refused by B and C, access tokens by the middleware
// without a single Redis command, refresh tokens by the refresh handler; a
// login afterwards works everywhere, and another user is never touched.
func TestRevokeSubjectOnOneInstanceIsEnforcedOnTheOthers(t *testing.T) {
	needRedis(t)
	clock := newTestClock()
	f, withClock := clockedFleet(t, clock)
	ins := newInstancesWith(t, singleNode(redis.Options{Addr: redisAddr}), testPrefix(), 3, f, withClock)
	a, b, c := ins[0], ins[1], ins[2]
	first, second := a.login(t, "ada"), b.login(t, "ada")
	bare := f.mint(t, "ada") // a pair of no session
	bob := c.login(t, "bob")
	earlier := []string{first.AccessToken, second.AccessToken, bare.AccessToken}
	for _, in := range ins {
		for i, tok := range append(earlier, bob.AccessToken) {
			require.Equal(t, http.StatusOK, in.me(t, tok), "instance %s, token %d", in.name, i)
		}
	}
	clock.Advance(time.Second) // the revocation's second is after every token's iat

	require.Equal(t, http.StatusNoContent, a.post(t, "/auth/logout?scope=global", first.AccessToken))
	for _, in := range []*instance{b, c} {
		for i, tok := range earlier {
			took := waitStatus(t, in, tok, http.StatusUnauthorized, redisstore.DefaultStalenessBound)
			t.Logf("instance %s refused token %d %v after the logout returned", in.name, i, took)
		}
		for i, tok := range []string{second.RefreshToken, bare.RefreshToken} {
			status, _, err := in.refresh(tok)
			require.NoError(t, err)
			assert.Equal(t, http.StatusUnauthorized, status, "instance %s, refresh token %d", in.name, i)
		}
	}
	again := c.login(t, "ada")
	for _, in := range ins {
		assert.Equal(t, http.StatusOK, in.me(t, again.AccessToken), "instance %s: a login afterwards", in.name)
		assert.Equal(t, http.StatusOK, in.me(t, bob.AccessToken), "instance %s: another user", in.name)
		assert.Zero(t, in.verifyCommands.n.Load(), "instance %s: Redis commands made to verify tokens", in.name)
	}

	resp, err := b.client.Do(authGet(t, b.srv.URL+"/auth/sessions", again.AccessToken))
	require.NoError(t, err)
	defer resp.Body.Close()
	var list struct {
		Sessions []struct {
			ID      string `json:"id"`
			Current bool   `json:"current"`
		} `json:"sessions"`
	}
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&list))
	require.Len(t, list.Sessions, 1, "only the session started after the revocation")
	assert.True(t, list.Sessions[0].Current)

	// The counter counts: a command made in a marked context is seen.
	_, err = b.store.ListSessions(context.WithValue(context.Background(), verifying{}, true), testIssuer, "ada")
	require.NoError(t, err)
	assert.EqualValues(t, 1, b.verifyCommands.n.Load(), "the hook sees a marked command")
}

// TestEndSessionOnOneInstanceIsEnforcedOnTheOthers: a session ended on A
// through the session routes is refused on B and C; the other session of
// the user goes on everywhere.
func TestEndSessionOnOneInstanceIsEnforcedOnTheOthers(t *testing.T) {
	ins := newInstances(t, redis.Options{Addr: redisAddr}, testPrefix(), 3)
	a, b, c := ins[0], ins[1], ins[2]
	laptop, phone := a.login(t, "ada"), b.login(t, "ada")
	_, phoneFID := claimIDs(t, phone.AccessToken)
	req := authGet(t, a.srv.URL+"/auth/sessions/"+phoneFID, laptop.AccessToken)
	req.Method = http.MethodDelete
	resp, err := a.client.Do(req)
	require.NoError(t, err)
	_ = resp.Body.Close()
	require.Equal(t, http.StatusNoContent, resp.StatusCode)
	for _, in := range []*instance{b, c} {
		waitStatus(t, in, phone.AccessToken, http.StatusUnauthorized, redisstore.DefaultStalenessBound)
		status, _, err := in.refresh(phone.RefreshToken)
		require.NoError(t, err)
		assert.Equal(t, http.StatusUnauthorized, status, "instance %s: the ended session's refresh token", in.name)
		assert.Equal(t, http.StatusOK, in.me(t, laptop.AccessToken), "instance %s: the other session", in.name)
		assert.Zero(t, in.verifyCommands.n.Load(), "instance %s", in.name)
	}
}

// authGet is a GET of url with a bearer token.
func authGet(t testing.TB, url, access string) *http.Request {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+access)
	return req
}
