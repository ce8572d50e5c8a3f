--[[
  fanout-run-ended: records how admitted tenants' runs ended in their fan-out, so reading the fan-out needs neither
  the runs' live records (they leave Redis a day after the end) nor the warehouse. Only into a fan-out that still
  exists: an expired one is not brought back as a hash without TTL.

  KEYS[1] the fan-out's hash

  ARGV[1..] tenant field, final status, tenant field, final status…

  Returns 1 when written, 0 when the fan-out no longer exists.
]]
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], unpack(ARGV))
return 1
