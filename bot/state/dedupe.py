"""Delivery dedupe: `first(*keys)` is True once per key within the TTL, whichever replica asks.

Slack retries a delivery it thinks failed (and a message can arrive both as a message and as a
mention); behind a load balancer the retry may land on another replica. With Redis each key is
one `SET key 1 NX PX ttl`, all of a call's keys in one MULTI transaction, so two replicas
racing on the same delivery get one True between them.

While Redis is down the replica remembers keys itself (`LocalDedupe`): a retry of a delivery
that arrived during the outage may be answered twice if it lands on another replica. When
Redis answers again, the keys remembered meanwhile are written to it too (bounded), so retries
arriving after the outage are caught on every replica, and a key this replica saw is never
fresh here again whatever Redis says.
"""

from __future__ import annotations

import contextlib
from collections import deque
from typing import Protocol

from redis.asyncio import Redis

from bot.cache import TtlCache
from bot.state.link import RedisDown, RedisLink

DEDUPE_TTL = 3600.0  # seconds a key is remembered: longer than Slack's last retry (5 min)
MAX_KEYS = 20_000  # keys one replica remembers by itself


class Dedupe(Protocol):
    async def first(self, *keys: str) -> bool:
        """True if none of `keys` was seen before; all of them are remembered from now on."""
        ...

    async def forget(self, key: str) -> None:
        """Forget `key` (the work it stood for did not happen: the next try may do it)."""
        ...


class LocalDedupe:
    """In-process: a bounded, expiring set of keys (one replica, or Redis down)."""

    def __init__(self, *, ttl: float = DEDUPE_TTL, max_entries: int = MAX_KEYS) -> None:
        self._keys: TtlCache[bool] = TtlCache(ttl=ttl, max_entries=max_entries)

    def __len__(self) -> int:
        return len(self._keys)

    @property
    def max_entries(self) -> int:
        return self._keys.max_entries

    def __contains__(self, key: str) -> bool:
        return self._keys.get(key) is not None

    async def first(self, *keys: str) -> bool:
        fresh = all(k not in self for k in keys)
        for key in keys:
            self._keys.put(key, True)
        return fresh

    async def forget(self, key: str) -> None:
        self._keys.discard(key)


class RedisDedupe:
    """Shared by every replica through Redis (`name` separates one set of keys from another),
    with `LocalDedupe` behind it for outages."""

    def __init__(
        self,
        link: RedisLink,
        name: str,
        *,
        ttl: float = DEDUPE_TTL,
        max_entries: int = MAX_KEYS,
    ) -> None:
        self._link = link
        self._name = name
        self._ttl_ms = max(1, round(ttl * 1000))
        self._local = LocalDedupe(ttl=ttl, max_entries=max_entries)
        # Keys first seen while Redis was down, to write to it when it answers again.
        self._max = max_entries
        self._unshared: deque[str] = deque(maxlen=max_entries)

    def _key(self, key: str) -> str:
        return self._link.key("seen", self._name, key)

    async def first(self, *keys: str) -> bool:
        try:
            fresh = await self._link.run(lambda client: self._set(client, keys))
        except RedisDown:
            fresh = await self._local.first(*keys)
            self._unshared.extend(keys)
            return fresh
        return fresh and all(k not in self._local for k in keys)

    async def forget(self, key: str) -> None:
        await self._local.forget(key)
        with contextlib.suppress(RedisDown):  # down: the key expires with its TTL
            await self._link.run(lambda client: client.delete(self._key(key)))

    async def _set(self, client: Redis, keys: tuple[str, ...]) -> bool:
        """SET NX each key (and, first, those seen during an outage), in one transaction."""
        unshared = tuple(self._unshared)
        async with client.pipeline(transaction=True) as pipe:
            for key in (*unshared, *keys):
                pipe.set(self._key(key), b"1", nx=True, px=self._ttl_ms)
            results = await pipe.execute()
        # Keys remembered locally while this call was on its way were not sent: kept.
        sent = frozenset(unshared)
        self._unshared = deque((k for k in self._unshared if k not in sent), self._max)
        return all(results[len(unshared) :])
