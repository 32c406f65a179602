"""Response actions end to end, case by case: the refusals, MDE's lifecycle as the thread shows
it, a cancel, an investigation package's link, dry-run mode, MDE's "already in progress", a
lost answer, double submissions and concurrent approvals, and a tampered audit trail.

Signed HTTP in through the real Bolt app and the Slack stand-in, the simulator behind over
HTTPS; what is asserted is what a responder or an operator sees: the thread, the DMs, the form's
errors, what reached MDE, and the audit trail."""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import sqlite3
import ssl
from collections.abc import AsyncIterator
from typing import Any, Literal

import pytest
from structlog.testing import capture_logs

from bot.actions.policy import Target, policy_from_settings
from bot.actions.requests import Stage
from bot.actions.service import ActionService, Ask, Asker
from bot.demo.simulator import ALL_READ_ROLES, Fault, ManualClock, Simulator
from bot.demo.simulator.data import DEMO_MACHINE_ID
from bot.demo.standin import SlackStandIn
from bot.errors import InputError
from bot.mde.actions import ActionKind
from bot.runtime import open_backend
from bot.slack.buttons import ActionId
from tests.acting import (
    ASKER,
    CARD_TS,
    CHANNEL,
    COMMENT,
    OUTSIDER,
    SECOND,
    THIRD,
    acting,
    acting_stack,
    audited,
    card,
    click,
    note_to,
    now_shown,
    offered,
    open_form,
    request_id,
    request_posts,
    states,
    submit,
    told,
    trail,
    values,
    versions,
)
from tests.conftest import Stack
from tests.slack_helpers import control, shown


@pytest.fixture
def held() -> ManualClock:
    """MDE's clock, held: machine actions move on only when the test says."""
    return ManualClock()


@pytest.fixture
async def held_simulator(held: ManualClock) -> AsyncIterator[Simulator]:
    async with Simulator(clock=held) as sim:
        yield sim


# ---------------------------------------------------------------------- refusals


async def test_a_submission_by_someone_not_a_responder_is_refused_and_audited(
    simulator: Simulator, slack: SlackStandIn
) -> None:
    """Someone outside the responders submits an isolate form (opened by a responder, or
    forged): the form says they are not a responder, nothing reaches MDE, and the refusal is
    in the audit trail under their name."""
    async with acting_stack(simulator, slack) as stack:
        form = await open_form(stack, await card(stack))
        status, body = await submit(stack, form, values("isolate_full"), user=OUTSIDER)

        assert status == 200
        assert json.loads(body) == {
            "response_action": "errors",
            "errors": {"choice": "You are not a responder for contain actions"},
        }
        [refusal] = await audited(stack, "refusal")
        assert refusal.actor.user == OUTSIDER
        assert refusal.details["request"] == "action"
        assert "not a responder" in refusal.details["reason"]
        assert request_posts(slack) == []
        assert simulator.actions == []
        assert simulator.calls["isolate"] == 0


async def test_a_refused_submission_is_audited_with_the_device_and_the_place(
    simulator: Simulator, slack: SlackStandIn
) -> None:
    """An auditor reading a refused isolate attempt can tell which device it was about, in which
    tenant, from which channel and thread, and by whom (their team too)."""
    async with acting_stack(simulator, slack) as stack:
        form = await open_form(stack, await card(stack))
        await submit(stack, form, values("isolate_full"), user=OUTSIDER)
        [refusal] = await audited(stack, "refusal")

    assert (refusal.actor.user, refusal.actor.team) == (OUTSIDER, "T0INCIDENT")
    assert (refusal.place.channel, refusal.place.thread) == (CHANNEL, CARD_TS)
    assert (refusal.tenants, refusal.subject) == (("contoso",), DEMO_MACHINE_ID)


async def test_a_requester_approving_their_own_request_is_told_no_and_nothing_is_sent(
    simulator: Simulator, slack: SlackStandIn
) -> None:
    """The requester clicks Approve on their own isolate request: they are told a second
    responder must approve it, the request still waits (its buttons still there), nothing
    reaches MDE, and the trail holds the request alone."""
    async with acting_stack(simulator, slack) as stack:
        form = await open_form(stack, await card(stack))
        await submit(stack, form, values("isolate_full"))
        await slack.wait_for(lambda: bool(request_posts(slack)))
        [waiting] = request_posts(slack)

        token = await click(stack, waiting, ActionId.APPROVE, ASKER)

        assert await note_to(slack, token) == (
            "⚠️ you asked for this one\na second responder must approve it"
        )
        assert "Waiting for a second responder's approval" in now_shown(slack, waiting)
        assert control(versions(slack, waiting)[-1]["blocks"], ActionId.APPROVE)
        assert simulator.actions == []
        assert "action_approved" not in [r.kind for r in await trail(stack)]


