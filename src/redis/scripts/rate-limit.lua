--[[
  rate-limit: counts one request against one or two fixed-window limits at once, with
  rate-limiter-flexible's fixed-window semantics (the window starts with the first request and
  lasts ARGV[1] seconds; a request is refused once the count exceeds the limit, and refused requests
  are counted too). The API checks whether each count is over its limit: the script only counts.

  KEYS[1]  counter of the first limit
  KEYS[2]  counter of the second limit (ignored when ARGV[2] = 1; then pass KEYS[1] again)
           Both of one tenant carry its tag `{t:<tenantId>}`, so one call stays in one cluster slot.

  ARGV[1]  window, seconds
  ARGV[2]  how many of KEYS are counted (1 or 2)

  Returns {count1, ms until window 1 ends[, count2, ms until window 2 ends]}
]]
local window = tonumber(ARGV[1])
local out = {}
for i = 1, tonumber(ARGV[2]) do
  local count = redis.call('INCR', KEYS[i])
  local ttl
  if count == 1 then
    redis.call('EXPIRE', KEYS[i], window)
    ttl = window * 1000
  else
    ttl = redis.call('PTTL', KEYS[i])
    -- A counter without expiry (should never exist) gets one, as rate-limiter-flexible does.
    if ttl < 0 then
      redis.call('EXPIRE', KEYS[i], window)
      ttl = window * 1000
    end
  end
  out[#out + 1] = count
  out[#out + 1] = ttl
end
return out
