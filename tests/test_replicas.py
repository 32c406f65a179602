"""Two replicas of the bot behind one Slack, sharing one real Redis (and one database): what
one replica did, the other knows. Each test drives both through the Slack stand-in, the MDE
simulator behind, and asserts what reached Slack and MDE after both have shut down (the
shutdown drains every piece of work a replica accepted, so nothing can still arrive)."""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.demo.simulator import Simulator
from bot.demo.simulator.data import DEMO_IP, HOST_PREFIX
from bot.demo.standin import SlackStandIn
from bot.indicators import Extraction, Indicator, IndicatorType
from bot.runtime import open_backend
from bot.settings import BotSettings
from bot.slack.buttons import ActionId
from bot.slack.handover import keep_resuming
from bot.slack.services import Services
from bot.state.settings import StateSettings
from tests.acting import (
    SECOND,
    acting,
    card,
    latest,
    open_form,
    request_posts,
    submit,
    values,
)
from tests.acting import click as approve
from tests.conftest import Stack, bot_settings, open_stack, redis_state
from tests.slack_helpers import posts, shown
from tests.test_slack_actions import alert_titles, answer_to, click, command_card
from tests.test_slack_enrichment import message_event, replies

RETRY = {"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"}


def shared(redis_url: str, replicas: int = 2) -> StateSettings:
    """Every replica's state settings: one Redis, one prefix of the test's own."""
    return redis_state(redis_url, replicas=replicas, prefix=f"test-{secrets.token_hex(4)}")


@contextlib.asynccontextmanager
async def two_replicas(
    simulator: Simulator,
    slack: SlackStandIn,
    settings: BotSettings,
    state: StateSettings,
    database: str,
) -> AsyncIterator[tuple[Stack, Stack]]:
    """Two bots on one simulator, one stand-in, one Redis and one database."""
    async with (
        open_stack(simulator, slack, settings, state=state, database=database) as a,
        open_stack(simulator, slack, settings, state=state, database=database) as b,
    ):
        yield a, b


@pytest.fixture
def database(tmp_path: Path) -> str:
    return str(tmp_path / "bot.sqlite3")


async def test_a_retry_delivered_to_the_other_replica_gets_no_second_reply(
    simulator: Simulator,
    slack: SlackStandIn,
    settings: BotSettings,
    redis_url: str,
    database: str,
) -> None:
    event = message_event(f"look at {DEMO_IP}")
    control = message_event(f"and {DEMO_IP} again")
    async with two_replicas(simulator, slack, settings, shared(redis_url), database) as (a, b):
        first = await slack.event(a.url, event, event_id="Ev0REPLICA01")
        retry = await slack.event(b.url, event, event_id="Ev0REPLICA01", headers=RETRY)
        other = await slack.event(b.url, control, event_id="Ev0REPLICA02")
        assert (first.status, retry.status, other.status) == (200, 200, 200)
        await posts(slack, 2)

    assert sorted(p["thread_ts"] for p in replies(slack)) == sorted([event["ts"], control["ts"]])


async def test_a_card_posted_by_one_replica_answers_a_click_through_the_other(
    simulator: Simulator,
    slack: SlackStandIn,
    settings: BotSettings,
    redis_url: str,
    database: str,
) -> None:
    async with two_replicas(simulator, slack, settings, shared(redis_url), database) as (a, b):
        card = await command_card(a, f"host {HOST_PREFIX}")
        total = int(card.label(ActionId.SHOW_ALL).split()[2])
        simulator.reset_counters()

        clicked = await click(b, card, ActionId.SHOW_ALL)

        answer = await answer_to(slack, clicked)
        assert len(alert_titles(answer)) == total
        assert "expired" not in answer["text"]
        assert simulator.calls["*"] == 0  # the report came from Redis, not from MDE again


# ---------------------------------------------------------------------- response actions


async def test_an_action_asked_on_one_replica_and_approved_on_the_other_is_sent_once(
    simulator: Simulator, slack: SlackStandIn, redis_url: str, database: str
) -> None:
    """The form submitted through both replicas makes one request; the approval clicked on
    both at once sends one action to MDE; the replica that sent it follows it to the end."""
    simulator.knobs.action_pickup = 0.1
    simulator.knobs.action_run = 0.2
    async with two_replicas(simulator, slack, acting(), shared(redis_url), database) as (a, b):
        form = await open_form(a, await card(a))
        assert await submit(a, form, values("isolate_full")) == (200, "")
        assert await submit(b, form, values("isolate_full")) == (200, "")
        await slack.wait_for(lambda: bool(request_posts(slack)))
        [waiting] = request_posts(slack)

        await asyncio.gather(
            *(approve(r, waiting, ActionId.APPROVE, SECOND, as_posted=True) for r in (a, b, a, b))
        )
        await slack.wait_for(lambda: "Succeeded" in shown(latest(slack)), within=10)

    [action] = simulator.actions
    assert action.type == "Isolate"
    assert len(request_posts(slack)) == 1
    assert f"approved by <@{SECOND}>" in shown(latest(slack))


