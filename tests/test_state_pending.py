"""Acknowledged work recorded for another replica (`bot.state.pending`), on a real Redis:
claimed only once its holder has been silent long enough, by one replica alone, and never
after it is done."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from bot.state.link import RedisLink
from bot.state.pending import LocalPending, RedisPending

Links = Callable[..., RedisLink]
EVENT = {"kind": "message", "payload": {"channel": "C0INCIDENT", "ts": "1.000100"}}


async def test_work_is_claimed_once_its_holder_is_silent_and_by_one_replica(
    redis_links: Links,
) -> None:
    holder, *others = [RedisPending(redis_links(), "work") for _ in range(4)]
    assert await holder.accept("message:C0INCIDENT:1.000100", EVENT)
    assert await others[0].claim(stale=5.0) is None  # its holder spoke just now
    await asyncio.sleep(0.2)
    claims = await asyncio.gather(*(o.claim(stale=0.1) for o in others))
    taken = [c for c in claims if c is not None]
    assert taken == [("message:C0INCIDENT:1.000100", EVENT)]


async def test_a_beat_keeps_work_from_being_claimed_and_done_forgets_it(
    redis_links: Links,
) -> None:
    holder, other = RedisPending(redis_links(), "work"), RedisPending(redis_links(), "work")
    assert await holder.accept("k1", EVENT)
    await asyncio.sleep(0.15)
    assert await holder.beat("k1")
    assert await other.claim(stale=0.1) is None
    await holder.done("k1")
    assert not await holder.beat("k1")
    await asyncio.sleep(0.15)
    assert await other.claim(stale=0.1) is None


async def test_work_whose_payload_expired_is_dropped_not_claimed(redis_links: Links) -> None:
    link = redis_links()
    holder = RedisPending(link, "work", ttl=0.1)
    assert await holder.accept("k2", EVENT)
    await asyncio.sleep(0.3)
    await link.client.zadd(link.key("pending", "work", ":index"), {"k2": 0})  # index outlived it
    assert await RedisPending(redis_links(), "work").claim(stale=0.0) is None


async def test_one_instance_records_nothing() -> None:
    local: Any = LocalPending()
    assert not await local.accept("k", EVENT)
    assert await local.claim(0.0) is None
