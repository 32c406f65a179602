"""Safety end to end: hostile text from MDE or from users never becomes Slack markup, indicators
are always defanged, unsigned or stale requests do nothing, and failures reach Slack as our own
words (the connector, what happened, what to do), never as exception text.

Every message is checked with `checked` (valid Block Kit, no `<…>` but the bot's own dates and
portal links) and, where hostile text was shown, the escaped text is asserted to be there.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import re
import time
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlencode

import aiohttp
import pytest
from structlog.testing import capture_logs

from bot.demo.simulator import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, Simulator
from bot.demo.simulator import data as sim_data
from bot.demo.simulator.data import (
    CONTOSO_TENANT,
    DEMO_ALERT_IDS,
    DEMO_DOMAIN,
    DEMO_HOST,
    DEMO_IP,
    DEMO_MACHINE_ID,
    DEMO_REMOTE_IP,
    DEMO_SHA256,
    DEMO_URL,
    FABRIKAM_TENANT,
    SHARED_IP,
)
from bot.demo.simulator.knobs import AppRegistration
from bot.demo.standin import TEAM_ID, SlackStandIn
from bot.slack.app import handle_error
from bot.slack.replies import Replies
from tests.blockkit import texts
from tests.conftest import Stack, bot_settings, open_stack
from tests.slack_helpers import checked, control, shown

CHANNEL = "C0INCIDENT"
RESPONDER = "U0RESPONDER"

HOSTILE = "<!channel> <@U0ADMIN> <https://evil.example|click> & `tick`"
# What Slack must receive instead: the same characters, escaped, so they show as typed.
ESCAPED = "&lt;!channel&gt; &lt;@U0ADMIN&gt; &lt;https://evil.example|click&gt; &amp; `tick`"
# In a link's label, a `|` would end the label early: it is shown as `¦`.
LINK_LABEL = ESCAPED.replace("|", "¦")
# Never acceptable in anything posted to Slack.
LEAKS = re.compile(
    r"Traceback|Exception|Error\b|Error:|pydantic|aiohttp|msal|File \"|line \d+|\bat 0x",
)

_clock = itertools.count(1)


def new_ts() -> str:
    return f"{int(time.time())}.{next(_clock):06d}"


def raw(payload: dict[str, Any]) -> str:
    """All the mrkdwn and plain text of a message, as Slack receives it (not unescaped)."""
    return "\n".join([str(payload.get("text", "")), *texts(payload.get("blocks") or [])])


def everything_posted(slack: SlackStandIn) -> list[dict[str, Any]]:
    """Every message the bot sent people, each checked."""
    return [checked(p) for p in slack.messages()]


async def threaded_reply(slack: SlackStandIn, ts: str) -> dict[str, Any]:
    await slack.wait_for(lambda: any(p["thread_ts"] == ts for p in slack.calls("chat.postMessage")))
    return checked(next(p for p in slack.calls("chat.postMessage") if p["thread_ts"] == ts))


async def paste(stack: Stack, text: str) -> dict[str, Any]:
    """Paste `text` into the channel; the bot's threaded reply."""
    ts = new_ts()
    reply = await stack.slack.message(stack.url, text, ts=ts)
    assert reply.status == 200
    return await threaded_reply(stack.slack, ts)


def answered(slack: SlackStandIn, response_url: str) -> list[dict[str, Any]]:
    """What the bot posted to one response_url."""
    token = response_url.rsplit("/", 1)[-1]
    return [p.payload for p in slack.posts if p.via == "response_url" and p.method == token]


async def answer(stack: Stack, text: str) -> dict[str, Any]:
    """`/mde <text>`; its final answer (after the progress note, if any)."""
    slack = stack.slack
    response_url = slack.response_url()
    ack = await slack.command(stack.url, text, response_url=response_url)
    assert ack.status == 200

    def final() -> list[dict[str, Any]]:
        return [r for r in answered(slack, response_url) if "Looking up" not in r["text"]]

    await slack.wait_for(lambda: bool(final()))
    return checked(final()[0])


def click_payload(
    card: dict[str, Any], action_id: str, response_url: str, *, thread_ts: str
) -> dict[str, Any]:
    """A click on what does `action_id` on a threaded card, as Slack sends it."""
    element, option = control(card["blocks"], action_id)
    card_ts = new_ts()
    return SlackStandIn.click_payload(
        element,
        message_ts=card_ts,
        response_url=response_url,
        message={"thread_ts": thread_ts},
        option=option,
    )


