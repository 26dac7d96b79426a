"""Limits shared by every dispatcher worker on Redis: a provider's rate limit and a
channel's circuit breaker, so that three workers send at the configured rate, not three
times it, and a provider one worker found sick rests for all of them.

The rate limit is a token bucket kept as GCRA (the "generic cell rate algorithm"): one
number per channel, the time at which the bucket would be full again. A worker reserves
its tokens in one script call, which says how long to wait before sending; reservations
queue in Redis's clock (`TIME`), so workers on different hosts need no common clock, and
a worker that oversleeps does not lower the rate the others get.
"""

from __future__ import annotations

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from connectors.store import keys
from connectors.store.redis_client import as_text
from core.errors import StoreUnavailable

# KEYS[1] the bucket; ARGV rate (tokens/s), burst (tokens), tokens wanted. Returns the
# seconds to wait before using them (0: at once).
_RESERVE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local rate, burst, n = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat < now then tat = now end
local next_tat = tat + n / rate
local wait = next_tat - now - burst / rate
if wait < 0 then wait = 0 end
redis.call('SET', KEYS[1], string.format('%.6f', next_tat),
  'PX', math.ceil((next_tat - now) * 1000) + 1000)
return string.format('%.6f', wait)
"""

# KEYS[1] the breaker; ARGV now, threshold, cooldown. One more failure in a row; the
# breaker opens (again) at `now` when that makes `threshold`, or when it was half-open.
_FAIL = """
local now, threshold, cooldown = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local failures = redis.call('HINCRBY', KEYS[1], 'f', 1)
local opened = tonumber(redis.call('HGET', KEYS[1], 'o') or '')
if failures >= threshold or (opened and now >= opened + cooldown) then
  redis.call('HSET', KEYS[1], 'o', ARGV[1])
end
return failures
"""


class RedisLimits:
    def __init__(self, client: aioredis.Redis) -> None:
        self._r = client
        self._reserve = client.register_script(_RESERVE)
        self._fail = client.register_script(_FAIL)

    async def reserve_tokens(self, name: str, rate: float, burst: float, tokens: int) -> float:
        try:
            wait = await self._reserve(keys=[keys.rate_limit(name)], args=[rate, burst, tokens])
        except RedisError as exc:
            raise StoreUnavailable(f"Redis rate limit failed: {exc}") from exc
        return float(as_text(wait) or 0)

    async def breaker_state(self, name: str) -> tuple[int, float | None]:
        try:
            failures, opened = await self._r.hmget(keys.breaker(name), ["f", "o"])
        except RedisError as exc:
            raise StoreUnavailable(f"Redis breaker read failed: {exc}") from exc
        return int(failures or 0), float(opened) if opened is not None else None

    async def breaker_failed(self, name: str, now: float, threshold: int, cooldown: float) -> None:
        try:
            await self._fail(keys=[keys.breaker(name)], args=[repr(now), threshold, cooldown])
        except RedisError as exc:
            raise StoreUnavailable(f"Redis breaker write failed: {exc}") from exc

    async def breaker_closed(self, name: str) -> None:
        try:
            await self._r.delete(keys.breaker(name))
        except RedisError as exc:
            raise StoreUnavailable(f"Redis breaker write failed: {exc}") from exc
