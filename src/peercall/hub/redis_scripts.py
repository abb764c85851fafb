"""Lua scripts of :class:`~peercall.hub.redis_hub.RedisHub`.

Why Lua: every membership change and every numbered frame must be atomic across nodes
(a frame pushed during a resume is either replayed or delivered live, never both or
neither). Redis runs a script atomically, which is the property the in-memory hub gets
from its lock. One room's keys share the hash tag ``{room}``, so a room lives on one
Redis Cluster slot.

Layout, for ``B = "<prefix>:{<room>}"``:

- ``B:members`` hash peer → member JSON (with ``_order``: join order);
- ``B:epoch`` / ``B:node`` / ``B:seq`` / ``B:secret`` / ``B:attempt`` hashes peer → attachment
  epoch, node id of the attached socket ("" while suspended), last frame number, resume
  secret, highest resume attempt accepted;
- ``B:ring:<peer>`` list of the member's numbered frames not yet acknowledged (at most the
  last ``REPLAY_FRAMES``; replay after a resume);
- ``B:meta`` hash (``order`` counter); ``<prefix>:rooms`` set; ``<prefix>:epochs`` counter.

The sweep index (what :meth:`RedisHub.sweep_due` looks at, so a sweep's work follows the
suspensions and the dead nodes, not the number of rooms):

- ``<prefix>:node-rooms:<node>`` set of the rooms where a member is attached to that node
  (a dead node's rooms are the ones to search for orphans);
- ``<prefix>:suspended`` sorted set room → earliest suspension (ms) of its members;
- ``<prefix>:nodes`` set of the nodes that heart-beat.

A frame for an attached member is published on its node's channel as
``room \\n peer \\n epoch \\n frame-json``.
"""

from __future__ import annotations

_PRELUDE = r"""
local function publish(prefix, node, room, pid, epoch, frame)
  if node and node ~= '' then
    redis.call('PUBLISH', prefix .. node, room .. '\n' .. pid .. '\n' .. epoch .. '\n' .. frame)
  end
end

local function push(base, room, pid, frame, prefix, maxring)
  local seq = redis.call('HINCRBY', base .. ':seq', pid, 1)
  local numbered = '{"seq":' .. seq .. ',' .. string.sub(frame, 2)
  local ring = base .. ':ring:' .. pid
  redis.call('RPUSH', ring, numbered)
  redis.call('LTRIM', ring, -maxring, -1)
  local node, epoch = redis.call('HGET', base .. ':node', pid), redis.call('HGET', base .. ':epoch', pid)
  publish(prefix, node, room, pid, epoch, numbered)
end

local function remove(base, pid)
  for _, field in ipairs({':members', ':epoch', ':node', ':seq', ':secret', ':since', ':attempt'}) do
    redis.call('HDEL', base .. field, pid)
  end
  redis.call('DEL', base .. ':ring:' .. pid)
end

-- The room leaves a node's index once none of its members is attached there any more.
local function unindex(base, index, room, node)
  if not node or node == '' then return end
  for _, other in ipairs(redis.call('HVALS', base .. ':node')) do
    if other == node then return end
  end
  redis.call('SREM', index .. 'node-rooms:' .. node, room)
end

local function others(base, except)
  local list = {}
  local all = redis.call('HGETALL', base .. ':members')
  for i = 1, #all, 2 do
    if all[i] ~= except then table.insert(list, all[i + 1]) end
  end
  return list
end
"""

# KEYS: base, rooms set, epochs counter.
# ARGV: room, peer, identity, member json (without _order), capacity, evict frame, secret, node, channel prefix,
#       index prefix
JOIN = (
    _PRELUDE
    + r"""
local base = KEYS[1]
local all = redis.call('HGETALL', base .. ':members')
local same, count = {}, 0
for i = 1, #all, 2 do
  if cjson.decode(all[i + 1]).identity == ARGV[3] then
    table.insert(same, all[i])
  else
    count = count + 1
  end
end
if count >= tonumber(ARGV[5]) then return {'full'} end
local replaced, left = '', {}
for _, pid in ipairs(same) do
  replaced = redis.call('HGET', base .. ':members', pid)
  local node, epoch = redis.call('HGET', base .. ':node', pid), redis.call('HGET', base .. ':epoch', pid)
  publish(ARGV[9], node, ARGV[1], pid, epoch, ARGV[6])
  remove(base, pid)
  table.insert(left, node)
end
local epoch = redis.call('INCR', KEYS[3])
local order = redis.call('HINCRBY', base .. ':meta', 'order', 1)
local member = '{"_order":' .. order .. ',' .. string.sub(ARGV[4], 2)
local present = others(base, ARGV[2])
redis.call('HSET', base .. ':members', ARGV[2], member)
redis.call('HSET', base .. ':epoch', ARGV[2], epoch)
redis.call('HSET', base .. ':node', ARGV[2], ARGV[8])
redis.call('HSET', base .. ':seq', ARGV[2], 0)
redis.call('HSET', base .. ':secret', ARGV[2], ARGV[7])
redis.call('SADD', KEYS[2], ARGV[1])
redis.call('SADD', ARGV[10] .. 'node-rooms:' .. ARGV[8], ARGV[1])
for _, node in ipairs(left) do unindex(base, ARGV[10], ARGV[1], node) end
return {'ok', epoch, replaced, present}
"""
)

