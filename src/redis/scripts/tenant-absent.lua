--[[
  tenant-absent: remembers that a tenant an API key claimed does not exist, as a warehouse read just found
  (api-key-service.ts), unless its profile is cached by now: an onboarding that wrote the profile after that read
  must not be hidden. Onboarding and every other profile write delete the mark (writeProfileCache), so in either
  order a new tenant's keys work at once.

  KEYS[1] the tenant's profile hash   KEYS[2] the tenant's absent mark (both under the tenant's hash tag)

  ARGV[1] TTL of the mark, seconds

  Returns 1 when it set the mark, 0 when the profile is there.
]]
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('SET', KEYS[2], '1', 'EX', tonumber(ARGV[1]))
return 1
