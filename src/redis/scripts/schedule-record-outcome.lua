--[[
  schedule-record-outcome: counts a terminal run in the scheduler's daily stats, once per run.

  The worker may report a run twice (re-delivered job, orphan cleanup racing the worker); the run
  id is remembered in the same hash (field "run:<id>") so the second report changes nothing.
  Keeping it in one key keeps the script single-slot on Redis Cluster.

  KEYS[1] daily stats hash (fields completed, failed, cancelled, duration_ms_total, duration_count)

  ARGV[1] run id ('' = do not de-duplicate)
  ARGV[2] counter field: completed | failed | cancelled
  ARGV[3] duration in ms ('' when unknown)
  ARGV[4] ttl of the hash, seconds

  Returns 1 when counted, 0 when this run was already counted.
]]
if ARGV[1] ~= '' and redis.call('HSETNX', KEYS[1], 'run:' .. ARGV[1], 1) == 0 then return 0 end
redis.call('HINCRBY', KEYS[1], ARGV[2], 1)
if ARGV[3] ~= '' then
  redis.call('HINCRBY', KEYS[1], 'duration_ms_total', ARGV[3])
  redis.call('HINCRBY', KEYS[1], 'duration_count', 1)
end
redis.call('EXPIRE', KEYS[1], ARGV[4])
return 1
