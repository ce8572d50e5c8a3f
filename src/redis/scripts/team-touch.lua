--[[
  team-touch: records that a user acted for the tenant; refuses a NEW user beyond the team size.

  Team = distinct user ids seen in the last window (30 days). Entries older than the window are
  trimmed first, so a member who left frees the seat once the window has passed.

  KEYS[1] team zset (user id -> last seen ms)
  KEYS[2] profile hash (field `team_limit`)

  ARGV[1] user id
  ARGV[2] now, ms since epoch
  ARGV[3] window, ms
  ARGV[4] zset ttl, seconds (window plus a margin)

  Returns 1 known member (last seen refreshed), 2 new member added,
          -1 profile hash missing, -6 team limit reached (nothing recorded).
]]
local now = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', '(' .. (now - tonumber(ARGV[3])))

local code = 1
if not redis.call('ZSCORE', KEYS[1], ARGV[1]) then
  local limit = redis.call('HGET', KEYS[2], 'team_limit')
  if not limit then return -1 end
  if redis.call('ZCARD', KEYS[1]) >= (tonumber(limit) or 0) then return -6 end
  code = 2
end
redis.call('ZADD', KEYS[1], now, ARGV[1])
redis.call('EXPIRE', KEYS[1], ARGV[4])
return code
