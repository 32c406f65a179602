"""`mde-bot demo`: the whole bot on embedded defaults, in one process, offline.

Starts the MDE simulator, the bot and the local Slack stand-in on loopback (ports chosen by the
OS), then plays an incident: slash commands, a pasted message, button clicks, a test connection
and Slack's duplicate deliveries, all over real HTTP and signed as Slack signs requests. It
prints what the bot posted back as readable text and exits 0 (1 if any step got no answer).
"""

from __future__ import annotations

import contextlib
import json
import secrets
import sys
from collections.abc import Callable
from typing import Any, TextIO

from bot.audit.store import AuditStore
from bot.demo.simulator import Simulator
from bot.demo.simulator import data as sim_data
from bot.demo.standin import Post, SlackStandIn, clickables
from bot.render.text import blocks_to_text
from bot.runtime import Registrar, SlackRuntime, open_backend, serve_slack
from bot.settings import BotSettings, SlackSettings

WAIT = 30.0  # seconds for each answer; the simulator answers in milliseconds
CHANNEL = "C0INCIDENT"
RESPONDER, LEAD = "U0RESPONDER", "U0LEAD"  # the responders of the demo
APPROVE = "mde_action_approve"


class Demo:
    def __init__(self, slack: SlackStandIn, runtime: SlackRuntime, out: TextIO) -> None:
        self.slack = slack
        self.url = runtime.url
        self.out = out

    def say(self, text: str = "") -> None:
        print(text, file=self.out)

    def show(self, payload: dict[str, Any], *, full: bool = True) -> None:
        if not full:
            self.say(f"     → {payload.get('text', '')}")
            return
        blocks = payload.get("blocks") or []
        self.say(blocks_to_text(blocks, indent="     ") if blocks else f"     {payload['text']}")

    async def _next(self, count: Callable[[], int], before: int) -> None:
        await self.slack.wait_for(lambda: count() > before, WAIT)

    async def command(self, text: str, *, full: bool = True) -> list[dict[str, Any]]:
        """`/mde text`; prints the answers (progress first) and returns them."""
        self.say(f"\n/mde {text}")
        before = len(self.slack.responses())
        reply = await self.slack.command(self.url, text)
        if reply.status != 200:
            raise RuntimeError(f"the bot answered HTTP {reply.status}")
        answers: list[dict[str, Any]] = []
        while not answers or answers[-1].get("text", "").startswith("🔎"):
            await self._next(lambda: len(self.slack.responses()), before + len(answers))
            answers = self.slack.responses()[before:]
        for answer in answers[:-1]:
            self.say(f"   {answer['text']}")
        self.show(answers[-1], full=full)
        return answers

    async def paste(self, text: str, ts: str, *, full: bool = True) -> dict[str, Any]:
        """A message pasted into #incident; returns the bot's threaded reply."""
        before = len(self.slack.calls("chat.postMessage"))
        await self.slack.message(self.url, text, channel=CHANNEL, ts=ts)
        await self._next(lambda: len(self.slack.calls("chat.postMessage")), before)
        reply = self.slack.calls("chat.postMessage")[before]
        self.say(f"   ↳ one threaded reply (thread_ts={reply['thread_ts']}):")
        self.show(reply, full=full)
        return reply

    async def shortcut(self, message: dict[str, Any]) -> None:
        """Run "Look up in MDE" on `message`; print the answer it posts into the thread."""
        self.say(f"   {message['user']} in a thread: {message['text']}")
        before = len(self.slack.calls("chat.postMessage"))
        payload = self.slack.shortcut_payload(
            message, response_url=self.slack.response_url(), channel=CHANNEL
        )
        await self.slack.action(self.url, payload)
        await self._next(lambda: len(self.slack.calls("chat.postMessage")), before)
        reply = self.slack.calls("chat.postMessage")[before]
        self.say(f"   ↳ answered in the thread (thread_ts={reply['thread_ts']}):")
        self.show(reply)

    async def home(self) -> None:
        """Open the bot's App Home tab; print what it shows."""
        before = len(self.slack.calls("views.publish"))
        await self.slack.home_opened(self.url)
        await self._next(lambda: len(self.slack.calls("views.publish")), before)
        self.show(self.slack.calls("views.publish")[before]["view"])

    async def respond(
        self, card: dict[str, Any], ts: str, device: str, choice: str, comment: str
    ) -> None:
        """⋯ → Respond… on `device`'s card, then the form submitted with `choice`."""
        [block] = [b for b in card["blocks"] if f"*{device}*" in str(b.get("text"))]
        element, option = next(
            (e, o) for e, o in clickables([block]) if o and o["text"]["text"] == "Respond…"
        )
        self.say("\n[⋯ → Respond…] tapped")
        before = len(self.slack.calls("views.update"))
        payload = self.slack.click_payload(
            element,
            message_ts=ts,
            response_url=self.slack.response_url(),
            channel=CHANNEL,
            message={"text": card["text"], "blocks": card["blocks"], "thread_ts": ts},
            option=option,
        )
        await self.slack.action(self.url, payload)
        await self._next(lambda: len(self.slack.calls("views.update")), before)
        view = dict(self.slack.calls("views.update")[before]["view"])
        self.say("   the form (one phone screen):")
        self.show(view)
        self.say(f"\n[{choice}] chosen, comment typed, [Request] tapped")
        state: dict[str, dict[str, Any]] = {
            "choice": {"choice": {"type": "radio_buttons", "selected_option": {"value": choice}}},
            "comment": {"comment": {"type": "plain_text_input", "value": comment}},
        }
        posts = len(self.slack.calls("chat.postMessage"))
        await self.slack.action(
            self.url, self.slack.submission_payload(view, state, view_id="V0DEMOFORM")
        )
        await self._next(lambda: len(self.slack.calls("chat.postMessage")), posts)
        self.say("   ↳ the request, in the card's thread:")
        self.show(self.slack.calls("chat.postMessage")[posts])

    async def approve(self, user: str) -> None:
        """`user` taps Approve on the last request; waits for MDE's action to end."""
        request = self.slack.calls("chat.postMessage")[-1]
        button = next(
            e for e, o in clickables(request["blocks"]) if e["action_id"].endswith("approve")
        )
        self.say(f"\n[Approve] tapped by {user}")
        payload = self.slack.click_payload(
            button,
            message_ts="1795860000.000900",
            response_url=self.slack.response_url(),
            channel=CHANNEL,
            user=user,
            message={"text": request["text"], "thread_ts": request.get("thread_ts")},
        )
        await self.slack.action(self.url, payload)

        def ended() -> bool:
            updates = self.slack.calls("chat.update")
            return bool(updates) and "Succeeded" in json.dumps(updates[-1])

        await self.slack.wait_for(ended, WAIT)
        self.say("   ↳ the same message, updated as MDE went (Pending → InProgress → Succeeded):")
        self.show(self.slack.calls("chat.update")[-1])

    async def click(
        self, card: dict[str, Any], ts: str, label: str, *, answered_by: str | None = None
    ) -> list[Post]:
        """Click the button, or choose the menu option, whose text starts with `label` on a
        channel card (the first device's menu); wait for the answer on the click's
        response_url, or for the Web API method `answered_by`."""
        element, option = next(
            (element, option)
            for element, option in clickables(card["blocks"])
            if (option or element)["text"]["text"].startswith(label)
        )
        self.say(f"\n[{(option or element)['text']['text']}] clicked")
        before = len(self.slack.posts)
        response_url = self.slack.response_url()
        payload = self.slack.click_payload(
            element,
            message_ts=ts,
            response_url=response_url,
            channel=CHANNEL,
            message={"text": card["text"], "blocks": card["blocks"]},
            option=option,
        )
        await self.slack.action(self.url, payload)
        token = response_url.rsplit("/", 1)[1]

        def answered() -> bool:
            return any(
                p.method == (answered_by or token) and p.via in {"api", "response_url"}
                for p in self.slack.posts[before:]
            )

        await self.slack.wait_for(answered, WAIT)
        return self.slack.posts[before:]


