"""The Lua scripts behind `RedisOutbox`: each moves messages between states atomically.

Every script gets the same six queue-wide keys and, first in ARGV, the prefixes of the
per-message, per-group and per-customer keys (from `connectors.store.keys`) and the
consumer group's name; its own arguments follow from ARGV[7]. Every key a script touches
carries the `{ob}` hash tag, so on Redis Cluster each script runs in one slot. Times
arrive as the strings Python wrote (`repr(float)`) and are stored as they are: Lua would
round them to 14 digits.
"""

from __future__ import annotations

from connectors.outbox import RANK, SUSPECT_CLAIMS

# The rank table is generated from the Python one, so both stores move statuses alike.
_RANKS = ", ".join(f"{status.value}={rank}" for status, rank in RANK.items())

PRELUDE = (
    """
local READY, DUE, LEASES, TOTALS, DEAD = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local DONE = KEYS[6]
local P_MSG, P_COUNT, P_PENDING = ARGV[1], ARGV[2], ARGV[3]
local P_PROVIDER, P_CUSTOMER, GROUP = ARGV[4], ARGV[5], ARGV[6]
local RANK = {"""
    + _RANKS
    + """}

local function count(group, from, to, by)
  by = by or 1
  if from then
    redis.call('HINCRBY', P_COUNT .. group, from, -by)
    redis.call('HINCRBY', TOTALS, from, -by)
  end
  if to then
    redis.call('HINCRBY', P_COUNT .. group, to, by)
    redis.call('HINCRBY', TOTALS, to, by)
  end
end

-- Take a message out of every queue structure: schedule, leases, its group's pending
-- set and the ready stream (acknowledged and deleted, so the stream does not grow).
-- Whatever takes a message out of the queue answers its claim: the count of unanswered
-- claims and the in-flight mark go with it.
local function unqueue(key, id, group, sid)
  redis.call('ZREM', DUE, id)
  redis.call('ZREM', LEASES, id)
  redis.call('HDEL', key, 'c', 'f')
  redis.call('SREM', P_PENDING .. group, id)
  if sid then
    redis.pcall('XACK', READY, GROUP, sid)  -- pcall: no group until the first claim
    redis.call('XDEL', READY, sid)
    redis.call('HDEL', key, 'sid', 'w')
  end
end
"""
)

# ARGV[7] now, then (id, json, group, customer, due_at or '' when due now) per message.
ENQUEUE = (
    PRELUDE
    + """
local now, n, added = ARGV[7], 0, {}
for i = 8, #ARGV, 5 do
  local id, group, customer, due = ARGV[i], ARGV[i + 2], ARGV[i + 3], ARGV[i + 4]
  local key = P_MSG .. id
  if redis.call('EXISTS', key) == 0 then
    if due == '' then
      local sid = redis.call('XADD', READY, '*', 'm', id)
      redis.call('HSET', key, 'j', ARGV[i + 1], 's', 'pending', 'g', group, 'u', now, 'sid', sid)
    else
      redis.call('ZADD', DUE, due, id)
      redis.call('HSET', key, 'j', ARGV[i + 1], 's', 'pending', 'g', group, 'u', now)
    end
    -- Only a new record joins the customer's set, so every id in it is that
    -- customer's own: erasure needs no owner field to check.
    redis.call('SADD', P_CUSTOMER .. customer, id)
    local ids = added[group]
    if not ids then ids = {}; added[group] = ids end
    ids[#ids + 1] = id
    n = n + 1
  end
end
-- One SADD and one count per group, not per message: a batch is mostly one group.
for group, ids in pairs(added) do
  redis.call('SADD', P_PENDING .. group, unpack(ids))
  count(group, nil, 'pending', #ids)
end
return n
"""
)

