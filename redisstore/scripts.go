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
// family's hash tag, so they live in one Cluster slot (one Ring shard).
// ARGV: the use's time (unix ms, the caller's clock) and the reuse interval
// (ms), the token's TTL (ms), the family's end (unix ms) and TTL (ms), the
// channel. The used key holds "first:" and the time of the first use.
//
//   - family revoked: nothing changes; returns 3 (RotationRevoked).
//   - token unused: marks it used, recording the time; returns 1
//     (RotationOK).
//   - token used less than the interval away from its first use (before or
//     after it): nothing changes; returns 4 (RotationReplayed).
//   - token used otherwise: revokes the family as revokeScript does;
//     returns 2 (RotationReused). A used key without a time (written by an
//     older version, which stored its end there) counts as used otherwise.
var rotateScript = redis.NewScript(`
if redis.call('EXISTS', KEYS[1]) == 1 then
  return 3
end
local used = redis.call('GET', KEYS[2])
if not used then
  redis.call('SET', KEYS[2], 'first:' .. ARGV[1], 'PX', ARGV[3])
  return 1
end
local first = tonumber(string.match(used, '^first:(%-?%d+)$'))
if first and math.abs(tonumber(ARGV[1]) - first) < tonumber(ARGV[2]) then
  return 4
end
redis.call('SET', KEYS[1], ARGV[4], 'PX', ARGV[5])
redis.call('PUBLISH', ARGV[6], ARGV[4] .. ' ' .. KEYS[1])
return 2
`)
