"""Every button of the cards, end to end: a real card first (pasted message or `/mde`), its
button elements taken from the recorded blocks, then a signed `block_actions` payload shaped
like Slack's, through real Bolt routing; the simulator behind.

Tests that assert something does NOT happen make their assertions after leaving `open_stack`:
the bot's shutdown drains every piece of work it accepted, so nothing can still arrive.
"""

from __future__ import annotations

import itertools
import json
import re
import time
from dataclasses import dataclass
from typing import Any

import pytest

from bot.demo.simulator import Simulator
from bot.demo.simulator.data import (
    DEMO_HOST,
    DEMO_IP,
    DEMO_MACHINE_ID,
    HOST_PREFIX,
    SHARED_IP,
)
from bot.demo.standin import Reply, SlackStandIn
from bot.settings import BotSettings
from bot.slack.buttons import ActionId
from tests.conftest import Stack, bot_settings, open_stack
from tests.ocsf_validation import ocsf_errors
from tests.slack_helpers import checked, control, shown

CHANNEL = "C0INCIDENT"
RESPONDER = "U0RESPONDER"
DEVICE_CLASS_UID = 5001  # OCSF Device Inventory Info
FINDING_CLASS_UID = 2004  # OCSF Detection Finding

_clock = itertools.count(1)


def new_ts() -> str:
    return f"{int(time.time())}.{next(_clock):06d}"


# ---------------------------------------------------------------------- cards and clicks


@dataclass(frozen=True)
class Card:
    """A card the bot posted, and where it sits in Slack."""

    message: dict[str, Any]
    ts: str  # the card's own ts
    thread_ts: str | None  # the thread it was posted in (None: an ephemeral /mde answer)

    @property
    def ephemeral(self) -> bool:
        return self.thread_ts is None

    def control(self, action_id: str) -> tuple[dict[str, Any], dict[str, Any] | None]:
        """The button, or the first device menu's option, that does `action_id`."""
        return control(self.message["blocks"], action_id)

    def label(self, action_id: str) -> str:
        element, option = self.control(action_id)
        return str((option or element)["text"]["text"])

    def value(self, action_id: str) -> str:
        element, option = self.control(action_id)
        return str((option or element)["value"])


async def pasted_card(stack: Stack, text: str = f"anyone on {DEMO_IP}?") -> Card:
    """The threaded card a pasted message gets."""
    ts = new_ts()
    await stack.slack.message(stack.url, text, ts=ts)
    slack = stack.slack
    await slack.wait_for(lambda: any(p["thread_ts"] == ts for p in slack.calls("chat.postMessage")))
    post = next(p for p in slack.calls("chat.postMessage") if p["thread_ts"] == ts)
    return Card(checked(post), new_ts(), ts)


async def command_card(stack: Stack, text: str) -> Card:
    """The ephemeral card `/mde <text>` answers with (after the progress note, if any)."""
    await stack.slack.command(stack.url, text)
    slack = stack.slack
    await slack.wait_for(lambda: any("Looking up" not in r["text"] for r in slack.responses()))
    answer = next(r for r in slack.responses() if "Looking up" not in r["text"])
    return Card(checked(answer), new_ts(), None)


