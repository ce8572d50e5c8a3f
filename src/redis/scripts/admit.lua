--[[
  admit: one atomic admission decision for one run of one tenant, with the trigger's seat checks
  before it and the run's PENDING record written with it: admitted => the record exists; refused,
  existing or already admitted => no record is written.

  Every key is tagged `{t:<tenantId>}`, so the script runs on Redis Cluster. The global
  "usage dirty" set is deliberately NOT touched here (it lives in another slot): the caller adds
  the tenant to it right after an admission. Losing that SADD (process dies in between) only delays
  the warehouse usage row until the next change or the day close, never the counting itself.

  Order of checks (the trigger path's order): team seat (team-touch.lua's rule), provider seat
  (provider-touch.lua's rule), idempotency key, in-flight fingerprint, run id counted before,
  profile, status, daily, monthly, concurrent. A seat recorded by the first two stays recorded when a
  later check refuses, as it did when they were scripts of their own.

  KEYS[1]  profile hash          (status, daily_limit, monthly_limit, concurrent_limit, team_limit, provider_limit)
  KEYS[2]  daily usage hash      (today; field `run`)
  KEYS[3]  monthly usage counter (this month)
  KEYS[4]  running zset          (run id -> lease deadline ms)
  KEYS[5]  admitted set, today   (run ids counted today)
  KEYS[6]  admitted set, yesterday (a retry of the same run id across midnight is not counted twice)
  KEYS[7]  in-flight key of the fingerprint (ignored when ARGV[3] = 0)
  KEYS[8]  idempotency key                  (ignored when ARGV[4] = 0)
  KEYS[9]  run hash                         (written when admitted and ARGV[13] > 0)
  KEYS[10] tenant's recent runs zset        (run id -> created ms; same condition)
  KEYS[11] team zset                        (user id -> last seen ms; ignored when ARGV[9] = '')
  KEYS[12] providers set                    (ignored when ARGV[12] = '')
  KEYS[13] dispatch backlog zset            (queued run id -> dispatch priority; README "Fair dispatch")

  ARGV[1]  run id
  ARGV[2]  lease deadline, ms since epoch
  ARGV[3]  in-flight key ttl, seconds (0 = no fingerprint)
  ARGV[4]  idempotency key ttl, seconds (0 = no idempotency key)
  ARGV[5]  daily usage ttl, seconds
  ARGV[6]  monthly usage ttl, seconds
  ARGV[7]  admitted set ttl, seconds
  ARGV[8]  now, ms since epoch
  ARGV[9]  user id taking a team seat ('' = none)
  ARGV[10] team window, ms
  ARGV[11] team zset ttl, seconds
  ARGV[12] provider taking a provider seat, lower case ('' = none)
  ARGV[13] recent runs the tenant's index keeps (0 = write no run record)
  ARGV[14] run created, ms since epoch (score in the recent runs zset)
  ARGV[15..] field, value pairs of the PENDING run hash

  Returns {code, runId} ({1, runId, priority} when admitted):
     1  admitted (counted, added to running, run record written); priority = the run's dispatch
        priority: max(its position in the tenant's backlog of admitted, not yet started runs, the
        highest priority still queued in that backlog), so runs of one tenant keep their order
     2  existing: the idempotency key already names a run (runId = that run)
     3  existing: an identical run (same fingerprint) is still running (runId = that run); the idempotency
        key, when given, is set to that run
     4  already admitted: this run id was counted before; nothing changes
    -1  profile hash missing (the caller reloads it and retries)
    -2  tenant suspended
    -3  daily quota used up
    -4  monthly quota used up
    -5  concurrent limit reached
    -6  team limit reached (a new user beyond the plan; nothing recorded)
    -7  provider limit reached (a new provider beyond the plan; the team seat stays recorded)
]]
local runId = ARGV[1]
local useFingerprint = tonumber(ARGV[3]) > 0
local useIdempotency = tonumber(ARGV[4]) > 0

local userId = ARGV[9]
if userId ~= '' then
  local now = tonumber(ARGV[8])
  redis.call('ZREMRANGEBYSCORE', KEYS[11], '-inf', '(' .. (now - tonumber(ARGV[10])))
  if not redis.call('ZSCORE', KEYS[11], userId) then
    local limit = redis.call('HGET', KEYS[1], 'team_limit')
    if not limit then return {-1, ''} end
    if redis.call('ZCARD', KEYS[11]) >= (tonumber(limit) or 0) then return {-6, ''} end
  end
  redis.call('ZADD', KEYS[11], now, userId)
  redis.call('EXPIRE', KEYS[11], ARGV[11])
end

local provider = ARGV[12]
if provider ~= '' and redis.call('SISMEMBER', KEYS[12], provider) == 0 then
  local limit = redis.call('HGET', KEYS[1], 'provider_limit')
  if not limit then return {-1, ''} end
  if redis.call('SCARD', KEYS[12]) >= (tonumber(limit) or 0) then return {-7, ''} end
  redis.call('SADD', KEYS[12], provider)
end

if useIdempotency then
  local existing = redis.call('GET', KEYS[8])
  if existing then return {2, existing} end
end

if useFingerprint then
  local inflight = redis.call('GET', KEYS[7])
  if inflight and redis.call('ZSCORE', KEYS[4], inflight) then
    -- The key now names the run it was answered with: a replay after that run ended gets the same answer.
    if useIdempotency then redis.call('SET', KEYS[8], inflight, 'EX', ARGV[4]) end
    return {3, inflight}
  end
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
local keepRecent = tonumber(ARGV[13])
if keepRecent > 0 then
  redis.call('HSET', KEYS[9], unpack(ARGV, 15, #ARGV))
  redis.call('ZADD', KEYS[10], ARGV[14], runId)
  redis.call('ZREMRANGEBYRANK', KEYS[10], 0, -(keepRecent + 1))
end
-- Fair dispatch: release.lua and refund.lua take a run out of the backlog as they take it out of the running
-- set, run-start.lua when a worker picks it up. O(log n): the front entry is checked against the running set
-- (an entry some older process left behind is dropped once it reaches the front), the rest is counted. An
-- emptied backlog is deleted by Redis, so the key needs no TTL.
local front = redis.call('ZRANGE', KEYS[13], 0, 0)[1]
if front and not redis.call('ZSCORE', KEYS[4], front) then redis.call('ZREM', KEYS[13], front) end
local last = redis.call('ZRANGE', KEYS[13], -1, -1, 'WITHSCORES')
local priority = math.max(redis.call('ZCARD', KEYS[13]) + 1, tonumber(last[2] or '1'))
redis.call('ZADD', KEYS[13], priority, runId)
return {1, runId, priority}
