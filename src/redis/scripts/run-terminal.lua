--[[
  Moves a run's live hash to a terminal status exactly once (first writer wins), so a run finished by
  its worker, cancelled by a user and failed by orphan cleanup at the same time is counted once.

  KEYS[1]  run hash (keys.run(runId))
  ARGV[1]  TTL in seconds for the hash once terminal
  ARGV[2]  the terminal statuses, comma-separated (TERMINAL_STATUSES, src/shared/run-status.ts)
  ARGV[3…] field, value pairs to write (status, ended_at, …)

  Returns {status before, fingerprint}: the status is 'PENDING' or 'RUNNING' when this call made it
  terminal, the terminal status when it already was terminal, or 'MISSING' when the hash does not
  exist; the fingerprint ('' when none) spares the winner a read of the hash to release its slot.
]]
local found = redis.call('HMGET', KEYS[1], 'status', 'fingerprint')
local current = found[1]
if current == false then return {'MISSING', ''} end
local fingerprint = found[2] or ''
if string.find(',' .. ARGV[2] .. ',', ',' .. current .. ',', 1, true) then return {current, fingerprint} end
redis.call('HSET', KEYS[1], unpack(ARGV, 3))
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[1]))
return {current, fingerprint}
