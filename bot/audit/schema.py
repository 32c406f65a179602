"""The audit trail's tables, as SQLAlchemy Core sees them (the migrations create them).

`audit_records` holds the chain, one row a record; its columns are the record's fields (times
as integer microseconds, `tenants` and `details` as their canonical JSON text, so that what is
hashed is what is read back on every database). `audit_head` holds one row: the sequence
number and hash of the last record, which every append locks, reads and moves on.
`row_of` and `record_of` turn a record into its row and back.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import BigInteger, Column, Integer, MetaData, Row, String, Table, Text

from bot.audit.records import Actor, AuditRecord, Place, canonical

metadata = MetaData()

records = Table(
    "audit_records",
    metadata,
    Column("seq", BigInteger, primary_key=True, autoincrement=False),
    Column("time_us", BigInteger, nullable=False, index=True),
    Column("kind", String(32), nullable=False),
    Column("actor_user", String(64), nullable=False),
    Column("actor_team", String(64), nullable=False),
    Column("channel", String(64), nullable=False),
    Column("thread", String(32), nullable=False),
    Column("tenants", Text, nullable=False),
    Column("subject", Text, nullable=False),
    Column("details", Text, nullable=False),
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
)

head = Table(
    "audit_head",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("seq", BigInteger, nullable=False),
    Column("hash", String(64), nullable=False),
)

HEAD_ROW = 1  # the one row of audit_head


def row_of(record: AuditRecord) -> dict[str, Any]:
    """A record as its `records` row."""
    return {
        "seq": record.seq,
        "time_us": record.time_us,
        "kind": str(record.kind),
        "actor_user": record.actor.user,
        "actor_team": record.actor.team,
        "channel": record.place.channel,
        "thread": record.place.thread,
        "tenants": canonical(list(record.tenants)).decode("ascii"),
        "subject": record.subject,
        "details": canonical(record.details).decode("ascii"),
        "prev_hash": record.prev_hash,
        "hash": record.hash,
    }


def record_of(row: Row[Any]) -> AuditRecord | None:
    """A stored row as a record; None when its JSON columns cannot be read."""
    try:
        tenants = json.loads(row.tenants)
        details = json.loads(row.details)
    except (TypeError, ValueError):
        return None
    if not isinstance(tenants, list) or not isinstance(details, dict):
        return None
    return AuditRecord(
        seq=int(row.seq),
        time_us=int(row.time_us),
        kind=str(row.kind),
        actor=Actor(user=str(row.actor_user), team=str(row.actor_team)),
        place=Place(channel=str(row.channel), thread=str(row.thread)),
        tenants=tuple(str(t) for t in tenants),
        subject=str(row.subject),
        details=details,
        prev_hash=str(row.prev_hash),
        hash=str(row.hash),
    )
