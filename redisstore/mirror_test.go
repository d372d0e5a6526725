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

	m.put(tok, 200)
	m.put(tok, 100)
	end, ok := m.get(tok)
	assert.True(t, ok)
	assert.EqualValues(t, 200, end, "an earlier end does not shorten a revocation")
	m.put(tok, 300)
	end, _ = m.get(tok)
	assert.EqualValues(t, 300, end, "a later end extends it")
	_, ok = m.get(fam)
	assert.False(t, ok, "kinds are kept apart")

	m.put(fam, 150)
	m.sweep(150)
	_, ok = m.get(fam)
	assert.False(t, ok, "an entry over at now is swept")
	_, ok = m.get(tok)
	assert.True(t, ok, "a live entry stays")
	assert.Equal(t, 1, m.len())

	m.replace(map[entry]int64{fam: 500})
	_, ok = m.get(tok)
	assert.False(t, ok, "replace drops what the fill did not find")
	end, _ = m.get(fam)
	assert.EqualValues(t, 500, end)
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
				m.put(e, int64(i*8+g))
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
	end, ok := m.get(e)
	assert.True(t, ok)
	assert.EqualValues(t, 999*8+7, end)
}
