package redisstore

import (
	"context"
	"fmt"
	"time"
)

// RevokeSubject implements [jwtguard.SessionStore]: one script keeps the
// later valid-after time and the later end in the subject's key, which
// expires at the end, and announces it to every instance, whose mirrors
// then refuse the subject's tokens issued before validAfter without a
// round trip. This instance's mirror has it on return.
func (s *Store) RevokeSubject(ctx context.Context, iss, sub string, validAfter, until time.Time) error {
	if s.closed.Load() {
		return ErrClosed
	}
	end, _, ok := s.end(until)
	if !ok {
		return nil // already over: nothing to remember
	}
	after := validAfter.UnixMilli()
	err := revokeSubjectScript.Run(ctx, s.client, []string{s.keys.subject(iss, sub)},
		after, end, s.clock().UnixMilli(), s.keys.channel()).Err()
	if err != nil {
		return fmt.Errorf("redisstore: revoke subject: %w", err)
	}
	s.mirror.put(entry{kind: kindSubject, iss: iss, id: sub}, mark{end: end, after: after})
	return nil
}

// IsSubjectRevoked implements [jwtguard.SessionStore] from the mirror,
// without a round trip, as IsRevoked: it fails with [ErrStale] when the
// mirror is older than the staleness bound (unless
// [WithInsecureServeStaleMirror]).
func (s *Store) IsSubjectRevoked(_ context.Context, iss, sub string, issuedAt time.Time) (bool, error) {
	mk, ok, err := s.lookup(entry{kind: kindSubject, iss: iss, id: sub})
	return ok && issuedAt.UnixMilli() < mk.after && s.clock().UnixMilli() < mk.end, err
}
