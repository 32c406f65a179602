"""A real redis-server stopped (and frozen) in the middle of a test: every shared store keeps
working on its fallback, fast, and `redis_down` is logged once; started again, the stores
share again after one probe, what was done meanwhile is handed to Redis, and `redis_back` is
logged once. (Action requests are in the database, not on Redis: `tests/test_action_store.py`.)"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable

import pytest
from structlog.testing import capture_logs

from bot.mde.limits import Window
from bot.state.cache import SharedCache
from bot.state.dedupe import RedisDedupe
from bot.state.lease import RedisLeases
from bot.state.link import RedisLink, open_redis
from bot.state.store import Codec, RedisKeyValue
from bot.state.window import RedisRateWindow, span
from tests.servers import RedisServer

PROBE = 0.2  # seconds between probes while down (3 s in the bot)
BUDGET = Window(9, 60.0)  # 3 replicas: a share of 3 each while Redis is down


@pytest.fixture
async def links(own_redis: RedisServer) -> AsyncIterator[Callable[[], RedisLink]]:
    made: list[RedisLink] = []

    def link() -> RedisLink:
        made.append(RedisLink(open_redis(own_redis.url), prefix="test", probe_every=PROBE))
        return made[-1]

    yield link
    for each in made:
        await each.close()


def _edges(logged: list[dict[str, object]]) -> list[object]:
    return [e["event"] for e in logged if e["event"] in {"redis_down", "redis_back"}]


async def _load() -> bytes:
    return b"answer"


async def test_stores_fall_back_while_redis_is_stopped_and_share_again_after(
    own_redis: RedisServer, links: Callable[[], RedisLink]
) -> None:
    link = links()
    seen = RedisDedupe(link, "deliveries")
    reports = RedisKeyValue(link, "reports", Codec.of(str))
    cache = SharedCache(link, "contoso")
    budget = RedisRateWindow(link, "contoso:api", (BUDGET,), replicas=3)
    leases = RedisLeases(link, "follow")
    for _ in range(6):  # 6 of the 9 shared calls spent before the outage
        assert await budget.take() == 0
    following = await leases.acquire("request-1", 10)
    assert following is not None

    with capture_logs() as logged:
        own_redis.stop()
        started = time.monotonic()
        assert await seen.first("Ev-outage")
        failover = time.monotonic() - started
        assert not await seen.first("Ev-outage")
        await reports.put("card-1", "report", 60)
        assert await reports.get("card-1") == "report"
        assert await cache.get_or_load("k", _load) == b"answer"
        assert await cache.get_or_load("k", _load) == b"answer"
        assert cache.misses == 1  # kept in the replica meanwhile
        # A share of 3, 2 of them counted as spent (ceil(6 / 3)): one call left here.
        assert await budget.take() == 0
        assert not budget.shared
        assert await budget.take() > 0
        assert await leases.renew(following, 10)  # held here: the work goes on
        assert await leases.acquire("request-2", 10) is not None
        quick = time.monotonic()
        for n in range(100):
            await seen.first(f"Ev{n}")
        assert time.monotonic() - quick < 0.5  # no call waits for Redis meanwhile
        assert _edges(logged) == ["redis_down"]

        own_redis.start()  # empty: as a Redis that restarted without its data
        await asyncio.sleep(PROBE)
        recovered = time.monotonic()
        assert await seen.first("Ev-after")
        assert link.up
        assert _edges(logged) == ["redis_down", "redis_back"]

    assert failover < 0.1  # refused at once: no timeout to wait for
    assert recovered - started > PROBE
    # What was done during the outage reached Redis: the deliveries, the call made. Until the
    # outage's calls leave the window, the replica also keeps within its share (spent).
    other = RedisDedupe(links(), "deliveries")
    assert not await other.first("Ev-outage")
    assert await budget.wait() > 0
    assert budget.shared
    assert await link.client.zcard("test:window:contoso:api:9-per-60s") == 1
    assert await RedisRateWindow(links(), "contoso:api", (BUDGET,), replicas=3).take() == 0
    # The lease held through the outage is renewed into Redis; the other replicas see it.
    assert await leases.renew(following, 10)
    assert await RedisLeases(links(), "follow").acquire("request-1", 10) is None


async def test_a_frozen_redis_is_down_after_the_timeout_and_back_when_it_thaws(
    own_redis: RedisServer, links: Callable[[], RedisLink]
) -> None:
    """A Redis that accepts connections but never answers (SIGSTOP): the first call gives up
    after the link's timeout, the following ones at once; thawed, the next probe succeeds."""
    link = links()
    seen = RedisDedupe(link, "deliveries")
    assert await seen.first("Ev0")
    with capture_logs() as logged:
        own_redis.pause()
        try:
            started = time.monotonic()
            assert await seen.first("Ev1")
            first = time.monotonic() - started
            started = time.monotonic()
            assert await seen.first("Ev2")
            second = time.monotonic() - started
        finally:
            own_redis.resume()
        await asyncio.sleep(PROBE)
        assert not await seen.first("Ev0")
        assert _edges(logged) == ["redis_down", "redis_back"]
    assert link.timeout <= first < link.timeout + 0.3
    assert second < 0.05


async def test_only_one_call_probes_while_redis_is_down(
    own_redis: RedisServer, links: Callable[[], RedisLink]
) -> None:
    """Probes are spaced: within a probe interval, one call tries Redis and the others fall
    back at once (100 concurrent calls, one failed call counted)."""
    errors = 0

    def count() -> None:
        nonlocal errors
        errors += 1

    link = RedisLink(open_redis(own_redis.url), prefix="test", probe_every=PROBE, on_error=count)
    try:
        seen = RedisDedupe(link, "deliveries")
        own_redis.stop()
        await seen.first("Ev0")
        await asyncio.sleep(PROBE)
        await asyncio.gather(*(seen.first(f"Ev{n}") for n in range(1, 101)))
        assert errors == 2  # the call that found it down, then the one probe
    finally:
        await link.close()


async def test_three_replicas_stay_within_the_budget_through_an_outage(
    own_redis: RedisServer, links: Callable[[], RedisLink]
) -> None:
    """Three replicas spend a budget of 15 calls per window as fast as it lets them while
    Redis is stopped and started again (empty): counted by one clock (they share this
    process), no window ever holds more than 15 calls, before, during or after the outage,
    and the budget keeps being used throughout."""
    budget = Window(15, 0.5)  # 0.75 s with the guard band; a share of 5 per replica
    replicas = [RedisRateWindow(links(), "contoso:api", (budget,), replicas=3) for _ in range(3)]
    starts: list[float] = []
    began = time.monotonic()

    async def spend(window: RedisRateWindow) -> None:
        while (left := began + 2.6 - time.monotonic()) > 0:
            wait = await window.take()
            if wait <= 0:
                starts.append(time.monotonic())
            else:
                await asyncio.sleep(min(wait, left))

    async def outage() -> None:
        await asyncio.sleep(0.4)
        own_redis.stop()
        await asyncio.sleep(1.0)
        own_redis.start()

    await asyncio.gather(outage(), *(spend(r) for r in replicas for _ in range(3)))
    length = span(budget)
    busiest = max(sum(1 for s in starts if t - length < s <= t) for t in starts)
    assert busiest <= budget.calls
    assert len(starts) >= 3 * budget.calls  # spent before, during and after the outage
