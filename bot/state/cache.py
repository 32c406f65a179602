"""The MDE answer cache, shared by the replicas: the same indicator asked on two replicas costs
one MDE call, not two.

`SharedCache.get_or_load(key, load)` keeps what `TtlCache.get_or_load` does within a process:
concurrent identical loads are merged into one `load()` (a burst of one pasted hash is one
call). In front of that merge, each replica looks in Redis (`GET`), and what a load returns is
written there (`SET … PX ttl`) for every replica. Values are bytes the caller encodes (an MDE
answer as it came), so the cache needs no knowledge of their type. Keys are hashed (SHA-256):
Redis's key names stay short and carry no indicator values.

`clear()` (after a response action changed what MDE would answer) must reach every replica:
each value is written with the cache's generation, a random token in Redis that `clear()`
replaces; a value of another generation reads as missing. One MGET reads both. The token
outlives every value written under it (twice the TTL), and a new one is never an old one
again, so an expired generation cannot bring stale values back.

While Redis is down each replica caches on its own as before (`TtlCache`, bounded by age and
bytes); when it is up, the in-process cache only merges loads and keeps nothing, so replicas
never serve each other stale copies.
"""

from __future__ import annotations

import contextlib
import hashlib
import secrets
from collections.abc import Awaitable, Callable
from typing import Protocol

from redis.asyncio import Redis

from bot.cache import TtlCache
from bot.state.link import RedisDown, RedisLink, as_bytes

CACHE_TTL = 300.0  # seconds (BOT_CACHE_TTL)
CACHE_BYTES = 64 * 2**20  # what one replica keeps by itself (BOT_CACHE_MB)


def _always(_: bytes) -> bool:
    return True


class AnswerCache(Protocol):
    @property
    def hits(self) -> int:
        """Lookups answered without calling `load`."""
        ...

    @property
    def misses(self) -> int:
        """Lookups that called `load` (merged concurrent ones count once)."""
        ...

    async def get_or_load(
        self,
        key: str,
        load: Callable[[], Awaitable[bytes]],
        *,
        keep: Callable[[bytes], bool] = _always,
    ) -> bytes:
        """The cached value, or `load()`'s, shared with concurrent callers; kept only if
        `keep(value)`. Failures are not cached."""
        ...

    async def clear(self) -> None:
        """Forget every value (loads in flight finish as usual)."""
        ...


def _lookups(cache: TtlCache[bytes]) -> int:
    return cache.hits + cache.misses


class LocalCache:
    """In-process (one replica): a `TtlCache` of bytes, bounded by age and size."""

    def __init__(self, *, ttl: float = CACHE_TTL, max_bytes: int = CACHE_BYTES) -> None:
        self._cache: TtlCache[bytes] = TtlCache(
            ttl=ttl, max_entries=20_000, max_bytes=max_bytes, cost=len
        )

    @property
    def hits(self) -> int:
        return self._cache.hits

    @property
    def misses(self) -> int:
        return self._cache.misses

    async def get_or_load(
        self,
        key: str,
        load: Callable[[], Awaitable[bytes]],
        *,
        keep: Callable[[bytes], bool] = _always,
    ) -> bytes:
        return await self._cache.get_or_load(key, load, keep=keep)

    async def clear(self) -> None:
        self._cache.clear()


class SharedCache:
    """Shared through Redis (`name` separates one connector's answers from another's), the
    in-process merge in front, `TtlCache` behind it for outages."""

    def __init__(
        self,
        link: RedisLink,
        name: str,
        *,
        ttl: float = CACHE_TTL,
        max_bytes: int = CACHE_BYTES,
    ) -> None:
        self._link = link
        self._name = name
        self._ttl_ms = max(1, round(ttl * 1000))
        self._local = LocalCache(ttl=ttl, max_bytes=max_bytes)
        self._loads = 0

    @property
    def hits(self) -> int:
        return self._local.hits + self._local.misses - self._loads

    @property
    def misses(self) -> int:
        return self._loads

    def _generation_key(self) -> str:
        return self._link.key("cache", self._name, "generation")

    def _key(self, key: str) -> str:
        digest = hashlib.sha256(key.encode()).hexdigest()[:40]
        return self._link.key("cache", self._name, digest)

    async def get_or_load(
        self,
        key: str,
        load: Callable[[], Awaitable[bytes]],
        *,
        keep: Callable[[bytes], bool] = _always,
    ) -> bytes:
        async def shared() -> bytes:
            generation, found = await self._read(key)
            if found is not None:
                return found
            self._loads += 1
            value = await load()
            if keep(value) and generation is not None:
                await self._write(key, generation, value)
            return value

        def keep_here(value: bytes) -> bool:
            return keep(value) and not self._link.up

        return await self._local.get_or_load(key, shared, keep=keep_here)

    async def clear(self) -> None:
        await self._local.clear()
        with contextlib.suppress(RedisDown):  # down: the other replicas' copies expire
            await self._link.run(self._next_generation)

    async def _read(self, key: str) -> tuple[bytes | None, bytes | None]:
        """(the current generation, the value of that generation) from Redis; (None, None)
        when Redis is down."""
        try:
            generation, raw = await self._link.run(
                lambda client: client.mget(self._generation_key(), self._key(key))
            )
        except RedisDown:
            return None, None
        current = b"0" if generation is None else as_bytes(generation)
        if raw is None:
            return current, None
        written, _, value = as_bytes(raw).partition(b":")
        return current, (value if written == current else None)

    async def _write(self, key: str, generation: bytes, value: bytes) -> None:
        with contextlib.suppress(RedisDown):  # down: kept in this replica (`keep_here`)
            await self._link.run(
                lambda client: client.set(
                    self._key(key), generation + b":" + value, px=self._ttl_ms
                )
            )

    async def _next_generation(self, client: Redis) -> None:
        """A new generation: every value written before reads as missing."""
        token = secrets.token_hex(8).encode()
        await client.set(self._generation_key(), token, px=2 * self._ttl_ms)
