// Package redisstore is a [jwtguard.Store] on Redis, for a service that runs
// several instances: a logout on one instance is enforced on all of them,
// and a refresh token rotates once, whichever instance it is sent to.
//
// Writes (logout, refresh) go to Redis: [Store.Revoke] and
// [Store.RevokeFamily] are one Lua script each, and [Store.Rotate] is one
// Lua script over two keys of one Cluster hash slot, so that of any number
// of concurrent refreshes with one token, on any number of instances,
// exactly one is its first use, and the others are replays within the reuse
// interval ([jwtguard.WithReuseInterval]) or reuse, decided on the callers'
// clocks. README.md says how to set the client's timeouts against the
// interval, and what a 503 may have applied.
//
// Reads (the middleware asks [Store.IsRevoked], [Store.IsFamilyRevoked] and
// [Store.IsSubjectRevoked] on every request) never touch the network: each
// Store keeps a mirror of the revoked tokens, families and subjects (a user
// signed out everywhere) in memory, filled with SCAN when it
// starts and kept current by a Redis pub/sub channel on which the scripts
// themselves announce every revocation (on a Cluster or a Ring, the Store
// subscribes on every master or shard, each of which announces its own).
// A heartbeat on that channel confirms the mirror; when it cannot be confirmed for longer than the
// staleness bound ([WithStalenessBound], two seconds by default), because
// Redis or the network is down, the reads fail with an error matching
// [jwtguard.ErrUnavailable] and the middleware answers 503. The Store
// reconnects, refills and resubscribes by itself.
//
// A user's sessions ([jwtguard.Sessions.ListSessions]) are one hash per
// subject, in the subject's hash slot, written at login and refresh and read
// by the session routes only; it expires with the user's last session.
//
// A quick start:
//
//	client := redis.NewUniversalClient(&redis.UniversalOptions{Addrs: []string{"redis:6379"}})
//	store, err := redisstore.New(ctx, client) // waits for the first fill
//	if err != nil { … }
//	defer store.Close()
//	sessions, err := jwtguard.NewSessions(issuer, store)
package redisstore
