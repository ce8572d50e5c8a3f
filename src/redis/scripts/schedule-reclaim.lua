--[[
  schedule-reclaim: takes over fires whose lease expired (the tick that claimed them died before
  settling them). A fire is re-leased only while its lease is still the one the caller read, so
  concurrent ticks take over each abandoned fire once. Re-running it is safe: the run id is
  derived from (config, fire time) and the trigger returns the existing run.

  KEYS[1] in-flight zset: "<tenant id>:<config id>|<fire ms>" → lease deadline (ms)

  ARGV[1] new lease deadline (ms)
  ARGV[2..] pairs: member, expected lease deadline (ms)

  Returns one integer per pair: 1 re-leased by this caller, 0 not.
]]
local out = {}
for i = 2, #ARGV, 2 do
  local member, expected = ARGV[i], ARGV[i + 1]
  local score = redis.call('ZSCORE', KEYS[1], member)
  if score and tonumber(score) == tonumber(expected) then
    redis.call('ZADD', KEYS[1], ARGV[1], member)
    out[#out + 1] = 1
  else
    out[#out + 1] = 0
  end
end
return out
