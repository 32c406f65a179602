"""PURE: walking a chain of audit records and naming its first broken link (docs/audit.md).

`ChainCheck` is fed the records in sequence order, one at a time (so a store can stream a chain
of any length through it), and stops at the first problem:

    MISSING     a sequence number is skipped: records were deleted
    CHANGED     a record's content no longer matches its own hash: a field was edited, or the
                record was moved to another sequence number (the number is hashed too)
    UNLINKED    a record's prev_hash is not the hash of the record before it: that one was
                replaced by another with a recomputed hash, or this one was inserted
    EXTRA       a record lies beyond the chain's head: it was added outside the store
    TRUNCATED   the head (or an anchor) names more records than there are: the tail is gone
    ANCHOR      a hash published elsewhere (the `audit` log event) differs from the stored one
    UNREADABLE  a stored value cannot be read at all

The head is the store's own note of the last sequence number and hash, updated with every
append. Someone who can write to the database can rewrite the tail and the head together and
recompute every hash after their change: only an anchor kept outside the database (a later
record's seq and hash, as logged) tells that apart from the truth.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from bot.audit.records import GENESIS, AuditRecord
from bot.errors import InputError

_ANCHOR = re.compile(r"^\s*(\d{1,18})\s*:\s*([0-9a-fA-F]{64})\s*$")


class BreakKind(StrEnum):
    MISSING = "missing"
    CHANGED = "changed"
    UNLINKED = "unlinked"
    EXTRA = "extra"
    TRUNCATED = "truncated"
    ANCHOR = "anchor"
    UNREADABLE = "unreadable"


@dataclass(frozen=True, slots=True)
class Break:
    """The first broken link: what is wrong, and at which sequence number."""

    kind: BreakKind
    seq: int
    message: str


@dataclass(frozen=True, slots=True)
class Head:
    """The last record's sequence number and hash: as the store notes it, or as published."""

    seq: int
    hash: str


@dataclass(frozen=True, slots=True)
class ChainReport:
    records: int  # how many were checked before the walk stopped
    last: Head  # the last intact record (seq 0 and GENESIS before the first)
    problem: Break | None

    @property
    def ok(self) -> bool:
        return self.problem is None

    def summary(self) -> str:
        if self.problem is None:
            return (
                f"intact: {self.records} records, last seq {self.last.seq}, hash {self.last.hash}"
            )
        return f"broken at seq {self.problem.seq} ({self.problem.kind}): {self.problem.message}"


def parse_anchor(text: str) -> Head:
    """`"SEQ:HASH"` (as the `audit` log event gives them) → a `Head` to check against."""
    match = _ANCHOR.match(text)
    if match is None:
        raise InputError(
            f"{text!r} is not an anchor", hint="give SEQ:HASH, e.g. 1234:<64 hex digits>"
        )
    return Head(int(match.group(1)), match.group(2).lower())


class ChainCheck:
    """Checks records fed in sequence order; `head` is the store's note of the chain's end
    (None: not checked), `anchors` are (seq, hash) pairs published elsewhere."""

    def __init__(self, head: Head | None = None, anchors: Iterable[Head] = ()) -> None:
        self._head = head
        self._anchors = {a.seq: a.hash for a in anchors}
        self._last = Head(0, GENESIS)
        self._count = 0
        self.problem: Break | None = None

    def feed(self, record: AuditRecord) -> bool:
        """Check the next record; False once the chain is broken (feed no more)."""
        if self.problem is None:
            self.problem = self._check(record)
            if self.problem is None:
                self._last = Head(record.seq, record.hash)
                self._count += 1
        return self.problem is None

    def unreadable(self, seq: int, why: str) -> None:
        """The record stored as `seq` could not be read."""
        if self.problem is None:
            self.problem = Break(BreakKind.UNREADABLE, seq, why)

    def finish(self) -> ChainReport:
        if self.problem is None:
            self.problem = self._check_end()
        return ChainReport(records=self._count, last=self._last, problem=self.problem)

    def _check(self, record: AuditRecord) -> Break | None:
        expected = self._last.seq + 1
        seq = record.seq
        if seq < expected:
            return Break(BreakKind.UNLINKED, seq, f"seq {seq} comes after seq {self._last.seq}")
        if self._head is not None and seq > self._head.seq:
            return Break(
                BreakKind.EXTRA,
                seq,
                f"the chain's head is seq {self._head.seq}: this record was added outside the "
                "store",
            )
        if seq > expected:
            gone = f"seq {expected}" if seq == expected + 1 else f"seqs {expected} to {seq - 1}"
            return Break(BreakKind.MISSING, expected, f"{gone} missing: deleted")
        if not record.intact():
            return Break(
                BreakKind.CHANGED,
                seq,
                "its content does not match its hash: a field was changed, or the record was "
                "moved here from another seq",
            )
        if record.prev_hash != self._last.hash:
            before = "the genesis value" if seq == 1 else f"the hash of seq {seq - 1}"
            return Break(
                BreakKind.UNLINKED,
                seq,
                f"its prev_hash is not {before}: the record before it was replaced, or this "
                "one was inserted",
            )
        published = self._anchors.get(seq)
        if published is not None and published != record.hash:
            return Break(BreakKind.ANCHOR, seq, f"its hash is not the published {published}")
        return None

    def _check_end(self) -> Break | None:
        last = self._last
        head = self._head
        if head is not None and head.seq > last.seq:
            return Break(
                BreakKind.TRUNCATED,
                last.seq + 1,
                f"the chain's head is seq {head.seq} but the records end at seq {last.seq}",
            )
        if head is not None and head.hash != last.hash:
            return Break(
                BreakKind.UNLINKED,
                last.seq,
                "the chain's head notes another hash for this last record: it was replaced",
            )
        beyond = sorted(seq for seq in self._anchors if seq > last.seq)
        if beyond:
            return Break(
                BreakKind.TRUNCATED,
                last.seq + 1,
                f"seq {beyond[-1]} was published but the records end at seq {last.seq}",
            )
        return None


def verify_chain(
    records: Iterable[AuditRecord], head: Head | None = None, anchors: Iterable[Head] = ()
) -> ChainReport:
    """Walk `records` (in sequence order) and report the first broken link."""
    check = ChainCheck(head, anchors)
    for record in records:
        if not check.feed(record):
            break
    return check.finish()
