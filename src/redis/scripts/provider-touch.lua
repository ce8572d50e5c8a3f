--[[
  provider-touch: records that the tenant uses a provider; refuses a NEW one beyond the plan's limit.

  KEYS[1] providers set
  KEYS[2] profile hash (field `provider_limit`)

  ARGV[1] provider (lower case)

  Returns 1 known provider, 2 new provider added,
          -1 profile hash missing, -7 provider limit reached (nothing recorded).
]]
if redis.call('SISMEMBER', KEYS[1], ARGV[1]) == 1 then return 1 end
local limit = redis.call('HGET', KEYS[2], 'provider_limit')
if not limit then return -1 end
if redis.call('SCARD', KEYS[1]) >= (tonumber(limit) or 0) then return -7 end
redis.call('SADD', KEYS[1], ARGV[1])
return 2
