package jwtguard_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jwtguard/jwtguard"
)

func TestMemoryStoreRevokeSubject(t *testing.T) {
	ctx := context.Background()
	clock := newTestClock()
	s := newMemoryStore(t, clock)
	now := clock.Now()
	require.NoError(t, s.RevokeSubject(ctx, "iss-a", "user-1", now, now.Add(time.Hour)))

	tests := []struct {
		name, iss, sub string
		issued         time.Time
		want           bool
	}{
		{"issued before", "iss-a", "user-1", now.Add(-time.Second), true},
		{"no iat", "iss-a", "user-1", time.Time{}, true},
		{"issued at the revocation", "iss-a", "user-1", now, false},
		{"issued after", "iss-a", "user-1", now.Add(time.Second), false},
		{"other subject", "iss-a", "user-2", now.Add(-time.Second), false},
		{"same subject, other issuer", "iss-b", "user-1", now.Add(-time.Second), false},
		{"no separator confusion", "iss-au", "ser-1", now.Add(-time.Second), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := s.IsSubjectRevoked(ctx, tt.iss, tt.sub, tt.issued)
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}

	t.Run("never moves back nor shortens", func(t *testing.T) {
		require.NoError(t, s.RevokeSubject(ctx, "iss-a", "user-1", now.Add(-time.Minute), now.Add(time.Minute)))
		got, err := s.IsSubjectRevoked(ctx, "iss-a", "user-1", now.Add(-time.Second))
		require.NoError(t, err)
		assert.True(t, got, "the earlier valid-after did not replace the later one")
		clock.Advance(30 * time.Minute)
		got, err = s.IsSubjectRevoked(ctx, "iss-a", "user-1", now.Add(-time.Second))
		require.NoError(t, err)
		assert.True(t, got, "the shorter end did not replace the longer one")
	})
	t.Run("moves forward", func(t *testing.T) {
		later := now.Add(10 * time.Minute)
		require.NoError(t, s.RevokeSubject(ctx, "iss-a", "user-1", later, now.Add(time.Hour)))
		got, err := s.IsSubjectRevoked(ctx, "iss-a", "user-1", now.Add(5*time.Minute))
		require.NoError(t, err)
		assert.True(t, got)
	})
	t.Run("ends at until and leaves the store", func(t *testing.T) {
		clock.Advance(30 * time.Minute)
		got, err := s.IsSubjectRevoked(ctx, "iss-a", "user-1", time.Time{})
		require.NoError(t, err)
		assert.False(t, got)
		require.NoError(t, s.RevokeSubject(ctx, "iss-a", "gone", now, clock.Now()), "an end already passed")
		assert.Equal(t, 1, s.Len(), "expired, not yet swept; the one already over was never held")
	})
}

func TestMemoryStoreSessions(t *testing.T) {
	ctx := context.Background()
	clock := newTestClock()
	s := newMemoryStore(t, clock, jwtguard.MemoryStoreSweepInterval(time.Millisecond))
	now := clock.Now()
	rec := func(id string, created time.Time, md map[string]string) jwtguard.Session {
		return jwtguard.Session{ID: id, Subject: "user-1", CreatedAt: created, LastUsedAt: created,
			ExpiresAt: created.Add(time.Hour), Metadata: md}
	}
	md := map[string]string{"user_agent": "Firefox"}
	b := rec("b", now, md)
	a := rec("a", now, nil)
	c := rec("c", now.Add(-time.Minute), nil)
	for _, r := range []jwtguard.Session{b, a, c} {
		require.NoError(t, s.StartSession(ctx, "iss", r, r.ExpiresAt))
	}
	require.NoError(t, s.StartSession(ctx, "iss", jwtguard.Session{ID: "x", Subject: "user-2", CreatedAt: now},
		now.Add(time.Hour)))
	require.NoError(t, s.StartSession(ctx, "other-iss", rec("y", now, nil), now.Add(time.Hour)))
	md["user_agent"] = "changed by the caller afterwards"

	list, err := s.ListSessions(ctx, "iss", "user-1")
	require.NoError(t, err)
	require.Equal(t, []string{"c", "a", "b"}, sessionIDs(list), "oldest first, then by id; one subject and issuer only")
	assert.Equal(t, map[string]string{"user_agent": "Firefox"}, list[2].Metadata, "a copy was kept")
	list[2].Metadata["user_agent"] = "changed in a listing"
	again, err := s.ListSessions(ctx, "iss", "user-1")
	require.NoError(t, err)
	assert.Equal(t, "Firefox", again[2].Metadata["user_agent"], "listings are copies")

	t.Run("touch records a refresh", func(t *testing.T) {
		used, exp := now.Add(10*time.Minute), now.Add(2*time.Hour)
		require.NoError(t, s.TouchSession(ctx, "iss", "user-1", "a", used, exp, exp))
		list, err := s.ListSessions(ctx, "iss", "user-1")
		require.NoError(t, err)
		assert.Equal(t, used, list[1].LastUsedAt)
		assert.Equal(t, exp, list[1].ExpiresAt)
		assert.Equal(t, now, list[1].CreatedAt, "unchanged")
	})
	t.Run("delete, and a touch never brings one back", func(t *testing.T) {
		require.NoError(t, s.DeleteSession(ctx, "iss", "user-1", "c"))
		require.NoError(t, s.DeleteSession(ctx, "iss", "user-1", "c"), "twice is harmless")
		require.NoError(t, s.DeleteSession(ctx, "iss", "user-2", "a"), "another subject's id ends nothing")
		require.NoError(t, s.TouchSession(ctx, "iss", "user-1", "c", now, now.Add(time.Hour), now.Add(time.Hour)))
		list, err := s.ListSessions(ctx, "iss", "user-1")
		require.NoError(t, err)
		assert.Equal(t, []string{"a", "b"}, sessionIDs(list))
	})
	t.Run("expired sessions are not listed and leave the store", func(t *testing.T) {
		clock.Advance(90 * time.Minute) // b and the others end; a was touched to 2h
		list, err := s.ListSessions(ctx, "iss", "user-1")
		require.NoError(t, err)
		assert.Equal(t, []string{"a"}, sessionIDs(list))
		require.NoError(t, s.TouchSession(ctx, "iss", "user-1", "b", clock.Now(), clock.Now().Add(time.Hour), clock.Now().Add(time.Hour)))
		list, err = s.ListSessions(ctx, "iss", "user-1")
		require.NoError(t, err)
		assert.Equal(t, []string{"a"}, sessionIDs(list), "an expired session is not brought back")
		clock.Advance(time.Hour)
		require.Eventually(t, func() bool { return s.Len() == 0 }, time.Minute, time.Millisecond, // a guard, not a bound
			"the sweeper drops every expired session")
	})
}

// TestMemoryStoreSessionsCountAgainstTheMaximum checks that sessions are
// entries like the others: a store full of them refuses more (fail
// closed), and makes room as they expire.
func TestMemoryStoreSessionsCountAgainstTheMaximum(t *testing.T) {
	ctx := context.Background()
	clock := newTestClock()
	s := newMemoryStore(t, clock, jwtguard.MemoryStoreMaxEntries(2))
	now := clock.Now()
	require.NoError(t, s.StartSession(ctx, "iss", jwtguard.Session{ID: "a", Subject: "u"}, now.Add(time.Minute)))
	require.NoError(t, s.RevokeSubject(ctx, "iss", "u", now, now.Add(time.Hour)))
	require.ErrorIs(t, s.StartSession(ctx, "iss", jwtguard.Session{ID: "b", Subject: "u"}, now.Add(time.Hour)), jwtguard.ErrStoreFull)
	require.NoError(t, s.StartSession(ctx, "iss", jwtguard.Session{ID: "a", Subject: "u"}, now.Add(time.Hour)),
		"replacing a record takes no room")
	clock.Advance(2 * time.Hour)
	require.NoError(t, s.StartSession(ctx, "iss", jwtguard.Session{ID: "b", Subject: "u"}, clock.Now().Add(time.Hour)),
		"room made by sweeping")
	assert.Equal(t, 1, s.Len())
}

func TestMemoryStoreClosedSessions(t *testing.T) {
	ctx := context.Background()
	s := newMemoryStore(t, newTestClock())
	require.NoError(t, s.Close())
	now := time.Now()
	for name, err := range map[string]error{
		"RevokeSubject": s.RevokeSubject(ctx, "i", "s", now, now.Add(time.Hour)),
		"StartSession":  s.StartSession(ctx, "i", jwtguard.Session{ID: "a", Subject: "s"}, now.Add(time.Hour)),
		"TouchSession":  s.TouchSession(ctx, "i", "s", "a", now, now, now),
		"DeleteSession": s.DeleteSession(ctx, "i", "s", "a"),
	} {
		assert.ErrorIs(t, err, jwtguard.ErrStoreClosed, name)
	}
	_, err := s.IsSubjectRevoked(ctx, "i", "s", now)
	assert.ErrorIs(t, err, jwtguard.ErrStoreClosed)
	_, err = s.ListSessions(ctx, "i", "s")
	assert.ErrorIs(t, err, jwtguard.ErrStoreClosed)
}

// sessionIDs returns the ids of sessions, in order.
func sessionIDs(ss []jwtguard.Session) []string {
	out := make([]string, 0, len(ss))
	for _, s := range ss {
		out = append(out, s.ID)
	}
	return out
}