async def click_button(stack: Stack, card: dict[str, Any], action_id: str) -> dict[str, Any]:
    """Click a button of a threaded card; the bot's answer on the click's response_url."""
    response_url = stack.slack.response_url()
    payload = click_payload(card, action_id, response_url, thread_ts=card["thread_ts"])
    assert (await stack.slack.action(stack.url, payload)).status == 200
    await stack.slack.wait_for(lambda: bool(answered(stack.slack, response_url)))
    return checked(answered(stack.slack, response_url)[0])


# ---------------------------------------------------------------------- hostile MDE data


def hostile_contoso() -> sim_data.Tenant:
    """Contoso, with the demo device, its alerts (titles, categories, evidence file names and
    command lines) and the demo file's profile carrying Slack markup."""
    tenant = sim_data.contoso()
    tenant.machines = [
        {
            **m,
            "computerDnsName": f"ws{HOSTILE}.corp.contoso.com",
            "machineTags": [HOSTILE, "Finance"],
            "rbacGroupName": HOSTILE,
            "osPlatform": f"Windows11 {HOSTILE}",
            "healthStatus": HOSTILE,
            "riskScore": HOSTILE,
            "onboardingStatus": HOSTILE,
            "agentVersion": HOSTILE,
        }
        if m["id"] == DEMO_MACHINE_ID
        else m
        for m in tenant.machines
    ]
    tenant.alerts = [
        {
            **a,
            "title": f"Alert {HOSTILE}",
            "category": HOSTILE,
            "computerDnsName": f"ws{HOSTILE}",
            "evidence": [
                {
                    **e,
                    "fileName": f"{HOSTILE}.exe" if e.get("fileName") else None,
                    "processCommandLine": HOSTILE if e.get("processCommandLine") else None,
                }
                for e in a["evidence"]
            ],
        }
        if a["id"] in DEMO_ALERT_IDS
        else a
        for a in tenant.alerts
    ]
    tenant.files = [
        {
            **f,
            "signer": HOSTILE,
            "fileProductName": HOSTILE,
            "filePublisher": HOSTILE,
            "determinationValue": HOSTILE,
        }
        if f["sha256"] == DEMO_SHA256
        else f
        for f in tenant.files
    ]
    return tenant


@pytest.fixture
async def hostile(slack: SlackStandIn) -> AsyncIterator[Stack]:
    async with (
        Simulator(tenants=[hostile_contoso()]) as simulator,
        open_stack(simulator, slack, bot_settings()) as stack,
    ):
        yield stack


async def test_device_alert_and_file_text_from_mde_is_shown_escaped(hostile: Stack) -> None:
    card = await paste(hostile, f"seen {DEMO_IP} and {DEMO_SHA256}")

    mrkdwn = raw(card)
    assert HOSTILE not in mrkdwn
    assert f"|Alert {LINK_LABEL}>" in mrkdwn  # alert title, the label of its Defender link
    assert f"signed by {ESCAPED}" in mrkdwn  # file profile
    assert f"🏷️ {ESCAPED}, Finance" in mrkdwn  # device tags
    assert "*ws&lt;!channel&gt; &lt;@U0ADMIN&gt; &lt;https://evil*" in mrkdwn  # device name
    # and people still read what MDE said (in a link's label, `|` is shown as `¦`)
    assert f"Alert {HOSTILE.replace('|', '¦')}" in shown(card)


async def test_hostile_text_stays_escaped_behind_every_button(hostile: Stack) -> None:
    card = await paste(hostile, f"seen {DEMO_IP}")
    assert (
        card["text"]
        == "🔴 2 High alerts · ws&lt;!channel&gt; &lt;@U0ADMIN&gt; &lt;https://evil · contoso"
    )

    alerts = await click_button(hostile, card, "mde_device_alerts")
    details = await click_button(hostile, card, "mde_device_details")
    response_url = hostile.slack.response_url()
    payload = click_payload(card, "mde_device_ocsf", response_url, thread_ts=card["thread_ts"])
    assert (await hostile.slack.action(hostile.url, payload)).status == 200
    await hostile.slack.wait_for(lambda: bool(hostile.slack.calls("files.completeUploadExternal")))

    assert raw(alerts).count(f"|Alert {LINK_LABEL}>") == 3
    assert f"*Device group*\n{ESCAPED}" in raw(details)
    assert f"*Sensor*\n{ESCAPED}" in raw(details)
    assert "\u02cbtick\u02cb" in raw(details)  # a backtick in a host name: its code span holds
    [asked] = hostile.slack.calls("files.getUploadURLExternal")
    assert re.fullmatch(r"mde-[a-z0-9_-]+\.ocsf\.jsonl", asked["filename"])
    [done] = hostile.slack.calls("files.completeUploadExternal")
    assert "<" not in done["initial_comment"]  # the only mrkdwn of an upload
    for message in everything_posted(hostile.slack):
        assert HOSTILE not in raw(message)