# KEYS: base, rooms set. ARGV: room, peer, epoch ("" = any), index prefix
LEAVE = (
    _PRELUDE
    + r"""
local base = KEYS[1]
local member = redis.call('HGET', base .. ':members', ARGV[2])
if not member then return false end
if ARGV[3] ~= '' and redis.call('HGET', base .. ':epoch', ARGV[2]) ~= ARGV[3] then return false end
local node = redis.call('HGET', base .. ':node', ARGV[2])
remove(base, ARGV[2])
unindex(base, ARGV[4], ARGV[1], node)
if redis.call('HLEN', base .. ':members') == 0 then
  redis.call('DEL', base .. ':meta')
  redis.call('SREM', KEYS[2], ARGV[1])
  redis.call('ZREM', ARGV[4] .. 'suspended', ARGV[1])
end
return member
"""
)

# KEYS: base. ARGV: peer, epoch, now (ms), room, index prefix
SUSPEND = (
    _PRELUDE
    + r"""
local base = KEYS[1]
if redis.call('HGET', base .. ':epoch', ARGV[1]) ~= ARGV[2] then return 0 end
local node = redis.call('HGET', base .. ':node', ARGV[1])
if not node or node == '' then return 0 end
redis.call('HSET', base .. ':node', ARGV[1], '')
redis.call('HSET', base .. ':since', ARGV[1], ARGV[3])
unindex(base, ARGV[5], ARGV[4], node)
redis.call('ZADD', ARGV[5] .. 'suspended', 'LT', ARGV[3], ARGV[4])
return 1
"""
)

# Members whose socket died with its node, and suspensions past the grace period.
# (Reads the nodes' alive keys, outside the room's hash slot: fine on one Redis or a
# replicated pair; a Redis Cluster deployment would keep liveness in the room's slot.)
# KEYS: base. ARGV: now (ms), grace (ms), alive-key prefix, room, index prefix
# Returns a flat list: peer, "orphaned" | "expired", epoch, ...
# Leaves the room in the suspended index at its earliest suspension, or takes it out.
SWEEP = r"""
local base = KEYS[1]
local now, grace = tonumber(ARGV[1]), tonumber(ARGV[2])
local out, earliest = {}, nil
for _, pid in ipairs(redis.call('HKEYS', base .. ':members')) do
  local node = redis.call('HGET', base .. ':node', pid)
  local epoch = redis.call('HGET', base .. ':epoch', pid)
  if node and node ~= '' then
    if redis.call('EXISTS', ARGV[3] .. node) == 0 then
      redis.call('HSET', base .. ':node', pid, '')
      redis.call('HSET', base .. ':since', pid, ARGV[1])
      table.insert(out, pid); table.insert(out, 'orphaned'); table.insert(out, epoch)
      if earliest == nil or now < earliest then earliest = now end
    end
  else
    local since = tonumber(redis.call('HGET', base .. ':since', pid) or ARGV[1])
    if now - since >= grace then
      table.insert(out, pid); table.insert(out, 'expired'); table.insert(out, epoch)
    end
    if earliest == nil or since < earliest then earliest = since end
  end
end
if earliest == nil then
  redis.call('ZREM', ARGV[5] .. 'suspended', ARGV[4])
else
  redis.call('ZADD', ARGV[5] .. 'suspended', earliest, ARGV[4])
end
return out
"""

