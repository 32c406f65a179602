"""Driving response actions end to end, for the tests: a device card in an incident thread, its
"Respond…" form, the request's message and its buttons, all over signed HTTP through the real
Bolt app and the Slack stand-in, with the simulator behind (the same moves as
one place for every test file that makes them)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
from collections.abc import AsyncIterator
from typing import Any

from bot.demo.simulator import Simulator
from bot.demo.simulator.data import DEMO_IP
from bot.demo.standin import SlackStandIn
from bot.settings import BotSettings
from bot.slack.buttons import ActionId
from tests.conftest import Stack, bot_settings, open_stack
from tests.slack_helpers import checked, control, shown

ASKER, SECOND, THIRD, OUTSIDER = "U0RESPONDER", "U0SECOND", "U0THIRD", "U0OUTSIDER"
CHANNEL = "C0INCIDENT"
COMMENT = "Requested by @responder in #incident: credential dumping on a Tier0 host"
CARD_TS = "1796100000.000100"
_REQUEST = re.compile(r"request ([0-9a-f]{16})")


def acting(**overrides: object) -> BotSettings:
    """Actions on, three responders, the status polled every 50 ms at first."""
    settings: dict[str, object] = {
        "actions": "on",
        "responders": f"{ASKER},{SECOND},{THIRD}",
        "action_poll_seconds": 0.05,
    }
    settings.update(overrides)
    return bot_settings(**settings)


@contextlib.asynccontextmanager
async def acting_stack(
    simulator: Simulator, slack: SlackStandIn, **overrides: object
) -> AsyncIterator[Stack]:
    """The bot with actions on; MDE's lifecycle quick (Pending 0.1 s, InProgress 0.2 s) on the
    simulator's clock."""
    simulator.knobs.action_pickup = 0.1
    simulator.knobs.action_run = 0.2
    async with open_stack(simulator, slack, acting(**overrides)) as stack:
        yield stack


async def card(stack: Stack, ts: str = CARD_TS) -> dict[str, Any]:
    """The card a paste of the demo IP gets in its thread."""
    slack = stack.slack
    await slack.message(stack.url, f"seen {DEMO_IP}", ts=ts)
    await slack.wait_for(lambda: any(p["thread_ts"] == ts for p in slack.calls("chat.postMessage")))
    return checked(next(p for p in slack.calls("chat.postMessage") if p["thread_ts"] == ts))


async def open_form(stack: Stack, posted: dict[str, Any], user: str = ASKER) -> dict[str, Any]:
    """Tap the card's ⋯ → "Respond…"; the form as the bot filled it in."""
    slack = stack.slack
    menu, respond = control(posted["blocks"], ActionId.RESPOND)
    before = len(slack.calls("views.update"))
    payload = slack.click_payload(
        menu,
        message_ts="1796100000.000200",
        response_url=slack.response_url(),
        user=user,
        option=respond,
        message={"thread_ts": posted["thread_ts"], "text": posted["text"]},
    )
    await slack.action(stack.url, payload)
    await slack.wait_for(lambda: len(slack.calls("views.update")) > before)
    [opened] = slack.calls("views.open")[-1:]
    assert opened["trigger_id"]
    return dict(slack.calls("views.update")[-1]["view"])


def offered(form: dict[str, Any]) -> list[str]:
    """The values of the actions the form offers."""
    for block in form["blocks"]:
        element = block.get("element") or {}
        if element.get("type") == "radio_buttons":
            return [str(o["value"]) for o in element["options"]]
    return []


def values(choice: str, comment: str = COMMENT, tag: str = "") -> dict[str, Any]:
    state: dict[str, Any] = {
        "choice": {"choice": {"type": "radio_buttons", "selected_option": {"value": choice}}},
        "comment": {"comment": {"type": "plain_text_input", "value": comment}},
    }
    if tag:
        state["tag"] = {"tag": {"type": "plain_text_input", "value": tag}}
    return state


