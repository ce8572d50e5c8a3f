--[[
  admit: one atomic admission decision for one run of one tenant.

  Every key is tagged `{t:<tenantId>}`, so the script runs on Redis Cluster. The global
  "usage dirty" set is deliberately NOT touched here (it lives in another slot): the caller adds
  the tenant to it right after an admission. Losing that SADD (process dies in between) only delays
  the warehouse usage row until the next change or the day close, never the counting itself.

  KEYS[1] profile hash          (status, daily_limit, monthly_limit, concurrent_limit, ...)
  KEYS[2] daily usage hash      (today; field `run`)
  KEYS[3] monthly usage counter (this month)
  KEYS[4] running zset          (run id -> lease deadline ms)
  KEYS[5] admitted set, today   (run ids counted today)
  KEYS[6] admitted set, yesterday (a retry of the same run id across midnight is not counted twice)
  KEYS[7] in-flight key of the fingerprint (ignored when ARGV[3] = 0)
  KEYS[8] idempotency key                  (ignored when ARGV[4] = 0)

  ARGV[1] run id
  ARGV[2] lease deadline, ms since epoch
  ARGV[3] in-flight key ttl, seconds (0 = no fingerprint)
  ARGV[4] idempotency key ttl, seconds (0 = no idempotency key)
  ARGV[5] daily usage ttl, seconds
  ARGV[6] monthly usage ttl, seconds
  ARGV[7] admitted set ttl, seconds

  Returns {code, runId}:
     1  admitted (counted, added to running)
     2  existing: the idempotency key already names a run (runId = that run)
     3  existing: an identical run (same fingerprint) is still running (runId = that run)
     4  already admitted: this run id was counted before; nothing changes
    -1  profile hash missing (the caller reloads it and retries)
    -2  tenant suspended
    -3  daily quota used up
    -4  monthly quota used up
    -5  concurrent limit reached
]]
local runId = ARGV[1]
local useFingerprint = tonumber(ARGV[3]) > 0
local useIdempotency = tonumber(ARGV[4]) > 0

if useIdempotency then
  local existing = redis.call('GET', KEYS[8])
  if existing then return {2, existing} end
end

if useFingerprint then
  local inflight = redis.call('GET', KEYS[7])
  if inflight and redis.call('ZSCORE', KEYS[4], inflight) then return {3, inflight} end
end

if redis.call('ZSCORE', KEYS[4], runId)
  or redis.call('SISMEMBER', KEYS[5], runId) == 1
  or redis.call('SISMEMBER', KEYS[6], runId) == 1 then
  return {4, runId}
end

local profile = redis.call('HMGET', KEYS[1], 'status', 'daily_limit', 'monthly_limit', 'concurrent_limit')
if not profile[1] then return {-1, ''} end
if profile[1] ~= 'ACTIVE' then return {-2, ''} end

-- A missing or unparsable limit is treated as 0: refusing is the safe side of a broken profile.
local dailyLimit = tonumber(profile[2]) or 0
local monthlyLimit = tonumber(profile[3]) or 0
local concurrentLimit = tonumber(profile[4]) or 0

local today = tonumber(redis.call('HGET', KEYS[2], 'run') or '0')
if today >= dailyLimit then return {-3, ''} end
local month = tonumber(redis.call('GET', KEYS[3]) or '0')
if month >= monthlyLimit then return {-4, ''} end
if redis.call('ZCARD', KEYS[4]) >= concurrentLimit then return {-5, ''} end

redis.call('HINCRBY', KEYS[2], 'run', 1)
redis.call('EXPIRE', KEYS[2], ARGV[5])
redis.call('INCR', KEYS[3])
redis.call('EXPIRE', KEYS[3], ARGV[6])
redis.call('ZADD', KEYS[4], ARGV[2], runId)
redis.call('SADD', KEYS[5], runId)
redis.call('EXPIRE', KEYS[5], ARGV[7])
if useFingerprint then redis.call('SET', KEYS[7], runId, 'EX', ARGV[3]) end
if useIdempotency then redis.call('SET', KEYS[8], runId, 'EX', ARGV[4]) end
return {1, runId}