def click_payload(
    card: Card,
    element: dict[str, Any],
    *,
    response_url: str,
    user: str = RESPONDER,
    channel: str = CHANNEL,
    value: str | None = None,
    option: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A `block_actions` payload as Slack sends it for a click on `element` of `card` (the
    choice of `option`, for a menu)."""
    message = None
    if not card.ephemeral:
        message = {
            "thread_ts": card.thread_ts,
            "text": card.message["text"],
            "blocks": card.message["blocks"],
        }
    return SlackStandIn.click_payload(
        element,
        message_ts=card.ts,
        response_url=response_url,
        channel=channel,
        user=user,
        ephemeral=card.ephemeral,
        message=message,
        value=value,
        option=option,
    )


@dataclass(frozen=True)
class Click:
    reply: Reply
    response_url: str

    @property
    def token(self) -> str:
        return self.response_url.rsplit("/", 1)[-1]


async def click(
    stack: Stack, card: Card, action_id: str, *, value: str | None = None, **who: str
) -> Click:
    response_url = stack.slack.response_url()
    element, option = card.control(action_id)
    payload = click_payload(
        card, element, response_url=response_url, value=value, option=option, **who
    )
    return Click(await stack.slack.action(stack.url, payload), response_url)


def answers_to(slack: SlackStandIn, clicked: Click) -> list[dict[str, Any]]:
    """What the bot posted to the click's response_url, each checked."""
    return [
        checked(p.payload)
        for p in slack.posts
        if p.via == "response_url" and p.method == clicked.token
    ]


async def answers_to_eventually(slack: SlackStandIn, clicked: Click) -> list[dict[str, Any]]:
    await slack.wait_for(lambda: bool(answers_to(slack, clicked)))
    return answers_to(slack, clicked)


async def answer_to(slack: SlackStandIn, clicked: Click) -> dict[str, Any]:
    await slack.wait_for(lambda: bool(answers_to(slack, clicked)))
    [answer] = answers_to(slack, clicked)
    return answer


def alert_titles(message: dict[str, Any]) -> list[str]:
    """The alerts a message lists: each is one line whose title links to it in Defender."""
    return re.findall(
        r"<https://security\.microsoft\.com/alerts/[^|>]+\|([^>]+)>",
        "\n".join(b["text"]["text"] for b in message["blocks"] if b["type"] == "section"),
    )


# ---------------------------------------------------------------------- the buttons


async def test_alerts_button_posts_the_devices_alerts_expanded(stack: Stack) -> None:
    card = await pasted_card(stack)
    assert card.label(ActionId.DEVICE_ALERTS) == "Alerts (3)"

    clicked = await click(stack, card, ActionId.DEVICE_ALERTS)

    assert clicked.reply.status == 200
    answer = await answer_to(stack.slack, clicked)
    assert answer["replace_original"] is False
    assert answer["text"] == "🔴 2 High alerts · ws-fin-042 · contoso"
    text = shown(answer)
    assert "1 tenant" in text  # only the connector the button names was asked
    assert len(alert_titles(answer)) == 3
    for title in (
        "Suspicious PowerShell command line",
        "Credential dumping activity observed",
        "Unusual sign-in time",
    ):
        assert title in text
    assert "Show all" not in text


async def test_device_details_button_posts_the_details(stack: Stack) -> None:
    card = await pasted_card(stack)

    clicked = await click(stack, card, ActionId.DEVICE_DETAILS)

    assert clicked.reply.status == 200
    answer = await answer_to(stack.slack, clicked)
    assert answer["replace_original"] is False
    text = shown(answer)
    for expected in (
        f"Device id:   `{DEMO_MACHINE_ID}`",
        f"Host name:   `{DEMO_HOST}`",
        "OS:          Windows11 23H2 (22631)",
        "Health:      Active",
        "Risk:        High",
        "Exposure:    Medium",
        "Last seen:   2026-11-27 22:14 UTC",
        "Tags:        Tier0, Finance",
        "Onboarding:  Onboarded",
    ):
        assert expected in text


async def test_show_all_expands_every_alert_of_the_card_without_asking_mde_again(
    stack: Stack,
) -> None:
    card = await command_card(stack, f"host {HOST_PREFIX}")
    label = card.label(ActionId.SHOW_ALL)
    match = re.fullmatch(r"Show all (\d+) alerts", label)
    assert match is not None, label
    total = int(match.group(1))
    assert 3 < total <= 20  # more than the card shows, all of them fit an expanded answer
    assert len(alert_titles(card.message)) == 3
    stack.simulator.reset_counters()

    clicked = await click(stack, card, ActionId.SHOW_ALL)

    answer = await answer_to(stack.slack, clicked)
    assert answer["replace_original"] is False
    assert len(alert_titles(answer)) == total
    assert "Show all" not in shown(answer)
    assert stack.simulator.calls["*"] == 0  # the card's report was kept, not fetched again


def uploaded_events(slack: SlackStandIn) -> list[dict[str, Any]]:
    [content] = slack.uploads
    lines = content.decode("utf-8").splitlines()
    assert content.endswith(b"\n")
    return [json.loads(line) for line in lines]


async def test_ocsf_button_uploads_valid_ocsf_json_lines_into_the_cards_thread(
    stack: Stack,
) -> None:
    slack = stack.slack
    card = await pasted_card(stack)

    clicked = await click(stack, card, ActionId.DEVICE_OCSF)

    assert clicked.reply.status == 200
    await slack.wait_for(lambda: bool(slack.calls("files.completeUploadExternal")))
    [asked] = slack.calls("files.getUploadURLExternal")
    [done] = slack.calls("files.completeUploadExternal")
    assert asked["filename"] == "mde-ws-fin-042.ocsf.jsonl"
    assert int(asked["length"]) == len(slack.uploads[0])
    assert done["channel_id"] == CHANNEL
    assert done["thread_ts"] == card.thread_ts
    assert json.loads(done["files"])[0]["id"] == "F0UPLOAD01"
    events = uploaded_events(slack)
    assert [e["class_uid"] for e in events] == [DEVICE_CLASS_UID] + [FINDING_CLASS_UID] * 3
    for event in events:
        assert ocsf_errors(event) == []
    assert done["initial_comment"].startswith(f"{len(events)} OCSF ")
    assert answers_to(slack, clicked) == []  # no error note


async def test_ocsf_button_on_a_private_card_sends_the_file_privately(stack: Stack) -> None:
    """An ephemeral /mde answer was for the caller's eyes only: its events (IPs, users,
    command lines) go to the clicker's direct messages, never to the channel."""
    slack = stack.slack
    card = await command_card(stack, f"ip {DEMO_IP}")

    clicked = await click(stack, card, ActionId.DEVICE_OCSF)

    await slack.wait_for(lambda: bool(slack.calls("files.completeUploadExternal")))
    [opened] = slack.calls("conversations.open")
    assert opened["users"] == RESPONDER
    [done] = slack.calls("files.completeUploadExternal")
    assert done["channel_id"] == f"D0{RESPONDER}"
    assert done["channel_id"] != CHANNEL
    assert "thread_ts" not in done
    assert all(ocsf_errors(e) == [] for e in uploaded_events(slack))
    [note] = await answers_to_eventually(slack, clicked)
    assert note["text"] == "The OCSF file is in your direct messages with me."


async def test_open_in_defender_is_acknowledged_and_posts_nothing(
    simulator: Simulator, slack: SlackStandIn, settings: BotSettings
) -> None:
    async with open_stack(simulator, slack, settings) as stack:
        card = await pasted_card(stack)
        _, link = card.control(ActionId.OPEN_PORTAL)
        assert link is not None
        assert link["url"].startswith(f"https://security.microsoft.com/machines/{DEMO_MACHINE_ID}")
        api_calls = len(slack.posts)
        simulator.reset_counters()

        opened = await click(stack, card, ActionId.OPEN_PORTAL)
        assert (opened.reply.status, opened.reply.body) == (200, "")
        details = await click(stack, card, ActionId.DEVICE_DETAILS)  # a click that does answer
        await answer_to(slack, details)

    assert answers_to(slack, opened) == []
    new = slack.posts[api_calls:]
    assert [(p.via, p.method) for p in new] == [("response_url", details.token)]


async def test_the_buttons_of_a_card_an_earlier_version_posted_still_answer(
    stack: Stack,
) -> None:
    """Cards stay in Slack's history: before the device menu, each choice was a button of its
    own whose value named the device only."""
    slack = stack.slack
    button = {
        "type": "button",
        "action_id": ActionId.DEVICE_DETAILS,
        "text": {"type": "plain_text", "text": "Device details"},
        "value": json.dumps({"c": "contoso", "d": DEMO_MACHINE_ID}),
    }
    card = Card(
        {"text": "an old card", "blocks": [{"type": "actions", "elements": [button]}]},
        new_ts(),
        new_ts(),
    )

    clicked = await click(stack, card, ActionId.DEVICE_DETAILS)

    assert f"Device id:   `{DEMO_MACHINE_ID}`" in shown(await answer_to(slack, clicked))


# ---------------------------------------------------------------------- values not to be trusted

BAD_BUTTON = ("⚠️ this button is not valid any more", "run the lookup again")
UNKNOWN_TENANT = ("⚠️ no tenant called 'nowhere'", "known tenants: contoso, fabrikam")


@pytest.mark.parametrize(
    ("action_id", "value", "expected"),
    [
        pytest.param(ActionId.DEVICE_ALERTS, "not json {", BAD_BUTTON, id="garbage"),
        pytest.param(ActionId.DEVICE_DETAILS, "", BAD_BUTTON, id="empty"),
        pytest.param(
            ActionId.DEVICE_DETAILS,
            '{"c":"contoso","d":"../machines?$top=10000"}',
            BAD_BUTTON,
            id="device id not 40 hex",
        ),
        pytest.param(
            ActionId.DEVICE_OCSF,
            json.dumps({"c": "contoso", "d": DEMO_MACHINE_ID.upper()}),
            BAD_BUTTON,
            id="device id in upper case",
        ),
        pytest.param(
            ActionId.DEVICE_ALERTS,
            json.dumps({"c": "contoso", "d": DEMO_MACHINE_ID, "admin": True}),
            BAD_BUTTON,
            id="extra field",
        ),
        pytest.param(
            ActionId.DEVICE_ALERTS,
            json.dumps({"c": "nowhere", "d": DEMO_MACHINE_ID}),
            UNKNOWN_TENANT,
            id="unknown tenant",
        ),
        pytest.param(
            ActionId.DEVICE_OCSF,
            json.dumps({"c": "nowhere", "d": DEMO_MACHINE_ID}),
            UNKNOWN_TENANT,
            id="unknown tenant for the upload",
        ),
        pytest.param(ActionId.SHOW_ALL, '{"r":"../../etc"}', BAD_BUTTON, id="report id"),
        pytest.param(
            ActionId.DEVICE_DETAILS,
            json.dumps({"a": ActionId.SHOW_ALL, "c": "contoso", "d": DEMO_MACHINE_ID}),
            ("⚠️ this menu is not valid any more", "run the lookup again"),
            id="a menu option naming another action",
        ),
    ],
)
async def test_a_tampered_value_gets_a_clear_note_and_no_mde_call(
    stack: Stack, action_id: str, value: str, expected: tuple[str, str]
) -> None:
    card = await pasted_card(stack, f"anyone on {SHARED_IP}?")  # a card with every button
    _, option = card.control(action_id)
    if option is not None and value.startswith("{"):  # a device menu's option says what it does
        value = json.dumps({"a": action_id, **json.loads(value)})
    stack.simulator.reset_counters()

    clicked = await click(stack, card, action_id, value=value)

    assert clicked.reply.status == 200
    answer = await answer_to(stack.slack, clicked)
    message, hint = expected
    assert shown(answer) == f"{message}\n{hint}"
    assert answer.get("response_type", "ephemeral") == "ephemeral"
    assert answer["replace_original"] is False
    assert stack.simulator.calls["*"] == 0
    assert stack.slack.calls("files.getUploadURLExternal") == []
    assert len(stack.slack.calls("chat.postMessage")) == 1  # the card only


async def test_show_all_of_a_report_the_bot_never_issued_says_the_card_expired(
    stack: Stack,
) -> None:
    card = await pasted_card(stack, f"anyone on {SHARED_IP}?")

    clicked = await click(stack, card, ActionId.SHOW_ALL, value='{"r":"0123456789abcdef"}')

    answer = await answer_to(stack.slack, clicked)
    assert shown(answer) == "⚠️ this card has expired\npaste the indicators again"
    assert answer.get("response_type", "ephemeral") == "ephemeral"


# ---------------------------------------------------------------------- every click re-authorized

REFUSAL = "Sorry — you're not on this bot's access list here. Ask the team that runs it."


@pytest.mark.parametrize(
    "action_id",
    [ActionId.DEVICE_ALERTS, ActionId.DEVICE_DETAILS, ActionId.DEVICE_OCSF, ActionId.SHOW_ALL],
)
async def test_a_click_by_a_user_not_on_the_allow_list_is_refused(
    simulator: Simulator, slack: SlackStandIn, action_id: str
) -> None:
    settings = bot_settings(allowed_users=[RESPONDER])
    async with open_stack(simulator, slack, settings) as stack:
        card = await pasted_card(stack, f"anyone on {SHARED_IP}?")
        simulator.reset_counters()

        refused = await click(stack, card, action_id, user="U0PASSERBY")
        answer = await answer_to(slack, refused)
        assert simulator.calls["*"] == 0

        allowed = await click(stack, card, action_id)  # the same click by the responder works
        if action_id == ActionId.DEVICE_OCSF:
            await slack.wait_for(lambda: bool(slack.calls("files.completeUploadExternal")))
        else:
            assert "Sorry" not in shown(await answer_to(slack, allowed))

    assert shown(answer) == REFUSAL
    assert answer["response_type"] == "ephemeral"
    assert answer["replace_original"] is False
    assert len(answers_to(slack, refused)) == 1
    assert len(slack.calls("files.completeUploadExternal")) <= 1  # the responder's, if any


async def test_a_refused_click_is_acknowledged_with_200(
    simulator: Simulator, slack: SlackStandIn
) -> None:
    async with open_stack(simulator, slack, bot_settings(allowed_users=[RESPONDER])) as stack:
        card = await pasted_card(stack)
        refused = await click(stack, card, ActionId.DEVICE_ALERTS, user="U0PASSERBY")
        await answer_to(slack, refused)

    assert (refused.reply.status, refused.reply.body) == (200, "")


async def test_a_click_from_a_channel_outside_the_allow_list_is_refused(
    simulator: Simulator, slack: SlackStandIn
) -> None:
    async with open_stack(simulator, slack, bot_settings(allowed_channels=[CHANNEL])) as stack:
        card = await pasted_card(stack)
        simulator.reset_counters()

        refused = await click(stack, card, ActionId.DEVICE_ALERTS, channel="C0ELSEWHERE")
        answer = await answer_to(slack, refused)

    assert shown(answer) == REFUSAL
    assert simulator.calls["*"] == 0


# ---------------------------------------------------------------------- cards stay where posted


async def test_a_show_all_id_works_only_in_the_channel_its_card_was_posted_to(
    stack: Stack,
) -> None:
    """Before: a "Show all" report id, copied from a card in #incident into a click from another
    channel (or from another user's private card), expanded the report there. Report ids are
    bound to the card's channel, and to its one reader for a private card."""
    card = await command_card(stack, f"host {HOST_PREFIX}")  # private: the responder's alone
    value = card.value(ActionId.SHOW_ALL)

    elsewhere = await click(stack, card, ActionId.SHOW_ALL, channel="C0ELSEWHERE")
    somebody = await click(stack, card, ActionId.SHOW_ALL, user="U0SOMEBODY")
    theirs = await click(stack, card, ActionId.SHOW_ALL, value=value)

    for refused in (elsewhere, somebody):
        answer = await answer_to(stack.slack, refused)
        assert shown(answer) == "⚠️ this card was not posted here\nrun the lookup again"
    assert "Show all" not in shown(await answer_to(stack.slack, theirs))
    assert len(alert_titles(await answer_to(stack.slack, theirs))) > 3


async def test_the_ocsf_button_uploads_one_file_per_card_and_device(stack: Stack) -> None:
    """Before: 30 clicks on a card's "OCSF JSON" uploaded 30 files into the thread. Now a second
    click points at the file already posted."""
    slack = stack.slack
    card = await pasted_card(stack)

    first = await click(stack, card, ActionId.DEVICE_OCSF)
    await slack.wait_for(lambda: bool(slack.calls("files.completeUploadExternal")))
    again = [await click(stack, card, ActionId.DEVICE_OCSF) for _ in range(3)]
    notes = [await answer_to(slack, c) for c in again]

    assert len(slack.calls("files.completeUploadExternal")) == 1
    assert answers_to(slack, first) == []
    for note in notes:
        assert shown(note) == (
            "⚠️ the OCSF file for this device is already posted\nsee this card's thread"
        )
