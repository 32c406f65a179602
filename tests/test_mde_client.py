"""The MDE client under limits and faults, against the simulator over real HTTPS."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest

from bot.demo.simulator import Fault, Simulator
from bot.demo.simulator import data as d
from bot.errors import MdeRateLimited, MdeUnavailable
from bot.indicators import Extraction, Indicator, IndicatorType
from bot.mde import lookups
from bot.mde.client import MdeClient
from bot.retry import RetryPolicy
from bot.runtime import Backend, open_backend
from bot.slack.services import Services
from tests.conftest import bot_settings


@pytest.fixture
async def backend(simulator: Simulator) -> AsyncIterator[Backend]:
    async with open_backend([], bot_settings(mde_call_timeout=0.3), simulator=simulator) as b:
        yield b


@pytest.fixture
def client(backend: Backend) -> MdeClient:
    return next(c for c in backend.clients if c.alias == "contoso")


async def test_429_is_retried_only_after_retry_after(
    client: MdeClient, simulator: Simulator
) -> None:
    """No call at all reaches MDE between a 429 and its Retry-After, not even other lookups'."""
    await client.tokens.token()
    simulator.force(Fault(429, retry_after=2))
    started = time.monotonic()
    first = asyncio.ensure_future(lookups.devices_by_ip(client, [d.DEMO_IP]))
    while client.queue_delay() == 0:  # noqa: ASYNC110 - until the 429 has come back
        await asyncio.sleep(0.01)
    others = asyncio.gather(*(lookups.devices_by_ip(client, [f"10.9.0.{n}"]) for n in range(5)))
    await asyncio.sleep(1.2)  # well inside the 2 s pause: nothing else was sent
    assert simulator.calls["*"] == 1
    found, _ = await asyncio.gather(first, others)
    assert time.monotonic() - started >= 2.0
    assert simulator.calls["*"] == 7  # the throttled call again, and the five others
    assert [m.computer_dns_name for m in found.found[d.DEMO_IP]] == [d.DEMO_HOST]


async def test_a_retry_after_longer_than_we_wait_is_reported(
    client: MdeClient, simulator: Simulator
) -> None:
    await client.tokens.token()
    simulator.force(Fault(429, retry_after=45))
    with pytest.raises(MdeRateLimited) as caught:
        await lookups.devices_by_ip(client, [d.DEMO_IP])
    assert caught.value.retry_after == 45
    assert caught.value.message == "MDE is throttling requests; retry in 45 s"
    assert 44 < client.queue_delay() <= 45  # and every call of the tenant waits as long


async def test_5xx_and_connection_trouble_are_retried_then_succeed(
    client: MdeClient, simulator: Simulator
) -> None:
    simulator.force(Fault(500), Fault(503))
    found = await lookups.devices_by_ip(client, [d.DEMO_IP])
    assert [m.computer_dns_name for m in found.found[d.DEMO_IP]] == [d.DEMO_HOST]
    assert simulator.calls["machines"] == 3


async def test_retries_are_bounded(client: MdeClient, simulator: Simulator) -> None:
    simulator.knobs.error_rate = 1.0
    with pytest.raises(MdeUnavailable) as caught:
        await lookups.devices_by_ip(client, [d.DEMO_IP])
    assert caught.value.message == "MDE answered 500 and kept failing"
    assert simulator.calls["machines"] == RetryPolicy().attempts


async def test_every_call_has_a_timeout(client: MdeClient, simulator: Simulator) -> None:
    simulator.force(*(Fault(hang=5) for _ in range(RetryPolicy().attempts)))
    started = time.monotonic()
    with pytest.raises(MdeUnavailable) as caught:
        await lookups.devices_by_ip(client, [d.DEMO_IP])
    assert caught.value.message == "MDE did not answer within 0.3 s"
    assert time.monotonic() - started < 4 * 0.3 + 8  # four timeouts plus bounded backoff


async def test_paging_stops_on_a_short_page(client: MdeClient, simulator: Simulator) -> None:
    rows = await client.collect(
        "/machines",
        {"$filter": "startswith(computerDnsName,'ws-fin-')"},
        parse=list,
        limit=100,
        page_size=10,
    )
    assert len(rows) == 25
    assert simulator.calls["machines"] == 3  # 10 + 10 + 5: the short page ends it
    assert len({r["id"] for r in rows}) == 25


async def test_paging_stops_at_the_limit(client: MdeClient, simulator: Simulator) -> None:
    rows = await client.collect("/machines", parse=list, limit=25, page_size=10)
    assert len(rows) == 25
    assert simulator.calls["machines"] == 3


async def test_a_burst_of_300_lookups_stays_in_budget_and_loses_none(
    simulator: Simulator,
) -> None:
    """With the budget scaled to 300 calls a second on both sides, 300 lookups (600 calls)
    queue instead of failing: none is lost, none earns a 429."""
    simulator.knobs.rate_limit = 300
    simulator.knobs.rate_window = 1.0
    settings = bot_settings(mde_calls_per_minute=300, mde_rate_window=1.0)
    async with open_backend([], settings, simulator=simulator) as backend:
        service = Services.build(backend, settings).enrichment
        await asyncio.sleep(1.0)  # let the sign-in calls age out of the window
        simulator.reset_counters()
        ips = [f"10.77.{n // 250}.{n % 250 + 1}" for n in range(300)]
        reports = await asyncio.gather(
            *(
                service.lookup(
                    Extraction((Indicator(IndicatorType.IPV4, ip),)), tenants=["contoso"]
                )
                for ip in ips
            )
        )
    assert len(reports) == 300
    assert all(not r.problems for r in reports)
    assert simulator.calls["*"] == 600
    assert simulator.calls["429"] == 0
    assert simulator.peak_window_calls <= 300
