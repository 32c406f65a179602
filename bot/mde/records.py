"""PURE: MDE records read so that one odd field never costs the whole record.

`parse_record` validates a raw record (decoded JSON) against an MDE model. When that fails, it
leaves out exactly the fields pydantic names (its errors' `loc`s, wire names), validates again,
and says which fields it left out: a record is then *partly readable*. A field a model requires
that is left out takes its object with it (an evidence item without a type), up to the record
itself: a record with no usable `id` (or a file profile with no hash), or one that is not a
JSON object at all, is *unreadable*, and comes back as `Unreadable` with the reason.

`parse_rows` does this for a list of records and counts both kinds, for the caller to tell the
user ("2 of 40 alerts were only partly readable").
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

M = TypeVar("M", bound=BaseModel)

Loc = tuple[str | int, ...]

# Each pass leaves out at least one field: a bound on passes only guards against a model whose
# errors never shrink.
_MAX_PASSES = 32


@dataclass(frozen=True, slots=True)
class Parsed(Generic[M]):
    """A record that could be read; `dropped` names the fields left out to read it, as paths
    in MDE's own names (`evidence[2].processId`), empty when it was read whole."""

    record: M
    dropped: tuple[str, ...] = ()

    @property
    def partly_readable(self) -> bool:
        return bool(self.dropped)


@dataclass(frozen=True, slots=True)
class Unreadable:
    """A record that could not be read at all, and why (our words and MDE's field names)."""

    reason: str


@dataclass(frozen=True, slots=True)
class RowProblem:
    """Where in a list a record was unreadable (`reason`) or partly readable (`dropped`)."""

    index: int
    reason: str | None = None
    dropped: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Readability:
    """How many records of one or more answers could not be read, or only in part."""

    unreadable: int = 0
    partly_readable: int = 0

    def __add__(self, other: Readability) -> Readability:
        return Readability(
            self.unreadable + other.unreadable, self.partly_readable + other.partly_readable
        )

    def __bool__(self) -> bool:
        return bool(self.unreadable or self.partly_readable)


@dataclass(frozen=True, slots=True)
class Rows(Generic[M]):
    """The records of a list that could be read, in order, and what could not be."""

    records: tuple[M, ...] = ()
    problems: tuple[RowProblem, ...] = ()

    def __iter__(self) -> Iterator[M]:
        return iter(self.records)

    def __len__(self) -> int:
        return len(self.records)

    @classmethod
    def joined(cls, parts: Iterable[Rows[M]]) -> Rows[M]:
        """Several answers' rows as one (the problems keep each answer's own indices)."""
        records: list[M] = []
        problems: list[RowProblem] = []
        for part in parts:
            records += part.records
            problems += part.problems
        return cls(tuple(records), tuple(problems))

    @property
    def complete(self) -> bool:
        """Every record could be read, if only in part: an answer worth keeping."""
        return not self.unreadable

    @property
    def readability(self) -> Readability:
        return Readability(self.unreadable, self.partly_readable)

    @property
    def partly_readable(self) -> int:
        return sum(1 for p in self.problems if p.reason is None)

    @property
    def unreadable(self) -> int:
        return sum(1 for p in self.problems if p.reason is not None)

    def summary(self, noun: str = "records") -> str | None:
        """`2 of 40 alerts were only partly readable; 1 could not be read`, or None when every
        record was read whole. `noun` is the plural for what the rows are."""
        total = len(self.records) + self.unreadable
        parts = []
        if self.partly_readable:
            were = "was" if self.partly_readable == 1 else "were"
            parts.append(f"{self.partly_readable} of {total} {noun} {were} only partly readable")
        if self.unreadable:
            could = f"{self.unreadable} of {total} {noun}" if not parts else f"{self.unreadable}"
            parts.append(f"{could} could not be read")
        return "; ".join(parts) or None


