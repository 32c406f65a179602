"""The MDE side on a bad day: a flood from one user, absurd Retry-After values, revoked tokens,
file-name scans, zone ids in addresses, runaway answers (hardening issue, findings 2, 3, 4, 6,
8, 14). Each test's docstring keeps the reproduction that worked before the fix."""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import aiohttp
import pytest

from bot.cache import TtlCache
from bot.demo.backend import simulator_connectors
from bot.demo.simulator import ALL_READ_ROLES, AppRegistration, Fault, Simulator
from bot.demo.simulator import data as d
from bot.demo.simulator.server import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET
from bot.demo.standin import SlackStandIn
from bot.errors import InputError, MdeRateLimited, MdeUnavailable
from bot.indicators import Extraction, Indicator, IndicatorType
from bot.mde import lookups, query
from bot.mde.auth import TokenProvider
from bot.mde.client import MdeClient, tls_context
from bot.retry import DEFAULT_RETRY_AFTER, MAX_RETRY_AFTER, retry_after
from bot.runtime import Backend, open_backend
from bot.slack.services import Services
from tests.conftest import bot_settings, open_stack
from tests.slack_helpers import shown


@pytest.fixture
async def backend(simulator: Simulator) -> AsyncIterator[Backend]:
    async with open_backend([], bot_settings(), simulator=simulator) as opened:
        yield opened


def contoso(backend: Backend) -> MdeClient:
    return next(c for c in backend.clients if c.alias == "contoso")


# ---------------------------------------------------------------------- finding 2: a flood

_serial = itertools.count(1)


def random_sha1s(count: int) -> list[str]:
    return [hashlib.sha1(f"nobody-{next(_serial)}".encode()).hexdigest() for _ in range(count)]  # noqa: S324 - test data


async def test_one_users_flood_is_trimmed_refused_once_and_never_delays_anothers_command(
    simulator: Simulator, slack: SlackStandIn
) -> None:
    """Before: ten pastes of 50 random SHA-1s queued an hour of calls; another responder's
    /mde then waited the hour. Now the first paste is trimmed to what the budget serves in
    time, the next is refused with one note (not one per paste), and the command of the
    second user goes first. (The budget here is scaled down: 4 calls per 0.25 s.)"""
    settings = bot_settings(mde_calls_per_minute=4, mde_rate_window=0.25)
    async with open_stack(simulator, slack, settings) as stack:
        for ts in ("1.000001", "1.000002", "1.000003"):
            await slack.message(stack.url, " ".join(random_sha1s(10)), user="U0FLOOD", ts=ts)
        response_url = slack.response_url()
        await slack.command(stack.url, d.DEMO_IP, user_id="U0OTHER", response_url=response_url)
        token = response_url.rsplit("/", 1)[-1]

        def answered() -> bool:
            return any(
                p.method == token and "Looking up" not in p.payload["text"] for p in slack.posts
            )

        await slack.wait_for(answered, 20)
        early = [p.payload.get("thread_ts") for p in slack.posts]
        await slack.wait_for(lambda: len(slack.calls("chat.postMessage")) >= 2, 30)

    replies = {p["thread_ts"]: shown(p) for p in slack.calls("chat.postMessage")}
    assert set(replies) == {"1.000001", "1.000002"}  # the third paste: no second note
    assert "more indicators not looked up: MDE's call budget is booked" in replies["1.000001"]
    assert replies["1.000002"].startswith("⚠️ Not looked up: MDE's call budget is booked")
    assert "1.000001" not in early  # the other user was answered before the flood's reply
    assert simulator.calls["429"] == 0


async def test_admission_trims_to_what_the_budget_serves_in_time(backend: Backend) -> None:
    service = Services.build(backend, bot_settings()).enrichment
    hashes = tuple(Indicator(IndicatorType.SHA1, h) for h in random_sha1s(30))

    generous = service.admit(Extraction(hashes), within=3600.0)
    with generous.booked():  # until released, its calls count as waiting
        crowded = service.admit(Extraction(hashes), within=63.0)
    tight = service.admit(Extraction(hashes), within=63.0)
    none = service.admit(Extraction(hashes), within=-1.0)

    assert (len(generous.extraction.indicators), generous.deferred) == (30, 0)
    assert crowded.refused  # 210 calls booked ahead: more than a minute and a window
    # 100 calls in the first window, then one window more: 28 SHA-1s at 7 calls each
    assert len(tight.extraction.indicators) == 28
    assert tight.deferred == 2
    assert none.refused
    assert none.deferred == 30


