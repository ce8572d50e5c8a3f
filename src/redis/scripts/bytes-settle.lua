--[[
  bytes-settle: ends a reservation of bytes-reserve.lua with what the job billed (0 releases it: the job was
  cancelled or failed before it billed). Idempotent: a reservation settles once; a second call changes nothing.

  KEYS[1] daily bytes hash of the reservation's day (fields `billed`, `reserved`)
  KEYS[2] reservations hash (reservation id -> "<day>|<granted>")
  KEYS[3] reservation leases zset

  ARGV[1] reservation id
  ARGV[2] bytes billed (≥ 0)
  ARGV[3] ttl of the daily hash, seconds

  Returns the day's billed bytes after settling, or -13 when the reservation is unknown (settled already,
  or released when its lease passed): nothing changed.
]]
local function int(n) return string.format('%d', n) end

local entry = redis.call('HGET', KEYS[2], ARGV[1])
if not entry then return -13 end
local amount = tonumber(string.match(entry, '|(%d+)$'))
redis.call('HDEL', KEYS[2], ARGV[1])
redis.call('ZREM', KEYS[3], ARGV[1])
redis.call('HINCRBY', KEYS[1], 'reserved', int(-amount))
local billed = redis.call('HINCRBY', KEYS[1], 'billed', int(tonumber(ARGV[2])))
redis.call('EXPIRE', KEYS[1], ARGV[3])
return billed