async def test_refused_approvals_are_in_the_audit_trail(
    simulator: Simulator, slack: SlackStandIn
) -> None:
    """The requester approving their own isolate, and someone who is not a responder
    approving it, are both refused (each told why) and both leave a refusal record naming
    them: docs/audit.md promises a record of everything the bot refuses."""
    async with acting_stack(simulator, slack) as stack:
        form = await open_form(stack, await card(stack))
        await submit(stack, form, values("isolate_full"))
        await slack.wait_for(lambda: bool(request_posts(slack)))
        [waiting] = request_posts(slack)
        own = await click(stack, waiting, ActionId.APPROVE, ASKER)
        outsider = await click(stack, waiting, ActionId.APPROVE, OUTSIDER)

        assert (await note_to(slack, own)).startswith("⚠️ you asked for this one")
        assert (await note_to(slack, outsider)).startswith(
            "⚠️ only a responder for contain actions can approve this"
        )
        assert simulator.actions == []
        refusals = await audited(stack, "refusal", within=1)
        assert {r.actor.user for r in refusals} == {ASKER, OUTSIDER}


async def test_a_request_withdrawn_by_its_requester_cannot_be_approved_after(
    simulator: Simulator, slack: SlackStandIn
) -> None:
    """The requester clicks Reject on their own waiting isolate (withdrawing it): the message
    says it was withdrawn, and a second responder's later approval is told it was rejected.
    Nothing reaches MDE."""
    async with acting_stack(simulator, slack) as stack:
        form = await open_form(stack, await card(stack))
        await submit(stack, form, values("isolate_full"))
        await slack.wait_for(lambda: bool(request_posts(slack)))
        [waiting] = request_posts(slack)
        await click(stack, waiting, ActionId.REJECT, ASKER)
        await slack.wait_for(lambda: "Rejected" in now_shown(slack, waiting))

        assert states(slack, waiting)[-1] == f"✋ Rejected by <@{ASKER}>"
        assert "_withdrawn by the requester_" in now_shown(slack, waiting)
        late = await click(stack, waiting, ActionId.APPROVE, SECOND, as_posted=True)
        assert await note_to(slack, late) == f"⚠️ this request is already rejected by <@{ASKER}>"
        assert simulator.actions == []
        kinds = [r.kind for r in await trail(stack)]
        assert kinds == ["action_requested", "action_rejected"]


async def test_an_approval_clicked_after_the_request_expired_is_refused(
    simulator: Simulator, slack: SlackStandIn
) -> None:
    """Approvals last BOT_APPROVAL_MINUTES (here 60 microseconds, so that the click is late
    without sleeping): a second responder's late click is told the request expired, the
    thread shows it expired, nothing reaches MDE, and the trail closes the request.

    The service's clock cannot be injected into the running app (`Services.build` makes the
    `ActionService` with `time.time`); the next test moves that clock at the service level."""
    async with acting_stack(simulator, slack, approval_minutes=1e-6) as stack:
        form = await open_form(stack, await card(stack))
        await submit(stack, form, values("isolate_full"))
        await slack.wait_for(lambda: bool(request_posts(slack)))
        [waiting] = request_posts(slack)

        token = await click(stack, waiting, ActionId.APPROVE, SECOND)

        assert await note_to(slack, token) == "⚠️ this request has expired\nask for the action again"
        await slack.wait_for(lambda: "Expired" in now_shown(slack, waiting))
        assert states(slack, waiting)[-1] == "⌛ Expired: nobody approved it in time"
        with pytest.raises(LookupError):  # no Approve or Reject any more
            control(versions(slack, waiting)[-1]["blocks"], ActionId.APPROVE)
        assert simulator.actions == []
        records = await trail(stack)
        assert [r.kind for r in records] == ["action_requested", "action_rejected"]
        assert records[1].details["stage"] == "expired"
        assert records[1].actor.user == ""  # nobody rejected it: time did


