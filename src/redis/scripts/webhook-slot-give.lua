--[[
  webhook-slot-give: gives back the slot webhook-slot-take.lua handed to a job, and takes the tenant's oldest parked
  deliveries out of the parked set so the caller can wake them (they take a slot, or park again, in their turn).
  Creates no key: after an offboarding dropped the sets, it changes nothing.

  KEYS[1] the endpoint's in-flight zset   KEYS[2] the tenant's in-flight zset   KEYS[3] the tenant's parked zset
  (all under the tenant's hash tag)

  ARGV[1] job id
  ARGV[2] how many parked deliveries to wake at most

  Returns the job ids to wake, oldest first.
]]
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('ZREM', KEYS[2], ARGV[1])
local popped = redis.call('ZPOPMIN', KEYS[3], tonumber(ARGV[2]))
local ids = {}
for i = 1, #popped, 2 do ids[#ids + 1] = popped[i] end
return ids
