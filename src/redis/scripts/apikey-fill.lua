--[[
  apikey-fill: one entry of the API-key cache written from a warehouse read — by a lookup that missed, or by the
  per-tenant loader (api-key-service.ts) — which may be older than a change made since. An entry already there was
  written by that change (issue, rotate, revoke: they overwrite) or by another read, and is kept:
    - a key's entry (ARGV[1] a tenant id) is written when there is none or only a "no such key" entry; an entry of
      a key already there keeps its value and lives at least ARGV[5] seconds from now;
    - a "no such key" entry (ARGV[1] = '') is written only when there is no entry at all.
  So a read that raced a revocation cannot bring an active entry back, and one that raced an issue cannot hide
  the new key.

  KEYS[1] the key's cache hash (apikey:<sha256>)

  ARGV[1] tenant id ('' = no such key)   ARGV[2] key id   ARGV[3] active ('1' / '0')   ARGV[4] expires at, ms ('' = never)
  ARGV[5] TTL, seconds

  Returns 1 when it wrote the entry, 0 when it kept the one there.
]]
local ttl = tonumber(ARGV[5])
local exists = redis.call('EXISTS', KEYS[1]) == 1
if ARGV[1] == '' then
  if exists then return 0 end
  redis.call('HSET', KEYS[1], 'tenant_id', '', 'key_id', '', 'active', '0', 'expires_at', '', 'unknown', '1')
  redis.call('EXPIRE', KEYS[1], ttl)
  return 1
end
if exists and redis.call('HGET', KEYS[1], 'unknown') ~= '1' then
  if redis.call('TTL', KEYS[1]) < ttl then redis.call('EXPIRE', KEYS[1], ttl) end
  return 0
end
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'tenant_id', ARGV[1], 'key_id', ARGV[2], 'active', ARGV[3], 'expires_at', ARGV[4])
redis.call('EXPIRE', KEYS[1], ttl)
return 1