async def test_approval_expires_on_the_services_clock_against_the_simulator(
    simulator: Simulator,
) -> None:
    """At the service level, on a clock the test moves, with the real MDE client and audit
    trail: an approval one second before the end goes to MDE; one at the end is refused as
    expired and sends nothing."""
    settings = acting()
    moment = [1_796_100_000.0]
    async with open_backend([], settings, simulator=simulator) as backend:
        service = ActionService(
            {c.alias: c for c in backend.clients},
            policy_from_settings(settings),
            backend.audit,
            store=backend.actions,
            mode="on",
            clock=lambda: moment[0],
        )
        ask = Ask(
            kind=ActionKind.ISOLATE,
            tenant="contoso",
            subject=DEMO_MACHINE_ID,
            subject_name="ws-fin-042",
            comment=COMMENT,
            options={"isolation": "Full"},
            target=Target(frozenset({"Tier0"})),
        )
        asker = Asker(ASKER, "T0INCIDENT")
        first = await service.request(ask, asker, channel=CHANNEL, thread=CARD_TS, key="a")
        second = await service.request(ask, asker, channel=CHANNEL, thread=CARD_TS, key="b")
        assert first.expires == second.expires == moment[0] + 30 * 60

        moment[0] += 30 * 60 - 1
        sent = await service.approve(first.id, Asker(SECOND))
        moment[0] += 1
        with pytest.raises(InputError, match="this request has expired"):
            await service.approve(second.id, Asker(SECOND))

        assert sent.stage is Stage.SUBMITTED
        assert [a.action_id for a in simulator.actions] == [sent.mde_id]
        expired = await service.store.get(second.id)
        assert expired is not None
        assert expired.stage is Stage.EXPIRED


async def test_the_app_lacking_a_role_is_not_offered_the_action(slack: SlackStandIn) -> None:
    """The app's token has Machine.Scan but not Machine.Isolate (its Entra roles, as the
    simulator issues them): the form offers the scans alone; with no action role at all, the
    form says the app's roles allow nothing and where to look. Nothing reaches MDE."""
    async with Simulator() as sim:
        for app in sim.apps:
            app.roles = (*ALL_READ_ROLES, "Machine.Scan")
        async with acting_stack(sim, slack) as stack:
            form = await open_form(stack, await card(stack))
        assert offered(form) == ["scan_quick", "scan_full"]
        assert sim.actions == []

    async with Simulator() as sim:
        for app in sim.apps:
            app.roles = ALL_READ_ROLES
        async with acting_stack(sim, slack) as stack:
            form = await open_form(stack, await card(stack, ts="1796100000.000900"))
        assert offered(form) == []
        text = json.dumps(form)
        assert "the app's roles in contoso allow none of the actions you may ask for" in text
        assert "/mde check lists the app's permissions" in text
        assert sim.actions == []


async def test_a_submission_the_apps_roles_cannot_take_says_what_is_missing(
    slack: SlackStandIn,
) -> None:
    """A form asks for isolate although the app's token lacks Machine.Isolate (a form opened
    before the role was withdrawn, or a forged one): nothing reaches MDE, and the submitter is
    told which role is missing."""
    async with Simulator() as sim:
        for app in sim.apps:
            app.roles = (*ALL_READ_ROLES, "Machine.Scan")
        async with acting_stack(sim, slack) as stack:
            form = await open_form(stack, await card(stack))
            status, body = await submit(stack, form, values("isolate_full"))
            assert status == 200
            told_in_form = "Machine.Isolate" in body
            if not told_in_form:
                with contextlib.suppress(TimeoutError):
                    await slack.wait_for(
                        lambda: any("Machine.Isolate" in json.dumps(m) for m in slack.messages()),
                        within=2,
                    )
            told_later = any("Machine.Isolate" in json.dumps(m) for m in slack.messages())

        assert sim.actions == []
        assert sim.calls["isolate"] == 0
        assert told_in_form or told_later


# ---------------------------------------------------------------------- MDE's lifecycle


async def scan_submitted(stack: Stack) -> dict[str, Any]:
    """A quick scan asked for (no approval needed) and MDE's Pending action shown."""
    slack = stack.slack
    form = await open_form(stack, await card(stack))
    assert await submit(stack, form, values("scan_quick")) == (200, "")
    await slack.wait_for(lambda: bool(request_posts(slack)))
    [message] = request_posts(slack)
    await slack.wait_for(lambda: "MDE: Pending" in now_shown(slack, message))
    return message


