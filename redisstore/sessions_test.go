package redisstore_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jwtguard/jwtguard"
	"github.com/jwtguard/jwtguard/redisstore"
)

// TestSubjectRevocationContract: RevokeSubject and IsSubjectRevoked as
// the MemoryStore has them, on this instance at once, on another from its
// mirror, and on one started afterwards from its fill.
func TestSubjectRevocationContract(t *testing.T) {
	ctx := context.Background()
	prefix := testPrefix()
	a := newStore(t, newClient(t), redisstore.WithPrefix(prefix))
	b := newStore(t, newClient(t), redisstore.WithPrefix(prefix))
	now := time.Now().Truncate(time.Second)
	const iss = "https://auth.test"
	require.NoError(t, a.RevokeSubject(ctx, iss, "user:1{x}", now, now.Add(time.Hour)))
	waitRevoked(t, redisstore.DefaultStalenessBound, func() (bool, error) {
		return b.IsSubjectRevoked(ctx, iss, "user:1{x}", now.Add(-time.Second))
	}, "store B")
	c := newStore(t, newClient(t), redisstore.WithPrefix(prefix))

	tests := []struct {
		name, iss, sub string
		issued         time.Time
		want           bool
	}{
		{"issued before", iss, "user:1{x}", now.Add(-time.Second), true},
		{"a millisecond before", iss, "user:1{x}", now.Add(-time.Millisecond), true},
		{"no iat", iss, "user:1{x}", time.Time{}, true},
		{"issued at the revocation", iss, "user:1{x}", now, false},
		{"issued after", iss, "user:1{x}", now.Add(time.Second), false},
		{"other subject", iss, "user:2", now.Add(-time.Second), false},
		{"other issuer", "https://other", "user:1{x}", now.Add(-time.Second), false},
		{"no separator confusion", iss + ":user", "1{x}", now.Add(-time.Second), false},
	}
	for _, tt := range tests {
		for name, s := range map[string]*redisstore.Store{"A, which revoked": a, "B, announced": b, "C, filled": c} {
			t.Run(tt.name+"/"+name, func(t *testing.T) {
				got, err := s.IsSubjectRevoked(ctx, tt.iss, tt.sub, tt.issued)
				require.NoError(t, err)
				assert.Equal(t, tt.want, got)
			})
		}
	}

	t.Run("never moves back nor shortens", func(t *testing.T) {
		c := newClient(t)
		key := subjectKey(prefix, iss, "user:1{x}")
		require.NoError(t, a.RevokeSubject(ctx, iss, "user:1{x}", now.Add(-time.Minute), now.Add(time.Minute)))
		ttl, err := c.PTTL(ctx, key).Result()
		require.NoError(t, err)
		assert.Greater(t, ttl, 59*time.Minute, "the later end is kept")
		for _, s := range []*redisstore.Store{a, b} {
			got, err := s.IsSubjectRevoked(ctx, iss, "user:1{x}", now.Add(-time.Second))
			require.NoError(t, err)
			assert.True(t, got, "the later valid-after is kept")
		}
		later := now.Add(time.Minute)
		require.NoError(t, a.RevokeSubject(ctx, iss, "user:1{x}", later, now.Add(2*time.Hour)))
		waitRevoked(t, redisstore.DefaultStalenessBound, func() (bool, error) {
			return b.IsSubjectRevoked(ctx, iss, "user:1{x}", later.Add(-time.Second))
		}, "store B, moved forward")
		ttl, err = c.PTTL(ctx, key).Result()
		require.NoError(t, err)
		assert.Greater(t, ttl, 119*time.Minute, "a later end extends")
	})
	t.Run("an end in the past stores nothing", func(t *testing.T) {
		require.NoError(t, a.RevokeSubject(ctx, iss, "past", now, time.Now().Add(-time.Second)))
		got, err := a.IsSubjectRevoked(ctx, iss, "past", time.Time{})
		require.NoError(t, err)
		assert.False(t, got)
	})
}

