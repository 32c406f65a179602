"""Auto-enrichment end to end: Events API messages, signed, into real Bolt routing; the
simulator behind; what reached the Slack stand-in asserted.

Tests that assert something does NOT happen run the stack with `open_stack` and make their
assertions after leaving it: the bot's shutdown drains every piece of work it accepted, so a
second reply or a stray MDE call would be recorded by then. Each of them also sends a control
message that must be answered, so a stack that answers nothing cannot pass.
"""

from __future__ import annotations

import itertools
import time
from typing import Any

import pytest

from bot.demo.simulator import Simulator
from bot.demo.simulator.data import DEMO_DOMAIN, DEMO_IP, DEMO_SHA256
from bot.demo.standin import BOT_ID, BOT_USER_ID, SlackStandIn
from bot.settings import BotSettings
from tests.conftest import Stack, bot_settings, open_stack
from tests.slack_helpers import checked, posts, shown

CHANNEL = "C0INCIDENT"
RESPONDER = "U0RESPONDER"
UNKNOWN_IP = "10.99.99.99"  # in no tenant's address plan
DEMO_SUMMARY = "🔴 2 High alerts · ws-fin-042 · contoso"

_clock = itertools.count(1)


def new_ts() -> str:
    """A fresh Slack message timestamp."""
    return f"{int(time.time())}.{next(_clock):06d}"


def message_event(text: str, **fields: Any) -> dict[str, Any]:
    """A `message` event as the Events API delivers it; `fields` override or add keys."""
    event = {
        "type": "message",
        "channel": CHANNEL,
        "user": RESPONDER,
        "text": text,
        "ts": new_ts(),
        "channel_type": "channel",
    }
    event.update(fields)
    return {k: v for k, v in event.items() if v is not None}


def bot_event(text: str, **fields: Any) -> dict[str, Any]:
    """A message of another app (an alerting integration): no user, a bot id."""
    return message_event(
        text, user=None, bot_id="B0SIEM0001", subtype="bot_message", username="SIEM", **fields
    )


async def control(slack: SlackStandIn, stack: Stack) -> str:
    """A person's message that must be answered; returns its ts."""
    ts = new_ts()
    reply = await slack.message(stack.url, f"control: {DEMO_IP}", ts=ts)
    assert reply.status == 200
    await slack.wait_for(lambda: any(p["thread_ts"] == ts for p in slack.calls("chat.postMessage")))
    return ts


def replies(slack: SlackStandIn) -> list[dict[str, Any]]:
    """Every delivered chat.postMessage, checked."""
    return [checked(p) for p in slack.calls("chat.postMessage")]


def no_hash_lookup(simulator: Simulator) -> bool:
    """The SHA-256 used by the ignored messages was never looked up (every hash lookup starts
    with the file profile; the control's IP lookup never asks for one)."""
    return simulator.calls["file"] == 0


# ---------------------------------------------------------------------- one reply per message


async def test_several_indicators_get_exactly_one_threaded_reply(
    simulator: Simulator, slack: SlackStandIn, settings: BotSettings
) -> None:
    ts = new_ts()
    text = f"seen {DEMO_IP.replace('.', '[.]')}, hash {DEMO_SHA256} and hxxps://{DEMO_DOMAIN}/x"
    async with open_stack(simulator, slack, settings) as stack:
        reply = await slack.message(stack.url, text, ts=ts)
        assert reply.status == 200
        await posts(slack, 1)

    [post] = replies(slack)
    assert post["channel"] == CHANNEL
    assert post["thread_ts"] == ts
    assert post["unfurl_links"] is False
    assert post["unfurl_media"] is False
    card = shown(post)
    assert "3 indicators looked up" in card
    # each indicator has its verdict line (a hash by its first 8 characters, as pasted)
    for defanged in ("10[.]1[.]2[.]3", f"{DEMO_SHA256[:8]}…", "hxxps://payroll-sync-update[.]com"):
        assert f"`{defanged}" in card


async def test_a_reply_in_a_thread_stays_in_that_thread(stack: Stack) -> None:
    parent, own = new_ts(), new_ts()
    reply = await stack.slack.message(stack.url, f"also {DEMO_IP}", ts=own, thread_ts=parent)

    assert reply.status == 200
    [post] = await posts(stack.slack, 1)
    assert post["thread_ts"] == parent
    assert post["text"] == DEMO_SUMMARY


