--[[
  schedule-settle: records the outcome of a fire on its config hash, but only while the config
  still exists (a config deleted during the tick must not be resurrected as a partial hash).

  KEYS[1] schedule config hash

  ARGV[1..] field, value pairs (last_run_time, last_run_status, last_run_id, next_run_time)

  Returns 1 when written, 0 when the config no longer exists.
]]
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], unpack(ARGV))
return 1
