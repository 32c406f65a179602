"""`/mde` in each of its forms, end to end: signed HTTP in, real Bolt routing, the simulator
behind, and what reached the Slack stand-in asserted."""

from __future__ import annotations

import pytest

from bot.demo.simulator import Simulator
from bot.demo.simulator.data import DEMO_IP
from bot.demo.standin import SlackStandIn
from tests.conftest import Stack, bot_settings, open_stack
from tests.slack_helpers import answers, shown

DEVICE_ID = "b2f9c1d47a3e8f60519c2d7e4a8b3f1c6d0e9a27"


async def run(stack: Stack, text: str, count: int = 2) -> list[dict[str, object]]:
    ack = await stack.slack.command(stack.url, text)
    assert ack.status == 200
    assert ack.body == ""
    return await answers(stack.slack, count)


@pytest.mark.parametrize("text", ["", "help", "  HELP  "])
async def test_help(stack: Stack, text: str) -> None:
    [answer] = await run(stack, text, 1)
    assert answer["response_type"] == "ephemeral"
    assert "/mde ip 10.1.2.3" in shown(answer)
    assert stack.simulator.calls["*"] == 0


async def test_text_without_indicators_gets_help_not_silence(stack: Stack) -> None:
    [answer] = await run(stack, "what is going on with finance?", 1)
    assert shown(answer).startswith("No IP, host name, URL, domain, hash or file name")
    assert "/mde check" in shown(answer)
    assert stack.simulator.calls["*"] == 0


async def test_free_text_with_a_defanged_ip(stack: Stack) -> None:
    progress, answer = await run(stack, f"who is {DEMO_IP.replace('.', '[.]')} ?")
    assert progress["text"] == "🔎 Looking up 1 indicator in 2 tenants…"
    assert answer["text"] == "🔴 2 High alerts · ws-fin-042 · contoso"


async def test_ip_verb(stack: Stack) -> None:
    _, answer = await run(stack, f"ip {DEMO_IP}")
    assert "ws-fin-042 · contoso · 2 High · 1 Low" in shown(answer)


@pytest.mark.parametrize("defanged", ["10[.]1[.]2[.]3", "10(.)1(.)2(.)3", "10{.}1{.}2{.}3"])
async def test_verbs_take_defanged_values_like_free_text(stack: Stack, defanged: str) -> None:
    _, answer = await run(stack, f"ip {defanged}")
    assert answer["text"] == "🔴 2 High alerts · ws-fin-042 · contoso"


async def test_host_verb_finds_the_device_by_its_bare_name(stack: Stack) -> None:
    _, answer = await run(stack, "host WS-FIN-042")
    text = shown(answer)
    assert answer["text"] == "🔴 2 High alerts · ws-fin-042 · contoso"
    assert "ws-fin-042 · contoso · 2 High · 1 Low" in text
    assert "matched `ws-fin-042`" in text


async def test_tenant_option_narrows_the_connectors(stack: Stack) -> None:
    progress, answer = await run(stack, f"ip {DEMO_IP} --tenant fabrikam")
    assert progress["text"] == "🔎 Looking up 1 indicator in 1 tenant…"
    assert answer["text"] == "⚪ MDE knows none of 1 indicator"
    assert stack.simulator.calls["machines"] == 1


async def test_unknown_tenant_is_a_clear_message(stack: Stack) -> None:
    [answer] = await run(stack, f"ip {DEMO_IP} --tenant nowhere", 1)
    assert shown(answer) == "⚠️ no tenant called 'nowhere'\nknown tenants: contoso, fabrikam"
    assert stack.simulator.calls["*"] == 0


async def test_alerts_verb_lists_every_alert_of_the_device(stack: Stack) -> None:
    [answer] = await run(stack, "alerts ws-fin-042", 1)
    text = shown(answer)
    for title in (
        "Suspicious PowerShell command line",
        "Credential dumping activity observed",
        "Unusual sign-in time",
    ):
        assert title in text
    assert "Show all" not in text


async def test_device_verb_shows_the_details(stack: Stack) -> None:
    [answer] = await run(stack, f"device {DEVICE_ID}", 1)
    text = shown(answer)
    assert f"Device id:   `{DEVICE_ID}`" in text
    assert "Tags:        Tier0, Finance" in text
    assert "Device group: Finance" in text


async def test_device_verb_for_an_unknown_device(stack: Stack) -> None:
    [answer] = await run(stack, "device no-such-host", 1)
    assert answer["text"] == "No such device in MDE"


async def test_check_verb_reports_every_connection(stack: Stack) -> None:
    [answer] = await run(stack, "check", 1)
    text = shown(answer)
    assert answer["text"] == "✅ All 2 MDE connections work"
    assert "✅ contoso · commercial" in text
    assert "✅ fabrikam · commercial" in text
    assert "demo: the embedded MDE simulator answers" in text


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("ip 999.1.1.1", "⚠️ '999.1.1.1' is not an IP address"),
        ("hash abc", "⚠️ 'abc' is not an MD5, SHA-1 or SHA-256 hash"),
        ("host", "⚠️ /mde host takes one value\nfor example: /mde host WS-FIN-042"),
        ("ip 10.1.2.3 at yesterday-ish", "⚠️ 'yesterday-ish' is not a time I understand"),
        ("ip 10.1.2.3 at 40d ago", "⚠️ MDE keeps which device had which IP for 30 days only"),
    ],
)
async def test_bad_input_gets_a_clear_message(stack: Stack, text: str, message: str) -> None:
    [answer] = await run(stack, text, 1)
    assert shown(answer).startswith(message)
    assert "Traceback" not in shown(answer)
    assert stack.simulator.calls["*"] == 0


async def test_a_user_not_on_the_allow_list_is_refused_politely(
    simulator: Simulator, slack: SlackStandIn
) -> None:
    settings = bot_settings(allowed_users=["U0ALLOWED"])
    async with open_stack(simulator, slack, settings) as stack:
        refused = await slack.command(stack.url, DEMO_IP, user_id="U0STRANGER")
        allowed = await slack.command(stack.url, DEMO_IP, user_id="U0ALLOWED")
        assert allowed.status == 200
        await answers(slack, 2)
    assert refused.status == 200
    assert refused.message()["response_type"] == "ephemeral"
    assert refused.message()["text"].startswith("Sorry — you're not on this bot's access list")
    assert simulator.calls["machines"] == 2  # the allowed user's lookup only


async def test_a_request_without_a_timestamp_is_refused_with_401(stack: Stack) -> None:
    headers = {"X-Slack-Request-Timestamp": "", "X-Slack-Signature": "v0=00"}
    body = "command=%2Fmde&text=10.1.2.3"
    refused = await stack.slack.send(
        stack.url, body, "application/x-www-form-urlencoded", headers=headers
    )
    assert refused.status == 401
    assert stack.simulator.calls["*"] == 0
