/**
 * The Lua side of the Redis store: each script touches one record's three keys (entry,
 * lease, lock; see naming.ts), which share a hash tag, so it runs atomically on one
 * Cluster node. Time comes from the server (TIME), so lock expiry does not depend on
 * the clocks of the processes. A lock is a sorted set of lock ids scored by expiry.
 * Whole-model invalidations are generations in one hash (see redis-store.ts), which a
 * script cannot read on a Cluster (another slot): the caller passes them in.
 */
const NOW = `local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)`;

// Drops expired locks; true while another lock holds the record.
const LOCKED = `redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', now)
local locked = redis.call('ZCARD', KEYS[3]) > 0`;

/**
 * ARGV: a fresh lease, lease TTL ms, and the generations the caller knows (model, all).
 * An entry is stored as `<model gen>.<all gen>|<text>`; one put under an older generation
 * than the caller's (an invalidateAll came after it) is deleted here and read as a miss.
 * Returns {2} locked (bypass), {1, entry} hit, {0, lease} miss.
 */
export const GET = `${NOW}
${LOCKED}
if locked then return {2} end
local entry = redis.call('GET', KEYS[1])
if entry then
  local gm, ga = string.match(entry, '^(%d+)%.(%d+)|')
  if gm and tonumber(gm) >= tonumber(ARGV[3]) and tonumber(ga) >= tonumber(ARGV[4]) then return {1, entry} end
  redis.call('DEL', KEYS[1])
end
local lease = redis.call('GET', KEYS[2])
if lease then return {0, lease} end
redis.call('SET', KEYS[2], ARGV[1], 'PX', ARGV[2])
return {0, ARGV[1]}`;

/**
 * KEYS[1]: the generations hash; ARGV[1]: a model's field. Returns {model gen, all gen}.
 * A hash without its `#` mark is new, or was lost with its counts (a Cluster node that
 * restarted, a failover to a lagging replica) while entries on other nodes kept their
 * tags: the `*` generation then starts at the server's time in ms, above any count it
 * can have held, so no entry tagged before passes for current again.
 */
export const GENERATIONS = `if redis.call('HSETNX', KEYS[1], '#', 1) == 1 then
  ${NOW.replace(/\n/g, '\n  ')}
  local all = tonumber(redis.call('HGET', KEYS[1], '*') or '0')
  redis.call('HSET', KEYS[1], '*', string.format('%d', math.max(now, all + 1)))
end
return redis.call('HMGET', KEYS[1], ARGV[1], '*')`;

/**
 * ARGV: lease, entry text, entry TTL ms. Stores only while the lease is the record's
 * current one (lock and invalidate delete it) and no lock holds the record. Returns 1 or 0.
 * CHECK_LEASE is the refill-race guard; the mutation test turns it off (see redis-store.ts).
 */
export function put(checkLease: boolean): string {
  return `${NOW}
${LOCKED}
if locked then return 0 end
${checkLease ? "if redis.call('GET', KEYS[2]) ~= ARGV[1] then return 0 end" : ''}
redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
redis.call('DEL', KEYS[2])
return 1`;
}

/** ARGV: lock id, lock TTL ms. Adds the lock; deletes the entry and voids the lease. */
export const LOCK = `${NOW}
redis.call('ZADD', KEYS[3], now + tonumber(ARGV[2]), ARGV[1])
if redis.call('PTTL', KEYS[3]) < tonumber(ARGV[2]) then redis.call('PEXPIRE', KEYS[3], ARGV[2]) end
redis.call('DEL', KEYS[1], KEYS[2])
return 1`;

/** ARGV: lock id or ''. Deletes the entry, voids the lease, releases the lock. */
export const INVALIDATE = `redis.call('DEL', KEYS[1], KEYS[2])
if ARGV[1] ~= '' then redis.call('ZREM', KEYS[3], ARGV[1]) end
return 1`;

/** ARGV: lock id. Releases the lock only (a rollback changed nothing). */
export const UNLOCK = `redis.call('ZREM', KEYS[3], ARGV[1])
return 1`;