// TestSessionRecords: the session records of the SessionStore, as the
// MemoryStore keeps them; their keys expire with their last session.
func TestSessionRecords(t *testing.T) {
	ctx := context.Background()
	prefix := testPrefix()
	rc := newClient(t)
	s := newStore(t, rc, redisstore.WithPrefix(prefix))
	now := time.Now().Truncate(time.Millisecond)
	const iss = "https://auth.test"
	rec := func(id, sub string, created time.Time, md map[string]string) jwtguard.Session {
		return jwtguard.Session{ID: id, Subject: sub, CreatedAt: created, LastUsedAt: created.Add(time.Second),
			ExpiresAt: created.Add(time.Hour), Metadata: md}
	}
	b := rec("b", "u:1", now, map[string]string{"user_agent": "Firefox 1 2 3", "ip": "203.0.113.7"})
	a := rec("a", "u:1", now, nil)
	c := rec("c", "u:1", now.Add(-time.Minute), map[string]string{})
	for _, r := range []jwtguard.Session{b, a, c, rec("x", "u:2", now, nil)} {
		require.NoError(t, s.StartSession(ctx, iss, r, r.ExpiresAt))
	}
	require.NoError(t, s.StartSession(ctx, "https://other", rec("y", "u:1", now, nil), now.Add(time.Hour)))

	list, err := s.ListSessions(ctx, iss, "u:1")
	require.NoError(t, err)
	require.Equal(t, []string{"c", "a", "b"}, sessionIDs(list), "oldest first, then by id; one subject and issuer only")
	got := list[2]
	assert.Equal(t, "u:1", got.Subject)
	assert.True(t, b.CreatedAt.Equal(got.CreatedAt) && b.LastUsedAt.Equal(got.LastUsedAt) && b.ExpiresAt.Equal(got.ExpiresAt), "%+v", got)
	assert.Equal(t, b.Metadata, got.Metadata)

	t.Run("touch records a refresh", func(t *testing.T) {
		used, exp := now.Add(10*time.Minute), now.Add(2*time.Hour)
		require.NoError(t, s.TouchSession(ctx, iss, "u:1", "a", used, exp, exp))
		list, err := s.ListSessions(ctx, iss, "u:1")
		require.NoError(t, err)
		assert.True(t, used.Equal(list[1].LastUsedAt))
		assert.True(t, exp.Equal(list[1].ExpiresAt))
		assert.True(t, now.Equal(list[1].CreatedAt), "unchanged")
		ttl, err := rc.PTTL(ctx, sessionsKey(prefix, iss, "u:1")).Result()
		require.NoError(t, err)
		assert.Greater(t, ttl, 119*time.Minute, "the hash lives as long as its last session")
	})
	t.Run("delete, and a touch never brings one back", func(t *testing.T) {
		require.NoError(t, s.DeleteSession(ctx, iss, "u:1", "c"))
		require.NoError(t, s.DeleteSession(ctx, iss, "u:1", "c"), "twice is harmless")
		require.NoError(t, s.DeleteSession(ctx, iss, "u:2", "a"), "another subject's id ends nothing")
		require.NoError(t, s.TouchSession(ctx, iss, "u:1", "c", now, now.Add(time.Hour), now.Add(time.Hour)))
		list, err := s.ListSessions(ctx, iss, "u:1")
		require.NoError(t, err)
		assert.Equal(t, []string{"a", "b"}, sessionIDs(list))
		require.NoError(t, s.DeleteSession(ctx, iss, "u:2", "x"))
		n, err := rc.Exists(ctx, sessionsKey(prefix, iss, "u:2")).Result()
		require.NoError(t, err)
		assert.Zero(t, n, "the hash goes with its last session")
	})
	t.Run("sessions over are not listed and leave Redis", func(t *testing.T) {
		// A session already over in the hash (written as a crashed
		// instance might have left it), and one over in a moment.
		key := sessionsKey(prefix, iss, "u:3")
		past := now.Add(-time.Minute).UnixMilli()
		require.NoError(t, rc.HSet(ctx, key, "old", strconv.FormatInt(past, 10)+" 0 0 0 null").Err())
		require.NoError(t, s.StartSession(ctx, iss, rec("short", "u:3", now, nil), time.Now().Add(50*time.Millisecond)))
		// "short" may already be gone too, with the whole hash, on a slow
		// machine: what must hold is that "old" is.
		old, err := rc.HExists(ctx, key, "old").Result()
		require.NoError(t, err)
		assert.False(t, old, "the login dropped the session that was over")
		eventually(t, func() bool {
			n, err := rc.Exists(ctx, key).Result()
			return err == nil && n == 0
		}, "the hash expires with its last session")
		list, err := s.ListSessions(ctx, iss, "u:3")
		require.NoError(t, err)
		assert.Empty(t, list)
	})
	t.Run("junk is not listed", func(t *testing.T) {
		require.NoError(t, rc.HSet(ctx, sessionsKey(prefix, iss, "u:1"), "junk", "not a session").Err())
		list, err := s.ListSessions(ctx, iss, "u:1")
		require.NoError(t, err)
		assert.Equal(t, []string{"a", "b"}, sessionIDs(list))
	})
}

