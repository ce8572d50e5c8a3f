--[[
  backfill-create: writes a new ACTIVE backfill unless an ACTIVE one holds the same request, or the tenant already
  holds as many ACTIVE backfills as its plan allows. The request key exists exactly while its backfill is ACTIVE
  (the backfill's end removes it in the same MULTI that ends it), and the tenant's set holds exactly its ACTIVE
  backfills, so "is one active?", "is there room?" and "claim it" are one step here.

  KEYS[1] request key (string: id of the ACTIVE backfill with this request hash)
  KEYS[2] the new backfill's hash
  KEYS[3] the tenant's set of ACTIVE backfill ids

  ARGV[1] the new backfill's id
  ARGV[2] the plan's backfill_max_active
  ARGV[3..] the new backfill's hash fields, as field, value, field, value…

  Returns the id of the backfill that holds the request: ARGV[1] when it was created now, another one's otherwise
  (the same request is answered with its backfill even at the limit); -14 when the tenant is at its limit.
]]
local holder = redis.call('GET', KEYS[1])
if holder then return holder end
if redis.call('SCARD', KEYS[3]) >= tonumber(ARGV[2]) then return -14 end
redis.call('SET', KEYS[1], ARGV[1])
redis.call('HSET', KEYS[2], unpack(ARGV, 3))
redis.call('SADD', KEYS[3], ARGV[1])
return ARGV[1]
