--[[
  release: a run left the running set (completed, failed, cancelled, or failed by orphan cleanup).

  Idempotent by construction: the run's outcome is counted only when ZREM actually removed it, so
  a second release (worker retry, orphan cleanup racing the worker) changes nothing. Outcomes are
  counted on the day the run ended (the usage row's "succeeded/failed today").

  KEYS[1] running zset
  KEYS[2] daily usage hash of the day the run ended (fields `succeeded`, `failed`, `cancelled`)
  KEYS[3] in-flight key of the run's fingerprint (ignored when ARGV[3] = 0)
  KEYS[4] the tenant's dispatch backlog zset (fair dispatch: a released run is not queued any more)

  ARGV[1] run id
  ARGV[2] status: COMPLETED | FAILED | CANCELLED
  ARGV[3] 1 when KEYS[3] is a real fingerprint key, else 0
  ARGV[4] daily usage ttl, seconds

  Returns 1 when the run was running (and its outcome was counted now), 0 when it was not.
]]
local runId = ARGV[1]
local removed = redis.call('ZREM', KEYS[1], runId)
redis.call('ZREM', KEYS[4], runId)

-- The in-flight pointer is cleared even on a repeat release, but only while it still names this run.
if ARGV[3] == '1' and redis.call('GET', KEYS[3]) == runId then redis.call('DEL', KEYS[3]) end

if removed == 0 then return 0 end

local field = 'cancelled'
if ARGV[2] == 'COMPLETED' then field = 'succeeded' elseif ARGV[2] == 'FAILED' then field = 'failed' end
redis.call('HINCRBY', KEYS[2], field, 1)
redis.call('EXPIRE', KEYS[2], ARGV[4])
return 1
