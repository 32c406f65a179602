"""Client-side limits for one connector: the call budget and the retry strategy.

MDE allows 100 calls/min and 1,500/h per app and tenant (45/min for advanced hunting). The bot
counts its own calls against the same windows, so work waits in a queue instead of earning 429s,
and a 429 that arrives anyway pauses the whole connector until `Retry-After` has passed.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Window:
    calls: int
    seconds: float


API_WINDOWS = (Window(100, 60.0), Window(1500, 3600.0))
HUNTING_WINDOWS = (Window(45, 60.0), Window(1500, 3600.0))


def guard_band(seconds: float) -> float:
    """How much longer than MDE's window ours is. We count a call when it leaves, MDE when it
    arrives; arrivals come late by a varying delay and bunch up, so a window of departures
    that is just full could still be one call over at MDE. 5 % (at least 0.25 s, at most 3 s)
    of slack absorbs that: 100 calls per 63 s for MDE's 100 per 60 s."""
    return min(3.0, max(0.25, seconds * 0.05))


class SlidingWindow:
    """At most `calls` starts in any interval of `seconds` plus the guard band."""

    def __init__(self, window: Window, clock: Callable[[], float]) -> None:
        self.window = window
        self._span = window.seconds + guard_band(window.seconds)
        self._clock = clock
        self._starts: deque[float] = deque()

    def wait(self, ahead: int = 0) -> float:
        """Seconds until one more call fits behind `ahead` others; 0 if it fits now.

        Exact for the calls the window remembers; beyond them, whole windows are counted."""
        now = self._clock()
        horizon = now - self._span
        while self._starts and self._starts[0] <= horizon:
            self._starts.popleft()
        free = self.window.calls - len(self._starts)
        if ahead < free:
            return 0.0
        k = ahead - free  # this many remembered starts must leave the window first
        if k < len(self._starts):
            return self._starts[k] - horizon
        return self._span * (1 + (k - len(self._starts)) // self.window.calls)

    def record(self) -> None:
        self._starts.append(self._clock())


class Budget:
    """The call budget of one connector (one per family: API and hunting).

    Callers queue in arrival order: the lock is held while the head of the queue sleeps, so a
    burst of 500 lookups drains at the budget's pace and none is lost or reordered.
    """

    def __init__(
        self,
        windows: Sequence[Window] = API_WINDOWS,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._clock = clock
        self._windows = [SlidingWindow(w, clock) for w in windows]
        self._lock = asyncio.Lock()
        self._paused_until = 0.0
        self.waiting = 0  # callers queued right now

    def pause(self, seconds: float) -> None:
        """MDE said Retry-After: no call leaves before that."""
        self._paused_until = max(self._paused_until, self._clock() + seconds)

    def delay(self, calls: int = 1) -> float:
        """About how long the last of `calls` new calls would wait behind the callers already
        queued: what "queued, about N s" tells users."""
        return self._wait(ahead=self.waiting + calls - 1)

    def _wait(self, ahead: int = 0) -> float:
        pause = self._paused_until - self._clock()
        return max([pause, *(w.wait(ahead) for w in self._windows), 0.0])

    async def acquire(self) -> None:
        self.waiting += 1
        try:
            async with self._lock:
                # Waiting on the clock, not on another task: an Event would not help here.
                while (wait := self._wait()) > 0:  # noqa: ASYNC110
                    await asyncio.sleep(wait)
                for window in self._windows:
                    window.record()
        finally:
            self.waiting -= 1


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Bounded retries with full jitter; Retry-After is honoured, never shortened."""

    attempts: int = 4  # total tries, the first included
    base: float = 0.5
    cap: float = 8.0
    max_retry_after: float = 90.0  # longer waits are reported to the user, not slept through

    def backoff(self, attempt: int) -> float | None:
        """Seconds to wait before try `attempt + 1`, or None when the tries are spent."""
        if attempt >= self.attempts:
            return None
        return random.uniform(0, min(self.cap, self.base * 2 ** (attempt - 1)))  # noqa: S311

    def after_throttle(self, attempt: int, retry_after: float) -> float | None:
        if attempt >= self.attempts or retry_after > self.max_retry_after:
            return None
        return retry_after + random.uniform(0, min(1.0, self.base))  # noqa: S311
