package redisstore

// MirrorLen returns the number of entries in s's mirror, expired ones not
// yet swept included.
func (s *Store) MirrorLen() int { return s.mirror.len() }

// Escape and Unescape expose the key escaping to the tests.
var (
	Escape   = escape
	Unescape = unescape
)
