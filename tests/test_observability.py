"""What an operator sees, end to end: /metrics in Prometheus's text format counting what
happened (acks, replies by outcome, MDE calls by family and status, cache lookups, duplicate
deliveries), one `request` log line per request with its context and no indicator in it, and
/healthz naming Redis and the database, degraded but serving when Redis is away."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
from prometheus_client.parser import text_string_to_metric_families
from structlog.contextvars import merge_contextvars
from structlog.testing import capture_logs

from bot.demo.simulator import Simulator
from bot.demo.simulator.data import DEMO_IP, HOST_PREFIX
from bot.demo.standin import SlackStandIn
from bot.settings import BotSettings
from bot.slack.buttons import ActionId
from tests.conftest import Stack, open_stack, redis_state
from tests.servers import RedisServer
from tests.slack_helpers import answers, posts
from tests.test_slack_actions import answer_to, click, command_card
from tests.test_slack_enrichment import message_event


async def get(stack: Stack, path: str) -> tuple[int, str]:
    async with (
        aiohttp.ClientSession() as session,
        session.get(stack.url.replace("/slack/events", path)) as response,
    ):
        return response.status, await response.text()


async def samples(stack: Stack) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample /metrics shows, by name and labels."""
    status, text = await get(stack, "/metrics")
    assert status == 200
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


async def test_metrics_count_what_happened(stack: Stack, slack: SlackStandIn) -> None:
    await slack.command(stack.url, DEMO_IP)
    await answers(slack, 2)
    event = message_event(f"seen {DEMO_IP}")
    await slack.event(stack.url, event, event_id="Ev0METRICS01")
    await slack.event(stack.url, event, event_id="Ev0METRICS01")  # Slack's retry
    await posts(slack, 1)

    seen = await samples(stack)

    assert seen[("mde_bot_acks_total", (("kind", "command"),))] == 1
    assert seen[("mde_bot_acks_total", (("kind", "event"),))] == 2
    assert seen[("mde_bot_ack_seconds_count", (("kind", "command"),))] == 1
    assert seen[("mde_bot_replies_total", (("outcome", "answered"),))] == 2
    assert seen[("mde_bot_duplicate_deliveries_total", (("kind", "event"),))] == 1
    assert seen[("mde_bot_mde_calls_total", (("family", "ips"), ("status", "200")))] >= 1
    assert seen[("mde_bot_cache_lookups_total", (("result", "hit"),))] >= 1  # the 2nd lookup
    assert seen[("mde_bot_budget_wait_seconds_count", (("budget", "api"),))] >= 1
    assert seen[("mde_bot_budget_queue", (("budget", "api"),))] == 0
    assert not any(DEMO_IP in str(key) for key in seen)


async def test_each_request_logs_one_line_with_its_context(
    stack: Stack, slack: SlackStandIn
) -> None:
    with capture_logs(processors=[merge_contextvars]) as logged:
        await slack.command(stack.url, DEMO_IP, user_id="U0RESPONDER", channel_id="C0INCIDENT")
        await answers(slack, 2)
        async with asyncio.timeout(10):  # the line comes as the work ends, after the answer
            while not any(e["event"] == "request" for e in logged):  # noqa: ASYNC110 - no event to wait on
                await asyncio.sleep(0.01)

    [line] = [e for e in logged if e["event"] == "request"]
    assert line["kind"] == "command"
    assert line["asked"] == "/mde"
    assert (line["user"], line["channel"]) == ("U0RESPONDER", "C0INCIDENT")
    assert line["tenants"] == ["contoso", "fabrikam"]  # the demo's two tenants, both asked
    assert line["outcome"] == "answered"
    assert line["duration"] >= 0
    assert len(line["request_id"]) == 12
    assert DEMO_IP not in repr(line)
    # Lines logged during the work carry the same request id.
    during = [e for e in logged if e.get("request_id") == line["request_id"]]
    assert len(during) >= 1


async def test_a_card_that_expired_is_counted_as_expired(stack: Stack, slack: SlackStandIn) -> None:

    card = await command_card(stack, f"host {HOST_PREFIX}")
    clicked = await click(stack, card, ActionId.SHOW_ALL, value='{"r":"0123456789abcdef"}')
    assert "expired" in (await answer_to(slack, clicked))["text"]
    seen = await samples(stack)
    assert seen.get(("mde_bot_replies_total", (("outcome", "expired"),))) == 1


async def health(stack: Stack) -> tuple[int, dict[str, Any]]:
    async with (
        aiohttp.ClientSession() as session,
        session.get(stack.url.replace("/slack/events", "/healthz")) as response,
    ):
        return response.status, await response.json()


async def test_healthz_says_redis_is_down_and_the_bot_still_serves(
    simulator: Simulator, slack: SlackStandIn, settings: BotSettings, own_redis: RedisServer
) -> None:
    async with open_stack(simulator, slack, settings, state=redis_state(own_redis.url)) as stack:
        assert await health(stack) == (200, {"ok": True, "redis": "up", "database": "up"})
        own_redis.stop()
        status, said = await health(stack)
        assert (status, said["ok"], said["redis"], said["database"]) == (200, True, "down", "up")
        assert said["degraded"] == "redis down: answering, degraded"
        await slack.command(stack.url, DEMO_IP)  # and it still answers
        _, answer = await answers(slack, 2)
        assert answer["text"] == "🔴 2 High alerts · ws-fin-042 · contoso"