// TestSubjectKeysShareAHashSlot runs on the Redis Cluster: a subject's
// revocation and its sessions are in one slot, whatever the issuer and
// subject hold, and a subject's sessions on every master can be started,
// touched, listed and deleted.
func TestSubjectKeysShareAHashSlot(t *testing.T) {
	c := newClusterClient(t, needCluster(t))
	ctx := context.Background()
	prefix := testPrefix()
	s := newStore(t, c, redisstore.WithPrefix(prefix))
	now := time.Now()
	const iss = "https://auth.test"
	for _, sub := range []string{"user-1", "a}b", "{x}", "%3A:"} {
		require.NoError(t, s.RevokeSubject(ctx, iss, sub, now, now.Add(time.Hour)))
		require.NoError(t, s.StartSession(ctx, iss, jwtguard.Session{ID: "f{1}", Subject: sub}, now.Add(time.Hour)))
	}
	var mu sync.Mutex
	var keys []string
	require.NoError(t, c.ForEachMaster(ctx, func(ctx context.Context, node *redis.Client) error {
		found, err := node.Keys(ctx, prefix+"*").Result()
		mu.Lock()
		keys = append(keys, found...)
		mu.Unlock()
		return err
	}))
	require.Len(t, keys, 8, "%q", keys)
	slots := map[string]int64{}
	for _, k := range keys {
		slot, err := c.ClusterKeySlot(ctx, k).Result()
		require.NoError(t, err)
		tag := k[strings.Index(k, "{")+1 : strings.Index(k, "}")]
		if old, ok := slots[tag]; ok {
			assert.Equal(t, old, slot, "keys of the subject %q", tag)
		}
		slots[tag] = slot
	}
	assert.Len(t, slots, 4, "one tag per subject")

	l, masters := layoutOf(t, c)
	subs := requireIDsOnEveryMaster(t, c, l, func(id string) string { return sessionsKey(prefix, iss, id) })
	for _, m := range masters {
		sub := subs[m]
		require.NoError(t, s.StartSession(ctx, iss, jwtguard.Session{ID: "a", Subject: sub, CreatedAt: now}, now.Add(time.Hour)))
		require.NoError(t, s.StartSession(ctx, iss, jwtguard.Session{ID: "b", Subject: sub, CreatedAt: now}, now.Add(time.Hour)))
		requireKeyOn(t, m, sessionsKey(prefix, iss, sub))
		require.NoError(t, s.TouchSession(ctx, iss, sub, "a", now, now.Add(2*time.Hour), now.Add(2*time.Hour)))
		require.NoError(t, s.DeleteSession(ctx, iss, sub, "b"))
		list, err := s.ListSessions(ctx, iss, sub)
		require.NoError(t, err)
		require.Equal(t, []string{"a"}, sessionIDs(list), "on %s", m)
		assert.True(t, now.Add(2*time.Hour).Truncate(time.Millisecond).Equal(list[0].ExpiresAt), "on %s", m)
	}
}

// TestRingSubjects runs two stores on a Ring of two redis-servers: subject
// revocations on both shards reach the other store and the fill of one
// started afterwards, and sessions work on both shards.
func TestRingSubjects(t *testing.T) {
	newRing, addrs := startRing(t)
	prefix := testPrefix()
	ctx := context.Background()
	a := newStore(t, newRing(), redisstore.WithPrefix(prefix))
	b := newStore(t, newRing(), redisstore.WithPrefix(prefix))
	const n = 16
	now := time.Now().Truncate(time.Second)
	for i := range n {
		sub := "ring-" + strconv.Itoa(i)
		require.NoError(t, a.RevokeSubject(ctx, testIssuer, sub, now, now.Add(time.Hour)))
		require.NoError(t, a.StartSession(ctx, testIssuer, jwtguard.Session{ID: "s", Subject: sub, CreatedAt: now}, now.Add(time.Hour)))
	}
	for name, addr := range addrs {
		keys, err := newNodeClient(t, addr).Keys(ctx, prefix+"*").Result()
		require.NoError(t, err)
		require.NotEmpty(t, keys, "%s stores none of the %d subjects", name, n)
	}
	c := newStore(t, newRing(), redisstore.WithPrefix(prefix))
	for i := range n {
		sub := "ring-" + strconv.Itoa(i)
		waitRevoked(t, redisstore.DefaultStalenessBound, func() (bool, error) {
			return b.IsSubjectRevoked(ctx, testIssuer, sub, now.Add(-time.Second))
		}, "store B, "+sub)
		revoked, err := c.IsSubjectRevoked(ctx, testIssuer, sub, now.Add(-time.Second))
		require.NoError(t, err)
		require.True(t, revoked, "a store started afterwards fills %s", sub)
		list, err := b.ListSessions(ctx, testIssuer, sub)
		require.NoError(t, err)
		require.Equal(t, []string{"s"}, sessionIDs(list), sub)
	}
}

