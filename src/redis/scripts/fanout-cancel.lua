--[[
  fanout-cancel: every tenant of a fan-out still SCHEDULED becomes CANCELLED, in one step, so a tenant whose start
  job admitted its run meanwhile (ADMITTED, with the run id) is never overwritten. A start job that runs later
  finds CANCELLED and does nothing.

  KEYS[1] the fan-out's hash (tenant fields `t:<tenant>` hold JSON: state, start_at, run_id, code)

  ARGV[1] the code recorded on a cancelled tenant

  Returns how many tenants were cancelled now, or -1 when the fan-out does not exist.
]]
if redis.call('EXISTS', KEYS[1]) == 0 then return -1 end
local fields = redis.call('HGETALL', KEYS[1])
local cancelled = 0
for i = 1, #fields, 2 do
  local field = fields[i]
  if string.sub(field, 1, 2) == 't:' then
    local tenant = cjson.decode(fields[i + 1])
    if tenant.state == 'SCHEDULED' then
      tenant.state = 'CANCELLED'
      tenant.code = ARGV[1]
      redis.call('HSET', KEYS[1], field, cjson.encode(tenant))
      cancelled = cancelled + 1
    end
  end
end
return cancelled