async def submit(
    stack: Stack,
    view: dict[str, Any],
    state: dict[str, Any],
    *,
    view_id: str = "V0FORM0001",
    user: str = ASKER,
) -> tuple[int, str]:
    payload = stack.slack.submission_payload(view, state, view_id=view_id, user=user)
    reply = await stack.slack.action(stack.url, payload)
    return reply.status, reply.body


def request_posts(slack: SlackStandIn) -> list[dict[str, Any]]:
    """The requests' messages the bot posted (their footer names the request)."""
    return [p for p in slack.calls("chat.postMessage") if _REQUEST.search(json.dumps(p))]


def latest(slack: SlackStandIn) -> dict[str, Any]:
    """The last request's message as it stands: its last update, or the post itself."""
    updates = slack.calls("chat.update")
    return checked(updates[-1] if updates else request_posts(slack)[-1])


def request_id(message: dict[str, Any]) -> str:
    found = _REQUEST.search(json.dumps(message))
    assert found is not None
    return found.group(1)


def versions(slack: SlackStandIn, message: dict[str, Any]) -> list[dict[str, Any]]:
    """A request's message as it was posted, then each update of it, in order."""
    ident = request_id(message)
    updates = [u for u in slack.calls("chat.update") if ident in json.dumps(u)]
    return [checked(message), *(checked(u) for u in updates)]


def states(slack: SlackStandIn, message: dict[str, Any]) -> list[str]:
    """The state line (the message's second line) of each version, repeats merged."""
    lines = [shown(v).splitlines()[1] for v in versions(slack, message)]
    return [line for i, line in enumerate(lines) if i == 0 or line != lines[i - 1]]


def now_shown(slack: SlackStandIn, message: dict[str, Any]) -> str:
    """The request's message as a person reads it now."""
    return shown(versions(slack, message)[-1])


async def click(
    stack: Stack, message: dict[str, Any], action_id: str, user: str, *, as_posted: bool = False
) -> str:
    """Click a request message's button as it stands now (`as_posted`: as it was first posted,
    a screen not yet refreshed); the response_url token of the click."""
    slack = stack.slack
    shown_now = message if as_posted else versions(slack, message)[-1]
    button, _ = control(shown_now["blocks"], action_id)
    response_url = slack.response_url()
    payload = slack.click_payload(
        button,
        message_ts="1796100000.000300",
        response_url=response_url,
        user=user,
        message={"thread_ts": message.get("thread_ts"), "text": message["text"]},
    )
    await slack.action(stack.url, payload)
    return response_url.rsplit("/", 1)[-1]


async def note_to(slack: SlackStandIn, token: str) -> str:
    """What the bot answered a click on its response_url, as the clicker reads it."""
    await slack.wait_for(lambda: any(p.method == token for p in slack.posts))
    [note] = [p.payload for p in slack.posts if p.method == token]
    return shown(note)


def told(slack: SlackStandIn, user: str = ASKER) -> list[dict[str, Any]]:
    """The thread replies that name `user` first: how their request ended."""
    return [p for p in slack.calls("chat.postMessage") if p["text"].startswith(f"<@{user}>")]


async def trail(stack: Stack) -> list[Any]:
    """The audit records but lookups, after checking the chain is intact."""
    audit = stack.backend.audit
    report = await audit.verify()
    assert report.ok, report.summary()
    return [r async for r in audit.records() if r.kind != "lookup"]


async def audited(stack: Stack, kind: str, within: float = 5.0) -> list[Any]:
    """The trail's records of `kind`, once there is one (some are written by a task of their
    own after the answer)."""
    async with asyncio.timeout(within):
        # The trail has no event to wait on: it is read again until the record is there.
        while not (found := [r for r in await trail(stack) if r.kind == kind]):  # noqa: ASYNC110
            await asyncio.sleep(0.01)
    return found