// TestClosedStoreFailsSessions: every method fails with ErrClosed.
func TestClosedStoreFailsSessions(t *testing.T) {
	ctx := context.Background()
	s := newStore(t, newClient(t), redisstore.WithPrefix(testPrefix()))
	require.NoError(t, s.Close())
	now := time.Now()
	for name, err := range map[string]error{
		"RevokeSubject": s.RevokeSubject(ctx, "i", "s", now, now.Add(time.Hour)),
		"StartSession":  s.StartSession(ctx, "i", jwtguard.Session{ID: "a", Subject: "s"}, now.Add(time.Hour)),
		"TouchSession":  s.TouchSession(ctx, "i", "s", "a", now, now, now),
		"DeleteSession": s.DeleteSession(ctx, "i", "s", "a"),
	} {
		assert.ErrorIs(t, err, redisstore.ErrClosed, name)
	}
	_, err := s.IsSubjectRevoked(ctx, "i", "s", now)
	assert.ErrorIs(t, err, redisstore.ErrClosed)
	_, err = s.ListSessions(ctx, "i", "s")
	assert.ErrorIs(t, err, redisstore.ErrClosed)
}

// sessionsKey is the key of a subject's sessions.
func sessionsKey(prefix, iss, sub string) string {
	return prefix + "sess:{" + redisstore.Escape(iss) + ":" + redisstore.Escape(sub) + "}"
}

// subjectKey is the key of a subject's revocation.
func subjectKey(prefix, iss, sub string) string {
	return prefix + "sub:{" + redisstore.Escape(iss) + ":" + redisstore.Escape(sub) + "}"
}

func sessionIDs(ss []jwtguard.Session) []string {
	out := make([]string, 0, len(ss))
	for _, s := range ss {
		out = append(out, s.ID)
	}
	return out
}

// TestSessionListOrderWithinOneSecond: logins within one second are listed
// in the order they happened, not by their (random) ids: the store keeps
// CreatedAt to the millisecond.
func TestSessionListOrderWithinOneSecond(t *testing.T) {
	var mu sync.Mutex
	now := time.Now().Truncate(time.Second)
	clock := func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		return now
	}
	issuer, err := jwtguard.NewIssuer(jwtguard.IssuerConfig{
		Key:    jwtguard.Key{ID: "k1", Algorithm: "HS256", Key: testSecret},
		Issuer: testIssuer,
		Clock:  clock,
	})
	require.NoError(t, err)
	store := newStore(t, newClient(t), redisstore.WithPrefix(testPrefix()))
	sessions, err := jwtguard.NewSessions(issuer, store)
	require.NoError(t, err)
	login := sessions.LoginHandler(testLogin)
	var fids []string
	for range 8 {
		r := httptest.NewRequest(http.MethodPost, "/auth/login", strings.NewReader(`{"username":"user-1","password":"pw"}`))
		r.Header.Set("Content-Type", "application/json")
		w := httptest.NewRecorder()
		login.ServeHTTP(w, r)
		require.Equal(t, http.StatusOK, w.Code, w.Body.String())
		var body struct {
			AccessToken string `json:"access_token"`
		}
		require.NoError(t, json.Unmarshal(w.Body.Bytes(), &body))
		payload, err := base64.RawURLEncoding.DecodeString(strings.Split(body.AccessToken, ".")[1])
		require.NoError(t, err)
		var claims struct {
			FID string `json:"fid"`
		}
		require.NoError(t, json.Unmarshal(payload, &claims))
		fids = append(fids, claims.FID)
		mu.Lock()
		now = now.Add(100 * time.Millisecond)
		mu.Unlock()
	}
	list, err := sessions.ListSessions(context.Background(), "user-1")
	require.NoError(t, err)
	assert.Equal(t, fids, sessionIDs(list), "in the order of the logins")
}
