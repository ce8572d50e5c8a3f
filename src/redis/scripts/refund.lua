--[[
  refund: undo an admission whose enqueue failed, as if the trigger never happened.

  Counted at most once: the run's membership in the admitted set of its admission day is the
  proof it was counted; SREM consumes that proof. Counters are only decremented while positive,
  so nothing goes negative even if a day key expired in between.

  KEYS[1] running zset
  KEYS[2] daily usage hash of the admission day (field `run`)
  KEYS[3] monthly usage counter of the admission month
  KEYS[4] admitted set of the admission day
  KEYS[5] in-flight key of the run's fingerprint (ignored when ARGV[2] = 0)
  KEYS[6] idempotency key                       (ignored when ARGV[3] = 0)
  KEYS[7] the tenant's dispatch backlog zset (fair dispatch: a refunded run was never queued)

  ARGV[1] run id
  ARGV[2] 1 when KEYS[5] is a real fingerprint key, else 0
  ARGV[3] 1 when KEYS[6] is a real idempotency key, else 0

  Returns 1 when the admission was refunded now, 0 when there was nothing (left) to refund.
]]
local runId = ARGV[1]
redis.call('ZREM', KEYS[1], runId)
redis.call('ZREM', KEYS[7], runId)
if ARGV[2] == '1' and redis.call('GET', KEYS[5]) == runId then redis.call('DEL', KEYS[5]) end
if ARGV[3] == '1' and redis.call('GET', KEYS[6]) == runId then redis.call('DEL', KEYS[6]) end

if redis.call('SREM', KEYS[4], runId) == 0 then return 0 end

if tonumber(redis.call('HGET', KEYS[2], 'run') or '0') > 0 then redis.call('HINCRBY', KEYS[2], 'run', -1) end
if tonumber(redis.call('GET', KEYS[3]) or '0') > 0 then redis.call('DECR', KEYS[3]) end
return 1
