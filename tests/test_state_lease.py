"""Leases on a real Redis: one holder at a time per name, across replicas; a holder that
renews keeps it past its TTL, one that dies loses it when the TTL runs out and another
replica takes it; nobody renews or releases a lease that is not theirs."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest

from bot.state.lease import Leases, LocalLeases, RedisLeases
from bot.state.link import RedisLink

Links = Callable[..., RedisLink]


@pytest.fixture(params=["local", "redis"])
def leases(request: pytest.FixtureRequest, redis_links: Links) -> Leases:
    if request.param == "local":
        return LocalLeases()
    return RedisLeases(redis_links(), "follow")


async def test_one_holder_at_a_time(leases: Leases) -> None:
    held = await leases.acquire("request-1", 10)
    assert held is not None
    assert await leases.acquire("request-1", 10) is None
    assert await leases.acquire("request-2", 10) is not None
    await leases.release(held)
    assert await leases.acquire("request-1", 10) is not None


async def test_a_renewed_lease_outlives_its_ttl(leases: Leases) -> None:
    held = await leases.acquire("request-1", 0.2)
    assert held is not None
    for _ in range(3):
        await asyncio.sleep(0.1)
        assert await leases.renew(held, 0.2)
    assert await leases.acquire("request-1", 0.2) is None


async def test_replicas_racing_for_a_lease_get_one_holder(redis_links: Links) -> None:
    replicas = [RedisLeases(redis_links(timeout=5.0), "follow") for _ in range(5)]
    held = await asyncio.gather(*(r.acquire("request-1", 10) for r in replicas for _ in range(4)))
    assert sum(h is not None for h in held) == 1


async def test_a_dead_holders_lease_is_taken_by_another_after_its_ttl(redis_links: Links) -> None:
    """The holder stops renewing (its replica died): the lease is free after its TTL, another
    replica takes it, and the old holder, were it to come back, can neither renew nor
    release the new holder's lease."""
    dead, alive = (RedisLeases(redis_links(), "follow") for _ in range(2))
    old = await dead.acquire("request-1", 0.3)
    assert old is not None
    assert await alive.acquire("request-1", 0.3) is None
    await asyncio.sleep(0.4)
    new = await alive.acquire("request-1", 10)
    assert new is not None
    assert not await dead.renew(old, 10)
    await dead.release(old)
    assert await alive.renew(new, 10)
    assert await RedisLeases(redis_links(), "follow").acquire("request-1", 10) is None


async def test_a_lease_key_carries_its_ttl(redis_links: Links) -> None:
    link = redis_links()
    held = await RedisLeases(link, "follow").acquire("request-1", 5)
    assert held is not None
    assert await link.client.get("test:lease:follow:request-1") == held.token.encode()
    assert 0 < await link.client.pttl("test:lease:follow:request-1") <= 5000