async def test_device_command_escapes_mde_text(hostile: Stack) -> None:
    details = await answer(hostile, f"device {DEMO_MACHINE_ID}")

    assert f"*Onboarding*\n{ESCAPED}" in raw(details)
    assert f"*Tags*\n{ESCAPED}, Finance" in raw(details)


# ---------------------------------------------------------------------- hostile user text


@pytest.mark.parametrize(
    ("text", "echoed"),
    [
        pytest.param("ip <!channel>", "⚠️ '&lt;!channel&gt;' is not an IP address", id="ip"),
        pytest.param(
            "hash <@U0ADMIN>",
            "⚠️ '&lt;@U0ADMIN&gt;' is not an MD5, SHA-1 or SHA-256 hash",
            id="hash",
        ),
        pytest.param("host <!here>", "&lt;!here&gt;", id="host"),
        pytest.param(
            f"ip {DEMO_IP} at <!channel>",
            "'&lt;!channel&gt;' is not a time I understand",
            id="time",
        ),
    ],
)
async def test_user_text_echoed_in_an_error_is_escaped(
    stack: Stack, text: str, echoed: str
) -> None:
    reply = await answer(stack, text)

    assert echoed in raw(reply)
    assert stack.simulator.calls["*"] == 0


@pytest.mark.parametrize(
    "text",
    [
        pytest.param(f"<!channel> {DEMO_IP}", id="channel ping"),
        pytest.param(
            f"<@U0ADMIN> <https://evil.example|click here> {DEMO_IP} & `{DEMO_IP}`",
            id="mention, link, ampersand, backticks",
        ),
        pytest.param(f"<!subteam^S0ADMINS> <http://{DEMO_IP}|{DEMO_IP}>", id="group ping"),
    ],
)
async def test_slash_command_with_markup_around_the_indicator(stack: Stack, text: str) -> None:
    reply = await answer(stack, text)

    assert reply["text"] == "🔴 2 High alerts · ws-fin-042 · contoso"
    assert "evil.example" not in raw(reply)
    assert len(everything_posted(stack.slack)) == 2  # the progress note and the answer, checked


async def test_pasted_message_with_markup_gets_a_safe_reply(stack: Stack) -> None:
    card = await paste(stack, f"<!here> <@U0ADMIN> see <https://evil.example|{DEMO_IP}> & co")

    assert "10[.]1[.]2[.]3" in raw(card)
    assert "evil.example" not in raw(card)


# ---------------------------------------------------------------------- defanged indicators

INDICATORS = (DEMO_IP, SHARED_IP, DEMO_REMOTE_IP, DEMO_DOMAIN, DEMO_URL)
RAW_INDICATOR = re.compile(
    r"(?<![\d.])\d{1,3}(?:\.\d{1,3}){3}(?![\d.])"  # a dotted IPv4 address
    r"|payroll-sync-update\.com"
    r"|https?://(?!security\.microsoft\.com/)",  # any link but the bot's own portal
    re.IGNORECASE,
)


async def test_every_indicator_is_defanged_in_every_message(stack: Stack) -> None:
    card = await paste(stack, " ".join([*INDICATORS, f"<http://{DEMO_IP}|{DEMO_IP}>"]))
    await click_button(stack, card, "mde_device_alerts")
    await click_button(stack, card, "mde_device_details")
    await answer(stack, " ".join(INDICATORS))

    mrkdwn = raw(card)
    for defanged in (
        "10[.]1[.]2[.]3",
        "10[.]8[.]0[.]25",
        "198[.]51[.]100[.]77",
        "payroll-sync-update[.]com",
        "hxxps://payroll-sync-update[.]com/stage2.ps1",
        "hxxp://10[.]1[.]2[.]3",
    ):
        assert defanged in mrkdwn
    messages = everything_posted(stack.slack)
    assert len(messages) == 5  # the card, two clicks, /mde's progress note and answer
    for message in messages:
        assert RAW_INDICATOR.findall(raw(message)) == []


