"""Response actions end to end: a device card's "Respond…", the form, the request in the
thread, a second responder's approval, MDE's action followed to its end, and the audit trail
that tells the whole story. Signed HTTP in, real Bolt routing, the simulator behind."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest

from bot.audit.records import AuditKind
from bot.demo.simulator import Simulator
from bot.demo.simulator.data import DEMO_MACHINE_ID
from bot.demo.standin import SlackStandIn
from bot.slack.buttons import ActionId
from tests.acting import (
    ASKER,
    COMMENT,
    OUTSIDER,
    SECOND,
    acting_stack,
    card,
    click,
    latest,
    open_form,
    request_posts,
    submit,
    values,
)
from tests.conftest import Stack, bot_settings, open_stack
from tests.slack_helpers import checked, control, shown


@pytest.fixture
async def stack(simulator: Simulator, slack: SlackStandIn) -> AsyncIterator[Stack]:
    async with acting_stack(simulator, slack) as running:
        yield running


async def story(stack: Stack) -> list[str]:
    """The audit trail's kinds, in order, after checking the chain is intact."""
    audit = stack.backend.audit
    report = await audit.verify()
    assert report.ok, report.summary()
    return [str(r.kind) async for r in audit.records()]


# ---------------------------------------------------------------------- the whole story


async def test_isolate_a_tier0_device_with_a_second_responders_approval(stack: Stack) -> None:
    slack, sim = stack.slack, stack.simulator
    posted = await card(stack)
    form = await open_form(stack, posted)
    assert "ws-fin-042" in json.dumps(form)
    note = "Here, isolate, release, restrict, unrestrict need a second responder's approval."
    assert note in json.dumps(form)  # ws-fin-042 is tagged Tier0

    assert await submit(stack, form, values("isolate_full")) == (200, "")
    await slack.wait_for(lambda: bool(request_posts(slack)))
    [waiting] = request_posts(slack)
    assert waiting["thread_ts"] == posted["thread_ts"]  # in the card's thread
    assert "Waiting for a second responder's approval" in shown(checked(waiting))
    assert sim.actions == []  # nothing sent before the approval

    await click(stack, waiting, ActionId.APPROVE, SECOND, as_posted=True)
    await slack.wait_for(lambda: "Succeeded" in shown(latest(slack)), within=10)

    [action] = sim.actions
    assert (action.machine_id, action.type) == (DEMO_MACHINE_ID, "Isolate")
    assert action.body["IsolationType"] == "Full"
    assert action.body["Comment"].startswith(COMMENT)
    assert sim.device_state(DEMO_MACHINE_ID).isolated
    final = shown(latest(slack))
    assert f"approved by <@{SECOND}>" in final

    def told() -> list[dict[str, Any]]:
        posts = slack.calls("chat.postMessage")
        return [p for p in posts if p["text"].startswith(f"<@{ASKER}>")]

    await slack.wait_for(lambda: bool(told()))
    [reply] = told()  # the requester hears how it ended, in the thread
    assert reply["thread_ts"] == posted["thread_ts"]
    assert "Succeeded" in reply["text"]
    kinds = [k for k in await story(stack) if k != AuditKind.LOOKUP]
    assert kinds[:3] == ["action_requested", "action_approved", "action_submitted"]
    assert set(kinds[3:]) == {"action_status"}  # InProgress, then Succeeded (polls may merge)
    assert 1 <= len(kinds[3:]) <= 2


async def test_the_requester_cannot_approve_their_own_request(stack: Stack) -> None:
    slack = stack.slack
    form = await open_form(stack, await card(stack))
    await submit(stack, form, values("isolate_full"))
    await slack.wait_for(lambda: bool(request_posts(slack)))

    token = await click(stack, request_posts(slack)[0], ActionId.APPROVE, ASKER, as_posted=True)
    await slack.wait_for(lambda: any(p.method == token for p in slack.posts))

    [note] = [p.payload for p in slack.posts if p.method == token]
    assert shown(note) == "⚠️ you asked for this one\na second responder must approve it"
    assert stack.simulator.actions == []


async def test_double_clicks_and_a_second_submission_make_one_mde_request(stack: Stack) -> None:
    slack = stack.slack
    form = await open_form(stack, await card(stack))
    await submit(stack, form, values("isolate_full"))
    await submit(stack, form, values("isolate_full"))  # the same form, submitted twice
    await slack.wait_for(lambda: bool(request_posts(slack)))
    waiting = request_posts(slack)[0]

    for _ in range(3):
        await click(stack, waiting, ActionId.APPROVE, SECOND, as_posted=True)
    await slack.wait_for(lambda: "Succeeded" in shown(latest(slack)), within=10)

    assert len(request_posts(slack)) == 1
    assert len(stack.simulator.actions) == 1


async def test_an_action_without_approval_goes_straight_to_mde(stack: Stack) -> None:
    slack = stack.slack
    form = await open_form(stack, await card(stack))
    await submit(stack, form, values("scan_quick"))
    await slack.wait_for(
        lambda: "Succeeded" in shown(latest(slack)) if request_posts(slack) else False, within=10
    )

    [action] = stack.simulator.actions
    assert (action.type, action.body["ScanType"]) == ("RunAntiVirusScan", "Quick")


async def test_someone_who_is_not_a_responder_is_not_offered_actions(stack: Stack) -> None:
    form = await open_form(stack, await card(stack), user=OUTSIDER)

    assert "you are not a responder here" in json.dumps(form)
    assert stack.simulator.actions == []


async def test_a_form_submitted_by_someone_not_a_responder_is_refused(stack: Stack) -> None:
    form = await open_form(stack, await card(stack))
    payload = stack.slack.submission_payload(
        form, values("isolate_full"), view_id="V0X", user=OUTSIDER
    )
    reply = await stack.slack.action(stack.url, payload)

    assert reply.status == 200
    assert json.loads(reply.body) == {
        "response_action": "errors",
        "errors": {"choice": "You are not a responder for contain actions"},
    }
    await stack.slack.wait_for(lambda: True)
    assert request_posts(stack.slack) == []
    assert stack.simulator.actions == []


async def test_actions_off_offer_no_respond(simulator: Simulator, slack: SlackStandIn) -> None:
    async with open_stack(simulator, slack, bot_settings()) as stack:
        posted = await card(stack)

    with pytest.raises(LookupError):
        control(posted["blocks"], ActionId.RESPOND)
