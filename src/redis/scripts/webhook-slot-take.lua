--[[
  webhook-slot-take: takes a delivery slot for one attempt, or parks the delivery. Deliveries of every tenant share
  the worker's WEBHOOK_CONCURRENCY; an endpoint that accepts and never answers holds a slot for WEBHOOK_TIMEOUT_MS
  per attempt, so each endpoint and each tenant may hold only a few at once (across every worker process). A slot
  is a member of both in-flight sets with the end of its lease as score: a holder that died frees it when the
  lease ends. A parked delivery waits in the tenant's parked set, oldest first, until a slot is given back
  (webhook-slot-give.lua) or its own fallback delay ends.

  KEYS[1] the endpoint's in-flight zset   KEYS[2] the tenant's in-flight zset   KEYS[3] the tenant's parked zset
  (all under the tenant's hash tag)

  ARGV[1] job id
  ARGV[2] now, ms
  ARGV[3] lease, ms (also the TTL of the sets)
  ARGV[4] slots per endpoint
  ARGV[5] slots per tenant
  ARGV[6] the job's creation time, ms (its place among parked deliveries)

  Returns 1 when the slot is taken (or this job held it already: a stalled job run again), 0 when parked.
]]
local jobId = ARGV[1]
local now = tonumber(ARGV[2])
local lease = tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
local held = redis.call('ZSCORE', KEYS[1], jobId)
if held or (redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[4]) and redis.call('ZCARD', KEYS[2]) < tonumber(ARGV[5])) then
  redis.call('ZADD', KEYS[1], now + lease, jobId)
  redis.call('ZADD', KEYS[2], now + lease, jobId)
  redis.call('PEXPIRE', KEYS[1], lease)
  redis.call('PEXPIRE', KEYS[2], lease)
  redis.call('ZREM', KEYS[3], jobId)
  return 1
end
redis.call('ZADD', KEYS[3], tonumber(ARGV[6]), jobId)
redis.call('PEXPIRE', KEYS[3], 2 * lease)
return 0