# ---------------------------------------------------------------------- signatures


def event_body(text: str) -> str:
    return json.dumps(
        {
            "type": "event_callback",
            "team_id": TEAM_ID,
            "api_app_id": "A0MDEBOT01",
            "event_id": f"Ev{next(_clock):08d}",
            "event": {
                "type": "message",
                "channel": CHANNEL,
                "user": RESPONDER,
                "text": text,
                "ts": new_ts(),
            },
        }
    )


BAD_SIGNATURES = ["forged", "stale", "another app's secret", "body changed after signing", "none"]


async def send_badly_signed(
    slack: SlackStandIn, url: str, body: str, content_type: str, kind: str
) -> int:
    """Send `body` as Slack would, but with the signature spoiled in the way `kind` names."""
    if kind == "none":
        async with (
            aiohttp.ClientSession() as session,
            session.post(url, data=body.encode(), headers={"Content-Type": content_type}) as resp,
        ):
            return resp.status
    headers: dict[str, str] = {}
    timestamp = None
    if kind == "forged":
        headers = {"X-Slack-Signature": "v0=" + "0" * 64}
    elif kind == "stale":
        timestamp = int(time.time()) - 6 * 60  # Slack's window is 5 minutes
    elif kind == "another app's secret":
        headers = SlackStandIn(signing_secret="another-apps-signing-secret-0001").sign(body)
    elif kind == "body changed after signing":
        headers = slack.sign(body.replace(RESPONDER, "U0ADMIN0001"))
    reply = await slack.send(url, body, content_type, headers=headers, timestamp=timestamp)
    return reply.status


@pytest.mark.parametrize("kind", BAD_SIGNATURES)
async def test_a_badly_signed_event_or_click_is_refused_and_does_nothing(
    simulator: Simulator, slack: SlackStandIn, kind: str
) -> None:
    async with open_stack(simulator, slack, bot_settings()) as stack:
        card = await paste(stack, f"seen {DEMO_IP}")
        simulator.reset_counters()
        before = len(slack.posts)
        click = click_payload(card, "mde_device_alerts", slack.response_url(), thread_ts="1")
        requests = [
            (event_body(f"hash {DEMO_SHA256}"), "application/json"),
            (urlencode({"payload": json.dumps(click)}), "application/x-www-form-urlencoded"),
        ]
        for body, content_type in requests:
            assert await send_badly_signed(slack, stack.url, body, content_type, kind) == 401
        genuine = await click_button(stack, card, "mde_device_details")

    assert "Device id" in shown(genuine)
    assert simulator.calls["file"] == 0  # the refused event's hash was never looked up
    assert len(slack.posts[before:]) == 1  # only the genuine click was answered


# ---------------------------------------------------------------------- failures in our words


def assert_no_leak(message: dict[str, Any]) -> None:
    assert LEAKS.search(raw(message)) is None, raw(message)


async def test_mde_failing_everywhere_is_reported_per_connector_with_what_to_do(
    stack: Stack,
) -> None:
    card = await paste(stack, f"seen {DEMO_IP}")  # before the outage
    stack.simulator.knobs.error_rate = 1.0

    # Three ways in at once: the retries of all three overlap.
    pasted, command, clicked = await asyncio.gather(
        paste(stack, f"and {SHARED_IP}?"),
        answer(stack, f"ip {SHARED_IP}"),
        click_button(stack, card, "mde_device_alerts"),
    )

    said = "not searched: MDE answered 500 and kept failing"
    hint = "MDE is having trouble; try again in a few minutes"
    for reply in (pasted, command):
        assert reply["text"] == f"⚠️ contoso, fabrikam {said}"
        assert f"⚠️ *fabrikam* {said} — {hint}" in raw(reply)
    assert f"⚠️ *contoso* {said} — {hint}" in raw(clicked)
    for message in everything_posted(stack.slack):
        assert_no_leak(message)


async def test_an_unlicensed_tenant_is_named_with_what_to_do(stack: Stack) -> None:
    stack.simulator.tenant("fabrikam").licensed = False

    card = await paste(stack, f"seen {DEMO_IP}")
    only = await answer(stack, f"ip {DEMO_IP} --tenant fabrikam")

    # contoso still answers; the headline says fabrikam could not
    assert card["text"] == "🔴 2 High alerts · ws-fin-042 · contoso · ⚠️ fabrikam not searched"
    expected = (
        "⚠️ *fabrikam* not searched: MDE is not enabled for this tenant — "
        "the tenant needs a Defender for Endpoint licence and onboarding"
    )
    assert expected in raw(card)
    assert only["text"] == "⚠️ fabrikam not searched: MDE is not enabled for this tenant"
    for message in everything_posted(stack.slack):
        assert_no_leak(message)