# ARGV[7] worker, [8] now, [9] lease end, [10] limit, [11] max claims (0: no limit).
# Returns {claimed, poison}: claimed is (json, claims, in flight '1' or '') per message;
# poison is (json, claims) per message held for this worker, for the caller to bury with
# its reason (Lua would round the JSON's numbers if it rewrote the error itself).
CLAIM = (
    PRELUDE
    + """
local worker, now, lease_end, limit = ARGV[7], ARGV[8], ARGV[9], tonumber(ARGV[10])
local max_claims = tonumber(ARGV[11])
redis.pcall('XGROUP', 'CREATE', READY, GROUP, '0', 'MKSTREAM')  -- BUSYGROUP once made
local out, poison, n, suspects = {}, {}, 0, 0
-- A crashed worker's claims: their leases ran out by the caller's clock.
for _, id in ipairs(redis.call('ZRANGEBYSCORE', LEASES, '-inf', now, 'LIMIT', 0, limit)) do
  local key = P_MSG .. id
  local f = redis.call('HMGET', key, 's', 'j', 'sid', 'c', 'f')
  if f[1] == 'sending' then
    local c = tonumber(f[4] or '0')
    local take = true
    if max_claims > 0 and c >= max_claims then
      take = false
      poison[#poison + 1] = f[2]
      poison[#poison + 1] = tostring(c)
    elseif c >= """
    + str(SUSPECT_CLAIMS)
    + """ then
      -- A suspect: one per claim, so a poison message fells no batch-mates twice.
      if suspects > 0 then take = nil end
      suspects = suspects + 1
    end
    if take ~= nil then
      redis.call('HSET', key, 'w', worker, 'u', now)
      redis.call('ZADD', LEASES, lease_end, id)
      if f[3] then redis.call('XCLAIM', READY, GROUP, worker, 0, f[3], 'JUSTID') end
    end
    if take then
      redis.call('HSET', key, 'c', c + 1)
      out[#out + 1] = f[2]
      out[#out + 1] = tostring(c + 1)
      out[#out + 1] = f[5] or ''
      n = n + 1
    end
  else
    redis.call('ZREM', LEASES, id)
  end
end
-- Scheduled messages now due join the stream, here and only here: two workers never
-- move the same one twice.
local due = redis.call('ZRANGEBYSCORE', DUE, '-inf', now, 'LIMIT', 0, limit)
for _, id in ipairs(due) do
  local key = P_MSG .. id
  redis.call('ZREM', DUE, id)
  if redis.call('HGET', key, 's') == 'pending' then
    redis.call('HSET', key, 'sid', redis.call('XADD', READY, '*', 'm', id))
  end
end
for _ = 1, 3 do
  if n >= limit then break end
  local reply = redis.call(
    'XREADGROUP', 'GROUP', GROUP, worker, 'COUNT', limit - n, 'STREAMS', READY, '>')
  if not reply or #reply[1][2] == 0 then break end
  for _, entry in ipairs(reply[1][2]) do
    local sid, id = entry[1], entry[2][2]
    local key = P_MSG .. id
    local f = redis.call('HMGET', key, 's', 'j', 'g', 'sid', 'f')
    if f[1] == 'pending' and f[4] == sid then
      redis.call('HSET', key, 's', 'sending', 'w', worker, 'u', now, 'c', 1)
      redis.call('ZADD', LEASES, lease_end, id)
      redis.call('SREM', P_PENDING .. f[3], id)
      count(f[3], 'pending', 'sending')
      out[#out + 1] = f[2]
      out[#out + 1] = '1'
      out[#out + 1] = f[5] or ''
      n = n + 1
    else  -- a stale entry (cannot happen while every move goes through unqueue)
      redis.call('XACK', READY, GROUP, sid)
      redis.call('XDEL', READY, sid)
    end
  end
end
return {out, poison}
"""
)

# ARGV[7] worker, [8] lease end, then message ids. Marks the ones the worker still holds
# as in flight and renews their lease; returns their ids.
START = (
    PRELUDE
    + """
local worker, lease_end, out = ARGV[7], ARGV[8], {}
for i = 9, #ARGV do
  local id = ARGV[i]
  local key = P_MSG .. id
  local f = redis.call('HMGET', key, 's', 'w')
  if f[1] == 'sending' and f[2] == worker then
    redis.call('HSET', key, 'f', '1')
    redis.call('ZADD', LEASES, lease_end, id)
    out[#out + 1] = id
  end
end
return out
"""
)

# ARGV[7] before, [8] limit. Deletes finished messages that finished before `before`,
# with every index entry of theirs; group counts keep them. Returns how many went.
PURGE = (
    PRELUDE
    + """
local ids = redis.call('ZRANGEBYSCORE', DONE, '-inf', '(' .. ARGV[7], 'LIMIT', 0, tonumber(ARGV[8]))
for _, id in ipairs(ids) do
  local key = P_MSG .. id
  local f = redis.call('HMGET', key, 'j', 'did', 'pc', 'pid')
  if f[1] then
    local customer = cjson.decode(f[1])['customer_id']
    if customer then redis.call('SREM', P_CUSTOMER .. customer, id) end
    if f[2] then redis.call('XDEL', DEAD, f[2]) end
    if f[4] then redis.call('HDEL', P_PROVIDER .. f[3], f[4]) end
    redis.call('DEL', key)
  end
  redis.call('ZREM', DONE, id)
end
return #ids
"""
)

# ARGV[7] id, [8] json, [9] final status, [10] now, [11] channel, [12] provider id or ''.
FINISH = (
    PRELUDE
    + """
local id, status, now = ARGV[7], ARGV[9], ARGV[10]
local key = P_MSG .. id
local f = redis.call('HMGET', key, 's', 'g', 'sid')
if not f[1] then return 0 end  -- erased meanwhile: do not bring it back
unqueue(key, id, f[2], f[3])
-- If the provider got further already (its receipt outran the worker), what it said
-- stays; only the provider id is recorded.
if RANK[status] > RANK[f[1]] then
  count(f[2], f[1], status)
  redis.call('HSET', key, 'j', ARGV[8], 's', status, 'u', now)
end
redis.call('ZADD', DONE, now, id)
if ARGV[12] ~= '' then
  redis.call('HSET', P_PROVIDER .. ARGV[11], ARGV[12], id)
  redis.call('HSET', key, 'pc', ARGV[11], 'pid', ARGV[12])
end
return 1
"""
)

