"""The audience index on Redis: one linear-hashed family of small HASHes per term.

A term (`r:RU-MOW`, `s:internet`, `n:MOW-N012`) used to be one SET of customer ids; a big
SET is a hashtable at about 60 bytes a member, a third of a customer's 1 KB budget at
3.4 terms each. A small HASH is one listpack at about 12 bytes a member, so each term is
split into buckets of about `LOAD` members, `fc:{idx}:<term>:<n>`, and grows by linear
hashing (Litwin, 1980): when the term outgrows its buckets, ONE bucket is split (the
one at the split pointer), so no write ever rehashes a whole term. A term's level,
split pointer and member count live in one HASH, `fc:{idx}:meta`.

    member -> h = crc32(member); b = h mod 2^level; if b < split: b = h mod 2^(level+1)

The hash runs in Lua (splits move members server-side) and in Python (the same function,
checked against each other by the tests). Every key shares the `{idx}` hash tag, so a
whole audience query runs in one Cluster slot. The bucket keys are computed inside the
scripts rather than declared: they are all in that one slot.
"""

from __future__ import annotations

import asyncio
import zlib
from collections.abc import Iterable, Sequence
from typing import Any

import redis.asyncio as aioredis

from connectors.store import keys

LOAD = 40  # members per bucket on average; the fullest stay under listpack's 128 entries

_LIB = """
local T = {}
for i = 0, 255 do
  local c = i
  for _ = 1, 8 do
    if c % 2 == 1 then c = bit.bxor(bit.rshift(c, 1), 0xEDB88320) else c = bit.rshift(c, 1) end
  end
  T[i] = c
end
local function crc(s)
  local c = -1
  for i = 1, #s do
    c = bit.bxor(bit.rshift(c, 8), T[bit.band(bit.bxor(c, string.byte(s, i)), 255)])
  end
  return bit.bnot(c) % 4294967296
end
local function parse(meta)
  if not meta then return 0, 0, 0 end
  local level, split, count = string.match(meta, '^(%d+):(%d+):(%d+)$')
  return tonumber(level), tonumber(split), tonumber(count)
end
local function bucket(h, level, split)
  local b = h % (2 ^ level)
  if b < split then b = h % (2 ^ (level + 1)) end
  return b
end
"""

# KEYS[1] meta; ARGV[1] term, ARGV[2] bucket prefix, ARGV[3] load, ARGV[4..] members.
_ADD = (
    _LIB
    + """
local term, prefix, load = ARGV[1], ARGV[2], tonumber(ARGV[3])
local level, split, count = parse(redis.call('HGET', KEYS[1], term))
local added = 0
for i = 4, #ARGV do
  local member = ARGV[i]
  if redis.call('HSETNX', prefix .. bucket(crc(member), level, split), member, '') == 1 then
    count = count + 1
    added = added + 1
  end
  while count > load * (2 ^ level + split) do
    local old, new = prefix .. split, prefix .. (split + 2 ^ level)
    local wide = 2 ^ (level + 1)
    for _, moved in ipairs(redis.call('HKEYS', old)) do
      if crc(moved) % wide ~= split then
        redis.call('HDEL', old, moved)
        redis.call('HSET', new, moved, '')
      end
    end
    split = split + 1
    if split == 2 ^ level then
      level, split = level + 1, 0
    end
  end
end
redis.call('HSET', KEYS[1], term, level .. ':' .. split .. ':' .. count)
return added
"""
)

# KEYS[1] meta; ARGV[1] term, ARGV[2] bucket prefix, ARGV[3..] members.
_REMOVE = (
    _LIB
    + """
local term, prefix = ARGV[1], ARGV[2]
local meta = redis.call('HGET', KEYS[1], term)
if not meta then return 0 end
local level, split, count = parse(meta)
local removed = 0
for i = 3, #ARGV do
  local member = ARGV[i]
  removed = removed + redis.call('HDEL', prefix .. bucket(crc(member), level, split), member)
end
redis.call('HSET', KEYS[1], term, level .. ':' .. split .. ':' .. (count - removed))
return removed
"""
)

# Which of the candidates are in their bucket. ARGV[1] is lines of "<bucket key>\t<m1>,
# <m2>,...", grouped by the caller so that one HMGET answers for a whole bucket; the
# answer is the members found, comma-joined. One string each way: a hundred thousand
# separate arguments and replies cost more to pack and parse than the look-ups.
_PRESENT = r"""
local found = {}
for key, list in string.gmatch(ARGV[1], '([^\t\n]+)\t([^\n]+)') do
  local members = {}
  for member in string.gmatch(list, '[^,]+') do members[#members + 1] = member end
  local values = redis.call('HMGET', key, unpack(members))
  for j = 1, #members do
    if values[j] then found[#found + 1] = members[j] end
  end
end
return table.concat(found, ',')
"""

