"""Leases: exactly one holder at a time for a name ("follow action request X"), for a TTL that
the holder renews while it works; a holder that dies stops renewing, and the lease is free
again when its TTL runs out.

    acquire(name, ttl)   a `Held` lease, or None when someone else holds it
    renew(held, ttl)     True while it is still ours (for `ttl` more seconds); False when it
                         was lost: stop the work, someone else may be doing it
    release(held)        give it up now (only if it is still ours)

With Redis a lease is one key holding its holder's random token: taken with `SET NX PX`,
renewed and released by two small Lua scripts that act only if the key still holds our token
(a holder that paused past its TTL cannot renew or release another's lease). A renewal finds
the lease free (it expired, or Redis restarted empty) takes it again.

While Redis is down, leases are held locally (`LocalLeases`): within this replica still one
holder per name, but another replica may hold the same name meanwhile, so the work may be done
twice (never lost). When Redis is back, a locally held lease is renewed into Redis if nobody
else holds it there; otherwise its renewal says False and the work stops here.
"""

from __future__ import annotations

import contextlib
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from bot.state.link import RedisDown, RedisLink

# Renew: extend the lease if it is ours, take it if it is free, else refuse.
RENEW = """
local holder = redis.call('GET', KEYS[1])
if holder == ARGV[1] or not holder then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
return 0
"""
# Release: delete the lease only if it is ours.
RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""


@dataclass(frozen=True, slots=True)
class Held:
    """A lease taken: its name and the token that proves it is ours."""

    name: str
    token: str


class Leases(Protocol):
    async def acquire(self, name: str, ttl: float) -> Held | None:
        """The lease on `name` for `ttl` seconds, or None while someone else holds it."""
        ...

    async def renew(self, held: Held, ttl: float) -> bool:
        """Keep `held` for `ttl` more seconds; False if it is no longer ours."""
        ...

    async def release(self, held: Held) -> None:
        """Give `held` up (nothing happens if it is no longer ours)."""
        ...


def _ms(seconds: float) -> int:
    return max(1, round(seconds * 1000))


class LocalLeases:
    """In-process: one holder per name within this process. Expired leases are forgotten
    whenever one is taken, so the table holds only live ones."""

    def __init__(self, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._held: dict[str, tuple[str, float]] = {}  # name → (token, expiry)
        self._clock = clock

    def __len__(self) -> int:
        return len(self._held)

    def holds(self, name: str) -> bool:
        """Whether someone in this process holds `name` now."""
        current = self._held.get(name)
        return current is not None and current[1] > self._clock()

    async def acquire(self, name: str, ttl: float, *, token: str | None = None) -> Held | None:
        now = self._clock()
        self._held = {n: held for n, held in self._held.items() if held[1] > now}
        if name in self._held:
            return None
        held = Held(name, token or secrets.token_hex(16))
        self._held[name] = (held.token, now + ttl)
        return held

    async def renew(self, held: Held, ttl: float) -> bool:
        now = self._clock()
        current = self._held.get(held.name)
        if current is not None and current[0] != held.token and current[1] > now:
            return False
        self._held[held.name] = (held.token, now + ttl)
        return True

    async def release(self, held: Held) -> None:
        current = self._held.get(held.name)
        if current is not None and current[0] == held.token:
            del self._held[held.name]


class RedisLeases:
    """Shared by every replica through Redis (`name` separates one kind of lease from
    another), held locally while Redis is down."""

    def __init__(
        self, link: RedisLink, name: str, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._link = link
        self._name = name
        self._local = LocalLeases(clock=clock)  # leases held here, for outages
        self._renew = link.client.register_script(RENEW)
        self._release = link.client.register_script(RELEASE)

    def _key(self, name: str) -> str:
        return self._link.key("lease", self._name, name)

    async def acquire(self, name: str, ttl: float) -> Held | None:
        if self._local.holds(name):
            return None  # held here (perhaps since an outage, not yet renewed into Redis)
        token = secrets.token_hex(16)
        try:
            taken = await self._link.run(
                lambda client: client.set(self._key(name), token, nx=True, px=_ms(ttl))
            )
        except RedisDown:
            return await self._local.acquire(name, ttl, token=token)
        if not taken:
            return None
        return await self._local.acquire(name, ttl, token=token)  # mirrored, for outages

    async def renew(self, held: Held, ttl: float) -> bool:
        try:
            kept = await self._link.run(
                lambda _: self._renew(keys=[self._key(held.name)], args=[held.token, _ms(ttl)])
            )
        except RedisDown:
            return await self._local.renew(held, ttl)
        if not kept:
            await self._local.release(held)
            return False
        return await self._local.renew(held, ttl)

    async def release(self, held: Held) -> None:
        await self._local.release(held)
        with contextlib.suppress(RedisDown):  # down: it expires with its TTL
            await self._link.run(
                lambda _: self._release(keys=[self._key(held.name)], args=[held.token])
            )
