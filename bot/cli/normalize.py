"""`mde-bot normalize`: MDE API answers in, OCSF events out, one JSON object a line.

    mde-bot normalize [--kind machine|alert|file] [--ocsf-version 1.8.0|1.5.0] [--legacy] [FILE]

Reads FILE (or stdin, also for `-`): MDE API JSON as MDE answers it, one entity, an array of
them, or an OData page (`{"value": [...]}`), or several of these one after the other (JSON
Lines, saved pages). UTF-8, with or without a byte-order mark, or UTF-16 as PowerShell writes.

Each record becomes (docs/ocsf-mapping.md):
- a machine: one Device Inventory Info event (5001);
- an alert: one Detection Finding (2004), and with `--legacy` also a Security Finding (2001);
- a file profile: one File Query event (5007), the profile's `file` with its query result.

The kind of each record is taken from `--kind`, else from the page's `@odata.context`, else
from the fields it has. A record with a field that cannot be read is written without that
field, and named on stderr ("partly readable"); a record that cannot be read at all (not an
object, no id, an unknown kind) is written to stderr with its index (from 0, in input order)
and why, and not written out.

Exit status: 0; 1 when any record could not be read at all (the others are still written);
2 when FILE cannot be opened. The streams and the clock are passed in, for the tests.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from bot import ocsf
from bot.errors import InputError
from bot.mde.models import Alert, FileInfo, Machine, MdeModel, wire_names
from bot.mde.normalize import (
    device_event,
    file_event,
    finding_from_alert,
    security_finding_from_detection,
)
from bot.mde.records import Unreadable, not_an_object, parse_record

VERSIONS = ocsf.VERSIONS
KINDS = ("machine", "alert", "file")
PORTAL_URL = "https://security.microsoft.com"
_PROGRAM = "mde-bot normalize"


@dataclass(frozen=True, slots=True)
class Options:
    kind: str | None = None
    version: str = ocsf.OCSF_VERSION
    legacy: bool = False


def add_parser(commands: Any) -> None:
    """The `normalize` subcommand, on the `mde-bot` parser's subcommands."""
    parser = commands.add_parser(
        "normalize", help="MDE API JSON (FILE or stdin) → OCSF events, one per line"
    )
    parser.add_argument(
        "file", nargs="?", default="-", metavar="FILE", help="MDE JSON; stdin when absent or -"
    )
    parser.add_argument("--kind", choices=KINDS, help="what the records are (default: detected)")
    parser.add_argument(
        "--ocsf-version",
        choices=VERSIONS,
        default=VERSIONS[0],
        help=f"the OCSF schema the events follow (default {VERSIONS[0]})",
    )
    parser.add_argument(
        "--legacy", action="store_true", help="also each alert as a Security Finding (2001)"
    )


def main(args: argparse.Namespace) -> int:
    """Run the command as parsed: FILE or stdin in, stdout and stderr out."""
    options = Options(kind=args.kind, version=args.ocsf_version, legacy=args.legacy)
    now = time.time_ns() // 1_000_000
    return normalize_command(_read(args.file), sys.stdout, sys.stderr, options=options, now=now)


def normalize_command(
    source: str, stdout: TextIO, stderr: TextIO, *, options: Options, now: int
) -> int:
    """`source` (the input's text) as OCSF events on `stdout`; problems on `stderr`. `now`
    (epoch ms) is when the events were logged, and the time of a record that carries none."""
    counts = {"records": 0, "events": 0, "partly readable": 0, "dropped": 0}
    for index, raw, hint in _records(source):
        counts["records"] += 1
        outcome = _convert(raw, hint, options)
        if isinstance(outcome, Unreadable):
            counts["dropped"] += 1
            stderr.write(f"{_PROGRAM}: record {index}: dropped, {outcome.reason}\n")
            continue
        events, dropped = outcome
        if dropped:
            counts["partly readable"] += 1
            left_out = ", ".join(dropped)
            stderr.write(f"{_PROGRAM}: record {index}: partly readable, left out {left_out}\n")
        for event in events:
            stdout.write(json.dumps(_stamped(event, now), separators=(",", ":")) + "\n")
            counts["events"] += 1
    if counts["partly readable"] or counts["dropped"]:
        summary = ", ".join(f"{n} {what}" for what, n in counts.items())
        stderr.write(f"{_PROGRAM}: {summary}\n")
    return 1 if counts["dropped"] else 0


def _read(name: str) -> str:
    """The input's text: UTF-8 (a BOM allowed) or UTF-16 with its BOM."""
    try:
        data = sys.stdin.buffer.read() if name == "-" else Path(name).read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read {name}: {exc.strerror or exc}") from None
    encoding = "utf-16" if data[:2] in {b"\xff\xfe", b"\xfe\xff"} else "utf-8-sig"
    try:
        return data.decode(encoding)
    except UnicodeDecodeError:
        raise InputError(f"{name} is neither UTF-8 nor UTF-16 text") from None


# --------------------------------------------------------------------- reading the records


class _Broken:
    """Where the input stops being JSON: the rest is one record that could not be read."""

    def __init__(self, line: int, column: int, message: str) -> None:
        self.reason = f"not JSON at line {line}, column {column} ({message}): the rest is unread"


def _documents(source: str) -> Iterator[Any]:
    """Every JSON document in `source`, one after the other (one, or JSON Lines). `NaN` and
    `Infinity`, which JSON does not have, read as null."""
    decoder = json.JSONDecoder(parse_constant=lambda _: None)
    position = 0
    while True:
        while position < len(source) and source[position] in " \t\r\n\ufeff":
            position += 1
        if position >= len(source):
            return
        try:
            document, position = decoder.raw_decode(source, position)
        except json.JSONDecodeError as exc:
            yield _Broken(exc.lineno, exc.colno, exc.msg)
            return
        except RecursionError:
            line = source.count("\n", 0, position) + 1
            yield _Broken(line, position - source.rfind("\n", 0, position), "nested too deep")
            return
        yield document


