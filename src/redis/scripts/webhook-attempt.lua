--[[
  webhook-attempt: logs one finished attempt of a delivery, and counts (or clears) the endpoint's run of failed
  deliveries, only while the endpoint still exists. An attempt lasts up to WEBHOOK_TIMEOUT_MS: the endpoint may have
  been deleted, or its tenant offboarded, meanwhile, and neither may find an attempt log or counter written again
  after its keys were dropped (webhook-store.ts remove, tenant-webhooks.ts deleteTenantWebhookState).

  KEYS[1] the tenant's endpoints hash   KEYS[2] the endpoint's attempts list   KEYS[3] the endpoint's failure counter
  (all under the tenant's hash tag)

  ARGV[1] webhook id
  ARGV[2] the attempt, JSON
  ARGV[3] attempts kept in the list
  ARGV[4] `fail`: a delivery's last attempt failed (count it); `ok`: a success (clear the run); else nothing
  ARGV[5] TTL of the list and the counter, seconds (an endpoint without attempts for that long starts afresh)

  Returns -15 (webhookGone) when the endpoint is not in the hash (nothing written), else the failed deliveries
  in a row after this attempt (0 after a success or when nothing is counted).
]]
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 0 then return -15 end
local ttl = tonumber(ARGV[5])
redis.call('LPUSH', KEYS[2], ARGV[2])
redis.call('LTRIM', KEYS[2], 0, tonumber(ARGV[3]) - 1)
redis.call('EXPIRE', KEYS[2], ttl)
if ARGV[4] == 'ok' then
  redis.call('DEL', KEYS[3])
  return 0
end
if ARGV[4] == 'fail' then
  local failures = redis.call('INCR', KEYS[3])
  redis.call('EXPIRE', KEYS[3], ttl)
  return failures
end
return tonumber(redis.call('GET', KEYS[3]) or '0')
