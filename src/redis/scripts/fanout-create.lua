--[[
  fanout-create: writes a fan-out once. Its id is derived from its request (selector, template, parameters,
  window), so two identical requests name the same hash and only the first writes it.

  KEYS[1] the fan-out's hash

  ARGV[1] TTL of the hash (seconds)
  ARGV[2..] its fields, as field, value, field, value…

  Returns 1 when written now, 0 when the fan-out already existed (nothing changed).
]]
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], unpack(ARGV, 2))
redis.call('EXPIRE', KEYS[1], ARGV[1])
return 1
