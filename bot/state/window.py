"""MDE's call budget shared by every replica: "at most N calls in any `seconds` (plus the guard
band) for this tenant", counted across all replicas, since MDE counts per app and tenant.

    take(reserve=0)      count one call and return 0 if it fits in every window now; else
                         count nothing and return the seconds until it would
    wait(ahead=0, …)     the seconds until one more call would fit behind `ahead` others
                         (an estimate: counts nothing)
    finish()             a call taken here has ended: from now on it counts from its end

`reserve` leaves that share of each window unused (`bot.mde.limits.RESERVE`: auto-enrichment
leaves the last 10 % to people who ask). The windows are `bot.mde.limits.Window`s and each
is lengthened by the same `guard_band` as `SlidingWindow`'s.

With Redis, each window is a sorted set of call starts, and one small Lua script (`SCRIPT`)
does the whole "take a slot if free, else say how long to wait" atomically: drop the starts
that left the window (ZREMRANGEBYSCORE), count the rest (ZCARD), and add this call (ZADD) to
every window only if it fits in all of them. The clock is Redis's own (TIME), so the replicas'
clocks do not matter. A call counts from its start while it is in flight, and from its end
once `finish()` says it ended (`FINISH` moves its score to Redis's time then), so that a call
that reached MDE late (a busy loop, a slow connection) still holds its place for a whole window
after MDE saw it: `SlidingWindow.settled`'s rule, for every replica. (Unlike `settled`, a call
in flight for longer than a window would leave it; MDE calls time out well before a minute,
BOT_MDE_CALL_TIMEOUT.) A window's set holds at most its `calls` starts (plus, after an
outage, the calls made during it) and expires when idle. Why a script and not the `limits` library:
`limits`' moving window answers "may one more go now?" for one window; the scheduler also needs
"how long until", with calls queued `ahead`, over two windows at once (per minute and per
hour) without spending a slot in one when the other is full. The script is that, in 40 lines.

While Redis is down, each replica spends a fixed share of each window on its own:
`calls // BOT_REPLICAS` (at least 1), so the replicas together stay within the budget. Each
share starts with this replica's share of the calls Redis last counted
(`ceil(count / replicas)`), recorded when the outage is noticed, so the calls made just before
the outage are not spent twice. When Redis answers again, the calls made during the outage are
added to the shared windows (as their ages: no clock is compared), and sharing resumes; until
the outage's calls have left a window, a replica also keeps within its share of it, since the
other replicas hand their outage calls over only with their own next call. The one gap:
calls other replicas made between this replica's last answer from Redis and the outage are not
in its count (a few in-flight calls; the guard band absorbs them).
"""

from __future__ import annotations

import contextlib
import math
import secrets
import time
from collections import deque
from collections.abc import Callable, Sequence
from typing import Protocol

from bot.mde.limits import SlidingWindow, Window, guard_band
from bot.state.link import RedisDown, RedisLink

# KEYS[i]: window i's sorted set of call starts, scored in microseconds of the server's clock.
# ARGV: take ("1": count this call if it fits now), ahead, member (the call's unique name),
# then for each window its calls, span (microseconds) and free (calls left unused), then the
# ages (microseconds) of calls made elsewhere to add first (made while Redis was down).
# Returns the wait in microseconds (0: fits; taken if asked) and each window's count.
SCRIPT = """
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000000 + tonumber(clock[2])
local take, ahead, member = ARGV[1] == '1', tonumber(ARGV[2]), ARGV[3]
local windows = #KEYS
local replayed = 3 + 3 * windows
local wait = 0
local counts = {}
for i = 1, windows do
  local key = KEYS[i]
  local calls, span = tonumber(ARGV[1 + 3 * i]), tonumber(ARGV[2 + 3 * i])
  local free = tonumber(ARGV[3 + 3 * i])
  for j = replayed + 1, #ARGV do
    local age = tonumber(ARGV[j])
    if age < span then
      redis.call('ZADD', key, now - age, member .. ':' .. j)
    end
  end
  local horizon = now - span
  redis.call('ZREMRANGEBYSCORE', key, '-inf', horizon)
  local remembered = redis.call('ZCARD', key)
  local capacity = math.max(1, calls - free)
  local before = remembered + ahead - capacity
  if before >= 0 then
    local spans = 0
    if before >= remembered then
      spans = math.floor((before - remembered) / capacity) + 1
      before = before - spans * capacity
    end
    local leaves = 0
    if before >= 0 then
      leaves = tonumber(redis.call('ZRANGE', key, before, before, 'WITHSCORES')[2]) - horizon
    end
    wait = math.max(wait, math.max(0, leaves) + spans * span)
  end
  counts[i] = remembered
end
for i = 1, windows do
  if take and wait == 0 then
    redis.call('ZADD', KEYS[i], now, member)
    counts[i] = counts[i] + 1
  end
  redis.call('PEXPIRE', KEYS[i], math.ceil(tonumber(ARGV[2 + 3 * i]) / 1000) + 1000)
end
return {wait, unpack(counts)}
"""


