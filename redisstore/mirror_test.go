package redisstore

import (
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestMirror(t *testing.T) {
	tok := entry{kind: kindToken, iss: "iss", id: "a"}
	fam := entry{kind: kindFamily, iss: "iss", id: "a"} // same iss and id, other kind
	m := newMirror()

	_, ok := m.get(tok)
	assert.False(t, ok, "empty mirror")

	m.put(tok, mark{end: 200})
	m.put(tok, mark{end: 100})
	mk, ok := m.get(tok)
	assert.True(t, ok)
	assert.EqualValues(t, 200, mk.end, "an earlier end does not shorten a revocation")
	m.put(tok, mark{end: 300})
	mk, _ = m.get(tok)
	assert.EqualValues(t, 300, mk.end, "a later end extends it")
	_, ok = m.get(fam)
	assert.False(t, ok, "kinds are kept apart")

	m.put(fam, mark{end: 150})
	m.sweep(150)
	_, ok = m.get(fam)
	assert.False(t, ok, "an entry over at now is swept")
	_, ok = m.get(tok)
	assert.True(t, ok, "a live entry stays")
	assert.Equal(t, 1, m.len())

	m.replace(map[entry]mark{fam: {end: 500}})
	_, ok = m.get(tok)
	assert.False(t, ok, "replace drops what the fill did not find")
	mk, _ = m.get(fam)
	assert.EqualValues(t, 500, mk.end)

	sub := entry{kind: kindSubject, iss: "iss", id: "a"}
	m.put(sub, mark{end: 1000, after: 50})
	m.put(sub, mark{end: 900, after: 70})
	mk, _ = m.get(sub)
	assert.Equal(t, mark{end: 1000, after: 70}, mk, "each time kept at its latest")
	m.put(sub, mark{end: 800, after: 60})
	mk, _ = m.get(sub)
	assert.Equal(t, mark{end: 1000, after: 70}, mk, "never moved back")
}

// TestMirrorConcurrentPuts: whatever the interleaving, the latest end wins.
// Run with -race.
func TestMirrorConcurrentPuts(t *testing.T) {
	e := entry{kind: kindToken, iss: "iss", id: "a"}
	m := newMirror()
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 1000 {
				m.put(e, mark{end: int64(i*8 + g), after: int64(i*8 + g)})
				_, _ = m.get(e)
			}
		})
	}
	wg.Go(func() {
		for range 100 {
			m.sweep(0) // nothing is over at 0
		}
	})
	wg.Wait()
	mk, ok := m.get(e)
	assert.True(t, ok)
	assert.Equal(t, mark{end: 999*8 + 7, after: 999*8 + 7}, mk)
}
