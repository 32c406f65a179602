"""Work a replica acknowledged and has not finished, so that another replica finishes it when
this one dies (`kill -9`, a node lost): Slack never delivers an acknowledged event again, so
without this its answer would be lost.

On Redis each piece of work is its verified payload under its own key (with a TTL) and a
member of one sorted set scored by when its holder last said it was alive, on Redis's clock:

    accept   SET payload PX ttl; ZADD index now key         (one script)
    beat     ZADD index now key, if still there             (every BEAT s while working)
    done     DEL payload; ZREM index key                    (finished, or given up)
    claim    the oldest member silent for `stale` s: its score set to now, so that one
             replica alone takes it over (one script)

In-process (a single instance) there is nobody to hand over to: every call is a no-op.
While Redis is down nothing is recorded (work accepted then is not handed over: the same as
one instance), and nothing is claimed.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from functools import partial
from typing import Any, Protocol

from bot.logs import get_logger
from bot.state.link import RedisDown, RedisLink

log = get_logger(__name__)

PENDING_TTL = 15 * 60.0  # seconds a payload is kept: longer than any answer's lifetime
MAX_PAYLOAD = 64 * 1024  # bytes: a larger payload is not handed over

ACCEPT = """
local t = redis.call('TIME')
local now = t[1] * 1000 + math.floor(t[2] / 1000)
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
redis.call('ZADD', KEYS[2], now, ARGV[3])
redis.call('PEXPIRE', KEYS[2], ARGV[2])
return now
"""
BEAT = """
if not redis.call('ZSCORE', KEYS[1], ARGV[1]) then return 0 end
local t = redis.call('TIME')
redis.call('ZADD', KEYS[1], t[1] * 1000 + math.floor(t[2] / 1000), ARGV[1])
return 1
"""
CLAIM = """
local t = redis.call('TIME')
local now = t[1] * 1000 + math.floor(t[2] / 1000)
local stale = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now - tonumber(ARGV[1]), 'LIMIT', 0, 1)
if #stale == 0 then return false end
redis.call('ZADD', KEYS[1], now, stale[1])
return stale[1]
"""


class Pending(Protocol):
    async def accept(self, key: str, payload: Mapping[str, Any]) -> bool:
        """Record work just acknowledged; whether another replica could take it over."""
        ...

    async def beat(self, key: str) -> bool:
        """Still working on it; False when it is no longer recorded."""
        ...

    async def done(self, key: str) -> None: ...

    async def claim(self, stale: float) -> tuple[str, dict[str, Any]] | None:
        """Work whose holder has been silent for `stale` seconds, now this replica's."""
        ...


class LocalPending:
    """One instance: nobody to hand work over to."""

    async def accept(self, key: str, payload: Mapping[str, Any]) -> bool:
        return False

    async def beat(self, key: str) -> bool:
        return False

    async def done(self, key: str) -> None:
        return None

    async def claim(self, stale: float) -> tuple[str, dict[str, Any]] | None:
        return None


class RedisPending:
    def __init__(self, link: RedisLink, name: str, *, ttl: float = PENDING_TTL) -> None:
        self._link = link
        self._name = name
        self._ttl_ms = int(ttl * 1000)
        self._accept = link.client.register_script(ACCEPT)
        self._beat = link.client.register_script(BEAT)
        self._claim = link.client.register_script(CLAIM)

    def _payload_key(self, key: str) -> str:
        return self._link.key("pending", self._name, key)

    @property
    def _index(self) -> str:
        return self._link.key("pending", self._name, ":index")

    async def accept(self, key: str, payload: Mapping[str, Any]) -> bool:
        raw = json.dumps(payload, separators=(",", ":"))
        if len(raw) > MAX_PAYLOAD:
            return False
        keys = [self._payload_key(key), self._index]
        args: list[str | int] = [raw, self._ttl_ms, key]
        try:
            await self._link.run(lambda _: self._accept(keys=keys, args=args))
        except RedisDown:
            return False
        return True

    async def beat(self, key: str) -> bool:
        try:
            kept = await self._link.run(lambda _: self._beat(keys=[self._index], args=[key]))
        except RedisDown:
            return True  # nobody can claim it meanwhile either
        return bool(kept)

    async def done(self, key: str) -> None:
        async def forget(client: Any) -> Any:
            async with client.pipeline(transaction=True) as pipe:
                pipe.delete(self._payload_key(key))
                pipe.zrem(self._index, key)
                return await pipe.execute()

        try:
            await self._link.run(forget)
        except RedisDown:
            log.warning("pending_not_cleared", name=self._name)  # claimed later, done twice

    async def claim(self, stale: float) -> tuple[str, dict[str, Any]] | None:
        try:
            while (key := await self._oldest(stale)) is not None:
                raw = await self._link.run(partial(_get, self._payload_key(key)))
                if raw is not None:
                    return key, json.loads(raw)
                await self.done(key)  # its payload expired: nothing left to do
        except RedisDown:
            return None
        return None

    async def _oldest(self, stale: float) -> str | None:
        args = [int(stale * 1000)]
        claimed = await self._link.run(lambda _: self._claim(keys=[self._index], args=args))
        if claimed is None:
            return None
        return claimed.decode() if isinstance(claimed, bytes) else str(claimed)


async def _get(key: str, client: Any) -> Any:
    return await client.get(key)
