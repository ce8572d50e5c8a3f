--[[
  Starts a run: PENDING (or RUNNING, when BullMQ re-delivers the job of a killed worker) → RUNNING,
  only if no cancel was requested and the run is not terminal. One script, so a cancel landing
  between a worker's pick-up and the start is never lost: either it is seen here, or it comes after
  the start and aborts the running job.

  KEYS[1]  run hash (keys.run(runId))
  KEYS[2]  the tenant's dispatch backlog zset: a run a worker picked up leaves it, whatever happens next
  KEYS[3]  the tenant's running zset (run id -> lease deadline ms)
  ARGV[1]  the terminal statuses, comma-separated (TERMINAL_STATUSES, src/shared/run-status.ts)
  ARGV[2]  started_at (ISO time)
  ARGV[3]  worker instance
  ARGV[4]  run id
  ARGV[5]  started_at, ms since epoch

  A started run's lease deadline becomes started_at + the record's `lease_ms` (template timeout + margin,
  written at admission): orphan cleanup takes runs stuck past it, and a run that waited for a worker is not
  stuck. XX: a slot already released is never taken again. A record without `lease_ms` keeps its deadline.

  Returns {code, status before}: {1, status} started now; {-10, status} a cancel was requested (not
  started); {-8, status} already terminal; {-9, ''} no such run. Codes: src/redis/scripts/errors.ts.
]]
redis.call('ZREM', KEYS[2], ARGV[4])
local found = redis.call('HMGET', KEYS[1], 'status', 'cancel_requested', 'lease_ms')
local current = found[1]
if current == false then return {-9, ''} end
if string.find(',' .. ARGV[1] .. ',', ',' .. current .. ',', 1, true) then return {-8, current} end
if found[2] == '1' then return {-10, current} end
redis.call('HSET', KEYS[1], 'status', 'RUNNING', 'started_at', ARGV[2], 'worker_instance', ARGV[3])
local leaseMs = tonumber(found[3] or '')
if leaseMs and leaseMs > 0 then redis.call('ZADD', KEYS[3], 'XX', tonumber(ARGV[5]) + leaseMs, ARGV[4]) end
return {1, current}
