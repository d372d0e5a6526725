package jwtguard

import (
	"context"
	"maps"
	"time"
)

// memorySessions holds a MemoryStore's session records, by subject, so
// that one subject's sessions are found without looking at the others'.
type memorySessions struct {
	bySubject map[subjectKey]map[string]*memorySession
	n         int // records held, counted against the store's maximum
}

// subjectKey names a subject. Fields are kept apart, so no choice of
// issuer or subject can collide with another.
type subjectKey struct{ iss, sub string }

// memorySession is one record and its end.
type memorySession struct {
	s     Session
	until time.Time
}

func newMemorySessions() memorySessions {
	return memorySessions{bySubject: make(map[subjectKey]map[string]*memorySession)}
}

// remove forgets session id of k.
func (ms *memorySessions) remove(k subjectKey, id string) {
	m := ms.bySubject[k]
	if _, ok := m[id]; !ok {
		return
	}
	delete(m, id)
	ms.n--
	if len(m) == 0 {
		delete(ms.bySubject, k)
	}
}

// sweep drops the records over at now.
func (ms *memorySessions) sweep(now time.Time) {
	for k, m := range ms.bySubject {
		for id, rec := range m {
			if !now.Before(rec.until) {
				ms.remove(k, id)
			}
		}
	}
}

// RevokeSubject implements [SessionStore].
func (s *MemoryStore) RevokeSubject(_ context.Context, iss, sub string, validAfter, until time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrStoreClosed
	}
	now := s.clock()
	if !now.Before(until) {
		return nil // already over: nothing to remember
	}
	k := memoryKey{kind: 's', iss: iss, id: sub}
	if old, ok := s.entries[k]; ok {
		if now.Before(old.until) {
			if old.until.After(until) {
				until = old.until
			}
			if old.at.After(validAfter) {
				validAfter = old.at
			}
		}
	} else if err := s.room(now); err != nil {
		return err
	}
	s.entries[k] = memoryEntry{until: until, at: validAfter}
	return nil
}

// IsSubjectRevoked implements [SessionStore].
func (s *MemoryStore) IsSubjectRevoked(_ context.Context, iss, sub string, issuedAt time.Time) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false, ErrStoreClosed
	}
	e, ok := s.entries[memoryKey{kind: 's', iss: iss, id: sub}]
	return ok && issuedAt.Before(e.at) && s.clock().Before(e.until), nil
}

// StartSession implements [SessionStore].
func (s *MemoryStore) StartSession(_ context.Context, iss string, sess Session, until time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrStoreClosed
	}
	now := s.clock()
	if !now.Before(until) {
		return nil // already over: nothing to remember
	}
	k := subjectKey{iss, sess.Subject}
	if _, ok := s.sessions.bySubject[k][sess.ID]; !ok {
		if err := s.room(now); err != nil {
			return err
		}
		s.sessions.n++
	}
	m := s.sessions.bySubject[k]
	if m == nil {
		m = make(map[string]*memorySession)
		s.sessions.bySubject[k] = m
	}
	sess.Metadata = maps.Clone(sess.Metadata)
	m[sess.ID] = &memorySession{s: sess, until: until}
	return nil
}

// TouchSession implements [SessionStore].
func (s *MemoryStore) TouchSession(_ context.Context, iss, sub, id string, lastUsed, expires, until time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrStoreClosed
	}
	k := subjectKey{iss, sub}
	rec, ok := s.sessions.bySubject[k][id]
	if !ok {
		return nil
	}
	if !s.clock().Before(rec.until) {
		s.sessions.remove(k, id) // over: it stays absent
		return nil
	}
	rec.s.LastUsedAt, rec.s.ExpiresAt = lastUsed, expires
	if until.After(rec.until) {
		rec.until = until
	}
	return nil
}

// ListSessions implements [SessionStore].
func (s *MemoryStore) ListSessions(_ context.Context, iss, sub string) ([]Session, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, ErrStoreClosed
	}
	now := s.clock()
	var out []Session
	for _, rec := range s.sessions.bySubject[subjectKey{iss, sub}] {
		if now.Before(rec.until) {
			sess := rec.s
			sess.Metadata = maps.Clone(sess.Metadata)
			out = append(out, sess)
		}
	}
	SortSessions(out)
	return out, nil
}

// DeleteSession implements [SessionStore].
func (s *MemoryStore) DeleteSession(_ context.Context, iss, sub, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrStoreClosed
	}
	s.sessions.remove(subjectKey{iss, sub}, id)
	return nil
}
