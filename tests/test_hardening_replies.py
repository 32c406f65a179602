"""Answers reach Slack, once (hardening issue, findings 7 and 11): a refused answer is replaced
by a smaller one, no message the bot builds is one Slack refuses, and a post whose delivery is
unknown is never posted twice."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import aiohttp
import pytest

from bot.demo.simulator import Simulator
from bot.demo.simulator import data as sim_data
from bot.demo.simulator.data import DEMO_IP, DEMO_MACHINE_ID, SHARED_IP
from bot.demo.standin import SlackStandIn, refusal
from bot.errors import ReplyError
from bot.render import Message
from bot.render.kit import MAX_MESSAGE_BYTES, MAX_MESSAGE_TEXT, section, text_size
from bot.settings import SlackSettings
from bot.slack.app import build_web_client
from bot.slack.replies import Replies
from tests.conftest import Stack, bot_settings, open_stack
from tests.slack_helpers import shown


async def paste(stack: Stack, text: str, ts: str) -> dict[str, object]:
    await stack.slack.message(stack.url, text, ts=ts)
    slack = stack.slack
    await slack.wait_for(lambda: any(p["thread_ts"] == ts for p in slack.calls("chat.postMessage")))
    return next(p for p in slack.calls("chat.postMessage") if p["thread_ts"] == ts)


# ---------------------------------------------------------------------- finding 7: refused


@pytest.mark.parametrize("error", ["invalid_blocks", "msg_blocks_too_long"])
async def test_a_refused_thread_answer_is_replaced_by_its_summary(stack: Stack, error: str) -> None:
    """Before: when Slack refused the answer (`invalid_blocks`, `msg_blocks_too_long`), the
    message got no reply at all."""
    stack.slack.refuse_next["chat.postMessage"] = [error]

    reply = await paste(stack, f"seen {DEMO_IP}", "1.000001")

    text = shown(reply)
    assert text.startswith("🔴 2 High alerts · ws-fin-042 · contoso")
    assert f"https://security.microsoft.com/machines/{DEMO_MACHINE_ID}/overview" in text
    assert "too large for Slack to show" in text
    assert len(stack.slack.calls("chat.postMessage")) == 1


async def test_a_refused_command_answer_is_replaced_and_then_falls_back_to_text(
    stack: Stack,
) -> None:
    """Before: a refused `/mde` answer left only "Looking up…" on the responder's screen."""
    slack = stack.slack
    slack.refuse_next["response_url"] = ["", "invalid_blocks", "invalid_blocks"]
    await slack.command(stack.url, DEMO_IP)

    await slack.wait_for(lambda: len(slack.responses()) == 2)
    progress, answer = slack.responses()
    assert "Looking up" in progress["text"]
    assert answer["text"] == "🔴 2 High alerts · ws-fin-042 · contoso"
    assert "blocks" not in answer  # both the card and its summary were refused: the text


def hostile_sizes() -> sim_data.Tenant:
    """Contoso, where the devices on the shared IP carry the longest names, tags and alert
    titles MDE could send, each within Slack's limit for one block."""
    tenant = sim_data.contoso()
    long = "A" * 250
    shared = {m["id"] for m in tenant.machines if m.get("lastIpAddress") == SHARED_IP}
    tenant.machines = [
        {
            **m,
            "computerDnsName": f"{long[:60]}-{i}." + ".".join([long[:60]] * 3),
            "machineTags": [f"{long}{n}" for n in range(30)],
            "osPlatform": long,
            "osVersion": long,
        }
        if m["id"] in shared
        else m
        for i, m in enumerate(tenant.machines)
    ]
    tenant.alerts = [
        {**a, "title": long * 4, "category": long, "threatName": long}
        if a.get("machineId") in shared
        else a
        for a in tenant.alerts
    ]
    return tenant


async def test_hostile_mde_data_never_builds_a_message_slack_refuses(
    slack: SlackStandIn,
) -> None:
    """Before: hostile MDE data built a 29 KB card and an 87 KB "Show all" while each block
    stayed within its own limit; Slack refuses such messages as a whole."""
    async with (
        Simulator(tenants=[hostile_sizes()]) as simulator,
        open_stack(simulator, slack, bot_settings()) as stack,
    ):
        card = await paste(stack, f"seen {SHARED_IP}", "1.000002")
        await slack.command(stack.url, f"alerts {sim_data.SHARED_IP_HOSTS[0]}")
        await slack.wait_for(lambda: len(slack.responses()) >= 1)

    posted = [card, *slack.responses()]
    assert [p.via for p in slack.posts if p.via.endswith("refused")] == []
    for payload in posted:
        blocks = payload.get("blocks") or []
        assert refusal(payload) is None
        assert text_size(blocks) <= MAX_MESSAGE_TEXT
        assert len(json.dumps(blocks, ensure_ascii=False)) <= MAX_MESSAGE_BYTES


# ---------------------------------------------------------------------- finding 11: once


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as opened:
        yield opened


MESSAGE = Message("🔴 an answer", [section("*an answer*")])


async def test_a_response_url_post_taken_but_confirmed_late_is_not_sent_again(
    slack: SlackStandIn, session: aiohttp.ClientSession
) -> None:
    """Before: a response_url post that Slack accepted but answered slowly timed out and was
    posted again: the responder saw the answer twice."""
    replies = Replies(session, hosts=frozenset({"127.0.0.1"}), timeout=0.5)
    slack.unconfirmed_next["response_url"] = 1
    slack.slow_seconds = 3.0

    with pytest.raises(ReplyError, match="did not confirm"):
        await replies.respond({"response_url": slack.response_url()}, MESSAGE)

    assert len(slack.responses()) == 1


def web_client(slack: SlackStandIn, session: aiohttp.ClientSession) -> object:
    settings = SlackSettings(
        bot_token="xoxb-test-0000000000-local",  # type: ignore[arg-type]
        signing_secret=slack.signing_secret,  # type: ignore[arg-type]
        api_url=slack.api_url,
        _env_file=None,
    )
    return build_web_client(settings, session)


async def test_a_thread_post_taken_but_unconfirmed_is_found_and_not_posted_again(
    slack: SlackStandIn, session: aiohttp.ClientSession
) -> None:
    """Before: `chat.postMessage` was retried after the connection dropped, although Slack had
    taken the post: the thread got the answer twice. Now the thread is checked first."""
    replies = Replies(session)
    slack.unconfirmed_next["chat.postMessage"] = 1

    await replies.post(
        web_client(slack, session),  # type: ignore[arg-type]
        channel="C0INCIDENT",
        thread_ts="1.000003",
        message=MESSAGE,
    )

    assert len(slack.calls("chat.postMessage")) == 1
    assert len(slack.calls("conversations.replies")) == 1


async def test_a_thread_post_lost_before_slack_took_it_is_posted_again(
    slack: SlackStandIn, session: aiohttp.ClientSession
) -> None:
    """The check cuts both ways: a post that is not in the thread is posted again, once."""
    replies = Replies(session)
    slack.refuse_next["chat.postMessage"] = []
    slack.unconfirmed_next["chat.postMessage"] = 1
    slack.threads_lose_next = 1  # Slack dropped it after all: the thread does not have it

    await replies.post(
        web_client(slack, session),  # type: ignore[arg-type]
        channel="C0INCIDENT",
        thread_ts="1.000004",
        message=MESSAGE,
    )

    posted = slack.calls("chat.postMessage")
    assert len(posted) == 2
    assert len(slack.threads[("C0INCIDENT", "1.000004")]) == 1
