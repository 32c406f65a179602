"""The walking skeleton end to end: signed HTTP into real Bolt routing, real msal and HTTPS to
the simulator, answers observed at the Slack stand-in."""

from __future__ import annotations

import json
import time

import aiohttp

from bot.demo.simulator.data import DEMO_IP
from bot.render.text import blocks_to_text
from tests.conftest import Stack


async def test_slash_command_answers_with_the_device_card(stack: Stack) -> None:
    ack = await stack.slack.command(stack.url, DEMO_IP)

    assert ack.status == 200
    assert ack.body == ""  # acknowledged at once; everything else goes to response_url
    await stack.slack.wait_for(lambda: len(stack.slack.responses()) == 2)
    progress, answer = stack.slack.responses()
    assert progress["text"] == "🔎 Looking up 1 indicator in 2 tenants…"
    assert progress["response_type"] == "ephemeral"
    assert answer["response_type"] == "ephemeral"
    assert answer["text"] == "🔴 2 High alerts · ws-fin-042 · contoso"
    card = blocks_to_text(answer["blocks"])
    for expected in (
        "`10[.]1[.]2[.]3` → ws-fin-042 · seen ",  # the verdict, under the headline
        "🔴 ws-fin-042 · contoso · 2 High · 1 Low  [⋯]",  # the device, its menu
        "🏷️ Tier0, Finance · matched `10[.]1[.]2[.]3`",
        "Credential dumping activity observed",
        "demo data from the embedded MDE simulator",
    ):
        assert expected in card
    [menu] = [b["accessory"] for b in answer["blocks"] if "accessory" in b]
    labels = [o["text"]["text"] for o in menu["options"]]
    assert labels == ["Alerts (3)", "Device details", "OCSF JSON", "Open in Defender"]
    # Only the devices step and one alerts call per device: nothing per-tenant is wasted.
    assert stack.simulator.calls["machines"] == 2  # one per tenant
    assert stack.simulator.calls["machine_alerts"] == 1


async def test_pasted_message_gets_one_threaded_reply(stack: Stack) -> None:
    reply = await stack.slack.message(
        stack.url, "anyone on 10[.]1[.]2[.]3?", ts="1795860000.000100"
    )

    assert reply.status == 200
    await stack.slack.wait_for(lambda: bool(stack.slack.calls("chat.postMessage")))
    [post] = stack.slack.calls("chat.postMessage")
    assert post["channel"] == "C0INCIDENT"
    assert post["thread_ts"] == "1795860000.000100"
    assert post["text"] == "🔴 2 High alerts · ws-fin-042 · contoso"
    assert "ws-fin-042 · contoso · 2 High · 1 Low" in blocks_to_text(post["blocks"])


async def test_forged_signature_is_refused_before_any_mde_call(stack: Stack) -> None:
    body = "command=%2Fmde&text=10.1.2.3&user_id=U1&channel_id=C1&response_url=x"
    headers = stack.slack.sign(body)
    headers["X-Slack-Signature"] = "v0=" + "0" * 64
    forged = await stack.slack.send(
        stack.url, body, "application/x-www-form-urlencoded", headers=headers
    )

    assert forged.status == 401
    assert stack.simulator.calls["*"] == 0
    assert stack.slack.posts == []


async def test_stale_signature_is_refused_before_any_mde_call(stack: Stack) -> None:
    stale = await stack.slack.command(stack.url, DEMO_IP, timestamp=int(time.time()) - 600)

    assert stale.status == 401
    assert stack.simulator.calls["*"] == 0
    assert stack.slack.responses() == []


async def test_request_signed_with_another_secret_is_refused(stack: Stack) -> None:
    body = json.dumps({"type": "event_callback", "event": {"type": "message", "text": DEMO_IP}})
    stack.slack.signing_secret = "another-apps-signing-secret-0001"
    refused = await stack.slack.send(stack.url, body, "application/json")

    assert refused.status == 401
    assert stack.simulator.calls["*"] == 0


async def test_health_endpoint_answers_without_signature(stack: Stack) -> None:
    async with (
        aiohttp.ClientSession() as session,
        session.get(stack.url.replace("/slack/events", "/healthz")) as response,
    ):
        assert response.status == 200
        said = await response.json()
        assert said["ok"] is True
        assert said["database"] == "up"
        assert said["redis"] in {"not used", "up"}
        assert "degraded" not in said
