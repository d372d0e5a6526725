package redisstore

import "sync"

// entry names one revocation in the mirror. Fields are kept apart, so no
// choice of issuer or identifier can collide with another.
type entry struct {
	kind byte // kindToken or kindFamily
	iss  string
	id   string
}

// mirror is the local copy of the revocations stored in Redis: entry →
// end (unix ms).
type mirror struct {
	mu sync.RWMutex
	m  map[entry]int64
}

func newMirror() mirror { return mirror{m: make(map[entry]int64)} }

// get returns the end (unix ms) of e's revocation, if the mirror has one.
// The caller compares it with the clock, which it reads only then: most
// tokens are not revoked, and reading the clock on every lookup was a
// measurable share of a request.
func (m *mirror) get(e entry) (end int64, ok bool) {
	m.mu.RLock()
	end, ok = m.m[e]
	m.mu.RUnlock()
	return end, ok
}

// put records e until end, keeping a later end.
func (m *mirror) put(e entry, end int64) {
	m.mu.Lock()
	if old, ok := m.m[e]; !ok || end > old {
		m.m[e] = end
	}
	m.mu.Unlock()
}

// replace swaps in a freshly filled map.
func (m *mirror) replace(fill map[entry]int64) {
	m.mu.Lock()
	m.m = fill
	m.mu.Unlock()
}

// sweep drops the entries over at now (unix ms).
func (m *mirror) sweep(now int64) {
	m.mu.Lock()
	for e, end := range m.m {
		if now >= end {
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
