"""Section 9's fixed inputs, rendered by the bot's own code against the embedded MDE simulator,
in this process: each message as the chat.postMessage payload the bot posts ({"text", "blocks"}).

    one-indicator        `anyone on 10[.]1[.]2[.]3?` pasted: the card in the thread
    ten-mixed            a paste with 10 indicators of every kind, 2 of them unknown to MDE
    ten-mixed-show-all   the same after "Show all" (`expand=True`)
    tenant-failure       the 1-indicator paste while fabrikam's sign-in fails (wrong secret)
    device-details       "Device details" of the demo device (ws-fin-042)
    test-connection      `/mde check` while fabrikam's sign-in fails

Standalone on purpose: it imports only the standard library and names `bot` already had before
the answer-first cards (commit aea880c), so that section 9 can run this same file against that
older tree and compare the cards before and after:

    python -m bench.phone_cards OUT_DIR     writes OUT_DIR/<name>.json, one per message
    python phone_cards.py OUT_DIR           the same, with the `bot` beside this file
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import sys
from pathlib import Path
from typing import Any

import bot
from bot import logs, render
from bot.demo.simulator import Simulator, data
from bot.runtime import open_backend
from bot.settings import BotSettings
from bot.slack.services import Services

# What each message is called in the results table.
TITLES = {
    "one-indicator": "1 indicator",
    "ten-mixed": "10 mixed indicators",
    "ten-mixed-show-all": "Show all, 10 indicators",
    "tenant-failure": "tenant failure",
    "device-details": "device details",
    "test-connection": "test connection",
}
FAILING_TENANT = "fabrikam"
ONE_TEXT = "anyone on 10[.]1[.]2[.]3?"  # data.DEMO_IP, defanged
# The SHA-1 of a phrase, and a domain nobody registered for the simulator: MDE knows neither.
UNKNOWN_SHA1 = "6dd6bce978aa3e1b122c2863d95314e49ffd20cf"
UNKNOWN_DOMAIN = "cdn-telemetry-sync.net"
KNOWN_HOST = data.HOST_PREFIX + "017"  # one of contoso's 25 finance workstations


def _brackets(value: str) -> str:
    """An IP or a domain defanged as people paste them: `10[.]1[.]2[.]3`."""
    return value.replace(".", "[.]")


# hxxps://payroll-sync-update[.]com/stage2.ps1
DEFANGED_URL = data.DEMO_URL.replace("https://", "hxxps://").replace(
    data.DEMO_DOMAIN, _brackets(data.DEMO_DOMAIN)
)
# Defanged where people would (IPs, domains, the URL); hashes and the file name as they are.
TEN_TEXT = (
    f"triage so far: beacon from {_brackets(data.DEMO_IP)} and {_brackets(data.SHARED_IP)}, "
    f"same box at home on {_brackets(data.CROSS_TENANT_IP)}; dropper {data.DEMO_SHA256} "
    f"(md5 {data.DEMO_MD5}) saved as {data.DEMO_FILE}, pulled from "
    f"{DEFANGED_URL} - also on {KNOWN_HOST}? "
    f"not yet known: {UNKNOWN_SHA1} and {_brackets(UNKNOWN_DOMAIN)}"
)
TEN_INDICATORS = 10
REPORT_ID = "0123456789abcdef"  # the "Show all" button's report id (any 16 hex digits)
WRONG_SECRET = "not-the-secret-the-bot-was-given"  # noqa: S105 - wrong on purpose: sign-in fails


def _payload(message: render.Message) -> dict[str, Any]:
    return {"text": message.text, "blocks": message.blocks}


async def _healthy(settings: BotSettings) -> dict[str, dict[str, Any]]:
    """The messages of a lookup where every tenant answers."""
    async with Simulator() as simulator, open_backend([], settings, simulator=simulator) as backend:
        service = Services.build(backend, settings).enrichment
        one = await service.lookup(await service.extract(ONE_TEXT))
        ten = await service.lookup(await service.extract(TEN_TEXT))
        device = await service.device_report(data.DEMO_MACHINE_ID, tenants=["contoso"])
    return {
        "one-indicator": _payload(render.report_message(one, report_id=REPORT_ID)),
        "ten-mixed": _payload(render.report_message(ten, report_id=REPORT_ID)),
        "ten-mixed-show-all": _payload(render.report_message(ten, expand=True)),
        "device-details": _payload(render.device_details_message(device)),
    }


async def _one_tenant_failing(settings: BotSettings) -> dict[str, dict[str, Any]]:
    """The messages of a lookup where fabrikam refuses the bot's sign-in: its app registration
    has another client secret than the one the bot was given."""
    simulator = Simulator()
    failing = simulator.tenant(FAILING_TENANT).tenant_id
    simulator.apps = [
        dataclasses.replace(app, secret=WRONG_SECRET) if app.tenant_id == failing else app
        for app in simulator.apps
    ]
    async with simulator, open_backend([], settings, simulator=simulator) as backend:
        service = Services.build(backend, settings).enrichment
        one = await service.lookup(await service.extract(ONE_TEXT))
        check = await service.check()
    return {
        "tenant-failure": _payload(render.report_message(one, report_id=REPORT_ID)),
        "test-connection": _payload(render.check_message(check)),
    }


async def payloads() -> dict[str, dict[str, Any]]:
    """Every message of the section, by name (the keys of TITLES, in that order)."""
    settings = BotSettings(_env_file=None)
    rendered = {**await _healthy(settings), **await _one_tenant_failing(settings)}
    return {name: rendered[name] for name in TITLES}


def write(messages: dict[str, dict[str, Any]], folder: Path) -> dict[str, Path]:
    """Each message as `folder/<name>.json`; the paths by name."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = {}
    for name, message in messages.items():
        paths[name] = folder / f"{name}.json"
        paths[name].write_text(json.dumps(message, indent=2, ensure_ascii=False), "utf-8")
    return paths


def main(argv: list[str]) -> int:
    """Writes the messages; prints the folder of the `bot` package that rendered them (the
    caller checks it is the tree it meant)."""
    if len(argv) != 1:
        print("usage: python -m bench.phone_cards OUT_DIR", file=sys.stderr)
        return 2
    logs.configure("WARNING")
    write(asyncio.run(payloads()), Path(argv[0]))
    print(Path(bot.__file__).parent)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