async def test_channel_not_in_auto_enrich_channels_gets_no_reply_and_no_lookup(
    simulator: Simulator, slack: SlackStandIn
) -> None:
    settings = bot_settings(auto_enrich_channels=[CHANNEL])
    async with open_stack(simulator, slack, settings) as stack:
        quiet = await slack.message(stack.url, f"hash {DEMO_SHA256}", channel="C0RANDOM")
        assert quiet.status == 200
        await control(slack, stack)

    [post] = replies(slack)
    assert post["channel"] == CHANNEL
    assert no_hash_lookup(simulator)


async def test_nothing_is_posted_when_mde_knows_none_of_the_indicators(
    simulator: Simulator, slack: SlackStandIn, settings: BotSettings
) -> None:
    unknown_ts = new_ts()
    async with open_stack(simulator, slack, settings) as stack:
        await slack.message(stack.url, f"who is {UNKNOWN_IP}?", ts=unknown_ts)
        control_ts = await control(slack, stack)

    assert [p["thread_ts"] for p in replies(slack)] == [control_ts]


async def test_nothing_found_is_posted_when_configured(
    simulator: Simulator, slack: SlackStandIn
) -> None:
    settings = bot_settings(post_when_nothing_found=True)
    async with open_stack(simulator, slack, settings) as stack:
        ts = new_ts()
        await slack.message(stack.url, f"who is {UNKNOWN_IP}?", ts=ts)
        [post] = await posts(slack, 1)

    assert post["thread_ts"] == ts
    assert post["text"] == "⚪ MDE knows none of 1 indicator"
    assert len(replies(slack)) == 1


# ---------------------------------------------------------------------- Slack's redeliveries


async def test_a_retry_of_a_delivered_event_gets_no_second_reply(
    simulator: Simulator, slack: SlackStandIn, settings: BotSettings
) -> None:
    event = message_event(f"look at {DEMO_IP}")
    async with open_stack(simulator, slack, settings) as stack:
        first = await slack.event(stack.url, event, event_id="Ev0RETRY001")
        retry = await slack.event(
            stack.url,
            event,
            event_id="Ev0RETRY001",
            headers={"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"},
        )
        assert (first.status, retry.status) == (200, 200)
        await posts(slack, 1)

    assert [p["thread_ts"] for p in replies(slack)] == [event["ts"]]


async def test_a_retry_of_a_delivery_that_never_arrived_is_answered_once(
    simulator: Simulator, slack: SlackStandIn, settings: BotSettings
) -> None:
    """The first delivery was lost (say, during a restart): its retry is the only chance to
    answer, so it is answered — once, however many retries follow."""
    event = message_event(f"hash {DEMO_SHA256}")
    async with open_stack(simulator, slack, settings) as stack:
        for number in ("2", "3"):
            retry = await slack.event(
                stack.url, event, event_id="Ev0LOST0001", headers={"X-Slack-Retry-Num": number}
            )
            assert retry.status == 200
        await posts(slack, 1)

    assert [p["thread_ts"] for p in replies(slack)] == [event["ts"]]
    assert not no_hash_lookup(simulator)


async def test_the_same_event_id_delivered_twice_gets_one_reply(
    simulator: Simulator, slack: SlackStandIn, settings: BotSettings
) -> None:
    event = message_event(f"look at {DEMO_IP}")
    async with open_stack(simulator, slack, settings) as stack:
        for _ in range(2):
            assert (await slack.event(stack.url, event, event_id="Ev0TWICE001")).status == 200
        await posts(slack, 1)

    assert len(replies(slack)) == 1


async def test_the_same_message_under_two_event_ids_gets_one_reply(
    simulator: Simulator, slack: SlackStandIn, settings: BotSettings
) -> None:
    event = message_event(f"look at {DEMO_IP}")
    async with open_stack(simulator, slack, settings) as stack:
        for event_id in ("Ev0FIRST0001", "Ev0SECOND001"):
            assert (await slack.event(stack.url, event, event_id=event_id)).status == 200
        await posts(slack, 1)

    assert [p["thread_ts"] for p in replies(slack)] == [event["ts"]]


# ---------------------------------------------------------------------- what is not a new message

