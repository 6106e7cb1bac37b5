/**
 * Lua for the shared sliding-log limiter (see limiter.ts). Each limiter key has
 * a log (a sorted set of grant ids scored by grant time in ms) and a penalty
 * (the Redis-clock ms until which it stays closed). Every script reads the
 * time from Redis itself (TIME), so replicas with skewed clocks agree, and runs
 * atomically, so two replicas can never both take the last slot.
 */

/** Milliseconds on the Redis clock, to the microsecond: whole milliseconds would let two grants a window apart be up to 1 ms closer. */
const NOW = `local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000`;

/**
 * KEYS: per limiter key i, KEYS[2i-1] = its log, KEYS[2i] = its penalty.
 * ARGV[1] = grant id; ARGV[2i], ARGV[2i+1] = limit and window (ms) of key i.
 * Takes a slot in every key or in none. Returns {0} when granted, otherwise
 * {waitMs, i, ...}: how long until all of them could be free, and which keys are not.
 */
export const ACQUIRE_LUA = `${NOW}
local n = #KEYS / 2
local wait = 0
local blocked = {}
for i = 1, n do
  local log, pen = KEYS[2 * i - 1], KEYS[2 * i]
  local limit, window = tonumber(ARGV[2 * i]), tonumber(ARGV[2 * i + 1])
  redis.call('ZREMRANGEBYSCORE', log, '-inf', now - window)
  local readyAt = tonumber(redis.call('GET', pen) or 0)
  local count = redis.call('ZCARD', log)
  if count >= limit then
    -- the limit-th newest grant must leave the window before another fits
    local e = redis.call('ZRANGE', log, count - limit, count - limit, 'WITHSCORES')
    readyAt = math.max(readyAt, tonumber(e[2]) + window)
  end
  if readyAt > now then
    wait = math.max(wait, readyAt - now)
    blocked[#blocked + 1] = i
  end
end
if wait > 0 then
  -- Lua numbers become integer replies by truncation: round up, never down
  table.insert(blocked, 1, math.ceil(wait))
  return blocked
end
for i = 1, n do
  redis.call('ZADD', KEYS[2 * i - 1], now, ARGV[1])
  redis.call('PEXPIRE', KEYS[2 * i - 1], tonumber(ARGV[2 * i + 1]) + 1000)
end
return {0}`;

/**
 * KEYS: the grant's logs. ARGV[1] = grant id, ARGV[1+i] = window of key i,
 * ARGV[#KEYS+2] = the release credit in ms (memory-limiter.ts).
 * Moves the grant to now less the credit (re-adding it if it already left the
 * window); GT never moves it back in time.
 */
export const RELEASE_LUA = `${NOW}
local at = now - tonumber(ARGV[#KEYS + 2])
for i = 1, #KEYS do
  redis.call('ZADD', KEYS[i], 'GT', at, ARGV[1])
  redis.call('PEXPIRE', KEYS[i], tonumber(ARGV[i + 1]) + 1000)
end
return 0`;

/** KEYS[1] = penalty. ARGV[1] = ms from now. Extends the penalty, never shortens it. */
export const PENALIZE_LUA = `${NOW}
local ms = tonumber(ARGV[1])
local current = tonumber(redis.call('GET', KEYS[1]) or 0)
if now + ms > current then
  redis.call('SET', KEYS[1], string.format('%.3f', now + ms), 'PX', ms)
end
return 0`;