# KEYS: the windows' sorted sets; ARGV[1]: the member of a call taken here, now ended. Moves its
# score to now (Redis's clock), if it is still there.
FINISH = """
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000000 + tonumber(clock[2])
for i = 1, #KEYS do
  redis.call('ZADD', KEYS[i], 'XX', now, ARGV[1])
end
return 0
"""
MAX_STARTED = 10_000  # calls taken here and not yet finished that are remembered


def _free(window: Window, reserve: float) -> int:
    return math.floor(window.calls * reserve)


def span(window: Window) -> float:
    """A window's length as counted: MDE's plus the guard band (seconds)."""
    return window.seconds + guard_band(window.seconds)


class RateWindow(Protocol):
    async def take(self, *, reserve: float = 0.0) -> float:
        """0 when one more call fits in every window now (and it is counted); otherwise the
        seconds until it would, and nothing is counted."""
        ...

    async def wait(self, ahead: int = 0, *, reserve: float = 0.0) -> float:
        """Seconds until one more call fits behind `ahead` others; 0 if it fits now."""
        ...

    async def finish(self) -> None:
        """A call taken here has ended (it counts from its end from now on)."""
        ...


class LocalRateWindow:
    """In-process: one `SlidingWindow` per window (one replica, or a replica's share while
    Redis is down)."""

    def __init__(
        self, windows: Sequence[Window], *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.windows = tuple(windows)
        self.sliding = tuple(SlidingWindow(w, clock) for w in windows)

    async def take(self, *, reserve: float = 0.0) -> float:
        return self.take_now(reserve)

    async def wait(self, ahead: int = 0, *, reserve: float = 0.0) -> float:
        return self.wait_now(ahead, reserve)

    async def finish(self) -> None:
        """Nothing: in one process the budget's own windows count ends (`settled`)."""

    def take_now(self, reserve: float = 0.0) -> float:
        wait = self.wait_now(0, reserve)
        if wait <= 0:
            for window in self.sliding:
                window.record()
        return wait

    def wait_now(self, ahead: int = 0, reserve: float = 0.0) -> float:
        waits = [w.wait(ahead, keep_free=_free(w.window, reserve)) for w in self.sliding]
        return max([0.0, *waits])

    def seed(self, counts: Sequence[int]) -> None:
        """Count `counts[i]` calls in window i as started now (at most the window's calls)."""
        for window, count in zip(self.sliding, counts, strict=True):
            for _ in range(min(count, window.window.calls)):
                window.record()


class RedisRateWindow:
    """Shared by every replica through Redis (`name`: the tenant and call family), with a
    `LocalRateWindow` of this replica's share behind it for outages."""

    def __init__(
        self,
        link: RedisLink,
        name: str,
        windows: Sequence[Window],
        *,
        replicas: int = 1,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._link = link
        self.windows = tuple(windows)
        self.replicas = max(1, replicas)
        self.share = tuple(Window(max(1, w.calls // self.replicas), w.seconds) for w in windows)
        self._keys = [link.key("window", name, f"{w.calls}-per-{w.seconds:g}s") for w in windows]
        self._spans = [span(w) for w in windows]
        self._clock = clock
        self._script = link.client.register_script(SCRIPT)
        self._finish = link.client.register_script(FINISH)
        self._started: deque[str] = deque(maxlen=MAX_STARTED)  # calls taken, not yet ended
        self._counts = [0] * len(self.windows)  # each window's calls, as Redis last said
        self._local: LocalRateWindow | None = None  # this replica's share, while Redis is down
        self._unshared: deque[float] = deque()  # starts of calls made while Redis was down
        # After an outage, each share window and until when it still holds outage calls.
        self._after: list[tuple[SlidingWindow, float]] = []

    @property
    def shared(self) -> bool:
        """False while calls are counted against this replica's share instead."""
        return self._local is None

    async def take(self, *, reserve: float = 0.0) -> float:
        local = self._local
        if local is not None and (wait := local.take_now(reserve)) > 0:
            return wait  # an outage, and this replica's share is spent
        if local is None and (wait := self._share_after(0, reserve)) > 0:
            return wait
        # During an outage the call is counted in the share before Redis is tried (a probe):
        # calls granted locally while the probe is on its way must leave room for it.
        start = self._clock()
        try:
            wait = await self._run(take=True, ahead=0, reserve=reserve)
        except RedisDown:
            if local is None:  # the outage begins with this call
                wait = self._fallback().take_now(reserve)
                if wait > 0:
                    return wait
            self._remember(start)
            return 0.0
        if wait <= 0 and local is None:
            for window, _ in self._after:
                window.record()
        return wait

    async def wait(self, ahead: int = 0, *, reserve: float = 0.0) -> float:
        try:
            shared = await self._run(take=False, ahead=ahead, reserve=reserve)
        except RedisDown:
            return self._fallback().wait_now(ahead, reserve)
        return max(shared, self._share_after(ahead, reserve))

    async def _run(self, *, take: bool, ahead: int, reserve: float) -> float:
        now = self._clock()
        sent = tuple(self._unshared)
        member = secrets.token_hex(8)
        args: list[str | int] = ["1" if take else "0", ahead, member]
        for window, length in zip(self.windows, self._spans, strict=True):
            args += [window.calls, round(length * 1e6), _free(window, reserve)]
        args += [round((now - start) * 1e6) for start in sent]
        reply = await self._link.run(lambda _: self._script(keys=self._keys, args=args))
        wait, *counts = (int(n) for n in reply)
        self._counts = counts
        if take and wait == 0:
            self._started.append(member)
        # Calls made locally while this one was on its way were not sent: kept for the next.
        self._unshared = deque(start for start in self._unshared if start not in sent)
        if self._local is not None:  # back from an outage
            self._after = [
                (window, now + length)
                for window, length in zip(self._local.sliding, self._spans, strict=True)
            ]
            self._local = None
        return wait / 1e6

    async def finish(self) -> None:
        """One of this replica's calls ended: the oldest still in flight counts from now on
        (which one does not matter to the count; the oldest is the one nearest to leaving).
        While Redis is down, nothing: the call was counted in this replica's share."""
        if not self._started:
            return
        member = self._started.popleft()
        with contextlib.suppress(RedisDown):
            await self._link.run(lambda _: self._finish(keys=self._keys, args=[member]))

    def _share_after(self, ahead: int, reserve: float) -> float:
        """After an outage, until its calls have left each window, this replica also keeps
        within its share of that window: the other replicas' outage calls may not be in Redis
        yet (each replica hands its own over with its first call after the outage)."""
        now = self._clock()
        self._after = [(window, until) for window, until in self._after if until > now]
        waits = [w.wait(ahead, keep_free=_free(w.window, reserve)) for w, _ in self._after]
        return max([0.0, *waits])

    def _fallback(self) -> LocalRateWindow:
        """This replica's share, made when the outage is noticed (see the module docstring)."""
        if self._local is None:
            self._local = LocalRateWindow(self.share, clock=self._clock)
            self._local.seed([math.ceil(c / self.replicas) for c in self._counts])
        return self._local

    def _remember(self, start: float) -> None:
        """Keep a call made during the outage for as long as any window can hold it."""
        self._unshared.append(start)
        longest = max(self._spans)
        while self._unshared and self._unshared[0] <= start - longest:
            self._unshared.popleft()
