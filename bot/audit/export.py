"""PURE: audit records in the export formats of `mde-bot audit`: JSON Lines (the records as
hashed, plus their hash), CSV (a fixed header), and OCSF (`bot.audit.events`)."""

from __future__ import annotations

import csv
import io
import json

from bot import ocsf
from bot.audit.events import ocsf_json
from bot.audit.records import AuditRecord, canonical, iso_time

FORMATS = ("jsonl", "csv", "ocsf")
CSV_HEADER = (
    "seq",
    "time",
    "kind",
    "user",
    "team",
    "channel",
    "thread",
    "tenants",
    "subject",
    "details",
    "prev_hash",
    "hash",
)
# A spreadsheet runs a cell that starts with one of these as a formula: such text is written
# with a leading apostrophe (the CSV is for reading; JSON Lines is the faithful copy).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def export_line(record: AuditRecord, fmt: str, *, version: str = ocsf.OCSF_VERSION) -> str:
    """The record as one line of `fmt` (without the line end): `jsonl`, the record as hashed
    and its hash (`AuditRecord.as_json`); `csv`, a row under CSV_HEADER; `ocsf`, its OCSF
    event for schema `version`."""
    if fmt == "ocsf":
        return json.dumps(ocsf_json(record, version=version), separators=(",", ":"))
    if fmt == "csv":
        return csv_line(record)
    return json.dumps(record.as_json(), separators=(",", ":"), ensure_ascii=False)


def csv_line(record: AuditRecord) -> str:
    """The record as one CSV row: tenants joined by `;`, details as JSON."""
    cells = (
        str(record.seq),
        iso_time(record.time_us),
        str(record.kind),
        record.actor.user,
        record.actor.team,
        record.place.channel,
        record.place.thread,
        ";".join(record.tenants),
        record.subject,
        canonical(record.details).decode("ascii"),
        record.prev_hash,
        record.hash,
    )
    return csv_text(cells)


def csv_text(cells: tuple[str, ...]) -> str:
    """One CSV row of `cells`, each safe to open in a spreadsheet, without its line end."""
    out = io.StringIO()
    csv.writer(out, lineterminator="").writerow(_inert(c) for c in cells)
    return out.getvalue()


def _inert(cell: str) -> str:
    return "'" + cell if cell.startswith(_FORMULA_START) else cell
