"""The MDE answer cache shared on a real Redis: concurrent identical loads in one replica are
one load, an answer one replica loaded is a hit on another, `clear()` reaches every replica,
and what `keep` refuses or a failure is never kept."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest

from bot.state.cache import LocalCache, SharedCache
from bot.state.link import RedisLink

Links = Callable[..., RedisLink]


class Loader:
    """Counts its loads; each takes a little while, so concurrent callers overlap."""

    def __init__(self, value: bytes = b'{"value": []}') -> None:
        self.value = value
        self.calls = 0

    async def __call__(self) -> bytes:
        self.calls += 1
        await asyncio.sleep(0.05)
        return self.value


async def test_concurrent_identical_loads_are_one_load(redis_links: Links) -> None:
    for cache in (LocalCache(), SharedCache(redis_links(), "contoso")):
        load = Loader()
        answers = await asyncio.gather(
            *(cache.get_or_load("GET /api/files/x", load) for _ in range(20))
        )
        assert answers == [load.value] * 20
        assert load.calls == 1
        assert (cache.hits, cache.misses) == (19, 1)


async def test_an_answer_one_replica_loaded_is_a_hit_on_another(redis_links: Links) -> None:
    one, other = (SharedCache(redis_links(), "contoso") for _ in range(2))
    load = Loader()
    assert await one.get_or_load("GET /api/files/x", load) == load.value
    assert await other.get_or_load("GET /api/files/x", load) == load.value
    assert load.calls == 1
    assert (other.hits, other.misses) == (1, 0)


async def test_connectors_do_not_share_answers(redis_links: Links) -> None:
    link = redis_links()
    load = Loader()
    await SharedCache(link, "contoso").get_or_load("GET /api/files/x", load)
    await SharedCache(link, "fabrikam").get_or_load("GET /api/files/x", load)
    assert load.calls == 2


async def test_clear_reaches_every_replica(redis_links: Links) -> None:
    one, other = (SharedCache(redis_links(), "contoso") for _ in range(2))
    load = Loader()
    await one.get_or_load("k", load)
    await other.clear()
    await one.get_or_load("k", load)
    await other.get_or_load("k", load)
    assert load.calls == 2


async def test_what_keep_refuses_is_not_shared(redis_links: Links) -> None:
    one, other = (SharedCache(redis_links(), "contoso") for _ in range(2))
    load = Loader(b"partial")
    await one.get_or_load("k", load, keep=lambda value: value != b"partial")
    await other.get_or_load("k", load, keep=lambda value: value != b"partial")
    assert load.calls == 2


async def test_a_failed_load_is_not_kept_and_every_waiter_sees_it(redis_links: Links) -> None:
    cache = SharedCache(redis_links(), "contoso")
    calls = 0

    async def fail() -> bytes:
        nonlocal calls
        calls += 1
        await asyncio.sleep(0.05)
        raise LookupError("MDE said no")

    results = await asyncio.gather(
        *(cache.get_or_load("k", fail) for _ in range(3)), return_exceptions=True
    )
    assert [type(r) for r in results] == [LookupError] * 3
    assert calls == 1
    assert await cache.get_or_load("k", Loader(b"later")) == b"later"


async def test_answers_expire_and_keys_carry_no_indicator(redis_links: Links) -> None:
    link = redis_links()
    cache = SharedCache(link, "contoso", ttl=0.2)
    load = Loader()
    await cache.get_or_load("GET /api/ips/203.0.113.7/stats", load)
    [key] = await link.client.keys("test:cache:contoso:*")
    assert b"203.0.113.7" not in key
    assert 0 < await link.client.pttl(key) <= 200
    await asyncio.sleep(0.3)
    await cache.get_or_load("GET /api/ips/203.0.113.7/stats", load)
    assert load.calls == 2


@pytest.mark.parametrize("size", [0, 1, 300_000])
async def test_any_bytes_round_trip(redis_links: Links, size: int) -> None:
    one, other = (SharedCache(redis_links(), "contoso") for _ in range(2))
    value = bytes(range(256)) * (size // 256) + b":" * (size % 256)
    await one.get_or_load("k", Loader(value))
    assert await other.get_or_load("k", Loader(b"never")) == value