IGNORED_EVENTS = {
    "edit": message_event(
        "",
        user=None,
        subtype="message_changed",
        hidden=True,
        message={"type": "message", "user": RESPONDER, "text": f"edited: {DEMO_SHA256}"},
        previous_message={"type": "message", "user": RESPONDER, "text": "draft"},
    ),
    "deletion": message_event(
        "",
        user=None,
        subtype="message_deleted",
        hidden=True,
        deleted_ts="1700000000.000001",
        previous_message={"type": "message", "user": RESPONDER, "text": DEMO_SHA256},
    ),
    "join": message_event(
        f"<@{RESPONDER}> has joined the channel {DEMO_SHA256}", subtype="channel_join"
    ),
    "own message by user id": message_event(f"🔴 card for {DEMO_SHA256}", user=BOT_USER_ID),
    "own message by bot id": message_event(
        f"🔴 card for {DEMO_SHA256}", user=None, bot_id=BOT_ID, subtype="bot_message"
    ),
    "own modern message": message_event(
        f"🔴 card for {DEMO_SHA256}", user=BOT_USER_ID, bot_id=BOT_ID, app_id="A0MDEBOT01"
    ),
}


@pytest.mark.parametrize("kind", list(IGNORED_EVENTS))
async def test_edits_deletions_joins_and_own_messages_are_acknowledged_and_ignored(
    simulator: Simulator, slack: SlackStandIn, kind: str
) -> None:
    """Even with bot messages enriched, the bot never answers itself (no reply loops)."""
    settings = bot_settings(enrich_bot_messages=True)
    async with open_stack(simulator, slack, settings) as stack:
        ignored = await slack.event(stack.url, IGNORED_EVENTS[kind])
        assert ignored.status == 200
        control_ts = await control(slack, stack)

    assert [p["thread_ts"] for p in replies(slack)] == [control_ts]
    assert no_hash_lookup(simulator)


# ---------------------------------------------------------------------- other bots


async def test_other_bots_are_ignored_by_default(
    simulator: Simulator, slack: SlackStandIn, settings: BotSettings
) -> None:
    async with open_stack(simulator, slack, settings) as stack:
        assert (await slack.event(stack.url, bot_event(f"alert: {DEMO_SHA256}"))).status == 200
        control_ts = await control(slack, stack)

    assert [p["thread_ts"] for p in replies(slack)] == [control_ts]
    assert no_hash_lookup(simulator)


@pytest.mark.parametrize(
    "shape",
    [
        pytest.param({}, id="classic bot_message"),
        pytest.param({"subtype": None, "app_id": "A0SIEM0001"}, id="app message without subtype"),
    ],
)
async def test_other_bots_are_enriched_when_configured(
    simulator: Simulator, slack: SlackStandIn, shape: dict[str, Any]
) -> None:
    event = bot_event(f"alert: {DEMO_IP}")
    event.update(shape)
    event = {k: v for k, v in event.items() if v is not None}
    async with open_stack(simulator, slack, bot_settings(enrich_bot_messages=True)) as stack:
        assert (await slack.event(stack.url, event)).status == 200
        await posts(slack, 1)

    [post] = replies(slack)
    assert post["thread_ts"] == event["ts"]
    assert post["text"] == DEMO_SUMMARY


async def test_a_bots_thread_reply_is_never_enriched(
    simulator: Simulator, slack: SlackStandIn
) -> None:
    """Two bots must never answer each other inside a thread."""
    in_thread = bot_event(f"alert: {DEMO_SHA256}", thread_ts=new_ts())
    async with open_stack(simulator, slack, bot_settings(enrich_bot_messages=True)) as stack:
        assert (await slack.event(stack.url, in_thread)).status == 200
        control_ts = await control(slack, stack)

    assert [p["thread_ts"] for p in replies(slack)] == [control_ts]
    assert no_hash_lookup(simulator)


async def test_bot_messages_outside_the_allowed_channels_are_not_enriched(
    simulator: Simulator, slack: SlackStandIn
) -> None:
    settings = bot_settings(enrich_bot_messages=True, allowed_channels=[CHANNEL])
    async with open_stack(simulator, slack, settings) as stack:
        outside = bot_event(f"alert: {DEMO_SHA256}", channel="C0ELSEWHERE")
        assert (await slack.event(stack.url, outside)).status == 200
        control_ts = await control(slack, stack)

    assert [p["thread_ts"] for p in replies(slack)] == [control_ts]
    assert no_hash_lookup(simulator)


# ---------------------------------------------------------------------- alerting bots' attachments


async def test_indicators_in_attachments_are_enriched(
    simulator: Simulator, slack: SlackStandIn
) -> None:
    event = bot_event(
        "New alert from the SIEM",
        attachments=[{"fallback": "Suspicious sign-in", "title": "Sign-in", "text": DEMO_IP}],
    )
    async with open_stack(simulator, slack, bot_settings(enrich_bot_messages=True)) as stack:
        assert (await slack.event(stack.url, event)).status == 200
        [post] = await posts(slack, 1)

    assert post["thread_ts"] == event["ts"]
    assert post["text"] == DEMO_SUMMARY