async def test_a_missing_permission_is_named_with_what_to_do(slack: SlackStandIn) -> None:
    apps = [
        AppRegistration(
            DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, CONTOSO_TENANT, roles=("Machine.Read.All",)
        ),
        AppRegistration(DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, FABRIKAM_TENANT),
    ]
    tenants = [sim_data.contoso(), sim_data.fabrikam()]
    async with (
        Simulator(tenants=tenants, apps=apps) as simulator,
        open_stack(simulator, slack, bot_settings()) as stack,
    ):
        card = await paste(stack, f"seen {DEMO_IP}")

    assert (
        "⚠️ *contoso* searched in part: the app lacks Alert.Read.All — "
        "ask an Entra admin to grant Alert.Read.All (WindowsDefenderATP API) and admin consent"
    ) in raw(card)
    assert_no_leak(card)


def corrupted_contoso() -> sim_data.Tenant:
    """Contoso, with two device rows MDE sent malformed: the demo device with a field of the
    wrong type (readable without it), and a row on the same IP with no id (not readable)."""
    tenant = sim_data.contoso()
    tenant.machines = [
        {**m, "osBuild": "twenty-two"} if m["id"] == DEMO_MACHINE_ID else m for m in tenant.machines
    ]
    tenant.machines.append({"computerDnsName": "broken.corp.contoso.com", "lastIpAddress": DEMO_IP})
    return tenant


async def test_a_record_the_bot_cannot_read_costs_only_what_it_must_and_is_said(
    slack: SlackStandIn,
) -> None:
    """A malformed device row costs its odd field (the device is shown without its OS build),
    a row with nothing to identify it costs that row (both logged); the card says so, the
    message's other answers are posted, and nothing of the bad rows, or of any traceback,
    reaches Slack."""
    async with (
        Simulator(tenants=[corrupted_contoso()]) as simulator,
        open_stack(simulator, slack, bot_settings()) as stack,
    ):
        with capture_logs() as logged:
            card = await paste(stack, f"seen {DEMO_IP} and {DEMO_SHA256}")

    assert_no_leak(card)
    assert "twenty-two" not in raw(card)
    assert "ws-fin-017" in raw(card)  # found through the hash
    assert f"*{DEMO_HOST.split('.')[0]}* · contoso" in raw(card)  # read, without its build
    assert "broken" not in raw(card)
    assert "1 record from MDE could not be read and is left out; 1 was only partly readable" in raw(
        card
    )
    events = {e["event"] for e in logged}
    assert {"mde_row_unreadable", "mde_row_partly_readable"} <= events


async def test_an_unexpected_error_is_shown_as_a_reference_with_what_to_do(
    slack: SlackStandIn,
) -> None:
    """What the one error handler shows for a bug: a reference id, also logged with the
    traceback, never the exception's text."""
    async with aiohttp.ClientSession() as session:
        replies = Replies(session, hosts=frozenset({"127.0.0.1"}))
        with capture_logs() as logged:
            await handle_error(
                RuntimeError("secret internals: osBuild twenty-two"),
                {"response_url": slack.response_url()},
                replies,
                None,  # type: ignore[arg-type]  # not needed when a response URL is given
            )

    [message] = slack.responses()
    match = re.search(r"reference ([0-9a-f]{8})", message["text"])
    assert match is not None
    reference = match.group(1)
    assert message["text"] == f"⚠️ Something went wrong on our side (reference {reference})."
    assert "internals" not in json.dumps(message)
    assert "give the reference to whoever runs the bot" in json.dumps(message["blocks"])
    [event] = [e for e in logged if e["event"] == "unhandled_error"]
    assert event["reference"] == reference
    assert isinstance(event["exc_info"], RuntimeError)


async def test_sign_in_service_down_is_named_with_what_to_do(stack: Stack) -> None:
    stack.simulator.knobs.token_endpoint_down = True

    card = await paste(stack, f"seen {DEMO_IP}")

    assert_no_leak(card)
    said = "not searched: the sign-in service is temporarily unavailable"
    assert card["text"] == f"⚠️ contoso, fabrikam {said}"
    assert "this usually passes; try again in a minute" in raw(card)
