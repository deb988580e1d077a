/**
 * Lua run inside Redis; each touches only KEYS[1], so it is valid on a Redis Cluster, except SET_MANY, TOUCH_MANY and
 * GET_OR_CREATE, whose keys are all of one OU (one hash tag: one slot).
 */
import { DETAILS_VERSION_FIELD } from './cache-driver';

/** Deletes the lock only when its value is the caller's token, so a late holder never frees someone else's lock. */
export const UNLOCK_SCRIPT = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`;

/** Sets the lock's expiry to ARGV[2] ms only when its value is the caller's token (ARGV[1]): a holder keeps only its own lock. */
export const EXTEND_LOCK_SCRIPT = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0`;

/**
 * ARGV: ttlMs, a new version token, then id/value pairs. Values starting with 'T' (typed) always win; untyped never
 * replace typed. The hash's DETAILS_VERSION_FIELD takes the token when a value changed or it has none: equal versions
 * mean the same details, without reading them.
 */
export const MERGE_DETAILS_SCRIPT = `
local changed = false
for i = 3, #ARGV, 2 do
  local v = ARGV[i + 1]
  local cur = redis.call('HGET', KEYS[1], ARGV[i])
  if cur ~= v and (string.byte(v, 1) == 84 or (not cur) or string.byte(cur, 1) ~= 84) then
    redis.call('HSET', KEYS[1], ARGV[i], v)
    changed = true
  end
end
if changed or redis.call('HEXISTS', KEYS[1], '${DETAILS_VERSION_FIELD}') == 0 then redis.call('HSET', KEYS[1], '${DETAILS_VERSION_FIELD}', ARGV[2]) end
redis.call('PEXPIRE', KEYS[1], ARGV[1])
return 1`;

/** KEYS: any keys of one slot; ARGV: ttlMs, then one candidate per key. Answers each key's value, set to its candidate when absent. */
export const GET_OR_CREATE_SCRIPT = `
local out = {}
for i = 1, #KEYS do
  local v = redis.call('GET', KEYS[i])
  if not v then
    v = ARGV[i + 1]
    redis.call('SET', KEYS[i], v, 'PX', ARGV[1])
  end
  out[i] = v
end
return out`;

/**
 * ARGV: ttlMs, epoch candidate, ids. Answers {epoch, index…}: each id keeps the index it was first given
 * (fields i:<id> and x:<base36 index>), so every instance decodes the same entry the same way.
 */
export const ASSIGN_INDEXES_SCRIPT = `
local epoch = redis.call('HGET', KEYS[1], '@e')
if not epoch then
  epoch = ARGV[2]
  redis.call('HSET', KEYS[1], '@e', epoch)
end
local out = {epoch}
for i = 3, #ARGV do
  local f = 'i:' .. ARGV[i]
  local idx = redis.call('HGET', KEYS[1], f)
  if not idx then
    local n = redis.call('HINCRBY', KEYS[1], '@n', 1)
    idx = tostring(n)
    local b36 = ''
    local digits = '0123456789abcdefghijklmnopqrstuvwxyz'
    repeat
      local d = n % 36
      b36 = string.sub(digits, d + 1, d + 1) .. b36
      n = math.floor(n / 36)
    until n == 0
    redis.call('HSET', KEYS[1], f, idx, 'x:' .. b36, ARGV[i])
  end
  out[#out + 1] = idx
end
redis.call('PEXPIRE', KEYS[1], ARGV[1])
return out`;

/** SET KEYS[i] ARGV[2i-1] PX ARGV[2i] for every key: a thousand entries in one command instead of a thousand. */
export const SET_MANY_SCRIPT = `
for i = 1, #KEYS do
  redis.call('SET', KEYS[i], ARGV[2 * i - 1], 'PX', ARGV[2 * i])
end
return #KEYS`;

/** PEXPIRE KEYS[i] ARGV[1] for every key that exists: an OU's and its users' generations renewed in one command. */
export const TOUCH_MANY_SCRIPT = `
for i = 1, #KEYS do
  redis.call('PEXPIRE', KEYS[i], ARGV[1])
end
return #KEYS`;
