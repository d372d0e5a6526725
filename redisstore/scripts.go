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

// revokeSubjectScript is Store.RevokeSubject: KEYS[1] is the subject's
// revocation key, whose value is "<end> <valid-after>" (unix ms). ARGV: the
// valid-after time and the end (unix ms), now (unix ms, the caller's
// clock), the channel. It keeps the later of each time, sets the key to
// expire at the end, and announces "<end> <key> <valid-after>". Numbers
// are written with %.0f: Lua's own conversion would write 1.7e+12.
//
// Returns 1 when it changed the revocation, 0 when it kept it.
var revokeSubjectScript = redis.NewScript(`
local after, ends = tonumber(ARGV[1]), tonumber(ARGV[2])
local old = redis.call('GET', KEYS[1])
if old then
  local oe, oa = string.match(old, '^(%-?%d+) (%-?%d+)$')
  if oe then
    oe, oa = tonumber(oe), tonumber(oa)
    if oe >= ends and oa >= after then
      return 0
    end
    ends, after = math.max(ends, oe), math.max(after, oa)
  end
end
local e, a = string.format('%.0f', ends), string.format('%.0f', after)
redis.call('SET', KEYS[1], e .. ' ' .. a, 'PX', string.format('%.0f', math.max(ends - tonumber(ARGV[3]), 1)))
redis.call('PUBLISH', ARGV[4], e .. ' ' .. KEYS[1] .. ' ' .. a)
return 1
`)

// startSessionScript is Store.StartSession: it sets field ARGV[1] (the
// session's id) of the hash KEYS[1] (the subject's sessions) to ARGV[2]
// ("<until> <created> <last used> <expires> <metadata>", unix ms), drops the
// fields whose until is not after now (ARGV[3], unix ms, the caller's
// clock), and sets the hash to expire with its last field, so that a
// subject's sessions leave Redis as they end, and all of them with the
// last.
var startSessionScript = redis.NewScript(`
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
local now = tonumber(ARGV[3])
local latest = now
local all = redis.call('HGETALL', KEYS[1])
for i = 1, #all, 2 do
  local u = tonumber(string.match(all[i + 1], '^(%-?%d+) '))
  if not u or u <= now then
    redis.call('HDEL', KEYS[1], all[i])
  elseif u > latest then
    latest = u
  end
end
if latest > now then
  redis.call('PEXPIRE', KEYS[1], string.format('%.0f', latest - now))
end
return 1
`)

// touchSessionScript is Store.TouchSession: when field ARGV[1] of KEYS[1]
// is held and not over at now (ARGV[5]), it sets its until (the later of
// the held one and ARGV[2]), last used (ARGV[3]) and expires (ARGV[4]),
// keeping its creation and metadata, and extends the hash's expiry to the
// until if it ends sooner. A field not held stays absent; one over is
// dropped.
//
// Returns 1 when it touched a session, 0 otherwise.
var touchSessionScript = redis.NewScript(`
local v = redis.call('HGET', KEYS[1], ARGV[1])
if not v then
  return 0
end
local u, c, md = string.match(v, '^(%-?%d+) (%-?%d+) %-?%d+ %-?%d+ (.*)$')
local now = tonumber(ARGV[5])
if not u or tonumber(u) <= now then
  redis.call('HDEL', KEYS[1], ARGV[1])
  return 0
end
local ends = ARGV[2]
if tonumber(u) > tonumber(ends) then
  ends = u
end
redis.call('HSET', KEYS[1], ARGV[1], ends .. ' ' .. c .. ' ' .. ARGV[3] .. ' ' .. ARGV[4] .. ' ' .. md)
local ttl = redis.call('PTTL', KEYS[1])
local need = tonumber(ends) - now
if ttl >= 0 and ttl < need then
  redis.call('PEXPIRE', KEYS[1], string.format('%.0f', need))
end
return 1
`)
