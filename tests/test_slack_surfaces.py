"""The "Look up in MDE" message shortcut and the App Home tab, end to end: signed HTTP in, real
Bolt routing, the simulator behind, what reached the Slack stand-in asserted."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bot.demo.simulator import Simulator
from bot.demo.simulator.data import DEMO_IP, SHARED_IP
from bot.demo.standin import SlackStandIn
from handlers.shortcuts import LOOKUP_SHORTCUT
from tests.conftest import Stack, bot_settings, open_stack
from tests.slack_helpers import checked, shown

PASTED = {"user": "U0OTHER", "text": f"anyone on {DEMO_IP.replace('.', '[.]')}?"}


async def run_shortcut(
    stack: Stack, message: dict[str, Any], **where: str
) -> tuple[str, list[dict[str, Any]]]:
    """Run the shortcut on `message`; (its response_url token, the thread posts it caused)."""
    slack = stack.slack
    response_url = slack.response_url()
    payload = slack.shortcut_payload(message, response_url=response_url, **where)
    reply = await slack.action(stack.url, payload)
    assert (reply.status, reply.body) == (200, "")
    return response_url.rsplit("/", 1)[-1], slack.calls("chat.postMessage")


def privately(slack: SlackStandIn, token: str) -> list[dict[str, Any]]:
    return [checked(p.payload) for p in slack.posts if p.method == token]


# ---------------------------------------------------------------------- the shortcut


async def test_the_shortcut_answers_in_the_messages_thread(stack: Stack) -> None:
    slack = stack.slack
    token, _ = await run_shortcut(stack, {**PASTED, "ts": "1796000000.000100"})
    await slack.wait_for(lambda: bool(slack.calls("chat.postMessage")))

    [post] = slack.calls("chat.postMessage")
    assert (post["channel"], post["thread_ts"]) == ("C0INCIDENT", "1796000000.000100")
    assert post["text"] == "🔴 2 High alerts · ws-fin-042 · contoso"
    assert "`10[.]1[.]2[.]3` → ws-fin-042" in shown(checked(post))
    [progress] = privately(slack, token)  # the progress note, to the asker alone
    assert progress["text"] == "🔎 Looking up 1 indicator in 2 tenants…"


async def test_a_message_inside_a_thread_is_answered_in_that_thread(stack: Stack) -> None:
    slack = stack.slack
    message = {**PASTED, "ts": "1796000000.000300", "thread_ts": "1796000000.000200"}
    await run_shortcut(stack, message)
    await slack.wait_for(lambda: bool(slack.calls("chat.postMessage")))

    [post] = slack.calls("chat.postMessage")
    assert post["thread_ts"] == "1796000000.000200"


async def test_where_the_bot_cannot_post_the_answer_goes_to_the_asker_saying_why(
    stack: Stack,
) -> None:
    """A direct message between people, or a private channel the bot is not in: Slack refuses
    the post; the answer is not lost, it reaches the person who asked."""
    slack = stack.slack
    slack.refuse_next["chat.postMessage"] = ["channel_not_found"]
    token, _ = await run_shortcut(stack, {**PASTED, "ts": "1796000000.000400"}, channel="D0PAIR")
    await slack.wait_for(lambda: len(privately(slack, token)) == 2)

    _, answer = privately(slack, token)
    assert answer["text"] == "🔴 2 High alerts · ws-fin-042 · contoso"
    assert shown(answer).startswith("I can't post in this conversation")
    assert "`10[.]1[.]2[.]3` → ws-fin-042" in shown(answer)
    assert slack.calls("chat.postMessage") == []  # the refused post is not counted as one


async def test_configured_private_answers_go_to_the_asker_only(
    simulator: Simulator, slack: SlackStandIn
) -> None:
    async with open_stack(simulator, slack, bot_settings(shortcut_reply="private")) as stack:
        token, _ = await run_shortcut(stack, {**PASTED, "ts": "1796000000.000500"})
        await slack.wait_for(lambda: len(privately(slack, token)) == 2)

    _, answer = privately(slack, token)
    assert answer["text"] == "🔴 2 High alerts · ws-fin-042 · contoso"
    assert answer.get("response_type", "ephemeral") == "ephemeral"
    assert slack.calls("chat.postMessage") == []


async def test_a_message_without_indicators_gets_a_private_note_and_no_mde_call(
    stack: Stack,
) -> None:
    slack = stack.slack
    message = {"user": "U0OTHER", "text": "standup in 5", "ts": "1796000000.000600"}
    token, _ = await run_shortcut(stack, message)
    await slack.wait_for(lambda: bool(privately(slack, token)))

    [note] = privately(slack, token)
    assert note["text"] == "No IP, host name, URL, domain, hash or file name in that text."
    assert slack.calls("chat.postMessage") == []
    assert stack.simulator.calls["*"] == 0


async def test_a_shortcut_by_someone_not_allowed_is_refused_before_any_mde_call(
    simulator: Simulator, slack: SlackStandIn
) -> None:
    async with open_stack(simulator, slack, bot_settings(allowed_users="U0SOMEONE")) as stack:
        token, _ = await run_shortcut(stack, {**PASTED, "ts": "1796000000.000700"})
        await slack.wait_for(lambda: bool(privately(slack, token)))

    [refusal] = privately(slack, token)
    assert "not on this bot's access list" in refusal["text"]
    assert simulator.calls["*"] == 0
    assert slack.calls("chat.postMessage") == []


# ---------------------------------------------------------------------- the App Home tab


async def home(stack: Stack, user: str = "U0RESPONDER") -> dict[str, Any]:
    slack = stack.slack
    before = len(slack.calls("views.publish"))
    reply = await slack.home_opened(stack.url, user=user)
    assert reply.status == 200
    await slack.wait_for(lambda: len(slack.calls("views.publish")) > before)
    published = slack.calls("views.publish")[-1]
    assert published["user_id"] == user
    assert published["view"]["type"] == "home"
    return checked({"blocks": published["view"]["blocks"]})


async def test_the_home_tab_shows_the_connections_the_commands_and_my_recent_lookups(
    stack: Stack,
) -> None:
    slack = stack.slack
    await slack.command(stack.url, f"ip {SHARED_IP}", user_id="U0RESPONDER")
    await slack.command(stack.url, DEMO_IP, user_id="U0SOMEBODY")  # not mine
    await slack.wait_for(lambda: len([r for r in slack.responses() if "→" in shown(r)]) == 2)

    tab = shown(await home(stack))

    assert "✅ contoso · commercial\n✅ fabrikam · commercial" in tab
    assert "/mde ip 10.1.2.3" in tab  # how to ask
    mine = [line for line in tab.partition("Your recent lookups")[2].splitlines() if line]
    assert len(mine) == 1
    assert "to you alone · 🔴" in mine[0]  # an ephemeral /mde answer, its headline
    assert "ws-fin-042" not in mine[0]  # the other user's lookup is theirs


async def test_the_connections_are_tested_once_however_often_the_tab_is_opened(
    stack: Stack,
) -> None:
    await home(stack)
    probes = stack.simulator.calls["*"]
    for user in ("U0RESPONDER", "U0SOMEBODY", "U0THIRD"):
        await home(stack, user)

    assert probes > 0
    assert stack.simulator.calls["*"] == probes


async def test_a_failing_tenant_is_named_on_the_home_tab(stack: Stack) -> None:
    stack.simulator.tenant("fabrikam").licensed = False

    tab = shown(await home(stack))

    assert "✅ contoso · commercial" in tab
    assert "❌ fabrikam · commercial — " in tab


async def test_someone_not_allowed_sees_a_refusal_and_costs_no_mde_call(
    simulator: Simulator, slack: SlackStandIn
) -> None:
    async with open_stack(simulator, slack, bot_settings(allowed_users="U0SOMEONE")) as stack:
        tab = shown(await home(stack, "U0RESPONDER"))

    assert tab.startswith("Sorry — you're not on this bot's access list")
    assert simulator.calls["*"] == 0


# ---------------------------------------------------------------------- the manifest


def test_the_manifest_declares_what_the_code_listens_for() -> None:
    lines = {line.strip() for line in Path("manifest.yaml").read_text().splitlines()}
    for declared in (
        f"callback_id: {LOOKUP_SHORTCUT}",
        "type: message",
        "home_tab_enabled: true",
        "- app_home_opened",
        "- message.channels",
        "- command: /mde",
        "- users:read.email",  # triage: "Assign to me" (users.info)
    ):
        assert declared in lines, declared
