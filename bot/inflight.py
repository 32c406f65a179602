"""Owning the work that outlives a request.

Bolt acknowledges Slack and then runs listeners in tasks it does not keep. `InFlight` counts
that work so that shutdown waits for it (bounded) before closing the session it uses: a lookup
that was acknowledged is answered, not dropped.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator


class InFlight:
    def __init__(self) -> None:
        self._count = 0
        self._idle = asyncio.Event()
        self._idle.set()

    @property
    def count(self) -> int:
        return self._count

    @contextlib.asynccontextmanager
    async def track(self) -> AsyncIterator[None]:
        self._count += 1
        self._idle.clear()
        try:
            yield
        finally:
            self._count -= 1
            if self._count == 0:
                self._idle.set()

    async def drain(self, within: float) -> bool:
        """Wait until no tracked work runs, at most `within` seconds; True if it all finished."""
        try:
            async with asyncio.timeout(within):
                await self._idle.wait()
        except TimeoutError:
            return False
        return True
