"""Owning the work that outlives a request.

Bolt acknowledges Slack and then runs listeners in tasks it does not keep. `InFlight` keeps
every such task (and the few the bot starts itself, `spawn`) so that shutdown waits for them,
bounded, and then cancels and awaits what is left, before closing the session they use: a
lookup that was acknowledged is answered, not dropped, and no task outlives the process's
resources.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Coroutine
from typing import Any

RESUMABLE_CHECK = 0.05  # seconds between looks for resumable work while draining


class InFlight:
    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[Any]] = set()
        self._idle = asyncio.Event()
        self._idle.set()

    @property
    def count(self) -> int:
        return len(self._tasks)

    def _add(self, task: asyncio.Task[Any]) -> None:
        self._tasks.add(task)
        self._idle.clear()

    def _discard(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not self._tasks:
            self._idle.set()

    @contextlib.asynccontextmanager
    async def track(self) -> AsyncIterator[None]:
        """Around work in the current task (a listener's, after its ack)."""
        task = asyncio.current_task()
        if task is None:  # not in a task: nothing to own
            yield
            return
        self._add(task)
        try:
            yield
        finally:
            self._discard(task)

    def spawn(self, work: Coroutine[Any, Any, None]) -> None:
        """Start `work` in a task this object owns."""
        task = asyncio.create_task(work)
        self._add(task)
        task.add_done_callback(self._discard)

    async def drain(self, within: float, *, resumable: str | None = None) -> int:
        """Wait until no tracked work runs, at most `within` seconds; then cancel and await
        whatever is left. Returns how many tasks had to be cancelled. Tasks whose name starts
        with `resumable` (work another replica takes over, such as following an action) are
        cancelled at once instead of waited for, those that start meanwhile too."""
        try:
            async with asyncio.timeout(within):
                while not self._idle.is_set():
                    self._cancel_named(resumable)
                    with contextlib.suppress(TimeoutError):
                        async with asyncio.timeout(RESUMABLE_CHECK if resumable else None):
                            await self._idle.wait()
        except TimeoutError:
            left = list(self._tasks)
            for task in left:
                task.cancel()
            await asyncio.gather(*left, return_exceptions=True)
            return len(left)
        return 0

    def _cancel_named(self, prefix: str | None) -> None:
        if prefix is None:
            return
        for task in self._tasks:
            if task.get_name().startswith(prefix) and not task.done():
                task.cancel()
