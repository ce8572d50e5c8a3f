--[[
  Writes a terminal run's steps again, with figures known only after it ended (what a cancelled BigQuery
  job billed). Only a terminal hash is written: the run's own end (run-terminal.lua) writes the steps it
  knew then and must not overwrite these, so the caller calls this after the run ended; a hash that is
  gone (expired, purged) is not recreated.

  KEYS[1]  run hash (keys.run(runId))
  ARGV[1]  the terminal statuses, comma-separated (TERMINAL_STATUSES, src/shared/run-status.ts)
  ARGV[2]  the steps, JSON

  Returns 1 when written, 0 when the hash is missing or not terminal.
]]
local current = redis.call('HGET', KEYS[1], 'status')
if current == false then return 0 end
if not string.find(',' .. ARGV[1] .. ',', ',' .. current .. ',', 1, true) then return 0 end
redis.call('HSET', KEYS[1], 'steps', ARGV[2])
return 1