async def test_a_message_with_empty_text_and_indicators_in_attachments_is_enriched(
    simulator: Simulator, slack: SlackStandIn
) -> None:
    event = bot_event("", attachments=[{"fallback": f"Alert on {DEMO_SHA256}", "color": "danger"}])
    async with open_stack(simulator, slack, bot_settings(enrich_bot_messages=True)) as stack:
        assert (await slack.event(stack.url, event)).status == 200
        control_ts = await control(slack, stack)

    assert sorted(p["thread_ts"] for p in replies(slack)) == sorted([event["ts"], control_ts])


# ---------------------------------------------------------------------- Slack's rate limit


async def test_slack_answering_429_still_ends_in_exactly_one_reply(
    simulator: Simulator, slack: SlackStandIn, settings: BotSettings
) -> None:
    slack.rate_limit_next["chat.postMessage"] = 1
    ts = new_ts()
    async with open_stack(simulator, slack, settings) as stack:
        await slack.message(stack.url, f"look at {DEMO_IP}", ts=ts)
        await posts(slack, 1)

    refused = [p for p in slack.posts if p.via == "api-429"]
    assert [p.method for p in refused] == ["chat.postMessage"]
    [post] = replies(slack)
    assert post["thread_ts"] == ts
    assert post["text"] == DEMO_SUMMARY


# ---------------------------------------------------------------------- who may use the bot


async def test_a_user_not_on_the_allow_list_gets_no_reply_and_no_lookup(
    simulator: Simulator, slack: SlackStandIn
) -> None:
    settings = bot_settings(allowed_users=[RESPONDER])
    async with open_stack(simulator, slack, settings) as stack:
        stranger = await slack.message(stack.url, f"hash {DEMO_SHA256}", user="U0STRANGER")
        assert stranger.status == 200
        control_ts = await control(slack, stack)

    assert [p["thread_ts"] for p in replies(slack)] == [control_ts]
    assert no_hash_lookup(simulator)


async def test_a_member_of_an_allowed_user_group_gets_a_reply(
    simulator: Simulator, slack: SlackStandIn
) -> None:
    slack.usergroups["S0RESPONDERS"] = ["U0ONCALL"]
    settings = bot_settings(allowed_users=[RESPONDER], allowed_usergroups=["S0RESPONDERS"])
    ts = new_ts()
    async with open_stack(simulator, slack, settings) as stack:
        await slack.message(stack.url, f"look at {DEMO_IP}", user="U0ONCALL", ts=ts)
        [post] = await posts(slack, 1)

    assert post["thread_ts"] == ts
    assert [c["usergroup"] for c in slack.calls("usergroups.users.list")] == ["S0RESPONDERS"]


async def test_a_user_outside_every_allowed_user_group_gets_no_reply(
    simulator: Simulator, slack: SlackStandIn
) -> None:
    slack.usergroups["S0RESPONDERS"] = ["U0ONCALL"]
    settings = bot_settings(allowed_usergroups=["S0RESPONDERS"])
    async with open_stack(simulator, slack, settings) as stack:
        await slack.message(stack.url, f"hash {DEMO_SHA256}", user="U0STRANGER")
        ts = new_ts()
        await slack.message(stack.url, f"look at {DEMO_IP}", user="U0ONCALL", ts=ts)
        await posts(slack, 1)

    assert [p["thread_ts"] for p in replies(slack)] == [ts]
    assert no_hash_lookup(simulator)


async def test_an_alerting_bots_block_kit_message_is_enriched(
    simulator: Simulator, slack: SlackStandIn
) -> None:
    """Alerting apps post Block Kit sections with a short fallback `text`: the blocks are read."""
    settings = bot_settings(enrich_bot_messages=True)
    async with open_stack(simulator, slack, settings) as stack:
        await slack.message(
            stack.url,
            "New alert",
            user=None,
            bot_id="B0ALERTS",
            subtype="bot_message",
            ts="1795860000.000777",
            blocks=[
                {"type": "header", "text": {"type": "plain_text", "text": "Beaconing"}},
                {
                    "type": "section",
                    "fields": [{"type": "mrkdwn", "text": f"*Source*\n{DEMO_IP}"}],
                },
            ],
        )
        [reply] = await posts(slack, 1)
    assert reply["thread_ts"] == "1795860000.000777"
    assert reply["text"] == "🔴 2 High alerts · ws-fin-042 · contoso"