FILTER_CHUNK = 5_000  # buckets per script call


def member_hash(member: str) -> int:
    """The bucket hash: CRC-32, the same as the scripts' `crc`."""
    return zlib.crc32(member.encode())


def bucket_of(member: str, level: int, split: int) -> int:
    h = member_hash(member)
    b = h % (1 << level)
    return h % (1 << (level + 1)) if b < split else b


class TermIndex:
    """Add, remove and query members of audience terms."""

    def __init__(self, client: aioredis.Redis) -> None:
        self._add = client.register_script(_ADD)
        self._remove = client.register_script(_REMOVE)
        self._present = client.register_script(_PRESENT)
        self._r = client

    async def add(self, pipe: Any, term: str, members: Sequence[str]) -> None:
        """Queue the adds on a pipeline (or a transaction) the caller executes."""
        await self._add(
            keys=[keys.index_meta()],
            args=[term, keys.index_bucket_prefix(term), LOAD, *members],
            client=pipe,
        )

    async def remove(self, pipe: Any, term: str, members: Sequence[str]) -> None:
        await self._remove(
            keys=[keys.index_meta()],
            args=[term, keys.index_bucket_prefix(term), *members],
            client=pipe,
        )

    async def shape(self, terms: Iterable[str]) -> dict[str, tuple[int, int, int]]:
        """(level, split, count) of each term; terms never written are absent."""
        wanted = list(dict.fromkeys(terms))
        raw = await self._r.hmget(keys.index_meta(), wanted) if wanted else []
        out = {}
        for term, value in zip(wanted, raw, strict=True):
            if value is not None:
                level, split, count = (int(p) for p in _text(value).split(":"))
                out[term] = (level, split, count)
        return out

    async def members(
        self, terms: Sequence[str], shape: dict[str, tuple[int, int, int]]
    ) -> set[str]:
        """Every member of any of the terms."""
        async with self._r.pipeline(transaction=False) as pipe:
            for term in terms:
                if term in shape:
                    level, split, _ = shape[term]
                    prefix = keys.index_bucket_prefix(term)
                    for b in range((1 << level) + split):
                        pipe.hkeys(f"{prefix}{b}")
            replies = await pipe.execute()
        return {_text(m) for reply in replies for m in reply}

    async def keep_members(
        self, candidates: set[str], terms: Sequence[str], shape: dict[str, tuple[int, int, int]]
    ) -> set[str]:
        """The candidates that are members of at least one of the terms."""
        present = [t for t in terms if t in shape]
        if not present or not candidates:
            return set()
        hashed = [(member, zlib.crc32(member.encode())) for member in candidates]
        lines: list[str] = []
        for term in present:
            level, split, _ = shape[term]
            low, high = (1 << level) - 1, (1 << (level + 1)) - 1
            groups: dict[int, list[str]] = {}
            for member, h in hashed:
                b = h & low
                groups.setdefault(h & high if b < split else b, []).append(member)
            prefix = keys.index_bucket_prefix(term)
            lines += (f"{prefix}{b}\t" + ",".join(members) for b, members in groups.items())
        found: set[str] = set()
        # Scripts of bounded size, so that none holds the server for long; sent at once
        # rather than pipelined, since a cluster client pipelines no scripts. The meta
        # key is declared so that a cluster routes them to the index's slot.
        replies = await asyncio.gather(
            *(
                self._present(
                    keys=[keys.index_meta()],
                    args=["\n".join(lines[start : start + FILTER_CHUNK])],
                )
                for start in range(0, len(lines), FILTER_CHUNK)
            )
        )
        for reply in replies:
            if reply:
                found.update(_text(reply).split(","))
        return found

    async def query(self, dimensions: Sequence[Sequence[str]]) -> set[str]:
        """Members of any term of each dimension, in every dimension: the smallest
        dimension is read whole, the others only checked for its members."""
        shape = await self.shape(t for terms in dimensions for t in terms)
        sized = sorted(dimensions, key=lambda terms: sum(shape.get(t, (0, 0, 0))[2] for t in terms))
        found = await self.members(sized[0], shape)
        for terms in sized[1:]:
            if not found:
                break
            found = await self.keep_members(found, terms, shape)
        return found


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
