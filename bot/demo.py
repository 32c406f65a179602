"""`mde-bot demo`: the whole bot on embedded defaults, in one process, offline.

Starts the MDE simulator, the bot and the local Slack stand-in on loopback (ports chosen by the
OS), sends a signed `/mde` command and a pasted message over real HTTP, prints what the bot
posted back as readable text, and exits 0.
"""

from __future__ import annotations

import contextlib
import secrets
import sys
from collections.abc import Mapping
from typing import Any, TextIO

from bot.blocktext import blocks_to_text
from bot.runtime import Registrar, open_backend, serve_slack
from bot.settings import BotSettings, SlackSettings
from bot.simulator import Simulator
from bot.simulator.data import DEMO_IP
from bot.slack_standin import SlackStandIn

WAIT = 30.0  # seconds for each answer; the simulator answers in milliseconds


def _show(post: Mapping[str, Any], out: TextIO) -> None:
    blocks = post.get("blocks") or []
    print(
        blocks_to_text(blocks, indent="     ") if blocks else f"     {post.get('text', '')}",
        file=out,
    )


async def run_demo(register: Registrar, out: TextIO = sys.stdout) -> int:
    secret = secrets.token_hex(16)
    async with contextlib.AsyncExitStack() as stack:
        slack = await stack.enter_async_context(SlackStandIn(signing_secret=secret))
        simulator = await stack.enter_async_context(Simulator())
        bot_settings = BotSettings(_env_file=None)
        backend = await stack.enter_async_context(
            open_backend([], bot_settings, simulator=simulator)
        )
        slack_settings = SlackSettings(
            bot_token="xoxb-demo-0000000000-local",  # noqa: S106 - stand-in only
            signing_secret=secret,
            api_url=slack.api_url,
            _env_file=None,
        )
        runtime = await stack.enter_async_context(
            serve_slack(backend, slack_settings, bot_settings, register, host="127.0.0.1", port=0)
        )
        print(
            "MDE Slack bot — demo: embedded MDE simulator + local Slack stand-in, offline", file=out
        )
        print(f"  MDE simulator   {simulator.base_url}  (test CA {simulator.ca_path})", file=out)
        print(f"  bot             {runtime.url}", file=out)
        print(f"  Slack stand-in  {slack.base_url}", file=out)

        print(f"\n1) A responder types:  /mde {DEMO_IP}", file=out)
        ack = await slack.command(runtime.url, DEMO_IP)
        if ack.status != 200:
            print(f"   the bot answered HTTP {ack.status}", file=out)
            return 1
        acked = ack.message()
        print(
            f"   ack ({acked.get('response_type', 'ephemeral')}): {acked.get('text', '')}", file=out
        )
        await slack.wait_for(lambda: bool(slack.responses()), WAIT)
        response = slack.responses()[0]
        print(
            f"   answer ({response.get('response_type', 'ephemeral')}, via response_url):", file=out
        )
        _show(response, out)

        pasted = f"Seeing beaconing from {DEMO_IP.replace('.', '[.]')} — anyone on this box?"
        print(f"\n2) Someone pastes in #incident:  {pasted}", file=out)
        await slack.message(runtime.url, pasted)
        await slack.wait_for(lambda: bool(slack.calls("chat.postMessage")), WAIT)
        reply = slack.calls("chat.postMessage")[0]
        print(
            f"   threaded reply (chat.postMessage, thread_ts={reply.get('thread_ts')}):", file=out
        )
        _show(reply, out)
        print("\nDone: every request above was signed and sent over HTTP on 127.0.0.1.", file=out)
    return 0