# KEYS: base, epochs counter.
# ARGV: room, peer, secret, last_seq, node, evict frame, channel prefix, attempt, index prefix
RESUME = (
    _PRELUDE
    + r"""
local base = KEYS[1]
local member = redis.call('HGET', base .. ':members', ARGV[2])
if not member then return {'refused'} end
if redis.call('HGET', base .. ':secret', ARGV[2]) ~= ARGV[3] then return {'refused'} end
local attempt = tonumber(ARGV[8])
if attempt > 0 then
  if attempt <= tonumber(redis.call('HGET', base .. ':attempt', ARGV[2]) or '0') then return {'superseded'} end
  redis.call('HSET', base .. ':attempt', ARGV[2], attempt)
end
local old_node, old_epoch = redis.call('HGET', base .. ':node', ARGV[2]), redis.call('HGET', base .. ':epoch', ARGV[2])
publish(ARGV[7], old_node, ARGV[1], ARGV[2], old_epoch, ARGV[6])
local last = tonumber(ARGV[4])
local replay, first = {}, nil
for _, entry in ipairs(redis.call('LRANGE', base .. ':ring:' .. ARGV[2], 0, -1)) do
  local seq = tonumber(string.match(entry, '^{"seq":(%d+)'))
  if first == nil then first = seq end
  if seq > last then table.insert(replay, entry) end
end
local seq = tonumber(redis.call('HGET', base .. ':seq', ARGV[2]))
local gap = 0
if last < seq and (first == nil or first > last + 1) then gap = 1 end
local epoch = redis.call('INCR', KEYS[2])
redis.call('HSET', base .. ':epoch', ARGV[2], epoch)
redis.call('HSET', base .. ':node', ARGV[2], ARGV[5])
redis.call('HDEL', base .. ':since', ARGV[2])
redis.call('SADD', ARGV[9] .. 'node-rooms:' .. ARGV[5], ARGV[1])
if old_node ~= ARGV[5] then unindex(base, ARGV[9], ARGV[1], old_node) end
return {'ok', member, epoch, gap, others(base, ARGV[2]), replay}
"""
)

# KEYS: base. ARGV: room, peer, frame json (no seq), channel prefix, ring size
SEND = (
    _PRELUDE
    + r"""
if redis.call('HEXISTS', KEYS[1] .. ':members', ARGV[2]) == 0 then return 0 end
push(KEYS[1], ARGV[1], ARGV[2], ARGV[3], ARGV[4], tonumber(ARGV[5]))
return 1
"""
)

# KEYS: base. ARGV: room, frame json (no seq), exclude peer ("" = none), channel prefix, ring size
BROADCAST = (
    _PRELUDE
    + r"""
for _, pid in ipairs(redis.call('HKEYS', KEYS[1] .. ':members')) do
  if pid ~= ARGV[3] then push(KEYS[1], ARGV[1], pid, ARGV[2], ARGV[4], tonumber(ARGV[5])) end
end
return 1
"""
)

# The member processed every frame up to a seq: drop them from its ring. The ring holds
# consecutive seqs ending at the member's last, so the count to drop is arithmetic.
# KEYS: base. ARGV: peer, acknowledged seq
ACK = r"""
local ring = KEYS[1] .. ':ring:' .. ARGV[1]
local last = tonumber(redis.call('HGET', KEYS[1] .. ':seq', ARGV[1]) or '0')
local drop = tonumber(ARGV[2]) - (last - redis.call('LLEN', ring))
if drop <= 0 then return 0 end
redis.call('LTRIM', ring, drop, -1)
return drop
"""

# KEYS: base. ARGV: peer, media json
SET_MEDIA = r"""
local member = redis.call('HGET', KEYS[1] .. ':members', ARGV[1])
if not member then return false end
local decoded = cjson.decode(member)
decoded.media = cjson.decode(ARGV[2])
local updated = cjson.encode(decoded)
redis.call('HSET', KEYS[1] .. ':members', ARGV[1], updated)
return updated
"""

# KEYS: base, rooms set. ARGV: room, frame json (no seq), channel prefix, ring size, index prefix
CLOSE_ROOM = (
    _PRELUDE
    + r"""
local base = KEYS[1]
local gone = {}
for _, pid in ipairs(redis.call('HKEYS', base .. ':members')) do
  push(base, ARGV[1], pid, ARGV[2], ARGV[3], tonumber(ARGV[4]))
  table.insert(gone, redis.call('HGET', base .. ':members', pid))
  local node = redis.call('HGET', base .. ':node', pid)
  if node and node ~= '' then redis.call('SREM', ARGV[5] .. 'node-rooms:' .. node, ARGV[1]) end
  remove(base, pid)
end
redis.call('DEL', base .. ':meta')
redis.call('SREM', KEYS[2], ARGV[1])
redis.call('ZREM', ARGV[5] .. 'suspended', ARGV[1])
return gone
"""
)

__all__ = ["ACK", "BROADCAST", "CLOSE_ROOM", "JOIN", "LEAVE", "RESUME", "SEND", "SET_MEDIA", "SUSPEND", "SWEEP"]
