"""The layout keeps its promises: the product never loads the demo kit when it serves real
tenants, and `bot/` never imports `handlers/` (each checked in a fresh interpreter or by
reading the sources)."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

SERVE = """
import asyncio, json, sys
from bot.runtime import open_backend, serve_slack
from bot.settings import load_bot_settings, load_connectors, load_slack_settings
from handlers import register

async def main() -> None:
    settings = load_bot_settings(None)
    async with (
        open_backend(load_connectors(None), settings) as backend,
        serve_slack(backend, load_slack_settings(None), settings, register, port=0),
    ):
        assert not backend.demo
asyncio.run(main())
loaded = sorted(m for m in sys.modules if m.startswith("bot.demo") or m == "trustme")
print("LOADED " + json.dumps(loaded))
"""


def test_serving_real_tenants_never_loads_the_demo_kit() -> None:
    """`mde-bot serve` with a real connector configured: the bot, its MDE clients and its web
    server start and stop, and no module of the demo kit (simulator, Slack stand-in, the demo)
    nor trustme was ever imported."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "MDE_", "BOT_"))}
    env.update(
        {
            "SLACK_BOT_TOKEN": "xoxb-1111111111-2222222222-abcdefghijklmnop",
            "SLACK_SIGNING_SECRET": "0123456789abcdef0123456789abcdef",
            "MDE_TENANT_ID": "11111111-2222-3333-4444-555555555555",
            "MDE_CLIENT_ID": "66666666-7777-8888-9999-000000000000",
            "MDE_CLIENT_SECRET": "a-real-looking-client-secret-value",
        }
    )
    done = subprocess.run(  # noqa: S603 - our own interpreter, fixed code
        [sys.executable, "-c", SERVE],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        cwd=ROOT,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    [loaded] = [line for line in done.stdout.splitlines() if line.startswith("LOADED ")]
    assert json.loads(loaded.removeprefix("LOADED ")) == []


def imported(path: Path) -> set[str]:
    """The modules `path` imports when it runs (not those under `if TYPE_CHECKING:`)."""
    names: set[str] = set()
    pending: list[ast.AST] = [ast.parse(path.read_text(encoding="utf-8"))]
    while pending:
        node = pending.pop()
        if isinstance(node, ast.If) and getattr(node.test, "id", "") == "TYPE_CHECKING":
            pending += node.orelse
            continue
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
        pending += ast.iter_child_nodes(node)
    return names


def test_bot_never_imports_handlers() -> None:
    """Data flows one way: handlers/ wires listeners onto what bot/ builds, never back."""
    offenders = [
        f"{path.relative_to(ROOT)}: {name}"
        for path in (ROOT / "bot").rglob("*.py")
        for name in imported(path)
        if name.split(".")[0] == "handlers"
    ]
    assert offenders == []


def test_the_product_reaches_the_demo_kit_through_one_seam() -> None:
    """Outside bot/demo/, only bot/runtime.py imports the demo kit, and only `bot.demo.backend`
    (the CLI's demo and simulator subcommands start the kit's own entry points)."""
    allowed = {
        ("bot/runtime.py", "bot.demo"),
        ("bot/cli/main.py", "bot.demo.play"),
        ("bot/cli/main.py", "bot.demo.simulator"),
    }
    found = {
        (str(path.relative_to(ROOT)), name)
        for path in (ROOT / "bot").rglob("*.py")
        if not str(path.relative_to(ROOT)).startswith("bot/demo/")
        for name in imported(path)
        if name.startswith("bot.demo")
    }
    assert found <= allowed, found - allowed