async def test_the_thread_shows_pending_then_in_progress_then_succeeded(
    held_simulator: Simulator, held: ManualClock, slack: SlackStandIn
) -> None:
    """MDE's clock held: the request's message in the card's thread goes Sending → Pending →
    InProgress → Succeeded as MDE's action does, and at the end the requester is told in the
    thread. The trail has the request, its submission and each status."""
    async with acting_stack(held_simulator, slack) as stack:
        message = await scan_submitted(stack)
        assert message["thread_ts"] == CARD_TS
        held.advance(0.1)  # the device picks it up
        await slack.wait_for(lambda: "MDE: InProgress" in now_shown(slack, message))
        held.advance(0.2)  # … and is done
        await slack.wait_for(lambda: bool(told(slack)))

        assert states(slack, message) == [
            "📨 Sending to MDE…",
            "⏳ MDE: Pending",
            "⏳ MDE: InProgress",
            "✅ Succeeded",
        ]
        [reply] = told(slack)
        assert reply["thread_ts"] == CARD_TS
        assert reply["text"] == (
            f"<@{ASKER}> Antivirus scan (quick) · ws-fin-042 · contoso: Succeeded"
        )
        [action] = held_simulator.actions
        assert (action.type, action.body["ScanType"]) == ("RunAntiVirusScan", "Quick")
        records = await trail(stack)
        assert [(r.kind, r.details["status"]) for r in records] == [
            ("action_requested", None),
            ("action_submitted", "Pending"),
            ("action_status", "InProgress"),
            ("action_status", "Succeeded"),
        ]
        assert {r.details["action_id"] for r in records[1:]} == {action.action_id}


@pytest.mark.parametrize(
    ("outcome", "after", "ending"),
    [
        ("Failed", 0.3, "❌ Failed on the device"),
        ("TimeOut", 30.0, "⌛ Timed out: MDE could not reach the device in time"),
    ],
    ids=["Failed", "TimeOut"],
)
async def test_an_action_that_fails_or_times_out_is_shown_so(
    held_simulator: Simulator,
    held: ManualClock,
    slack: SlackStandIn,
    outcome: Literal["Failed", "TimeOut"],
    after: float,
    ending: str,
) -> None:
    """MDE's action ends Failed (the device refused it) or TimeOut (the device never picked it
    up, 30 s here): the request's message ends so, the requester is told so in the thread,
    and the trail's last status says so."""
    held_simulator.knobs.action_outcomes["RunAntiVirusScan"] = outcome
    async with acting_stack(held_simulator, slack) as stack:
        message = await scan_submitted(stack)
        held.advance(after)
        await slack.wait_for(lambda: bool(told(slack)))

        assert states(slack, message)[-1] == ending
        assert "Cancel" not in json.dumps(versions(slack, message)[-1]["blocks"])
        [reply] = told(slack)
        assert reply["text"].endswith(f"contoso: {outcome}")
        last = (await trail(stack))[-1]
        assert (last.kind, last.details["status"], last.details["stage"]) == (
            "action_status",
            outcome,
            "done",
        )
        assert len(held_simulator.actions) == 1


async def test_the_requester_cancels_a_pending_action(
    held_simulator: Simulator, slack: SlackStandIn
) -> None:
    """While MDE's scan is still Pending, the requester clicks Cancel: MDE's cancel is called
    with who cancelled and the request's marker, MDE's action is Cancelled, the message says
    Cancelled (no more buttons), and the trail records the cancel under their name."""
    async with acting_stack(held_simulator, slack) as stack:
        message = await scan_submitted(stack)
        await click(stack, message, ActionId.CANCEL, ASKER)
        await slack.wait_for(lambda: "Cancelled" in now_shown(slack, message))

        assert states(slack, message)[-1] == "🚫 Cancelled"
        with pytest.raises(LookupError):
            control(versions(slack, message)[-1]["blocks"], ActionId.CANCEL)
        assert held_simulator.calls["cancel_action"] == 1
        [row] = held_simulator.book.rows(held_simulator.tenant("contoso").tenant_id)
        assert row["status"] == "Cancelled"
        ident = request_id(message)
        assert row["cancellationComment"] == f"Cancelled by {ASKER} in Slack [mde-bot {ident}]"
        await slack.wait_for(lambda: bool(told(slack)))
        [reply] = told(slack)
        assert reply["text"].endswith("contoso: cancelled")
        records = await trail(stack)
        assert [r.kind for r in records] == [
            "action_requested",
            "action_submitted",
            "action_cancelled",
        ]
        assert records[-1].actor.user == ASKER
        assert records[-1].details["status"] == "Cancelled"