async def run_demo(register: Registrar, out: TextIO = sys.stdout) -> int:
    secret = secrets.token_hex(16)
    async with contextlib.AsyncExitStack() as stack:
        slack = await stack.enter_async_context(SlackStandIn(signing_secret=secret))
        simulator = await stack.enter_async_context(Simulator())
        # Response actions on, against the simulator: two responders, MDE's actions quick.
        settings = BotSettings.embedded().model_copy(
            update={
                "actions": "on",
                "responders": [RESPONDER, LEAD],
                "action_poll_seconds": 0.2,
            }
        )
        simulator.knobs.action_pickup, simulator.knobs.action_run = 0.4, 0.8
        backend = await stack.enter_async_context(open_backend([], settings, simulator=simulator))
        slack_settings = SlackSettings(
            bot_token="xoxb-demo-0000000000-local",  # noqa: S106 - stand-in only
            signing_secret=secret,
            app_token=None,  # HTTP mode, whatever SLACK_APP_TOKEN says
            api_url=slack.api_url,
            _env_file=None,
        )
        runtime = await stack.enter_async_context(
            serve_slack(backend, slack_settings, settings, register, host="127.0.0.1", port=0)
        )
        demo = Demo(slack, runtime, out)
        demo.say("MDE Slack bot — demo: embedded MDE simulator + local Slack stand-in, offline")
        demo.say(f"  MDE simulator   {simulator.base_url}  (test CA {simulator.ca_path})")
        demo.say(f"  bot             {runtime.url}")
        demo.say(f"  Slack stand-in  {slack.base_url}")
        demo.say("Every request below is signed as Slack signs it and sent over HTTP on 127.0.0.1.")
        try:
            await play(demo, simulator)
            await respond(demo, backend.audit)
        except (TimeoutError, RuntimeError, StopIteration, ValueError, LookupError) as exc:
            demo.say(f"\nThe demo stopped: a step got no answer ({type(exc).__name__}).")
            return 1
    return 0