# ---------------------------------------------------------------------- finding 3: Retry-After

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("header", "seconds"),
    [
        ("7", 7.0),
        ("0.5", 0.5),
        ("inf", MAX_RETRY_AFTER),
        ("Infinity", MAX_RETRY_AFTER),
        ("86400", MAX_RETRY_AFTER),
        ("1e999", MAX_RETRY_AFTER),
        ("-5", 0.0),
        ("nan", DEFAULT_RETRY_AFTER),
        ("soon", DEFAULT_RETRY_AFTER),
        ("", DEFAULT_RETRY_AFTER),
        (format_datetime(NOW + timedelta(seconds=20), usegmt=True), 20.0),
        (format_datetime(NOW + timedelta(days=3), usegmt=True), MAX_RETRY_AFTER),
        (format_datetime(NOW - timedelta(days=3), usegmt=True), 0.0),
    ],
)
def test_retry_after_is_read_and_clamped(header: str, seconds: float) -> None:
    assert retry_after({"Retry-After": header}, now=NOW) == pytest.approx(seconds)


@pytest.mark.parametrize("header", ["inf", "86400"])
async def test_an_absurd_retry_after_pauses_the_tenant_a_minute_at_most(
    backend: Backend, simulator: Simulator, header: str
) -> None:
    """Before: `Retry-After: inf` (or 86400) from MDE or a proxy paused the tenant until the
    bot restarted: every later lookup waited forever."""
    client = contoso(backend)
    await client.tokens.token()
    simulator.force(Fault(429, retry_after=header))

    with pytest.raises(MdeRateLimited) as caught:
        await lookups.devices_by_ip(client, [d.DEMO_IP])

    assert caught.value.retry_after <= MAX_RETRY_AFTER
    assert client.queue_delay() <= MAX_RETRY_AFTER


# ---------------------------------------------------------------------- finding 4: revocation


async def test_a_revoked_token_is_replaced_once_and_the_lookup_succeeds(
    backend: Backend, simulator: Simulator
) -> None:
    """Before: after MDE answered 401 to a token that was revoked (or whose roles changed),
    the cached token was used again and again until it expired, an hour of "MDE refused the
    access token"."""
    client = contoso(backend)
    service = Services.build(backend, bot_settings()).enrichment
    await client.tokens.token()
    simulator.revoke_tokens()
    simulator.reset_counters()

    report = await service.lookup(
        Extraction((Indicator(IndicatorType.IPV4, d.DEMO_IP),)), tenants=["contoso"]
    )

    assert report.problems == ()
    assert report.found_anything
    assert simulator.token_requests == 1  # one new sign-in for the whole burst of 401s


async def test_a_token_refused_twice_is_reported(backend: Backend, simulator: Simulator) -> None:
    """A second 401 with a fresh token is reported (once), not retried forever."""
    client = contoso(backend)
    await client.tokens.token()
    simulator.force(Fault(401), Fault(401))

    with pytest.raises(Exception, match="MDE refused the access token"):
        await lookups.devices_by_ip(client, [d.DEMO_IP])
    assert simulator.calls["machines"] == 2


# ---------------------------------------------------------------------- finding 6: scans


def without_hunting(simulator: Simulator) -> None:
    roles = tuple(r for r in ALL_READ_ROLES if r != "AdvancedQuery.Read.All")
    simulator.apps[:] = [
        AppRegistration(DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, t.tenant_id, roles)
        for t in simulator.tenants.values()
    ]