async def test_a_cancel_whose_answer_is_lost_still_records_who_cancelled(
    held_simulator: Simulator, slack: SlackStandIn
) -> None:
    """MDE cancels the scan but its answer is lost (a 500 after the cancel took effect): the
    thread ends Cancelled, and the trail still says who cancelled it."""
    async with acting_stack(held_simulator, slack) as stack:
        message = await scan_submitted(stack)
        held_simulator.force(Fault(500, endpoint="cancel_action", applied=True))
        await click(stack, message, ActionId.CANCEL, ASKER)
        await slack.wait_for(lambda: bool(told(slack)))

        assert states(slack, message)[-1] == "🚫 Cancelled"
        assert held_simulator.calls["cancel_action"] == 1
        cancels = [r for r in await trail(stack) if r.details["status"] == "Cancelled"]
        assert [r.actor.user for r in cancels] == [ASKER]


async def test_an_action_mde_refuses_ends_not_done_with_mdes_reason(
    simulator: Simulator, slack: SlackStandIn
) -> None:
    """MDE refuses the scan (400 OsPlatformNotSupported): the message says it was not done and
    why, the requester is told it failed, and MDE holds no action."""
    async with acting_stack(simulator, slack) as stack:
        simulator.force(Fault(400, code="OsPlatformNotSupported", endpoint="av_scan"))
        form = await open_form(stack, await card(stack))
        await submit(stack, form, values("scan_quick"))
        await slack.wait_for(lambda: bool(told(slack)))
        [message] = request_posts(slack)

        assert states(slack, message)[-1] == (
            f"❌ Not done: device {DEMO_MACHINE_ID} cannot run this action (its operating system)"
        )
        assert told(slack)[0]["text"].endswith("contoso: failed")
        assert simulator.calls["av_scan"] == 1
        assert simulator.actions == []
        last = (await trail(stack))[-1]
        assert (last.kind, last.details["stage"]) == ("action_submitted", "failed")


# ---------------------------------------------------------------------- the package's link


async def test_an_investigation_packages_link_goes_to_the_requester_alone(
    held_simulator: Simulator, held: ManualClock, slack: SlackStandIn
) -> None:
    """A collection succeeds: its download link reaches the requester by direct message (which
    says the link is short-lived and theirs alone) and works, for a short while; no message in
    the channel or its thread, no audit record and no log line holds the link."""
    with capture_logs() as logged:
        async with acting_stack(held_simulator, slack) as stack:
            url = await collected_link(stack, held_simulator, held)
    assert any(e["event"] == "mde_package_link" for e in logged)
    secret = url.split("token=", 1)[1]
    assert all(secret not in json.dumps(e, default=str) for e in logged)


async def collected_link(stack: Stack, held_simulator: Simulator, held: ManualClock) -> str:
    """Collect a package and check where its link goes (see the test above); the link."""
    slack = stack.slack
    form = await open_form(stack, await card(stack))
    await submit(stack, form, values("collect"))
    await slack.wait_for(lambda: bool(request_posts(slack)))
    [message] = request_posts(slack)
    await slack.wait_for(lambda: "MDE: Pending" in now_shown(slack, message))
    held.advance(0.3)

    def dms() -> list[dict[str, Any]]:
        return [p for p in slack.calls("chat.postMessage") if p["channel"] == f"D0{ASKER}"]

    await slack.wait_for(lambda: bool(dms()))
    [dm] = dms()
    link = re.search(r"<(https://[^|>]+)\|download it>", json.dumps(dm["blocks"]))
    assert link is not None
    url = link.group(1)
    assert url.startswith(f"{held_simulator.base_url}/safedownload/")
    assert "This link is yours alone: it is not posted in the channel." in shown(dm)
    assert slack.calls("conversations.open") == [{"users": ASKER}]

    secret = url.split("token=", 1)[1]
    elsewhere = [m for m in slack.messages() if m is not dm]
    assert [m for m in elsewhere if m.get("channel") == CHANNEL]
    assert all(secret not in json.dumps(m) for m in elsewhere)
    assert all(secret not in json.dumps(r.details) for r in await trail(stack))
    assert states(slack, message)[-1] == "✅ Succeeded"

    context = await asyncio.to_thread(ssl.create_default_context, cafile=held_simulator.ca_path)
    async with stack.backend.session.get(url, ssl=context) as download:
        assert download.status == 200
        assert download.content_type == "application/zip"
    held.advance(held_simulator.knobs.package_url_lifetime)
    async with stack.backend.session.get(url, ssl=context) as download:
        assert download.status == 403  # a short-lived link, as the DM says
    return url


