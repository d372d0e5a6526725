//go:build race

package jwtguard_test

// raceEnabled reports whether the race detector is on. Under it, sync.Pool
// drops a random quarter of what is put back, so allocation counts of paths
// that use a pool (the HMAC state) are not deterministic.
const raceEnabled = true
