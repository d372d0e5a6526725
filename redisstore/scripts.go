package redisstore

import "github.com/redis/go-redis/v9"

// revokeScript marks KEYS[1] revoked until ARGV[1] (unix ms), expiring the
// key ARGV[2] ms from now, unless it is revoked until a later time already,
// and announces the revocation on channel ARGV[3]. Writing and announcing
// in one script means no revocation is stored unannounced, whatever happens
// to the client between the two.
//
// Returns 1 when it extended the revocation, 0 when it kept a later one.
var revokeScript = redis.NewScript(`
local old = redis.call('GET', KEYS[1])
if old and tonumber(old) and tonumber(old) >= tonumber(ARGV[1]) then
  return 0
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
redis.call('PUBLISH', ARGV[3], ARGV[1] .. ' ' .. KEYS[1])
return 1
`)

// rotateScript is Store.Rotate in one atomic step. KEYS[1] is the family's
// revocation key, KEYS[2] the refresh token's used key: both carry the
// family's hash tag, so they live in one Cluster slot. ARGV: the token's
// end (unix ms) and TTL (ms), the family's end and TTL, the channel.
//
//   - family revoked: nothing changes; returns 3 (RotationRevoked).
//   - token used already: revokes the family as revokeScript does; returns
//     2 (RotationReused).
//   - otherwise: marks the token used; returns 1 (RotationOK).
var rotateScript = redis.NewScript(`
if redis.call('EXISTS', KEYS[1]) == 1 then
  return 3
end
if redis.call('SET', KEYS[2], ARGV[1], 'NX', 'PX', ARGV[2]) then
  return 1
end
redis.call('SET', KEYS[1], ARGV[3], 'PX', ARGV[4])
redis.call('PUBLISH', ARGV[5], ARGV[3] .. ' ' .. KEYS[1])
return 2
`)