async def test_the_packages_direct_message_says_until_when_the_link_works(
    held_simulator: Simulator, held: ManualClock, slack: SlackStandIn
) -> None:
    """The DM with the package's link says until when it works (the simulator's links work for
    `package_url_lifetime` seconds, MDE's for a few minutes)."""
    async with acting_stack(held_simulator, slack) as stack:
        form = await open_form(stack, await card(stack))
        await submit(stack, form, values("collect"))
        await slack.wait_for(lambda: bool(request_posts(slack)))
        await slack.wait_for(lambda: "MDE: Pending" in now_shown(slack, request_posts(slack)[0]))
        held.advance(0.3)
        dm = f"D0{ASKER}"
        await slack.wait_for(
            lambda: any(p["channel"] == dm for p in slack.calls("chat.postMessage"))
        )
        [sent] = [p for p in slack.calls("chat.postMessage") if p["channel"] == dm]

    assert "It works until <!date^" in json.dumps(sent["blocks"])


# ---------------------------------------------------------------------- dry run


async def test_dry_run_goes_through_the_whole_flow_and_sends_nothing(
    simulator: Simulator, slack: SlackStandIn
) -> None:
    """BOT_ACTIONS=dry-run: the form says so, an isolate is asked for and approved as usual,
    and ends as a dry run that sent nothing to MDE; the requester is told, and the trail
    records every step as a dry run."""
    async with acting_stack(simulator, slack, actions="dry-run") as stack:
        form = await open_form(stack, await card(stack))
        assert "Dry run: the request goes through, nothing is sent to MDE." in json.dumps(form)
        await submit(stack, form, values("isolate_full"))
        await slack.wait_for(lambda: bool(request_posts(slack)))
        [message] = request_posts(slack)
        await click(stack, message, ActionId.APPROVE, SECOND)
        await slack.wait_for(lambda: bool(told(slack)))

        final = now_shown(slack, message)
        assert states(slack, message)[-1] == "🧪 Dry run: nothing was sent to MDE"
        assert f"approved by <@{SECOND}>" in final
        assert "dry run: isolate on ws-fin-042 (isolation=Full)" in final
        assert final.endswith(" · dry run")
        assert told(slack)[0]["text"].endswith("contoso: DryRun")
        assert simulator.actions == []
        assert simulator.calls["isolate"] == 0
        assert not simulator.device_state(DEMO_MACHINE_ID).isolated
        records = await trail(stack)
        assert [r.kind for r in records] == [
            "action_requested",
            "action_approved",
            "action_submitted",
        ]
        assert all(r.details["dry_run"] for r in records)
        assert records[-1].details["status"] == "DryRun"


# ---------------------------------------------------------------------- sending once


async def isolate_approved(stack: Stack, *, by: str, view_id: str) -> dict[str, Any]:
    """An isolate asked for by `by` from a new form, approved by SECOND; its message."""
    slack = stack.slack
    before = len(request_posts(slack))
    form = await open_form(stack, await card(stack), user=by)
    await submit(stack, form, values("isolate_full"), view_id=view_id, user=by)
    await slack.wait_for(lambda: len(request_posts(slack)) > before)
    message = request_posts(slack)[-1]
    await click(stack, message, ActionId.APPROVE, SECOND)
    await slack.wait_for(lambda: "MDE: Pending" in now_shown(slack, message))
    return message


