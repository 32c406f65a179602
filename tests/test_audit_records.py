"""An audit record: its hash is SHA-256 over a canonical JSON anyone can recompute, what a
caller hands in is bounded and scrubbed of secrets, and the chain walker names the first broken
link of a chain tampered with in every way (here in memory; tests/test_audit_store.py does the
same through the database)."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
from typing import Any

import pytest

from bot.audit.chain import BreakKind, Head, parse_anchor, verify_chain
from bot.audit.records import (
    CUT,
    GENESIS,
    MAX_DETAILS_BYTES,
    MAX_ITEMS,
    MAX_SUBJECT,
    MAX_TEXT,
    Actor,
    AuditKind,
    AuditRecord,
    Place,
    entry,
    iso_time,
    seal,
)
from bot.errors import InputError
from tests import test_purity

T0 = 1_700_000_000_000_000  # microseconds


def chain(n: int) -> list[AuditRecord]:
    """`n` sealed records, one a second, each chained to the one before."""
    records: list[AuditRecord] = []
    for seq in range(1, n + 1):
        item = entry(
            AuditKind.LOOKUP,
            actor=Actor("U0001", "T0001"),
            place=Place("C0001", "1700000000.000100"),
            tenants=["contoso"],
            subject=f"10.0.0.{seq}",
            details={"found": {"devices": seq}},
        )
        prev = records[-1].hash if records else GENESIS
        records.append(seal(item, seq=seq, time_us=T0 + seq * 1_000_000, prev_hash=prev))
    return records


def resealed(record: AuditRecord, **changes: Any) -> AuditRecord:
    """`record` changed and given a hash that fits its new content (what a forger does)."""
    changed = dataclasses.replace(record, **changes)
    item = entry(
        AuditKind(changed.kind),
        actor=changed.actor,
        place=changed.place,
        tenants=changed.tenants,
        subject=changed.subject,
        details=changed.details,
    )
    return seal(item, seq=changed.seq, time_us=changed.time_us, prev_hash=changed.prev_hash)


# ------------------------------------------------------------------------- the hash


def test_the_hash_is_sha256_over_sorted_compact_ascii_json_of_everything_but_itself() -> None:
    """Recomputed here from the exported record with nothing but hashlib and json."""
    record = chain(1)[0]
    exported = record.as_json()
    own = exported.pop("hash")
    text = json.dumps(exported, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    assert own == hashlib.sha256(text.encode()).hexdigest() == record.hash
    assert exported["prev_hash"] == GENESIS == "0" * 64
    assert exported["time"] == "2023-11-14T22:13:21.000000Z"
    assert set(exported) == {
        "seq",
        "time",
        "kind",
        "actor",
        "where",
        "tenants",
        "subject",
        "details",
        "prev_hash",
    }


def test_every_field_is_covered_by_the_hash() -> None:
    record = chain(1)[0]
    changes: dict[str, Any] = {
        "seq": 2,
        "time_us": record.time_us + 1,
        "kind": "refusal",
        "actor": Actor("U0002", "T0001"),
        "place": Place("C0001", "1700000000.000101"),
        "tenants": ("fabrikam",),
        "subject": "10.0.0.2",
        "details": {"found": {"devices": 2}},
        "prev_hash": "f" * 64,
    }
    for name, value in changes.items():
        assert not dataclasses.replace(record, **{name: value}).intact(), name
    assert record.intact()


def test_non_ascii_text_hashes_the_same_as_its_escapes() -> None:
    item = entry(AuditKind.LOOKUP, actor=Actor("U1"), subject="fichier-été.exe")
    record = seal(item, seq=1, time_us=T0, prev_hash=GENESIS)
    assert record.intact()
    assert "\\u00e9" in json.dumps(record.fields(), sort_keys=True)


def test_iso_time_keeps_microseconds_and_utc() -> None:
    assert iso_time(0) == "1970-01-01T00:00:00.000000Z"
    assert iso_time(1_712_345_678_123_456) == "2024-04-05T19:34:38.123456Z"


# ----------------------------------------------------------------- bounds and secrets


def test_long_text_is_cut_and_marked() -> None:
    item = entry(AuditKind.LOOKUP, actor=Actor("U" * 500), subject="x" * 10_000)
    assert len(item.subject) == MAX_SUBJECT
    assert item.subject.endswith(CUT)
    assert len(item.actor.user) == 64


def test_details_become_plain_bounded_json() -> None:
    details = {
        "long": "y" * 5000,
        "many": list(range(MAX_ITEMS + 5)),
        "nan": math.nan,
        "set": {3},
        "deep": {"a": {"b": {"c": {"d": {"e": {"f": {"g": 1}}}}}}},
        7: "a non-text key",
    }
    plain = entry(AuditKind.LOOKUP, actor=Actor("U1"), details=details).details
    assert len(plain["long"]) == MAX_TEXT
    assert plain["many"][-1] == f"{CUT} 5 more"
    assert len(plain["many"]) == MAX_ITEMS + 1
    assert plain["nan"] == "nan"
    assert plain["set"] == [3]
    assert plain["deep"]["a"]["b"]["c"]["d"]["e"] == CUT
    assert plain["7"] == "a non-text key"
    json.dumps(plain, allow_nan=False)  # plain JSON throughout


def test_details_too_big_keep_only_their_keys() -> None:
    details = {f"k{i}": "z" * 900 for i in range(40)}
    kept = entry(AuditKind.LOOKUP, actor=Actor("U1"), details=details).details
    assert kept[CUT]["bytes"] > MAX_DETAILS_BYTES
    assert kept[CUT]["keys"][:2] == ["k0", "k1"]


def test_secrets_and_response_urls_are_never_stored() -> None:
    response_url = "https://hooks.slack.com/commands/T0001/123/abcDEF"
    item = entry(
        AuditKind.REFUSAL,
        actor=Actor("U1"),
        subject="xoxb-1111-2222-secretsecret",
        details={
            "response_url": response_url,
            "client_secret": "s3cr3t-value",
            "nested": [{"note": f"posted to {response_url}"}],
            "reason": "not allowed",
        },
    )
    stored = json.dumps(dataclasses.asdict(item))
    for secret in ("hooks.slack.com", "s3cr3t-value", "xoxb-"):
        assert secret not in stored
    assert item.details["reason"] == "not allowed"


def test_an_unknown_kind_is_refused_at_append() -> None:
    with pytest.raises(ValueError, match="fishing"):
        entry("fishing", actor=Actor("U1"))  # type: ignore[arg-type]


# ------------------------------------------------------------------- the chain walker


def test_an_intact_chain_verifies_and_ends_at_its_last_record() -> None:
    records = chain(5)
    report = verify_chain(records, head=Head(5, records[-1].hash))
    assert report.ok
    assert (report.records, report.last) == (5, Head(5, records[-1].hash))
    assert verify_chain([]).ok


def test_an_empty_chain_whose_head_says_otherwise_is_truncated() -> None:
    report = verify_chain([], head=Head(3, "a" * 64))
    assert report.problem is not None
    assert (report.problem.kind, report.problem.seq) == (BreakKind.TRUNCATED, 1)


def _tampered(how: str) -> tuple[list[AuditRecord], Head]:
    """A chain of 6 tampered with as `how` says, and its head as the store noted it."""
    records = chain(6)
    head = Head(6, records[-1].hash)
    if how == "changed":
        records[2] = dataclasses.replace(records[2], subject="10.9.9.9")
    elif how == "deleted":
        del records[3]
    elif how == "inserted":  # a forged record at seq 3, the rest renumbered after it
        forged = resealed(records[2], subject="10.6.6.6", prev_hash=records[1].hash)
        shifted = [dataclasses.replace(r, seq=r.seq + 1) for r in records[2:]]
        records = [*records[:2], forged, *shifted]
    elif how == "reordered":  # seq 2 and seq 4 swap their places
        two, four = records[1], records[3]
        records[1], records[3] = (
            dataclasses.replace(four, seq=2),
            dataclasses.replace(two, seq=4),
        )
    elif how == "replaced":  # seq 4 changed and re-hashed
        records[3] = resealed(records[3], subject="10.6.6.6")
    elif how == "truncated":
        records = records[:4]
    elif how == "appended":  # a well-formed record added outside the store
        item = entry(AuditKind.LOOKUP, actor=Actor("U9"), subject="forged")
        records.append(seal(item, seq=7, time_us=T0 + 7_000_000, prev_hash=records[-1].hash))
    return records, head


@pytest.mark.parametrize(
    ("how", "kind", "seq"),
    [
        ("changed", BreakKind.CHANGED, 3),
        ("deleted", BreakKind.MISSING, 4),
        ("inserted", BreakKind.CHANGED, 4),  # the forged seq 3 fits; the moved seq 4 does not
        ("reordered", BreakKind.CHANGED, 2),
        ("replaced", BreakKind.UNLINKED, 5),
        ("truncated", BreakKind.TRUNCATED, 5),
        ("appended", BreakKind.EXTRA, 7),
    ],
)
def test_each_kind_of_tampering_is_named_at_its_first_broken_link(
    how: str, kind: BreakKind, seq: int
) -> None:
    records, head = _tampered(how)
    report = verify_chain(records, head=head)
    assert report.problem is not None
    assert (report.problem.kind, report.problem.seq) == (kind, seq)
    assert report.last.seq == seq - 1  # every record before the break was intact
    assert f"seq {seq}" in report.summary()


def test_a_tail_cut_with_its_head_rewound_is_found_only_by_an_anchor() -> None:
    """The limit of a hash chain: without an anchor kept outside the database, deleting the
    last records and moving the head back looks like a shorter, intact chain."""
    records = chain(6)
    published = Head(6, records[-1].hash)  # the `audit` log line of seq 6
    cut = records[:4]
    assert verify_chain(cut, head=Head(4, cut[-1].hash)).ok
    report = verify_chain(cut, head=Head(4, cut[-1].hash), anchors=[published])
    assert report.problem is not None
    assert (report.problem.kind, report.problem.seq) == (BreakKind.TRUNCATED, 5)


def test_an_anchor_that_differs_from_the_stored_record_breaks_the_chain() -> None:
    records = chain(3)
    report = verify_chain(records, anchors=[Head(2, "b" * 64)])
    assert report.problem is not None
    assert (report.problem.kind, report.problem.seq) == (BreakKind.ANCHOR, 2)
    assert verify_chain(records, anchors=[Head(2, records[1].hash)]).ok


def test_a_head_with_another_hash_for_the_last_record_breaks_the_chain() -> None:
    records = chain(3)
    report = verify_chain(records, head=Head(3, "c" * 64))
    assert report.problem is not None
    assert (report.problem.kind, report.problem.seq) == (BreakKind.UNLINKED, 3)


def test_anchors_are_read_as_logged() -> None:
    digest = "AB" * 32
    assert parse_anchor(f" 12:{digest} ") == Head(12, digest.lower())
    for wrong in ("12", "x:" + digest, "12:abc", f"-1:{digest}"):
        with pytest.raises(InputError):
            parse_anchor(wrong)


PURE = ("bot.audit.records", "bot.audit.chain", "bot.audit.events", "bot.audit.export")
DATABASE_DRIVERS = ("sqlalchemy", "alembic", "aiosqlite", "asyncpg")


def test_the_pure_audit_modules_import_no_database_and_no_settings(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """tests/test_purity.py's check, on these modules, with the database drivers forbidden too."""
    monkeypatch.setattr(test_purity, "PURE", PURE)
    monkeypatch.setattr(test_purity, "IMPURE", (*test_purity.IMPURE, *DATABASE_DRIVERS))
    test_purity.test_pure_modules_import_no_io_and_no_settings()
