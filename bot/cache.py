"""A short-lived, bounded cache that also merges identical loads in flight.

It holds each connector's MDE answers (the same indicator pasted twice, or by two people at
once, costs one call), the members of allowed user groups, the reports behind cards' buttons,
and the events already answered.

Why our own and not a library's: no well-kept asyncio cache bounds by both age and size *and*
merges concurrent loads of one key into one call (the merge is what keeps a burst of identical
lookups at one MDE call each); the whole of it is the 100 lines below.

Bounds: at most `max_entries` entries and, when `max_bytes` is set, at most that many bytes by
`cost` (an MDE answer costs its size on the wire times a measured factor for the parsed
objects, so one 1,000-alert answer weighs what it holds, not what one row does). A value that
alone costs more than `max_bytes` is handed back but never kept. Oldest-used entries go first.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable
from typing import Generic, TypeVar

T = TypeVar("T")


def _no_cost(_: object) -> int:
    return 0


def _always(_: object) -> bool:
    return True


def _ignore(_: bool) -> None:
    return None


class TtlCache(Generic[T]):
    def __init__(
        self,
        *,
        ttl: float = 300.0,
        max_entries: int = 2048,
        max_bytes: int | None = None,
        cost: Callable[[T], int] = _no_cost,
        clock: Callable[[], float] = time.monotonic,
        observe: Callable[[bool], None] = _ignore,
    ) -> None:
        self.ttl = ttl
        self._observe = observe  # told of every `get_or_load`: True for a hit (metrics)
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self._cost = cost
        self._clock = clock
        self._entries: OrderedDict[Hashable, tuple[float, T, int]] = OrderedDict()
        self._inflight: dict[Hashable, asyncio.Future[T]] = {}
        self.bytes = 0  # the cost of everything held
        self.hits = 0
        self.misses = 0

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: Hashable) -> T | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        expires, value, _ = entry
        if expires <= self._clock():
            self.discard(key)
            return None
        self._entries.move_to_end(key)
        return value

    def clear(self) -> None:
        """Forget every entry (loads in flight finish and are kept as usual)."""
        self._entries.clear()
        self.bytes = 0

    def discard(self, key: Hashable) -> None:
        entry = self._entries.pop(key, None)
        if entry is not None:
            self.bytes -= entry[2]

    def put(self, key: Hashable, value: T) -> None:
        if self.ttl <= 0:
            return
        cost = self._cost(value)
        self.discard(key)
        if self.max_bytes is not None and cost > self.max_bytes:
            return  # larger than the whole cache: handed back, never kept
        self._entries[key] = (self._clock() + self.ttl, value, cost)
        self.bytes += cost
        while len(self._entries) > self.max_entries or (
            self.max_bytes is not None and self.bytes > self.max_bytes
        ):
            _, (_, _, dropped) = self._entries.popitem(last=False)
            self.bytes -= dropped

    async def get_or_load(
        self,
        key: Hashable,
        load: Callable[[], Awaitable[T]],
        *,
        keep: Callable[[T], bool] = _always,
    ) -> T:
        """The cached value, or the result of `load()`, shared with concurrent callers; kept
        for later callers only if `keep(value)` (an answer MDE gave only in part is not).

        Failures are not cached; every waiter of a failed load sees the same exception.
        """
        while (pending := self._inflight.get(key)) is not None:
            self.hits += 1
            self._observe(True)
            try:
                return await asyncio.shield(pending)
            except asyncio.CancelledError:
                task = asyncio.current_task()
                if not pending.cancelled() or (task is not None and task.cancelling()):
                    raise
                # The caller that was loading it went away; load it ourselves.
        cached = self.get(key)
        if cached is not None:
            self.hits += 1
            self._observe(True)
            return cached
        self.misses += 1
        self._observe(False)
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self._inflight[key] = future
        try:
            value = await load()
        except asyncio.CancelledError:
            future.cancel()
            raise
        except Exception as exc:
            future.set_exception(exc)
            future.exception()  # retrieved here: waiters re-raise it, nobody else must
            raise
        else:
            future.set_result(value)
            if keep(value):
                self.put(key, value)
            return value
        finally:
            del self._inflight[key]
