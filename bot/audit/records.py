"""PURE: one audit record, what bounds it, its canonical form and its hash (docs/audit.md).

A caller describes what happened as an `Entry` (`entry(...)` bounds and scrubs it); the store
seals it into an `AuditRecord` by giving it the next sequence number, the time and the hash of
the record before it. A record's `hash` is SHA-256 over `canonical(record.fields())`: every
field but the hash itself, as JSON with sorted keys, no spaces and ASCII only. The first record
chains to `GENESIS`. The JSON export of a record (`as_json`) is that same object plus `hash`, so
an export can be re-hashed by anyone with `hashlib` and `json`.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields, replace
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any, Final

from bot.logs import redact

GENESIS: Final = "0" * 64  # what the first record's prev_hash is

# Bounds: a record never grows past about 20 KB, whatever the caller hands in. Text over its
# bound is cut and ends with "…"; details over theirs keep their keys' names only.
MAX_ID = 64  # Slack user, team and channel ids, tenant aliases
MAX_THREAD = 32  # a thread's timestamp (`1712345678.123456`)
MAX_TENANTS = 64
MAX_SUBJECT = 2048  # a device id, an alert id, an indicator (URLs can be long)
MAX_TEXT = 1024  # any one string inside details
MAX_ITEMS = 100  # entries of any one list or object inside details
MAX_DEPTH = 6
MAX_DETAILS_BYTES = 16_384  # the canonical JSON of details
CUT = "…"

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class AuditKind(StrEnum):
    """What a record says happened."""

    LOOKUP = "lookup"  # indicators looked up: who, where, which tenants, what was found
    REFUSAL = "refusal"  # a request the bot refused (access, limits, input)
    ACTION_REQUESTED = "action_requested"  # a response action asked for, awaiting approval
    ACTION_APPROVED = "action_approved"
    ACTION_REJECTED = "action_rejected"
    ACTION_SUBMITTED = "action_submitted"  # sent to MDE; details carry MDE's action id
    ACTION_STATUS = "action_status"  # MDE's status of a submitted action changed
    ACTION_CANCELLED = "action_cancelled"
    TRIAGE_UPDATE = "triage_update"  # an alert's status, classification or assignee changed
    INDICATOR_SUBMITTED = "indicator_submitted"  # a custom indicator (block, alert…) created


class Detail(StrEnum):
    """The `details` keys that mean something to the OCSF export (docs/audit.md says which
    kind carries which). Any other key is kept as it is."""

    REQUEST_ID = "request_id"  # the bot's id of one action request: ties its records together
    ACTION = "action"  # MDE's machine action type: Isolate, RunAntiVirusScan, …
    ACTION_ID = "action_id"  # MDE's machine action id, once submitted
    STATUS = "status"  # MDE's status of the action, or the alert's new status
    SHA1 = "sha1"  # the file of StopAndQuarantineFile
    INDICATOR_TYPE = "indicator_type"  # MDE's: IpAddress, Url, DomainName, FileSha256, …
    INDICATOR_ACTION = "indicator_action"  # MDE's: Block, Alert, AlertAndBlock, Warn, …
    INDICATOR_ID = "indicator_id"  # MDE's id of the indicator
    CLASSIFICATION = "classification"  # triage: MDE's alert classification
    DETERMINATION = "determination"  # triage: MDE's alert determination
    ASSIGNED_TO = "assigned_to"  # triage: who the alert is assigned to
    SEVERITY = "severity"  # triage: MDE's alert severity
    COMMENT = "comment"
    COMMAND = "command"  # lookup: the /mde verb (lookup, ip, host, hash, …)
    INDICATORS = "indicators"  # lookup: what was looked up
    FOUND = "found"  # lookup: what was found (counts)
    REQUEST = "request"  # refusal: what was refused (lookup, action, indicator, triage)
    REASON = "reason"  # refusal: why, in a few words


@dataclass(frozen=True, slots=True)
class Actor:
    """Who: a Slack user of a team. Both empty for what the bot does on its own (a status poll)."""

    user: str = ""
    team: str = ""


@dataclass(frozen=True, slots=True)
class Place:
    """Where: a Slack channel (or DM) and the thread's timestamp, when there is one."""

    channel: str = ""
    thread: str = ""


