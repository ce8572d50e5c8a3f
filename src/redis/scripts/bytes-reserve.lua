--[[
  bytes-reserve: grants a BigQuery query job part of the tenant's daily bytes budget before it runs.

  The grant is what the job may bill (its maximumBytesBilled), so the sum of grants and settled bytes never
  exceeds the budget however many jobs of the tenant reserve at once. Reservations whose lease passed (a
  worker died between reserve and settle, and no re-delivery of its run settled them) are settled first to their
  whole grant: the job that worker may have started ran on without it, and may have billed up to the grant.

  KEYS[1] daily bytes hash of today (fields `billed`, `reserved`)
  KEYS[2] reservations hash (reservation id -> "<day>|<granted>")
  KEYS[3] reservation leases zset (reservation id -> deadline ms)
  KEYS[4] profile hash (fields `max_bytes_billed_per_query`, `daily_bytes_budget`, `plan`)

  ARGV[1] reservation id
  ARGV[2] today (YYYY-MM-DD)
  ARGV[3] need: bytes the job must be able to bill (the dry-run estimate, at least BigQuery's minimum)
  ARGV[4] wanted: need plus headroom, granted when cap and budget leave room
  ARGV[5] now, ms since epoch
  ARGV[6] lease, ms
  ARGV[7] ttl of the daily hash, seconds

  Returns {granted, cap, remaining before the grant, budget, plan}: granted > 0 reserved (or the existing grant of
          this id); plan is the profile's plan name ('' when unset), for the caller's per-plan bytes metric;
          {-1, 0, 0, 0, ''} profile hash missing or without byte limits;
          {-11, cap, remaining, budget, plan} need over the per-query cap; {-12, …} need over the remaining budget.
]]
-- Lua 5.1 prints numbers past 14 digits in exponent form; every number sent back to Redis goes through int().
local function int(n) return string.format('%d', n) end

local limits = redis.call('HMGET', KEYS[4], 'max_bytes_billed_per_query', 'daily_bytes_budget', 'plan')
local cap = tonumber(limits[1])
local budget = tonumber(limits[2])
local plan = limits[3] or ''
if not cap or not budget then return {-1, 0, 0, 0, ''} end

local existing = redis.call('HGET', KEYS[2], ARGV[1])
if existing then
  local granted = tonumber(string.match(existing, '|(%d+)$'))
  return {granted, cap, 0, budget, plan}
end

local now = tonumber(ARGV[5])
local expired = redis.call('ZRANGEBYSCORE', KEYS[3], '-inf', '(' .. int(now))
for _, id in ipairs(expired) do
  local entry = redis.call('HGET', KEYS[2], id)
  if entry then
    local day, amount = string.match(entry, '^(.-)|(%d+)$')
    if day == ARGV[2] then
      redis.call('HINCRBY', KEYS[1], 'reserved', int(-tonumber(amount)))
      redis.call('HINCRBY', KEYS[1], 'billed', amount)
    end
    redis.call('HDEL', KEYS[2], id)
  end
  redis.call('ZREM', KEYS[3], id)
end

local used = redis.call('HMGET', KEYS[1], 'billed', 'reserved')
local billed = tonumber(used[1] or '0')
local reserved = tonumber(used[2] or '0')
local remaining = math.max(0, budget - billed - reserved)
local need = tonumber(ARGV[3])
if need > cap then return {-11, cap, remaining, budget, plan} end
if need > remaining then return {-12, cap, remaining, budget, plan} end

local granted = math.min(tonumber(ARGV[4]), cap, remaining)
redis.call('HINCRBY', KEYS[1], 'reserved', int(granted))
redis.call('EXPIRE', KEYS[1], ARGV[7])
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2] .. '|' .. int(granted))
redis.call('ZADD', KEYS[3], int(now + tonumber(ARGV[6])), ARGV[1])
redis.call('PEXPIRE', KEYS[2], int(tonumber(ARGV[6]) * 2))
redis.call('PEXPIRE', KEYS[3], int(tonumber(ARGV[6]) * 2))
return {granted, cap, remaining, budget, plan}