async def test_a_file_name_scan_is_cached_as_what_it_found_and_reused(
    simulator: Simulator,
) -> None:
    """Before: without hunting, each file-name lookup cached a week of alerts (1,000 rows with
    evidence) under a key holding the current second, so nothing was ever reused and every
    lookup added megabytes to the cache. Now the scan is not cached; what each name found is,
    under the name."""
    without_hunting(simulator)
    async with open_backend([], bot_settings(), simulator=simulator) as backend:
        service = Services.build(backend, bot_settings()).enrichment
        client = contoso(backend)
        names = (d.DEMO_FILE, "other-tool.exe")
        first = await service.lookup(
            Extraction(tuple(Indicator(IndicatorType.FILENAME, n) for n in names)),
            tenants=["contoso"],
        )
        scans = simulator.calls["alerts"]
        held = client.cache.bytes
        again = await service.lookup(
            Extraction((Indicator(IndicatorType.FILENAME, d.DEMO_FILE.upper()),)),
            tenants=["contoso"],
        )

    assert scans == 1  # one scan served both names
    assert simulator.calls["alerts"] == scans  # the second lookup reused what was kept
    assert first.found_anything
    assert again.found_anything
    assert held < 200 * 1024  # the kept alerts, not a week of them


async def test_the_configured_cache_is_the_one_the_client_uses(simulator: Simulator) -> None:
    """Before: the client replaced the cache it was given by a default one whenever that cache
    was empty (an empty cache is falsy), so BOT_CACHE_TTL and the cache's size were ignored."""
    settings = bot_settings(cache_ttl=0)
    async with open_backend([], settings, simulator=simulator) as backend:
        client = contoso(backend)
        await lookups.devices_by_ip(client, [d.DEMO_IP])
        await lookups.devices_by_ip(client, [d.DEMO_IP])

    assert simulator.calls["machines"] == 2  # nothing kept with a TTL of 0
    assert client.cache.max_bytes == 64 * 1024 * 1024


def test_a_cache_is_bounded_by_bytes() -> None:
    cache: TtlCache[bytes] = TtlCache(ttl=60, max_entries=100, max_bytes=1000, cost=len)
    for n in range(10):
        cache.put(n, b"x" * 300)

    assert cache.bytes <= 1000
    assert len(cache) == 3  # the three most recent
    assert cache.get(9) is not None
    assert cache.get(6) is None
    cache.put("huge", b"x" * 5000)  # more than the whole cache: never kept
    assert cache.get("huge") is None
    assert cache.bytes == 900


# ---------------------------------------------------------------------- finding 8: paths


@pytest.mark.parametrize(
    "value", ["fe80::1%?$top=1", "fe80::1%eth0", "fe80::1%25", "::1%1", "10.0.0.1%0"]
)
def test_an_address_with_a_zone_id_is_refused(value: str) -> None:
    with pytest.raises(InputError):
        query.ip(value)


async def test_a_zone_id_never_reaches_an_mde_path(
    simulator: Simulator, slack: SlackStandIn
) -> None:
    """Before: `/mde ip fe80::1%?$top=1… at 2h ago` reached `findbyip` with the query string
    the zone id carried."""
    async with open_stack(simulator, slack, bot_settings()) as stack:
        simulator.reset_counters()
        await slack.command(stack.url, "ip fe80::1%?$top=1 at 2h ago")
        await slack.wait_for(lambda: bool(slack.responses()))

    [answer] = slack.responses()
    assert "is not an IP address" in answer["text"]
    assert simulator.calls["*"] == 0


# ---------------------------------------------------------------------- finding 14: big answers


async def test_an_answer_larger_than_the_cap_is_refused_without_reading_it_all(
    simulator: Simulator,
) -> None:
    """Before: MDE answers were read in full whatever their size (300 MB read into memory)."""
    [connector, *_] = simulator_connectors(simulator)
    async with aiohttp.ClientSession() as session:
        tokens = TokenProvider(connector)
        client = MdeClient(
            connector,
            session,
            tokens,
            ssl_context=tls_context(connector),
            max_answer_bytes=64 * 1024,
        )
        simulator.force(Fault(200, oversize=2_000_000))
        try:
            with pytest.raises(MdeUnavailable, match="MDE's answer was larger than 64 KB"):
                await lookups.devices_by_ip(client, [d.DEMO_IP])
        finally:
            tokens.close()
            await client.close()