@dataclass(frozen=True, slots=True)
class Entry:
    """What a caller says happened, bounded and scrubbed: build it with `entry(...)`. `kind` is
    an `AuditKind` value (a record written by a newer bot may carry one this one lacks)."""

    kind: str
    actor: Actor
    place: Place
    tenants: tuple[str, ...]
    subject: str
    details: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class AuditRecord(Entry):
    """A sealed entry: its place in the chain, its time and its hash."""

    seq: int
    time_us: int  # microseconds since the epoch, UTC
    prev_hash: str
    hash: str

    @property
    def time(self) -> datetime:
        return _EPOCH + timedelta(microseconds=self.time_us)

    @property
    def time_ms(self) -> int:
        return self.time_us // 1000

    def fields(self) -> dict[str, Any]:
        """Everything the hash covers: every field but the hash."""
        return {
            "seq": self.seq,
            "time": iso_time(self.time_us),
            "kind": self.kind,
            "actor": {"user": self.actor.user, "team": self.actor.team},
            "where": {"channel": self.place.channel, "thread": self.place.thread},
            "tenants": list(self.tenants),
            "subject": self.subject,
            "details": dict(self.details),
            "prev_hash": self.prev_hash,
        }

    def as_json(self) -> dict[str, Any]:
        """The record as exported (JSON Lines): the hashed fields and the hash."""
        return {**self.fields(), "hash": self.hash}

    def intact(self) -> bool:
        """Does the record's content still match its hash?"""
        return record_hash(self.fields()) == self.hash


def iso_time(time_us: int) -> str:
    """`1712345678123456` → `"2024-04-05T19:34:38.123456Z"` (always six digits, UTC)."""
    return (_EPOCH + timedelta(microseconds=time_us)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def epoch_us(moment: datetime) -> int:
    """A time as microseconds since the epoch (a naive time is taken as UTC)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return (moment - _EPOCH) // timedelta(microseconds=1)


def canonical(value: Any) -> bytes:
    """JSON as hashed and stored: sorted keys, no spaces, ASCII (other characters as `\\u`
    escapes), no NaN."""
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), allow_nan=False)
    return text.encode("ascii")


def record_hash(fields: Mapping[str, Any]) -> str:
    return hashlib.sha256(canonical(fields)).hexdigest()


def seal(item: Entry, *, seq: int, time_us: int, prev_hash: str) -> AuditRecord:
    """`item` as record `seq` of the chain, after the record whose hash is `prev_hash`."""
    given = {f.name: getattr(item, f.name) for f in fields(Entry)}
    unsealed = AuditRecord(**given, seq=seq, time_us=time_us, prev_hash=prev_hash, hash="")
    return replace(unsealed, hash=record_hash(unsealed.fields()))


# --------------------------------------------------------------------- bounding and scrubbing


def entry(
    kind: AuditKind,
    *,
    actor: Actor,
    place: Place = Place(),
    tenants: Iterable[str] = (),
    subject: str = "",
    details: Mapping[str, Any] | None = None,
) -> Entry:
    """What happened, as it will be stored: every text within its bound, `details` made plain
    JSON (other values as their text, non-finite numbers as text) and bounded, and anything that
    looks like a secret (tokens, a Slack response URL, a key named like `secret` or `token`)
    replaced by `[redacted]`."""
    scrubbed = redact(None, "", {"subject": subject, "details": _plain(details or {}, 0)})
    return Entry(
        kind=AuditKind(kind),
        actor=Actor(user=clip(actor.user, MAX_ID), team=clip(actor.team, MAX_ID)),
        place=Place(channel=clip(place.channel, MAX_ID), thread=clip(place.thread, MAX_THREAD)),
        tenants=tuple(clip(t, MAX_ID) for t in list(tenants)[:MAX_TENANTS]),
        subject=clip(str(scrubbed["subject"]), MAX_SUBJECT),
        details=_bounded(scrubbed["details"]),
    )


def clip(text: str, limit: int) -> str:
    """`text` within `limit` characters: cut, ending with "…", when longer."""
    return text if len(text) <= limit else text[: limit - len(CUT)] + CUT


def _plain(value: Any, depth: int) -> Any:
    """`value` as plain JSON within the per-string, per-list and depth bounds."""
    if value is None or isinstance(value, bool | int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, str):
        return clip(value, MAX_TEXT)
    if depth >= MAX_DEPTH:
        return CUT
    if isinstance(value, Mapping):
        items = list(value.items())
        out = {clip(str(k), MAX_ID): _plain(v, depth + 1) for k, v in items[:MAX_ITEMS]}
        if len(items) > MAX_ITEMS:
            out[CUT] = f"{len(items) - MAX_ITEMS} more"
        return out
    if isinstance(value, list | tuple | set | frozenset):
        seq = list(value)
        kept = [_plain(v, depth + 1) for v in seq[:MAX_ITEMS]]
        return kept + ([f"{CUT} {len(seq) - MAX_ITEMS} more"] if len(seq) > MAX_ITEMS else [])
    return clip(str(value), MAX_TEXT)


def _bounded(details: dict[str, Any]) -> dict[str, Any]:
    """`details` when its canonical JSON fits MAX_DETAILS_BYTES; else only its keys' names."""
    size = len(canonical(details))
    if size <= MAX_DETAILS_BYTES:
        return details
    return {CUT: {"bytes": size, "keys": sorted(details)[:MAX_ITEMS]}}
