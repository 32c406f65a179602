"""MDE's call budget shared by replicas through one Lua script on a real Redis: never more
than N calls in any window as Redis's own clock sees them, however many replicas take at once;
the wait it announces is the in-process `SlidingWindow`'s; several windows are taken together
or not at all."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import pytest

from bot.mde.limits import Window
from bot.state.link import RedisLink
from bot.state.window import LocalRateWindow, RedisRateWindow, span

Links = Callable[..., RedisLink]

SHORT = Window(5, 0.3)  # 5 calls per 0.55 s once the guard band is added
# A window nothing fills: its sorted set keeps every start as Redis timed it.
LEDGER = Window(10_000, 60.0)


async def _spend(window: RedisRateWindow, until: float) -> int:
    """Take calls as fast as the window allows until `until` (monotonic); how many."""
    taken = 0
    while time.monotonic() < until:
        wait = await window.take()
        if wait <= 0:
            taken += 1
        else:
            await asyncio.sleep(max(0.0, min(wait, until - time.monotonic())))
    return taken


def _busiest(starts: list[float], length: float) -> int:
    """The most starts within any interval (t - length, t]."""
    return max(sum(1 for s in starts if t - length < s <= t) for t in starts)


async def test_three_replicas_never_exceed_the_budget_as_redis_sees_it(redis_links: Links) -> None:
    """Three replicas, six eager callers each, for 1.5 s against 5 calls per window: the
    starts Redis recorded (its own clock) never put more than 5 in any window, and the budget
    was used (not merely refused)."""
    replicas = [
        RedisRateWindow(redis_links(timeout=5.0), "contoso:api", (SHORT, LEDGER)) for _ in range(3)
    ]
    until = time.monotonic() + 1.5
    taken = await asyncio.gather(*(_spend(r, until) for r in replicas for _ in range(6)))
    link = redis_links()
    scores = await link.client.zrange(
        "test:window:contoso:api:10000-per-60s", 0, -1, withscores=True
    )
    starts = [score / 1e6 for _, score in scores]
    assert len(starts) == sum(taken)
    assert _busiest(starts, span(SHORT)) == SHORT.calls
    assert sum(taken) >= 2 * SHORT.calls  # the windows that passed were filled


async def test_a_full_window_says_how_long_until_a_slot_frees(redis_links: Links) -> None:
    """The same answers as the in-process window for the same calls: 0 while it fits, then
    the time until the oldest start leaves, and a span more per `ahead` window-full."""
    window = Window(3, 10.0)
    shared = RedisRateWindow(redis_links(), "contoso:api", (window,))
    local = LocalRateWindow((window,))
    for _ in range(3):
        assert await shared.take() == 0
        assert await local.take() == 0
    for ahead in (0, 2, 3, 7):
        expected = await local.wait(ahead)
        assert await shared.wait(ahead) == pytest.approx(expected, abs=0.1)
    assert await shared.take() == pytest.approx(span(window), abs=0.1)
    assert await shared.wait(ahead=0) > 0  # a refused take counted nothing
    assert await local.wait(ahead=2) == pytest.approx(span(window), abs=0.1)


async def test_reserve_leaves_the_last_share_to_people_who_ask(redis_links: Links) -> None:
    shared = RedisRateWindow(redis_links(), "contoso:api", (Window(10, 60.0),))
    for _ in range(9):
        assert await shared.take(reserve=0.1) == 0
    assert await shared.take(reserve=0.1) > 0
    assert await shared.take() == 0


async def test_windows_are_taken_together_or_not_at_all(redis_links: Links) -> None:
    """When the hour is spent, a call does not use up a slot of the minute either."""
    link = redis_links()
    shared = RedisRateWindow(link, "contoso:api", (Window(5, 60.0), Window(3, 3600.0)))
    for _ in range(3):
        assert await shared.take() == 0
    assert await shared.take() > 60
    assert await link.client.zcard("test:window:contoso:api:5-per-60s") == 3


async def test_tenants_have_their_own_budget(redis_links: Links) -> None:
    link = redis_links()
    contoso = RedisRateWindow(link, "contoso:api", (Window(1, 60.0),))
    fabrikam = RedisRateWindow(link, "fabrikam:api", (Window(1, 60.0),))
    assert await contoso.take() == 0
    assert await fabrikam.take() == 0
    assert await contoso.take() > 0


async def test_the_sets_are_bounded_and_expire(redis_links: Links) -> None:
    link = redis_links()
    shared = RedisRateWindow(link, "contoso:api", (Window(3, 60.0),))
    for _ in range(10):
        await shared.take()
    key = "test:window:contoso:api:3-per-60s"
    assert await link.client.zcard(key) == 3
    assert 60_000 < await link.client.pttl(key) <= 65_000


async def test_a_finished_call_counts_from_its_end_on_every_replica(redis_links: Links) -> None:
    """A call that took a while (or reached MDE late) holds its place for a whole window after
    it ended, not after it started: the other replica waits for that (`settled`'s rule)."""
    window = Window(1, 1.0)  # one call per 1.25 s as counted (the guard band)
    here, there = (RedisRateWindow(redis_links(), "contoso:api", (window,)) for _ in range(2))
    assert await here.take() == 0
    await asyncio.sleep(0.5)  # the call is in flight
    await here.finish()
    wait = await there.wait()
    assert span(window) - 0.1 < wait <= span(window)  # from its end, not from its start