def parse_record(model: type[M], raw: object) -> Parsed[M] | Unreadable:
    """`raw` as a `model`, leaving out the fields that do not fit (see the module doc)."""
    if not isinstance(raw, Mapping):
        return Unreadable(not_an_object(raw))
    data: Any = raw
    dropped: list[str] = []
    for _ in range(_MAX_PASSES):
        try:
            return Parsed(model.model_validate(data), tuple(dropped))
        except ValidationError as exc:
            errors = exc.errors(include_url=False, include_context=False, include_input=False)
            if data is raw:
                data = copy.deepcopy(dict(raw))
            targets = _drop_targets(data, errors)
            if not targets or () in targets:
                return Unreadable(_root_reason(errors))
            for path in sorted(targets, key=_list_items_last_first):
                _remove(data, path)
            dropped.extend(_path_text(path) for path in sorted(targets, key=_path_text))
    return Unreadable("too many fields that could not be read")


def parse_rows(model: type[M], rows: Sequence[object]) -> Rows[M]:
    """Every row of `rows` as a `model`, except those that are unreadable."""
    records: list[M] = []
    problems: list[RowProblem] = []
    for index, row in enumerate(rows):
        outcome = parse_record(model, row)
        if isinstance(outcome, Unreadable):
            problems.append(RowProblem(index, reason=outcome.reason))
            continue
        records.append(outcome.record)
        if outcome.dropped:
            problems.append(RowProblem(index, dropped=outcome.dropped))
    return Rows(tuple(records), tuple(problems))


def _drop_targets(data: Any, errors: list[ErrorDetails]) -> set[Loc]:
    """The paths in `data` to leave out: each error's own field, or for a missing required
    field its object; an error that cannot be pinned below the record is the record's."""
    targets: set[Loc] = set()
    for error in errors:
        loc = tuple(error["loc"])
        if error["type"] == "missing":
            loc = loc[:-1]
        targets.add(_resolve(data, loc))
    # a path inside another one being left out goes with it
    return {t for t in targets if not any(t[: len(o)] == o and t != o for o in targets)}


def _resolve(data: Any, loc: Loc) -> Loc:
    """The longest prefix of `loc` that exists in `data`, as keys of `data` itself: wire names
    are matched whatever their case, and an object MDE sent in place of a list of one stands
    for that list's item 0."""
    path: list[str | int] = []
    node = data
    for part in loc:
        if isinstance(node, Mapping):
            if part == 0:  # one object where a list was expected: it is item 0
                continue
            key = _key_in(node, part)
            if key is None:
                break
            path.append(key)
            node = node[key]
        elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
            path.append(part)
            node = node[part]
        else:
            break
    return tuple(path)


def _key_in(node: Mapping[str, Any], part: str | int) -> str | None:
    if not isinstance(part, str):
        return None
    if part in node:
        return part
    folded = part.lower()
    return next((k for k in node if isinstance(k, str) and k.lower() == folded), None)


def _remove(data: Any, path: Loc) -> None:
    *parents, last = path
    node = data
    for part in parents:
        node = node[part]
    del node[last]


def _list_items_last_first(path: Loc) -> tuple[Any, ...]:
    """Removal order: deeper first, and a list's later items before its earlier ones, so that
    each path still points where it did."""
    return (-len(path), *(-p if isinstance(p, int) else 0 for p in path))


def _path_text(path: Loc) -> str:
    """`("evidence", 2, "processId")` → `evidence[2].processId`."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return text


def _root_reason(errors: list[ErrorDetails]) -> str:
    """Why a record is unreadable, from the errors that concern the record itself."""
    reasons = []
    for error in errors:
        loc = tuple(error["loc"])
        if error["type"] == "missing" and len(loc) == 1:
            reasons.append(f"no {loc[0]}")
        elif len(loc) <= 1:
            where = f"{loc[0]}: " if loc else ""
            reasons.append(where + error["msg"].removeprefix("Value error, "))
    return "; ".join(dict.fromkeys(reasons)) or "no field could be read"


def not_an_object(value: object) -> str:
    """Why a record that is no JSON object is unreadable: `not a JSON object but an array`."""
    names = {list: "an array", str: "a string", bool: "a boolean", type(None): "null"}
    kind = names.get(type(value), "a number" if isinstance(value, int | float) else "a value")
    return f"not a JSON object but {kind}"