# ARGV[7] id, [8] json, [9] due_at, [10] now.
RETRY = (
    PRELUDE
    + """
local id = ARGV[7]
local key = P_MSG .. id
local f = redis.call('HMGET', key, 's', 'g', 'sid')
if f[1] ~= 'sending' then return 0 end
unqueue(key, id, f[2], f[3])
redis.call('HSET', key, 'j', ARGV[8], 's', 'pending', 'u', ARGV[10])
redis.call('ZADD', DUE, ARGV[9], id)
redis.call('SADD', P_PENDING .. f[2], id)
count(f[2], 'sending', 'pending')
return 1
"""
)

# ARGV[7] id, [8] json, [9] now, [10] dead-letter stream cap.
BURY = (
    PRELUDE
    + """
local id = ARGV[7]
local key = P_MSG .. id
local f = redis.call('HMGET', key, 's', 'g', 'sid')
if f[1] ~= 'sending' and f[1] ~= 'pending' then return 0 end
unqueue(key, id, f[2], f[3])
local did = redis.call('XADD', DEAD, 'MAXLEN', '~', ARGV[10], '*', 'm', id)
redis.call('HSET', key, 'j', ARGV[8], 's', 'dead', 'u', ARGV[9], 'did', did)
redis.call('ZADD', DONE, ARGV[9], id)
count(f[2], f[1], 'dead')
return 1
"""
)

# Compare-and-set for changes Python computes from the stored JSON (a provider's word,
# a revive): ARGV[7] id, [8] status read, [9] JSON read, [10] new status, [11] new JSON,
# [12] now. Returns 0 when the message changed since it was read; the caller reads again.
SWAP = (
    PRELUDE
    + """
local id, old, new, now = ARGV[7], ARGV[8], ARGV[10], ARGV[12]
local key = P_MSG .. id
local f = redis.call('HMGET', key, 's', 'j', 'g', 'sid', 'did')
if f[1] ~= old or f[2] ~= ARGV[9] then return 0 end
if new == 'pending' then  -- revive: out of the dead letters, due now
  if f[5] then redis.call('XDEL', DEAD, f[5]) end
  redis.call('HDEL', key, 'did', 'c', 'f')
  redis.call('ZREM', DONE, id)
  redis.call('HSET', key, 'sid', redis.call('XADD', READY, '*', 'm', id))
  redis.call('SADD', P_PENDING .. f[3], id)
else
  unqueue(key, id, f[3], f[4])
  redis.call('ZADD', DONE, now, id)
end
redis.call('HSET', key, 'j', ARGV[11], 's', new, 'u', now)
count(f[3], old, new)
return 1
"""
)

# ARGV[7] group, [8] now, [9] 'ids' and the customer's message ids after it, or how many
# of the group's pending set to take. Returns {cancelled, looked at}.
CANCEL = (
    PRELUDE
    + """
local group, now = ARGV[7], ARGV[8]
local ids = {}
if ARGV[9] == 'ids' then
  for i = 10, #ARGV do ids[#ids + 1] = ARGV[i] end
else
  ids = redis.call('SPOP', P_PENDING .. group, tonumber(ARGV[9]))
end
local n = 0
for _, id in ipairs(ids) do
  local key = P_MSG .. id
  local f = redis.call('HMGET', key, 's', 'g', 'sid')
  if f[1] == 'pending' and f[2] == group then
    unqueue(key, id, group, f[3])
    redis.call('HSET', key, 's', 'cancelled', 'u', now)
    redis.call('ZADD', DONE, now, id)
    n = n + 1
  end
end
if n > 0 then count(group, 'pending', 'cancelled', n) end
return {n, #ids}
"""
)

# ARGV[7] customer id, then ids from the customer's set (removed from it here; the
# caller deletes the set once it is empty). Returns how many messages went.
ERASE = (
    PRELUDE
    + """
local customer, n = ARGV[7], 0
for i = 8, #ARGV do
  local id = ARGV[i]
  local key = P_MSG .. id
  local f = redis.call('HMGET', key, 's', 'g', 'sid', 'did', 'pc', 'pid')
  if f[1] then
    unqueue(key, id, f[2], f[3])
    if f[4] then redis.call('XDEL', DEAD, f[4]) end
    if f[6] then redis.call('HDEL', P_PROVIDER .. f[5], f[6]) end
    count(f[2], f[1], nil)
    redis.call('DEL', key)
    redis.call('ZREM', DONE, id)
    n = n + 1
  end
  redis.call('SREM', P_CUSTOMER .. customer, id)
end
return n
"""
)
