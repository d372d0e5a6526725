package redisstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jwtguard/jwtguard"
	"github.com/redis/go-redis/v9"
)

// A subject's sessions are one hash, P sess:{<iss>:<sub>}, a field per
// session (its id), whose value is "<until> <created> <last used>
// <expires> <metadata JSON>" (times in unix ms): one key per subject, in
// the subject's hash slot, which expires with its last session. The
// sessions are not mirrored: they are read by the handlers only.

// StartSession implements [jwtguard.SessionStore] with one script, which
// also drops the subject's sessions that are over and sets the hash to
// expire with the last one.
func (s *Store) StartSession(ctx context.Context, iss string, sess jwtguard.Session, until time.Time) error {
	if s.closed.Load() {
		return ErrClosed
	}
	end, _, ok := s.end(until)
	if !ok {
		return nil // already over: nothing to remember
	}
	md, err := json.Marshal(sess.Metadata)
	if err != nil {
		return fmt.Errorf("redisstore: start session: metadata: %w", err)
	}
	value := strconv.FormatInt(end, 10) + " " + strconv.FormatInt(sess.CreatedAt.UnixMilli(), 10) + " " +
		strconv.FormatInt(sess.LastUsedAt.UnixMilli(), 10) + " " + strconv.FormatInt(sess.ExpiresAt.UnixMilli(), 10) +
		" " + string(md)
	err = startSessionScript.Run(ctx, s.client, []string{s.keys.sessions(iss, sess.Subject)},
		sess.ID, value, s.clock().UnixMilli()).Err()
	if err != nil {
		return fmt.Errorf("redisstore: start session: %w", err)
	}
	return nil
}

// TouchSession implements [jwtguard.SessionStore] with one script.
func (s *Store) TouchSession(ctx context.Context, iss, sub, id string, lastUsed, expires, until time.Time) error {
	if s.closed.Load() {
		return ErrClosed
	}
	err := touchSessionScript.Run(ctx, s.client, []string{s.keys.sessions(iss, sub)}, id,
		until.UnixMilli(), lastUsed.UnixMilli(), expires.UnixMilli(), s.clock().UnixMilli()).Err()
	if err != nil {
		return fmt.Errorf("redisstore: touch session: %w", err)
	}
	return nil
}

// ListSessions implements [jwtguard.SessionStore]: one HGETALL; the
// sessions over on the store's clock are left out (and dropped at the
// subject's next login).
func (s *Store) ListSessions(ctx context.Context, iss, sub string) ([]jwtguard.Session, error) {
	if s.closed.Load() {
		return nil, ErrClosed
	}
	all, err := s.client.HGetAll(ctx, s.keys.sessions(iss, sub)).Result()
	if err != nil && !errors.Is(err, redis.Nil) {
		return nil, fmt.Errorf("redisstore: list sessions: %w", err)
	}
	now := s.clock().UnixMilli()
	var out []jwtguard.Session
	for id, v := range all {
		until, sess, ok := parseSession(v)
		if !ok || until <= now {
			continue
		}
		sess.ID, sess.Subject = id, sub
		out = append(out, sess)
	}
	jwtguard.SortSessions(out)
	return out, nil
}

// DeleteSession implements [jwtguard.SessionStore]: one HDEL (Redis drops
// the hash with its last field).
func (s *Store) DeleteSession(ctx context.Context, iss, sub, id string) error {
	if s.closed.Load() {
		return ErrClosed
	}
	if err := s.client.HDel(ctx, s.keys.sessions(iss, sub), id).Err(); err != nil {
		return fmt.Errorf("redisstore: delete session: %w", err)
	}
	return nil
}

// parseSession reads a session's value; ok is false for one this package
// did not write.
func parseSession(v string) (until int64, sess jwtguard.Session, ok bool) {
	f := strings.SplitN(v, " ", 5)
	if len(f) != 5 {
		return 0, sess, false
	}
	var ms [4]int64
	for i := range ms {
		n, err := strconv.ParseInt(f[i], 10, 64)
		if err != nil {
			return 0, sess, false
		}
		ms[i] = n
	}
	if json.Unmarshal([]byte(f[4]), &sess.Metadata) != nil {
		return 0, sess, false
	}
	sess.CreatedAt, sess.LastUsedAt, sess.ExpiresAt = time.UnixMilli(ms[1]), time.UnixMilli(ms[2]), time.UnixMilli(ms[3])
	return ms[0], sess, true
}
