--[[
  schedule-claim: claims due fires of schedule configs, exactly once per (config, fire time).

  A fire is claimed only while the config's score in the due index still equals the fire time the
  caller read; the claim advances the score to the next fire time and leases the fire in the
  in-flight set. Any number of concurrent ticks (Cloud Scheduler retries, replicas, our repeatable
  job) read the same due entries, and exactly one of them wins each fire: the others see a moved
  score and get 0.

  KEYS[1] due index zset: "<tenant id>:<config id>" → next fire time (ms)
  KEYS[2] in-flight zset: "<tenant id>:<config id>|<fire ms>" → lease deadline (ms); same cluster slot as KEYS[1]

  ARGV[1] lease deadline (ms)
  ARGV[2..] triples: due member, expected fire time (ms), next fire time (ms, or '' to drop the
            config from the index: inactive, deleted, or never fires again)

  Returns one integer per triple: 1 claimed by this caller, 0 not (already claimed or changed).
]]
local lease = ARGV[1]
local out = {}
for i = 2, #ARGV, 3 do
  local id, expected, nextFire = ARGV[i], ARGV[i + 1], ARGV[i + 2]
  local score = redis.call('ZSCORE', KEYS[1], id)
  if score and tonumber(score) == tonumber(expected) then
    if nextFire == '' then
      redis.call('ZREM', KEYS[1], id)
    else
      redis.call('ZADD', KEYS[1], nextFire, id)
    end
    redis.call('ZADD', KEYS[2], lease, id .. '|' .. expected)
    out[#out + 1] = 1
  else
    out[#out + 1] = 0
  end
end
return out