async def test_a_follow_up_left_by_a_stopped_replica_is_taken_over(
    simulator: Simulator,
    slack: SlackStandIn,
    redis_url: str,
    database: str,
) -> None:
    """A rolling restart: the replica following an action stops before MDE finishes it (it
    stops following at once, rather than holding its shutdown); the replica that starts next
    finds the action nobody follows and tells the thread how it ended."""
    simulator.knobs.action_pickup = 0.5
    simulator.knobs.action_run = 3.0
    state = shared(redis_url)
    async with open_stack(simulator, slack, acting(), state=state, database=database) as a:
        form = await open_form(a, await card(a))
        await submit(a, form, values("scan_quick"))
        await slack.wait_for(lambda: bool(request_posts(slack)))
        stopping = time.monotonic()
    assert time.monotonic() - stopping < 5.0  # not held by the follow-up (20 s of grace)
    assert "Succeeded" not in shown(latest(slack))  # stopped while MDE still ran it

    async with open_stack(simulator, slack, acting(), state=state, database=database):
        await slack.wait_for(lambda: "Succeeded" in shown(latest(slack)), within=15)

    assert len(simulator.actions) == 1


# ---------------------------------------------------------------------- the call budget


async def test_replicas_share_one_call_budget(simulator: Simulator, redis_url: str) -> None:
    """Two replicas, each given a burst of 50 lookups (100 calls) against one tenant whose
    budget is 50 calls a second: together they stay within it (MDE counts per app and
    tenant), none is lost, none earns a 429. Alone, each would have spent the whole budget."""
    simulator.knobs.rate_limit = 50
    simulator.knobs.rate_window = 1.0
    settings = bot_settings(mde_calls_per_minute=50, mde_rate_window=1.0)
    state = shared(redis_url)
    async with (
        open_backend([], settings, simulator=simulator, state=state) as a,
        open_backend([], settings, simulator=simulator, state=state) as b,
    ):
        services = [Services.build(backend, settings).enrichment for backend in (a, b)]
        await asyncio.sleep(1.0)  # let the sign-in calls age out of the window
        simulator.reset_counters()
        lookups = [
            service.lookup(Extraction((Indicator(IndicatorType.IPV4, ip),)), tenants=["contoso"])
            for n, service in enumerate(services)
            for ip in (f"10.78.{n}.{m + 1}" for m in range(50))
        ]
        reports = await asyncio.gather(*lookups)
    assert all(not r.problems for r in reports)
    assert simulator.calls["*"] == 200
    assert simulator.calls["429"] == 0
    assert simulator.peak_window_calls <= 50


# ---------------------------------------------------------------------- MDE's answers


async def test_an_answer_one_replica_got_serves_the_other_until_a_write_clears_it(
    simulator: Simulator, redis_url: str
) -> None:
    """MDE's answers are kept in Redis: the same indicator asked on the other replica costs
    no call and reads the same; a write on one replica (a response action) clears them for
    both, so neither shows what MDE said before it."""
    settings = bot_settings()
    state = shared(redis_url)
    ip = Extraction((Indicator(IndicatorType.IPV4, DEMO_IP),))
    async with (
        open_backend([], settings, simulator=simulator, state=state) as a,
        open_backend([], settings, simulator=simulator, state=state) as b,
    ):
        first = await Services.build(a, settings).enrichment.lookup(ip, tenants=["contoso"])
        simulator.reset_counters()
        other = Services.build(b, settings).enrichment
        again = await other.lookup(ip, tenants=["contoso"])
        assert simulator.calls["*"] == 0
        assert again.connectors == first.connectors

        [contoso] = [c for c in a.clients if c.alias == "contoso"]
        await contoso.forget()
        await other.lookup(ip, tenants=["contoso"])
        assert simulator.calls["*"] > 0


# ---------------------------------------------------------------------- a replica killed


async def test_a_message_whose_replica_died_before_answering_is_answered_by_another(
    simulator: Simulator,
    slack: SlackStandIn,
    settings: BotSettings,
    redis_url: str,
    database: str,
) -> None:
    """Replica A acknowledges a message and dies in the middle of its lookup (its work is
    cancelled and says nothing more, as a `kill -9` leaves it); Slack will never deliver it
    again. Replica B finds the work nobody beats for and answers it: one reply, none lost."""
    simulator.knobs.latency = 1.0  # the lookup is under way when A dies
    event = message_event(f"look at {DEMO_IP}")
    async with two_replicas(simulator, slack, settings, shared(redis_url), database) as (a, b):
        assert (await slack.event(a.url, event, event_id="Ev0KILLED01")).status == 200
        await asyncio.sleep(0.3)  # acknowledged, looking up
        assert await a.runtime.services.inflight.drain(0) == 1  # A dies: its work cut short
        simulator.knobs.latency = 0.0
        survivor = b.runtime.services
        sweep = asyncio.create_task(
            keep_resuming(
                survivor.pending,
                survivor.resumers,
                b.runtime.app.client,
                survivor.inflight.spawn,
                every=0.1,
                stale=0.5,
            )
        )
        try:
            await posts(slack, 1)
        finally:
            sweep.cancel()
            await asyncio.gather(sweep, return_exceptions=True)

    [answer] = replies(slack)
    assert answer["thread_ts"] == event["ts"]
    assert DEMO_IP.replace(".", "[.]") in shown(answer)


async def test_a_message_answered_leaves_nothing_to_take_over(
    simulator: Simulator,
    slack: SlackStandIn,
    settings: BotSettings,
    redis_url: str,
    database: str,
) -> None:
    """Work that ended is forgotten: a sweep after the answer finds nothing to redo."""
    event = message_event(f"look at {DEMO_IP}")
    async with two_replicas(simulator, slack, settings, shared(redis_url), database) as (a, b):
        await slack.event(a.url, event, event_id="Ev0ANSWERED1")
        await posts(slack, 1)
        await asyncio.sleep(0.2)  # its record is cleared just after the reply
        assert await b.runtime.services.pending.claim(0.0) is None
    assert len(replies(slack)) == 1