async def respond(demo: Demo, audit: AuditStore) -> None:
    """Isolate the Tier0 device from its card, approved by a second responder; then the audit
    trail that tells the story, verified."""
    demo.say("\n━━ 9. Isolate ws-fin-042 from its card (Tier0: a second responder approves)")
    card = await demo.paste(
        f"{sim_data.DEMO_IP.replace('.', '[.]')} is beaconing again",
        ts="1795860000.000400",
        full=False,
    )
    await demo.respond(
        card,
        "1795860000.000400",
        "ws-fin-042",
        "isolate_full",
        "Credential dumping on a Tier0 host: contain it",
    )
    await demo.approve(LEAD)

    def told() -> list[dict[str, Any]]:
        return [p for p in demo.slack.calls("chat.postMessage") if p["text"].startswith("<@")]

    await demo.slack.wait_for(lambda: bool(told()), WAIT)
    demo.say(f"   ↳ and in the thread, to the requester: {told()[-1]['text']}")
    demo.say("\n   The IP pasted again later: the device's card says it is isolated")
    again = await demo.paste(
        f"{sim_data.DEMO_IP.replace('.', '[.]')} still there?", ts="1795860000.000500", full=False
    )
    state = next(line for line in blocks_to_text(again["blocks"]).splitlines() if "🔒" in line)
    demo.say(f"   ↳ {state.strip()}")
    demo.say("\n━━ 10. The audit trail (mde-bot audit --verify)")
    async for record in audit.records():
        who = record.actor.user or "the bot"
        demo.say(f"   {record.seq:>3} {record.kind:<17} {who:<12} {record.subject[:40]}")
    demo.say(f"   {(await audit.verify()).summary()}")


async def play(demo: Demo, simulator: Simulator) -> None:
    d = sim_data
    demo.say("\n━━ 1. A responder asks about an IP")
    await demo.command(d.DEMO_IP)

    demo.say("\n━━ 2. Someone pastes indicators into #incident (defanged, several kinds)")
    pasted = (
        f"Beaconing from {d.DEMO_IP.replace('.', '[.]')} to "
        f"hxxps://{d.DEMO_DOMAIN.replace('.', '[.]')}/stage2.ps1 — dropped file "
        f"{d.DEMO_FILE}, sha256 {d.DEMO_SHA256}"
    )
    demo.say(f"   #incident: {pasted}")
    card = await demo.paste(pasted, ts="1795860000.000100")

    demo.say("\n━━ 3. The same message again: Slack's retry and a duplicate delivery")
    for headers in ({"X-Slack-Retry-Num": "1"}, {}):
        await demo.slack.event(
            demo.url,
            {
                "type": "message",
                "channel": CHANNEL,
                "user": "U0RESPONDER",
                "text": pasted,
                "ts": "1795860000.000100",
            },
            headers=headers,
        )
    await demo.paste(f"and {d.SHARED_IP}?", ts="1795860000.000200", full=False)
    replies = [
        p for p in demo.slack.calls("chat.postMessage") if p["thread_ts"] == "1795860000.000100"
    ]
    demo.say(f"   replies to the first message: {len(replies)} (the next message was answered)")

    demo.say("\n━━ 4. Buttons on the card")
    [shown] = [p for p in await demo.click(card, "1795860000.000100", "Show all") if p.payload]
    blocks = shown.payload["blocks"]
    last_divider = max(i for i, b in enumerate(blocks) if b["type"] == "divider")
    alerts = [b for b in blocks[last_divider:] if b["type"] == "section"]
    lines = blocks_to_text(alerts, indent="     ").splitlines()
    demo.say(f"   the same card, every alert listed ({sum(1 for x in lines if x[5] != ' ')}):")
    for line in lines:
        demo.say(line)
    await demo.click(
        card, "1795860000.000100", "OCSF JSON", answered_by="files.completeUploadExternal"
    )
    events = [json.loads(line) for line in demo.slack.uploads[-1].decode().splitlines() if line]
    classes = sorted({e["class_name"] for e in events})
    demo.say(f"   uploaded into the thread: {len(events)} OCSF events ({', '.join(classes)})")

    demo.say("\n━━ 5. The other ways to ask (answers shortened to their summary line)")
    for text in (
        "host WS-FIN-042",
        f"ip {d.SHARED_IP} at 2h ago",
        f"hash {d.DEMO_MD5}",
        f"file {d.DEMO_FILE}",
        f"{d.CROSS_TENANT_IP} --tenant fabrikam",
        "alerts ws-fin-042",
        "what happened to finance?",
    ):
        await demo.command(text, full=False)

    demo.say("\n━━ 6. Test connection")
    await demo.command("check")

    demo.say(
        "\n━━ 7. Look up in MDE, from a message's ⋯ menu (a thread reply auto-enrichment skips)"
    )
    await demo.shortcut(
        {
            "user": "U0ANALYST",
            "text": f"also saw {d.CROSS_TENANT_IP} on the VPN",
            "ts": "1795860000.000300",
            "thread_ts": "1795860000.000100",
        }
    )

    demo.say("\n━━ 8. The App Home tab")
    await demo.home()
    demo.say(f"\nMDE calls answered by the simulator: {simulator.calls['*']}")
