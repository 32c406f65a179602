"""Socket Mode, when SLACK_APP_TOKEN is set: the bot connects out to (the stand-in's) Slack,
acknowledges envelopes over the socket, answers as in HTTP mode, and /healthz reports the
socket's health (Slack's reconnects are slack_sdk's SocketModeClient's)."""

from __future__ import annotations

import aiohttp

from bot.demo.simulator import Simulator
from bot.demo.simulator.data import DEMO_IP
from bot.demo.standin import SlackStandIn
from bot.settings import BotSettings
from tests.conftest import Stack, open_stack
from tests.slack_helpers import answers, posts

APP_TOKEN = "xapp-1-A0MDEBOT01-0000000000-socketmodetoken"


async def healthz(stack: Stack) -> tuple[int, object]:
    async with (
        aiohttp.ClientSession() as session,
        session.get(stack.url.replace("/slack/events", "/healthz")) as response,
    ):
        return response.status, await response.json()


async def test_commands_and_messages_arrive_over_the_socket(
    simulator: Simulator, slack: SlackStandIn, settings: BotSettings
) -> None:
    async with open_stack(simulator, slack, settings, app_token=APP_TOKEN) as stack:
        await slack.wait_for(lambda: slack.socket_connected)
        assert slack.calls("apps.connections.open")
        status, said = await healthz(stack)
        assert (status, said["ok"]) == (200, True)  # type: ignore[index]

        command = await slack.socket_send(
            "slash_commands",
            {
                "command": "/mde",
                "text": DEMO_IP,
                "user_id": "U0RESPONDER",
                "channel_id": "C0INCIDENT",
                "team_id": "T0INCIDENT",
                "response_url": slack.response_url(),
            },
        )
        await slack.wait_for(lambda: command in slack.socket_acks())
        progress, answer = await answers(slack, 2)
        assert progress["text"].startswith("🔎 Looking up 1 indicator")
        assert answer["text"] == "🔴 2 High alerts · ws-fin-042 · contoso"

        event = await slack.socket_send(
            "events_api",
            {
                "type": "event_callback",
                "team_id": "T0INCIDENT",
                "event_id": "Ev0SOCKET001",
                "event": {
                    "type": "message",
                    "channel": "C0INCIDENT",
                    "user": "U0RESPONDER",
                    "text": f"seen {DEMO_IP.replace('.', '[.]')}",
                    "ts": "1795860000.000900",
                },
            },
        )
        await slack.wait_for(lambda: event in slack.socket_acks())
        [reply] = await posts(slack, 1)
        assert reply["thread_ts"] == "1795860000.000900"
