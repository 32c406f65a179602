"""Delivery dedupe, in the process and shared on a real Redis: a key is fresh once within its
TTL, whichever replica asks, even when replicas race on the same delivery."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest

from bot.state.dedupe import Dedupe, LocalDedupe, RedisDedupe
from bot.state.link import RedisLink

Links = Callable[..., RedisLink]


@pytest.fixture(params=["local", "redis"])
def dedupe(request: pytest.FixtureRequest, redis_links: Links) -> Dedupe:
    if request.param == "local":
        return LocalDedupe(ttl=60)
    return RedisDedupe(redis_links(), "deliveries", ttl=60)


async def test_a_key_is_fresh_once(dedupe: Dedupe) -> None:
    assert await dedupe.first("Ev1")
    assert not await dedupe.first("Ev1")
    assert await dedupe.first("Ev2")


async def test_several_keys_are_fresh_only_if_none_was_seen(dedupe: Dedupe) -> None:
    """A message delivered as a message and as a mention carries two keys; either one seen
    makes the delivery a duplicate, and both are remembered."""
    assert await dedupe.first("Ev1", "C1:1700000000.000100")
    assert not await dedupe.first("Ev2", "C1:1700000000.000100")
    assert not await dedupe.first("Ev2")


async def test_a_forgotten_key_is_fresh_again(dedupe: Dedupe) -> None:
    assert await dedupe.first("upload:card:device")
    await dedupe.forget("upload:card:device")
    assert await dedupe.first("upload:card:device")


async def test_keys_expire_after_their_ttl(redis_links: Links) -> None:
    for dedupe in (LocalDedupe(ttl=0.2), RedisDedupe(redis_links(), "short", ttl=0.2)):
        assert await dedupe.first("Ev1")
        await asyncio.sleep(0.3)
        assert await dedupe.first("Ev1")


async def test_replicas_racing_on_one_delivery_answer_it_once(redis_links: Links) -> None:
    """Three replicas (three clients) asked about the same 50 deliveries at once: each
    delivery is fresh for exactly one of them. (The links wait up to 5 s: on a busy test
    machine 150 calls at once can take longer than the product's 0.5 s, which reads as an
    outage and falls back to each replica's own memory, by design; this test is about the race.)"""
    replicas = [RedisDedupe(redis_links(timeout=5.0), "deliveries", ttl=60) for _ in range(3)]
    for n, replica in enumerate(replicas):  # connected before the race, as running replicas are
        assert await replica.first(f"warm-up-{n}")
    calls = [replica.first(f"Ev{n}", f"C1:{n}") for n in range(50) for replica in replicas]
    answers = await asyncio.gather(*calls)
    per_delivery = [answers[i : i + 3] for i in range(0, len(answers), 3)]
    assert all(sum(group) == 1 for group in per_delivery)


async def test_every_key_has_a_ttl_in_redis(redis_links: Links) -> None:
    link = redis_links()
    dedupe = RedisDedupe(link, "deliveries", ttl=60)
    await dedupe.first("Ev1", "Ev2")
    keys = await link.client.keys("test:seen:deliveries:*")
    assert len(keys) == 2
    for key in keys:
        assert 0 < await link.client.pttl(key) <= 60_000