async def test_an_isolate_already_in_progress_is_followed_not_repeated(
    held_simulator: Simulator, held: ManualClock, slack: SlackStandIn
) -> None:
    """Two responders each ask to isolate the device; the second is approved while MDE still
    runs the first, and MDE answers 400 "Action is already in progress": the bot follows the
    running action instead (its message says so), MDE holds one isolation, and both
    requests end Succeeded with it."""
    async with acting_stack(held_simulator, slack) as stack:
        first = await isolate_approved(stack, by=ASKER, view_id="V0FORM0001")
        second = await isolate_approved(stack, by=THIRD, view_id="V0FORM0002")

        assert held_simulator.calls["isolate"] == 2  # the second was refused by MDE
        [action] = held_simulator.actions
        assert "MDE already had this action under way: it is followed here" in now_shown(
            slack, second
        )
        held.advance(0.3)
        await slack.wait_for(lambda: len(told(slack, ASKER)) == len(told(slack, THIRD)) == 1)

        assert states(slack, first)[-1] == states(slack, second)[-1] == "✅ Succeeded"
        assert held_simulator.device_state(DEMO_MACHINE_ID).isolated
        submitted = [r for r in await trail(stack) if r.kind == "action_submitted"]
        assert [r.details["action_id"] for r in submitted] == [action.action_id] * 2
        assert len(held_simulator.actions) == 1


async def test_a_5xx_after_mde_took_the_isolate_finds_it_instead_of_sending_again(
    simulator: Simulator, slack: SlackStandIn
) -> None:
    """MDE creates the isolation, then answers 500 (the answer is lost): the bot looks for its
    request's marker among the device's actions, finds it, and follows it. MDE gets one
    isolate call and holds one action; the request ends Succeeded."""
    async with acting_stack(simulator, slack) as stack:
        simulator.force(Fault(500, endpoint="isolate", applied=True))
        form = await open_form(stack, await card(stack))
        await submit(stack, form, values("isolate_full"))
        await slack.wait_for(lambda: bool(request_posts(slack)))
        [message] = request_posts(slack)
        await click(stack, message, ActionId.APPROVE, SECOND)
        await slack.wait_for(lambda: bool(told(slack)), within=10)

        assert states(slack, message)[-1] == "✅ Succeeded"
        assert simulator.calls["isolate"] == 1
        [action] = simulator.actions
        assert action.body["Comment"].endswith(f"[mde-bot {request_id(message)}]")
        assert simulator.device_state(DEMO_MACHINE_ID).isolated
        [submitted] = [r for r in await trail(stack) if r.kind == "action_submitted"]
        assert submitted.details["action_id"] == action.action_id


async def test_a_5xx_before_mde_took_the_scan_sends_it_again_once(
    simulator: Simulator, slack: SlackStandIn
) -> None:
    """MDE answers 500 without creating the scan: the bot looks, finds nothing with its marker,
    and sends it again; MDE holds one scan and the request ends Succeeded."""
    async with acting_stack(simulator, slack) as stack:
        simulator.force(Fault(500, endpoint="av_scan"))
        form = await open_form(stack, await card(stack))
        await submit(stack, form, values("scan_quick"))
        await slack.wait_for(lambda: bool(told(slack)), within=10)
        [message] = request_posts(slack)

        assert states(slack, message)[-1] == "✅ Succeeded"
        assert simulator.calls["av_scan"] == 2
        assert simulator.calls["machine_actions"] >= 1  # looked before sending again
        [action] = simulator.actions
        assert action.body["Comment"].endswith(f"[mde-bot {request_id(message)}]")


async def test_a_full_scan_asked_during_a_quick_one_is_not_reported_as_a_full_scan(
    held_simulator: Simulator, held: ManualClock, slack: SlackStandIn
) -> None:
    """A quick scan runs; a second responder asks for a full scan, which MDE refuses as
    already in progress. The full scan's request must not end "Antivirus scan (full) ✅
    Succeeded" on the strength of the quick scan: it either says a quick scan is what ran, or
    that the full scan was not done."""
    async with acting_stack(held_simulator, slack) as stack:
        quick = await scan_submitted(stack)
        form = await open_form(stack, await card(stack), user=THIRD)
        await submit(stack, form, values("scan_full"), view_id="V0FORM0002", user=THIRD)
        await slack.wait_for(lambda: len(request_posts(slack)) == 2)
        full = request_posts(slack)[1]
        await slack.wait_for(lambda: "MDE:" in now_shown(slack, full) or bool(told(slack, THIRD)))
        held.advance(0.3)
        await slack.wait_for(lambda: len(told(slack, ASKER)) == len(told(slack, THIRD)) == 1)

        assert states(slack, quick)[-1] == "✅ Succeeded"
        [action] = held_simulator.actions
        assert action.body["ScanType"] == "Quick"
        final = now_shown(slack, full)
        assert "quick" in final.lower() or states(slack, full)[-1].startswith("❌")


