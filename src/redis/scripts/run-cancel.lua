--[[
  Requests the cancellation of a run that is not terminal yet. The worker sees the flag when it starts
  the run (run-start.lua); a running run is aborted through the cancel channel after this call.

  KEYS[1]  run hash (keys.run(runId))
  ARGV[1]  the terminal statuses, comma-separated (TERMINAL_STATUSES, src/shared/run-status.ts)

  Returns {code, status found}: {1, status} requested now (status PENDING or RUNNING); {-8, status}
  already terminal (nothing written); {-9, ''} no such run. Codes: src/redis/scripts/errors.ts.
]]
local current = redis.call('HGET', KEYS[1], 'status')
if current == false then return {-9, ''} end
if string.find(',' .. ARGV[1] .. ',', ',' .. current .. ',', 1, true) then return {-8, current} end
redis.call('HSET', KEYS[1], 'cancel_requested', '1')
return {1, current}
