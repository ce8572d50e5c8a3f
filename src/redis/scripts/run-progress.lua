--[[
  Records a running run's progress (its steps so far), only while the run has not ended: once a cancel, orphan
  cleanup or the run's own end made the hash terminal, a worker still going (hung, or not yet told) must not
  write its steps over the ended ones; a hash that is gone (expired, purged) is not recreated.

  KEYS[1]  run hash (keys.run(runId))
  ARGV[1]  the terminal statuses, comma-separated (TERMINAL_STATUSES, src/shared/run-status.ts)
  ARGV[2]  steps done
  ARGV[3]  steps total
  ARGV[4]  the steps, JSON

  Returns 1 when written, 0 when the hash is missing or terminal.
]]
local current = redis.call('HGET', KEYS[1], 'status')
if current == false then return 0 end
if string.find(',' .. ARGV[1] .. ',', ',' .. current .. ',', 1, true) then return 0 end
redis.call('HSET', KEYS[1], 'steps_done', ARGV[2], 'steps_total', ARGV[3], 'steps', ARGV[4])
return 1
