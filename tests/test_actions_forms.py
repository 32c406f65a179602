"""The response forms beyond a device's "Respond…", end to end: "Block…" on a lookup (a pasted
value as a custom indicator, approved by a second responder, then shown on every later
verdict), "Quarantine…" (a file stopped and quarantined on a device that saw it), and "Triage
an alert…" from a device's alerts (status, classification, determination, assigned to the
responder by the email Slack gives). Signed HTTP in, real Bolt routing, the simulator behind."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.audit.events import ocsf_json
from bot.demo.simulator import Simulator
from bot.demo.simulator.data import DEMO_IP, DEMO_SHA256
from bot.demo.standin import SlackStandIn
from bot.slack.buttons import ActionId
from tests.acting import ASKER, SECOND, acting_stack, click, latest, request_posts
from tests.conftest import Stack
from tests.ocsf_validation import ocsf_errors
from tests.slack_helpers import checked, control, shown

PAYLOAD_DOMAIN = "payroll-sync-update.com"
COMMENT = "Requested by @responder in #incident: the stage-2 payload of INC-1042"


@pytest.fixture
async def stack(simulator: Simulator, slack: SlackStandIn) -> AsyncIterator[Stack]:
    async with acting_stack(simulator, slack) as running:
        yield running


async def lookup(stack: Stack, text: str, ts: str) -> dict[str, Any]:
    """The card a message gets in its thread."""
    slack = stack.slack
    await slack.message(stack.url, text, ts=ts)
    await slack.wait_for(lambda: any(p["thread_ts"] == ts for p in slack.calls("chat.postMessage")))
    return checked(next(p for p in slack.calls("chat.postMessage") if p["thread_ts"] == ts))


async def open_form(
    stack: Stack, message: dict[str, Any], action_id: str, *, user: str = ASKER
) -> dict[str, Any]:
    """Tap `action_id` on `message` (a button, or a device menu's option): the form as the
    bot filled it in."""
    slack = stack.slack
    element, option = control(message["blocks"], action_id)
    before = len(slack.calls("views.update"))
    payload = slack.click_payload(
        element,
        message_ts="1796200000.000900",
        response_url=slack.response_url(),
        user=user,
        option=option,
        message={"thread_ts": message.get("thread_ts"), "text": message["text"]},
    )
    await slack.action(stack.url, payload)
    await slack.wait_for(lambda: len(slack.calls("views.update")) > before)
    return dict(slack.calls("views.update")[-1]["view"])


def options_of(view: dict[str, Any], block_id: str) -> list[dict[str, Any]]:
    block = next(b for b in view["blocks"] if b.get("block_id") == block_id)
    return list(block["element"]["options"])


def chosen(value: str) -> dict[str, Any]:
    return {"type": "static_select", "selected_option": {"value": value}}


def ticked(*values: str) -> dict[str, Any]:
    return {"type": "checkboxes", "selected_options": [{"value": v} for v in values]}


def text(value: str) -> dict[str, Any]:
    return {"type": "plain_text_input", "value": value}


async def submit(
    stack: Stack, view: dict[str, Any], state: dict[str, Any], view_id: str, user: str = ASKER
) -> tuple[int, str]:
    payload = stack.slack.submission_payload(
        view, {k: {k: v} for k, v in state.items()}, view_id=view_id, user=user
    )
    reply = await stack.slack.action(stack.url, payload)
    return reply.status, reply.body


async def ended(stack: Stack) -> dict[str, Any]:
    """The latest request's message once MDE's answer is final."""
    slack = stack.slack
    await slack.wait_for(lambda: bool(request_posts(slack)) and _final(latest(slack)))
    return latest(slack)


def _final(message: dict[str, Any]) -> bool:
    return any(word in shown(message) for word in ("Succeeded", "Failed", "Not done"))


# ---------------------------------------------------------------------- block


async def test_a_value_mde_already_blocks_says_so_before_anyone_blocks_it(stack: Stack) -> None:
    """The demo tenant's IR lead blocked the payload's hash yesterday: the verdict says so."""
    card = await lookup(stack, f"payload {DEMO_SHA256}", "1.0000")
    assert "🛡️ Blocked and remediated in contoso (by ir-lead@contoso.com, until" in shown(card)


async def test_block_a_pasted_url_with_a_second_responders_approval(stack: Stack) -> None:
    """Paste a hash and a URL; "Block…" lists both (defanged); blocking the URL in contoso
    for 30 days waits for a second responder (blocks need one by default), then MDE holds
    exactly one indicator with our title, expiry and marker, and the next lookup of the URL
    says it is blocked, by whom and until when."""
    slack, simulator = stack.slack, stack.simulator
    url = f"https://{PAYLOAD_DOMAIN}/x"
    card = await lookup(stack, f"payload {DEMO_SHA256} from hxxps://{PAYLOAD_DOMAIN}/x", "1.0001")
    view = await open_form(stack, card, ActionId.BLOCK)
    labels = {o["text"]["text"]: o["value"] for o in options_of(view, "value")}
    assert any(label.startswith(DEMO_SHA256[:12]) for label in labels)
    defanged = "hxxps://payroll-sync-update[.]com/x"  # never a live link
    state = {
        "value": chosen(labels[defanged]),
        "verb": {"type": "radio_buttons", "selected_option": {"value": "Block"}},
        "tenants": ticked("contoso"),
        "days": chosen("30"),
        "title": text("#incident: INC-1042 stage-2 payload"),
        "comment": text(COMMENT),
    }
    assert await submit(stack, view, state, "V0BLOCK001") == (200, "")
    await slack.wait_for(lambda: len(request_posts(slack)) == 1)
    waiting = latest(slack)
    assert "Block in MDE" in shown(waiting)
    assert "Waiting for a second responder" in shown(waiting)
    assert defanged in shown(waiting)
    held = simulator.tenant("contoso").indicators
    assert all(row["indicatorValue"] != url for row in held)  # nothing before the approval

    await click(stack, waiting, "mde_action_approve", SECOND, as_posted=True)
    assert "Succeeded" in shown(await ended(stack))
    [row] = [r for r in simulator.tenant("contoso").indicators if r["indicatorValue"] == url]
    assert row["action"] == "Block"
    assert row["title"] == "#incident: INC-1042 stage-2 payload"
    expires = datetime.fromisoformat(str(row["expirationTime"]).replace("Z", "+00:00"))
    assert abs(expires - (datetime.now(UTC) + timedelta(days=30))) < timedelta(minutes=5)
    assert "[mde-bot " in row["description"]
    assert COMMENT in row["description"]

    again = await lookup(stack, f"again hxxps://{PAYLOAD_DOMAIN}/x", "1.0002")
    assert "🛡️ Blocked in contoso (by " in shown(again)


async def test_block_and_remediate_is_refused_for_a_domain_in_the_form(stack: Stack) -> None:
    card = await lookup(stack, f"from hxxps://{PAYLOAD_DOMAIN}/x", "1.0003")
    view = await open_form(stack, card, ActionId.BLOCK)
    [url] = options_of(view, "value")
    state = {
        "value": chosen(url["value"]),
        "verb": {"type": "radio_buttons", "selected_option": {"value": "BlockAndRemediate"}},
        "tenants": ticked("contoso"),
        "days": chosen("30"),
        "comment": text(COMMENT),
    }
    status, body = await submit(stack, view, state, "V0BLOCK002")
    assert status == 200
    assert '"verb"' in body
    assert "files" in body
    assert request_posts(stack.slack) == []


async def test_someone_who_may_not_block_is_refused_in_the_form(
    simulator: Simulator, slack: SlackStandIn
) -> None:
    """Responders for blocks are a separate list: a responder for everything else who is
    not on it sees the refusal in the form, and nothing is asked of MDE."""
    only = {"responders": "", "responders_contain": ASKER, "responders_block": SECOND}
    async with acting_stack(simulator, slack, **only) as stack:
        card = await lookup(stack, f"payload {DEMO_SHA256}", "1.0004")
        view = await open_form(stack, card, ActionId.BLOCK)
        assert "not a responder for block actions" in shown({"blocks": view["blocks"]})


# ---------------------------------------------------------------------- quarantine


async def test_quarantine_a_file_on_a_device_that_saw_it(stack: Stack) -> None:
    """ "Quarantine…" lists the file on each shown device that saw it; the one chosen gets one
    StopAndQuarantineFile with the file's SHA-1, followed to its end in the thread."""
    slack, simulator = stack.slack, stack.simulator
    card = await lookup(stack, f"payload {DEMO_SHA256}", "1.0005")
    view = await open_form(stack, card, ActionId.QUARANTINE)
    targets = options_of(view, "targets")
    assert targets
    assert all(" on " in o["text"]["text"] for o in targets)
    state = {"targets": ticked(targets[0]["value"]), "comment": text(COMMENT)}
    assert await submit(stack, view, state, "V0QUAR0001") == (200, "")
    await slack.wait_for(lambda: len(request_posts(slack)) == 1)
    if "Waiting for a second responder" in shown(latest(slack)):  # a Tier0 device or a server
        await click(stack, latest(slack), "mde_action_approve", SECOND, as_posted=True)
    assert "Succeeded" in shown(await ended(stack))
    [action] = [a for a in simulator.actions if a.type == "StopAndQuarantineFile"]
    assert len(str(action.body["Sha1"])) == 40


# ---------------------------------------------------------------------- triage


async def test_triage_an_alert_from_a_devices_alerts(stack: Stack) -> None:
    """A device's "Alerts" → "Triage an alert…": resolve the worst alert as a true positive
    (malware), assigned to the responder by the email Slack gives; MDE's alert shows all of it
    and the comment with the request's marker."""
    slack, simulator = stack.slack, stack.simulator
    slack.emails[ASKER] = "responder@contoso.example"
    card = await lookup(stack, f"seen {DEMO_IP}", "1.0006")
    before = len(slack.responses())
    element, option = control(card["blocks"], ActionId.DEVICE_ALERTS)
    await slack.action(
        stack.url,
        slack.click_payload(
            element,
            message_ts="1796200000.000901",
            response_url=slack.response_url(),
            option=option,
            message={"thread_ts": card["thread_ts"], "text": card["text"]},
        ),
    )
    await slack.wait_for(lambda: len(slack.responses()) > before)
    alerts = checked(slack.responses()[-1])
    view = await open_form(stack, alerts, ActionId.TRIAGE)
    [alert] = options_of(view, "alert")[:1]
    assign = options_of(view, "assign")
    assert [o["text"]["text"] for o in assign] == ["Assign to me (responder@contoso.example)"]
    state = {
        "alert": chosen(alert["value"]),
        "status": {"type": "radio_buttons", "selected_option": {"value": "Resolved"}},
        "classification": chosen("TruePositive"),
        "determination": chosen("Malware"),
        "assign": ticked("me"),
        "comment": text(COMMENT),
    }
    assert await submit(stack, view, state, "V0TRIAGE01") == (200, "")
    assert "Succeeded" in shown(await ended(stack))
    row = next(a for a in simulator.tenant("contoso").alerts if a["id"] == alert["value"])
    assert row["status"] == "Resolved"
    assert row["classification"] == "TruePositive"
    assert row["determination"] == "Malware"
    assert row["assignedTo"] == "responder@contoso.example"
    assert any("[mde-bot " in str(c) for c in row.get("comments") or ())
    audit = stack.backend.audit
    for _ in range(100):  # written just after the message says Succeeded
        if updates := [r async for r in audit.records() if r.kind == "triage_update"]:
            break
        await asyncio.sleep(0.02)
    assert (await audit.verify()).ok
    [update] = updates
    assert update.subject == alert["value"]
    assert update.details["status"] == "Resolved"
    assert update.details["assigned_to"] == "responder@contoso.example"
    event = ocsf_json(update)  # a Detection Finding update, valid against the schema
    assert event["class_uid"] == 2004
    assert ocsf_errors(event) == []


# ---------------------------------------------------------------------- what a form refuses


async def block_form(stack: Stack, ts: str) -> tuple[dict[str, Any], str]:
    """The Block form of a lookup of the payload's URL, and the URL's option value."""
    card = await lookup(stack, f"from hxxps://{PAYLOAD_DOMAIN}/x", ts)
    view = await open_form(stack, card, ActionId.BLOCK)
    [url] = options_of(view, "value")
    return view, str(url["value"])


def block_state(
    value: str, verb: str = "Block", comment: str = COMMENT, *tenants: str
) -> dict[str, Any]:
    return {
        "value": chosen(value),
        "verb": {"type": "radio_buttons", "selected_option": {"value": verb}},
        "tenants": ticked(*(tenants or ("contoso",))),
        "days": chosen("30"),
        "comment": text(comment),
    }


async def test_a_choice_the_form_never_offered_is_refused(stack: Stack) -> None:
    """Slack sends only offered options, but the bot does not rely on it: "Allowed" (an
    allow-list entry, which would open a hole) is refused in the form, nothing is asked."""
    view, url = await block_form(stack, "1.0007")
    status, body = await submit(stack, view, block_state(url, "Allowed"), "V0BLOCK003")
    assert status == 200
    assert json.loads(body)["errors"] == {"verb": "Choose what MDE does with it"}
    assert request_posts(stack.slack) == []


async def test_the_prefilled_comment_alone_is_not_a_reason(stack: Stack) -> None:
    view, url = await block_form(stack, "1.0008")
    prefill = "Requested by @responder in #incident: "
    status, body = await submit(stack, view, block_state(url, "Block", prefill), "V0BLOCK004")
    assert status == 200
    why = "Say why: MDE keeps the comment with the action"
    assert json.loads(body)["errors"] == {"comment": why}
    assert request_posts(stack.slack) == []


async def test_a_form_submitted_again_with_another_tenant_asks_for_that_one_too(
    stack: Stack,
) -> None:
    """The same form submitted twice (Slack's retry after a slow ack, a responder's second
    tap), the second time with fabrikam ticked as well: contoso's block is asked for once,
    fabrikam's once."""
    slack = stack.slack
    view, url = await block_form(stack, "1.0009")
    first = block_state(url, "Block", COMMENT, "contoso")
    both = block_state(url, "Block", COMMENT, "contoso", "fabrikam")
    assert await submit(stack, view, first, "V0BLOCK005") == (200, "")
    assert await submit(stack, view, both, "V0BLOCK005") == (200, "")
    await slack.wait_for(lambda: len(request_posts(slack)) == 2)
    tenants = sorted(shown(p).split("\n")[0].rsplit(" · ", 1)[-1] for p in request_posts(slack))
    assert tenants == ["contoso", "fabrikam"]


async def test_what_fails_after_the_form_closed_is_told_to_the_responder(stack: Stack) -> None:
    """The form closed (acknowledged), then the alert it names is not the device's any more:
    the responder is told, privately, where the form was opened; nothing is asked of MDE."""
    slack = stack.slack
    card = await lookup(stack, f"seen {DEMO_IP}", "1.0010")
    element, option = control(card["blocks"], ActionId.DEVICE_ALERTS)
    before = len(slack.responses())
    await slack.action(
        stack.url,
        slack.click_payload(
            element,
            message_ts="1796200000.000902",
            response_url=slack.response_url(),
            option=option,
            message={"thread_ts": card["thread_ts"], "text": card["text"]},
        ),
    )
    await slack.wait_for(lambda: len(slack.responses()) > before)
    view = await open_form(stack, checked(slack.responses()[-1]), ActionId.TRIAGE)
    state = {"alert": chosen("da000000000000000000_1"), "comment": text(COMMENT)}
    assert await submit(stack, view, state, "V0TRIAGE02") == (200, "")
    await slack.wait_for(lambda: bool(slack.calls("chat.postEphemeral")))
    [told] = slack.calls("chat.postEphemeral")
    assert told["user"] == ASKER
    assert "MDE no longer lists this alert for the device" in told["text"]
    assert request_posts(slack) == []
