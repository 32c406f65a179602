"""The pure modules stay pure: importing them loads no HTTP client, no msal, no Slack SDK and
no settings (checked in a fresh interpreter, where nothing else has imported those)."""

from __future__ import annotations

import json
import subprocess
import sys

PURE = (
    "bot.indicators",
    "bot.ocsf",
    "bot.mde.normalize",
    "bot.mde.query",
    "bot.mde.custom",
    "bot.enrichment.targets",
    "bot.enrichment.verdicts",
    "bot.render",
    "bot.render.text",
    "bot.enrichment.export",
    "bot.enrichment.commands",
    "bot.enrichment.results",
    "bot.mde.records",
    "bot.mde.models",
    "bot.slack.mrkdwn",
    "bot.slack.payloads",
    "bot.slack.buttons",
    "bot.english",
)
IMPURE = (
    "aiohttp",
    "msal",
    "requests",
    "slack_sdk",
    "slack_bolt",
    "pydantic_settings",
    "bot.settings",
)


def test_pure_modules_import_no_io_and_no_settings() -> None:
    code = (
        "import importlib, json, sys\n"
        f"for name in {list(PURE)!r}: importlib.import_module(name)\n"
        f"print(json.dumps(sorted(m for m in {list(IMPURE)!r} if m in sys.modules)))\n"
    )
    done = subprocess.run(  # noqa: S603 - our own interpreter, fixed code
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert json.loads(done.stdout) == []
