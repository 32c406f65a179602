"""`mde-bot audit`: the audit trail listed, exported, verified (docs/audit.md).

    mde-bot audit [--since WHEN] [--format jsonl|csv|ocsf] [--ocsf-version 1.8.0|1.5.0]
                  [--database URL]
    mde-bot audit --verify [--anchor SEQ:HASH]... [--database URL]

Lists the records in sequence order, one a line: `jsonl` (default) is each record as it was
hashed, with its hash; `csv` has a fixed header line; `ocsf` is each record as an OCSF event.
`--since` is an ISO-8601 time (`2026-11-27T21:58Z`; UTC unless it says otherwise) or a
relative one (`90m ago`, `2h ago`, `3d ago`, `2w ago`).

`--verify` walks the whole chain and says whether it is intact or where it first breaks;
`--anchor` adds a (seq, hash) pair published elsewhere (an `audit` log line) to check against,
which is what shows a tail deleted together with the head.

The trail is read from `--database` (a SQLite file path or a URL), else from the setting
(AUDIT_DATABASE, else DATABASE_URL, else ./mde-bot-audit.sqlite3). The command never creates
or migrates a database.

Exit status: 0 (with --verify: the chain is intact); 1 with --verify: the chain is broken;
2 when the trail cannot be read (no database there, unreachable, another schema version, a
record that cannot be read) or an argument is wrong.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import sys
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, TextIO

from bot import logs, ocsf
from bot.audit.chain import Head, parse_anchor
from bot.audit.database import DatabaseUnavailable
from bot.audit.export import CSV_HEADER, FORMATS, csv_text, export_line
from bot.audit.settings import load_audit_settings
from bot.audit.store import AuditStore
from bot.errors import InputError

EXIT_BROKEN = 1
EXIT_UNREADABLE = 2
_PROGRAM = "mde-bot audit"
_RELATIVE = re.compile(r"^(\d{1,6})\s*(m|min|h|hr|d|w)[a-z]*\s+ago$", re.IGNORECASE)
_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


@dataclass(frozen=True, slots=True)
class Options:
    database: str
    since: datetime | None = None
    fmt: str = "jsonl"
    version: str = ocsf.OCSF_VERSION
    verify: bool = False
    anchors: tuple[Head, ...] = ()


def add_parser(commands: Any) -> None:
    """The `audit` subcommand, on the `mde-bot` parser's subcommands."""
    parser = commands.add_parser("audit", help="list, export or verify the audit trail")
    parser.add_argument(
        "--since", metavar="WHEN", help="only records from then on: ISO-8601, or '2h ago'"
    )
    parser.add_argument("--format", choices=FORMATS, default="jsonl", help="default: jsonl")
    parser.add_argument(
        "--ocsf-version",
        choices=ocsf.VERSIONS,
        default=ocsf.OCSF_VERSION,
        help=f"with --format ocsf: the schema the events follow (default {ocsf.OCSF_VERSION})",
    )
    parser.add_argument(
        "--verify", action="store_true", help="check the whole chain; exit 1 when broken"
    )
    parser.add_argument(
        "--anchor",
        action="append",
        default=[],
        metavar="SEQ:HASH",
        help="with --verify: a record's seq and hash as logged, to check the chain against",
    )
    parser.add_argument(
        "--database", metavar="URL", help="the trail's database (default: AUDIT_DATABASE)"
    )


def main(args: argparse.Namespace) -> int:
    """Run the command as parsed: the trail out on stdout, problems on stderr."""
    logs.configure("WARNING")
    now = datetime.now(UTC)
    options = Options(
        database=args.database or load_audit_settings().database.get_secret_value(),
        since=parse_since(args.since, now) if args.since else None,
        fmt=args.format,
        version=args.ocsf_version,
        verify=args.verify,
        anchors=tuple(parse_anchor(a) for a in args.anchor),
    )
    return asyncio.run(audit_command(options, sys.stdout, sys.stderr))


async def audit_command(options: Options, stdout: TextIO, stderr: TextIO) -> int:
    """List or verify the trail in `options.database`; the exit status."""
    try:
        store = await AuditStore.open(options.database, migrate_schema=False)
        async with store:
            if options.verify:
                report = await store.verify(anchors=options.anchors)
                stream = stdout if report.ok else stderr
                stream.write(f"{_PROGRAM}: {store.database}: {report.summary()}\n")
                return 0 if report.ok else EXIT_BROKEN
            if options.fmt == "csv":
                stdout.write(csv_text(CSV_HEADER) + "\n")
            async for record in store.records(since=options.since):
                stdout.write(export_line(record, options.fmt, version=options.version) + "\n")
    except DatabaseUnavailable as exc:
        stderr.write(f"{_PROGRAM}: {exc}\n")
        return EXIT_UNREADABLE
    return 0


def parse_since(text: str, now: datetime) -> datetime:
    """`--since`: an ISO-8601 time (UTC unless it gives an offset) or `N{m,h,d,w} ago`."""
    text = text.strip()
    if match := _RELATIVE.match(text):
        amount, unit = int(match.group(1)), match.group(2)[0].lower()
        return now - timedelta(**{_UNITS[unit]: amount})
    try:
        moment = datetime.fromisoformat(text.upper().replace(" ", "T", 1))
    except ValueError:
        raise InputError(
            f"--since {text!r} is not a time I understand",
            hint="use 2026-11-27T21:58Z, 2026-11-27 21:58 (UTC) or 2h ago",
        ) from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