async def test_a_double_submit_and_two_approvers_at_once_make_one_mde_action(
    simulator: Simulator, slack: SlackStandIn
) -> None:
    """The form is submitted twice at once, then two responders click Approve at the same
    moment: one request, one approval (the other approver is told who was first), one MDE
    action."""
    async with acting_stack(simulator, slack) as stack:
        form = await open_form(stack, await card(stack))
        await asyncio.gather(*(submit(stack, form, values("isolate_full")) for _ in range(2)))
        await slack.wait_for(lambda: bool(request_posts(slack)))
        message = request_posts(slack)[0]
        tokens = await asyncio.gather(
            click(stack, message, ActionId.APPROVE, SECOND),
            click(stack, message, ActionId.APPROVE, THIRD),
        )
        await slack.wait_for(lambda: bool(told(slack)), within=10)

        assert len(request_posts(slack)) == 1
        assert len(simulator.actions) == 1
        assert simulator.calls["isolate"] == 1
        records = await trail(stack)
        [approval] = [r for r in records if r.kind == "action_approved"]
        winner = approval.actor.user
        loser = THIRD if winner == SECOND else SECOND
        assert f"approved by <@{winner}>" in now_shown(slack, message)
        lost = await note_to(slack, tokens[[SECOND, THIRD].index(loser)])
        assert lost == f"⚠️ this request is already approved by <@{winner}>"
        assert [r.kind for r in records].count("action_requested") == 1


# ---------------------------------------------------------------------- the audit trail


async def tampered_trail(stack: Stack, statement: str, *parameters: object) -> None:
    """Change the audit database as an attacker with the file would: its append-only triggers
    dropped, then `statement`, with sqlite3 directly."""
    path = stack.backend.audit.database

    def tamper() -> None:
        with contextlib.closing(sqlite3.connect(path)) as db, db:
            db.execute("DROP TRIGGER IF EXISTS audit_records_no_update")
            db.execute("DROP TRIGGER IF EXISTS audit_records_no_delete")
            db.execute(statement, parameters)

    await asyncio.to_thread(tamper)


async def approved_isolation(stack: Stack) -> int:
    """An isolate asked for, approved and done; the approval's seq in the trail."""
    slack = stack.slack
    form = await open_form(stack, await card(stack))
    await submit(stack, form, values("isolate_full"))
    await slack.wait_for(lambda: bool(request_posts(slack)))
    await click(stack, request_posts(slack)[0], ActionId.APPROVE, SECOND)
    await slack.wait_for(lambda: bool(told(slack)), within=10)
    [approval] = [r for r in await trail(stack) if r.kind == "action_approved"]
    return int(approval.seq)


async def test_an_approval_rewritten_in_the_database_breaks_the_chain_there(
    simulator: Simulator, slack: SlackStandIn
) -> None:
    """After an isolation, someone with the database file makes the approval say another
    responder approved it: `verify` reports the chain changed at that record."""
    async with acting_stack(simulator, slack) as stack:
        seq = await approved_isolation(stack)
        await tampered_trail(
            stack, "UPDATE audit_records SET actor_user = ? WHERE seq = ?", THIRD, seq
        )

        report = await stack.backend.audit.verify()

    assert report.problem is not None
    assert (report.problem.kind, report.problem.seq) == ("changed", seq)
    assert report.records == seq - 1
    assert report.summary().startswith(f"broken at seq {seq} (changed)")


async def test_an_approval_deleted_from_the_database_breaks_the_chain_there(
    simulator: Simulator, slack: SlackStandIn
) -> None:
    """After an isolation, someone with the database file deletes its approval: `verify`
    reports that seq missing."""
    async with acting_stack(simulator, slack) as stack:
        seq = await approved_isolation(stack)
        await tampered_trail(stack, "DELETE FROM audit_records WHERE seq = ?", seq)

        report = await stack.backend.audit.verify()

    assert report.problem is not None
    assert (report.problem.kind, report.problem.seq) == ("missing", seq)
    assert report.summary() == f"broken at seq {seq} (missing): seq {seq} missing: deleted"
