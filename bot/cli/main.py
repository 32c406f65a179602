"""The `mde-bot` command line.

    mde-bot serve       the bot, with settings from the environment / .env
    mde-bot demo        simulator + bot + Slack stand-in, end to end, offline; exits 0
    mde-bot simulator   the MDE simulator alone; prints its URLs and CA path
    mde-bot extract     indicators in stdin → JSON (`--jsonl`: one object per line)
    mde-bot enrich      look up the indicators in a text; OCSF, text or Block Kit out
    mde-bot normalize   MDE API JSON (a file or stdin) → OCSF events, one per line
    mde-bot check       test every MDE connection; exit 1 when anything is wrong
    mde-bot audit       the audit trail: list, export (JSON Lines, CSV, OCSF), verify
    mde-bot --version

Configuration errors and unusable input print one line and exit 2; nothing starts
half-configured. Output piped into a program that stops reading (`| head`) ends the command
quietly.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import secrets
import signal
import sys
from collections.abc import Callable, Sequence
from importlib.metadata import PackageNotFoundError, version

from bot import logs, ocsf, render
from bot.audit.settings import load_audit_settings
from bot.cli import audit as audit_cli
from bot.cli import normalize as normalize_cli
from bot.enrichment.export import ocsf_events
from bot.errors import ConfigError, InputError
from bot.render.text import blocks_to_text
from bot.runtime import Registrar, open_backend, serve_slack, tune_gc
from bot.settings import load_bot_settings, load_connectors, load_slack_settings
from bot.slack.services import Services
from bot.state.settings import load_state_settings

EXIT_CONFIG = 2
log = logs.get_logger(__name__)


def _version() -> str:
    try:
        return version("mde-slack-bot")
    except PackageNotFoundError:  # run from a checkout that was never installed
        return "unknown"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mde-bot", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("serve", help="run the bot (HTTP on $PORT)")
    demo = sub.add_parser("demo", help="end-to-end demo on embedded defaults, offline")
    demo.add_argument("--verbose", action="store_true", help="show the bot's logs")
    sim = sub.add_parser("simulator", help="run the MDE simulator alone")
    sim.add_argument("--port", type=int, default=0, help="port (default: chosen by the OS)")
    extract = sub.add_parser("extract", help="print the indicators found in stdin as JSON")
    extract.add_argument("--jsonl", action="store_true", help="one JSON object per line")
    enrich = sub.add_parser("enrich", help="look up the indicators in TEXT (or stdin)")
    enrich.add_argument("text", nargs="?", help="the text; read from stdin when absent")
    enrich.add_argument(
        "--format",
        choices=["ocsf", "text", "blocks"],
        default="text",
        help="text: the card as text; blocks: the chat.postMessage payload the bot would post",
    )
    enrich.add_argument("--tenant", action="append", default=[], help="ask only this tenant")
    enrich.add_argument(
        "--legacy",
        action="store_true",
        help="with --format ocsf: also each alert as a legacy Security Finding (class 2001)",
    )
    enrich.add_argument(
        "--ocsf-version",
        choices=ocsf.VERSIONS,
        default=ocsf.OCSF_VERSION,
        help=f"with --format ocsf: the OCSF schema the events follow (default {ocsf.OCSF_VERSION})",
    )
    normalize_cli.add_parser(sub)
    audit_cli.add_parser(sub)
    check = sub.add_parser("check", help="test the MDE connections")
    check.add_argument("--tenant", action="append", default=[], help="check only this tenant")
    return parser


async def _until_stopped() -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()


# ---------------------------------------------------------------------- the subcommands


async def _serve(register: Registrar) -> int:
    slack = load_slack_settings()
    settings = load_bot_settings()
    connectors = load_connectors()
    audit = load_audit_settings().database.get_secret_value()
    if connectors and not any(c.enabled for c in connectors):
        raise ConfigError(
            "every MDE connector is disabled",
            hint="enable one in MDE_CONNECTORS_FILE, or remove the file to run on demo data",
        )
    logs.configure(settings.log_level, settings.log_format)
    async with (
        open_backend(
            connectors, settings, audit_database=audit, state=load_state_settings()
        ) as backend,
        serve_slack(backend, slack, settings, register),
    ):
        if backend.demo:
            log.warning(
                "demo_data",
                reason="no MDE connector configured (MDE_* unset)",
                effect="answers come from the embedded simulator; every card says so",
            )
        tune_gc()
        await _until_stopped()
    return 0


async def _enrich(args: argparse.Namespace) -> int:
    text = args.text if args.text is not None else sys.stdin.read()
    settings = load_bot_settings()
    async with open_backend(load_connectors(), settings) as backend:
        service = Services.build(backend, settings).enrichment
        report = await service.lookup(await service.extract(text), tenants=args.tenant)
    if args.format == "ocsf":
        for event in ocsf_events(report, legacy=args.legacy, version=args.ocsf_version):
            print(json.dumps(event, separators=(",", ":")))
    elif args.format == "blocks":  # as posted into a thread, "Show all" button and all
        message = render.report_message(report, report_id=secrets.token_hex(8))
        print(json.dumps(message.as_response(), indent=2, ensure_ascii=False))
    else:
        print(blocks_to_text(render.report_message(report).blocks, indent=""))
    return 0


async def _check(args: argparse.Namespace) -> int:
    settings = load_bot_settings()
    async with open_backend(load_connectors(), settings) as backend:
        report = await Services.build(backend, settings).enrichment.check(args.tenant)
    print(blocks_to_text(render.check_message(report).blocks, indent=""))
    return 0 if report.ok else 1


async def _simulator(args: argparse.Namespace) -> int:
    from bot.demo.simulator import DEMO_CLIENT_ID, Simulator

    sim = await Simulator().start(port=args.port)
    try:
        print(f"MDE simulator on {sim.base_url}", flush=True)
        print(f"  CA bundle     {sim.ca_path}")
        print(f"  API           {sim.api_url}/api/machines")
        for tenant in sim.tenants.values():
            print(f"  tenant {tenant.name:<10} authority {sim.authority(tenant.tenant_id)}")
        print(f"  client id     {DEMO_CLIENT_ID} (secret: see bot/demo/simulator/server.py)")
        print("Ctrl-C to stop.", flush=True)
        await _until_stopped()
    finally:
        await sim.stop()
    return 0


def _extract(args: argparse.Namespace) -> int:
    from bot.cli.extract import extract_command

    settings = load_bot_settings()
    return extract_command(
        sys.stdin,
        sys.stdout,
        jsonl=args.jsonl,
        internal_suffixes=settings.internal_domains,
        cap=settings.max_indicators,
    )


def _with_slack(args: argparse.Namespace, register: Registrar | None) -> int:
    """`serve` and `demo`: they need the Slack listeners, which `handlers` hands in."""
    if register is None:
        raise ConfigError("no Slack listeners to run: start the bot with the mde-bot command")
    if args.command == "demo":
        from bot.demo.play import run_demo

        logs.configure("INFO" if args.verbose else "WARNING")
        return asyncio.run(run_demo(register))
    return asyncio.run(_serve(register))


def _offline(args: argparse.Namespace) -> int:
    """`enrich`, `check` and `simulator`: asyncio, quiet logs."""
    logs.configure("WARNING")
    run = {"enrich": _enrich, "check": _check, "simulator": _simulator}[args.command]
    with contextlib.suppress(KeyboardInterrupt):
        return asyncio.run(run(args))
    return 0


COMMANDS: dict[str, Callable[[argparse.Namespace, Registrar | None], int]] = {
    "extract": lambda args, _: _extract(args),
    "normalize": lambda args, _: normalize_cli.main(args),
    "audit": lambda args, _: audit_cli.main(args),
    "enrich": lambda args, _: _offline(args),
    "check": lambda args, _: _offline(args),
    "simulator": lambda args, _: _offline(args),
    "serve": _with_slack,
    "demo": _with_slack,
}


def _quiet_stdout() -> None:
    """stdout is a closed pipe: point it at /dev/null so that the interpreter's own flush at
    exit does not fail again (and print a traceback)."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())


def main(argv: Sequence[str] | None = None, *, register: Registrar | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return COMMANDS[args.command](args, register)
    except ConfigError as exc:
        print(f"mde-bot: configuration error: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    except InputError as exc:
        print(f"mde-bot: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    except BrokenPipeError:  # `mde-bot enrich … | head`: the reader has what it wanted
        _quiet_stdout()
        return 0
