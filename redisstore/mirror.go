package redisstore

import "sync"

// entry names one revocation in the mirror. Fields are kept apart, so no
// choice of issuer or identifier can collide with another.
type entry struct {
	kind byte // kindToken, kindFamily or kindSubject
	iss  string
	id   string // the jti, the family id, or the subject
}

// mark is what the mirror holds of a revocation: its end (unix ms) and,
// for a subject, the valid-after time (unix ms): the subject's tokens
// issued before it are revoked.
type mark struct {
	end, after int64
}

// mirror is the local copy of the revocations stored in Redis.
type mirror struct {
	mu sync.RWMutex
	m  map[entry]mark
}

func newMirror() mirror { return mirror{m: make(map[entry]mark)} }

// get returns e's revocation, if the mirror has one. The caller compares
// its end with the clock, which it reads only then: most tokens are not
// revoked, and reading the clock on every lookup was a measurable share of
// a request.
func (m *mirror) get(e entry) (mk mark, ok bool) {
	m.mu.RLock()
	mk, ok = m.m[e]
	m.mu.RUnlock()
	return mk, ok
}

// put records e until mk.end, keeping a later end and a later valid-after
// time: a revocation is never shortened nor moved back.
func (m *mirror) put(e entry, mk mark) {
	m.mu.Lock()
	if old, ok := m.m[e]; ok {
		mk.end, mk.after = max(mk.end, old.end), max(mk.after, old.after)
	}
	m.m[e] = mk
	m.mu.Unlock()
}

// replace swaps in a freshly filled map.
func (m *mirror) replace(fill map[entry]mark) {
	m.mu.Lock()
	m.m = fill
	m.mu.Unlock()
}

// sweep drops the entries over at now (unix ms).
func (m *mirror) sweep(now int64) {
	m.mu.Lock()
	for e, mk := range m.m {
		if now >= mk.end {
			delete(m.m, e)
		}
	}
	m.mu.Unlock()
}

func (m *mirror) len() int {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return len(m.m)
}