def _records(source: str) -> Iterator[tuple[int, Any, str | None]]:
    """(index, record, kind the page names) for every record of every document."""
    index = 0
    for document in _documents(source):
        for record, hint in _unpaged(document):
            yield index, record, hint
            index += 1


def _unpaged(document: Any) -> Iterator[tuple[Any, str | None]]:
    """An OData page's `value` items, an array's items (pages and arrays in it unpacked
    too), or the document itself, each with the kind its page names."""
    if isinstance(document, list):
        for item in document:
            yield from _unpaged(item)
        return
    hint = _context_kind(document) if isinstance(document, dict) else None
    if _is_page(document):
        yield from ((item, hint) for item in document["value"])
    else:
        yield document, hint


def _is_page(document: Any) -> bool:
    return isinstance(document, dict) and isinstance(document.get("value"), list)


_MODELS: dict[str, type[MdeModel]] = {"machine": Machine, "alert": Alert, "file": FileInfo}
# `@odata.context` → kind: `…/$metadata#Machines`, `#Alerts/$entity`, `#AlertEntitySetName`;
# also the entities MDE answers that this command does not convert.
_CONTEXTS = {
    "machine": "machine",
    "alert": "alert",
    "file": "file",
    "machineaction": "machine action",
    "user": "user",
}
# Fields of the entities this command does not convert, that the others do not have.
_OTHER_ENTITIES = {
    "machine action": frozenset(
        {"requestor", "requestorcomment", "requestsource", "creationdatetimeutc", "scope"}
    ),
    "user": frozenset({"accountdomain", "accountsid", "logontypes", "logonmachinescount"}),
    "hunting result": frozenset({"schema", "results"}),
}


def _own_fields() -> dict[str, frozenset[str]]:
    """Each kind's wire field names (lower-case) that no other kind has."""
    names = {kind: wire_names(model) for kind, model in _MODELS.items()}
    return {
        kind: own.difference(*(other for k, other in names.items() if k != kind))
        for kind, own in names.items()
    } | dict(_OTHER_ENTITIES)


_MARKERS = _own_fields()


def _context_kind(document: dict[str, Any]) -> str | None:
    context = document.get("@odata.context")
    if not isinstance(context, str) or "#" not in context:
        return None
    entity_set = context.rsplit("#", 1)[1].split("/")[0].split("(")[0].rsplit(".", 1)[-1]
    return _CONTEXTS.get(entity_set.lower().removesuffix("entitysetname").removesuffix("s"))


def detect_kind(record: dict[str, Any], hint: str | None = None) -> str | None:
    """What `record` is: `hint` (its page's kind) unless its fields say otherwise, else the
    kind whose own fields it has most of; None when that is not clear. A kind may be one this
    command does not convert (a machine action, a user)."""
    keys = {k.lower() for k in record if isinstance(k, str)}
    scores = {kind: len(keys & markers) for kind, markers in _MARKERS.items()}
    if hint is not None and (scores[hint] or not any(scores.values())):
        return hint
    first, second = sorted(scores.values(), reverse=True)[:2]
    if first == 0 or first == second:
        return None
    return max(scores, key=lambda k: scores[k])


def _error_answer(record: dict[str, Any]) -> str | None:
    """`{"error": {"code", "message"}}`: MDE's answer when a call failed."""
    error = record.get("error")
    if not isinstance(error, dict) or set(record) - {"error", "@odata.context"}:
        return None
    return f"an MDE error answer ({error.get('code')}: {error.get('message')})"


# --------------------------------------------------------------------- the events


def _machine_events(machine: Machine, options: Options) -> list[ocsf.Event]:
    return [device_event(machine, version=options.version)]


def _alert_events(alert: Alert, options: Options) -> list[ocsf.Event]:
    finding = finding_from_alert(alert, portal_url=PORTAL_URL, version=options.version)
    return [finding, security_finding_from_detection(finding)] if options.legacy else [finding]


def _file_events(info: FileInfo, options: Options) -> list[ocsf.Event]:
    return [file_event(info, version=options.version)]


_BUILDERS: dict[str, Callable[[Any, Options], list[ocsf.Event]]] = {
    "machine": _machine_events,
    "alert": _alert_events,
    "file": _file_events,
}


def _convert(
    raw: Any, hint: str | None, options: Options
) -> tuple[list[ocsf.Event], tuple[str, ...]] | Unreadable:
    """A record's events and the fields left out to read it, or why it is unreadable."""
    if isinstance(raw, _Broken):
        return Unreadable(raw.reason)
    if not isinstance(raw, dict):
        return Unreadable(not_an_object(raw))
    if (error := _error_answer(raw)) is not None:
        return Unreadable(error)
    kind = options.kind or detect_kind(raw, hint)
    if kind is None:
        return Unreadable("not a machine, an alert or a file profile, as far as its fields tell")
    if kind not in _MODELS:
        return Unreadable(f"a {kind}, not a machine, an alert or a file profile")
    parsed = parse_record(_MODELS[kind], raw)
    if isinstance(parsed, Unreadable):
        return Unreadable(f"{kind}: {parsed.reason}")
    return _BUILDERS[kind](parsed.record, options), parsed.dropped


def _stamped(event: ocsf.Event, now: int) -> dict[str, Any]:
    """The event's OCSF JSON, logged `now`, and dated `now` when its record has no time."""
    data = ocsf.to_json(event)
    data["metadata"]["logged_time"] = now
    if not data["time"]:
        data["time"] = now
    return data
