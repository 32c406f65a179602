"""Score indicator extractors against the labelled corpus (`tests/corpus/LABELS.md`).

Independent of the extractor under test: values are brought to the corpus's normal forms here, so
ours and the peers' outputs are judged by the same rules.

- `expect[type]` lists values that must be found; an item may be a list of alternatives, any one
  of which satisfies it (finding several of them is one hit, not false positives).
- `allow[type]` lists values that may be found or not.
- anything else found is a false positive.
- `domain` and dotted `hostname` are one bucket, `fqdn`; single-label `hostname` is `hostname`.
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

CORPUS = Path(__file__).resolve().parent.parent / "tests" / "corpus" / "indicators-dev.jsonl"
BUCKETS = ("ipv4", "ipv6", "fqdn", "hostname", "url", "md5", "sha1", "sha256", "filename")

Found = Iterable[tuple[str, str]]  # (type, value) pairs as an extractor reports them


@dataclass
class Counts:
    tp: int = 0
    fp: int = 0
    fn: int = 0

    def add(self, other: Counts) -> None:
        self.tp += other.tp
        self.fp += other.fp
        self.fn += other.fn

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0


@dataclass
class Score:
    per_bucket: dict[str, Counts] = field(default_factory=lambda: {b: Counts() for b in BUCKETS})
    # (message id, bucket, value) for every miss and false positive, to read when tuning.
    misses: list[tuple[str, str, str]] = field(default_factory=list)
    false_positives: list[tuple[str, str, str]] = field(default_factory=list)

    def overall(self, buckets: Iterable[str] = BUCKETS) -> Counts:
        total = Counts()
        for b in buckets:
            total.add(self.per_bucket[b])
        return total


def load_corpus(path: Path = CORPUS) -> list[dict[str, object]]:
    with path.open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def bucket_of(kind: str, value: str) -> str:
    if kind in ("domain", "hostname"):
        return "fqdn" if "." in value.strip(".") else "hostname"
    return kind


def normal(bucket: str, value: str) -> str:
    """The corpus's normal form of a value, tolerant of how different tools print it."""
    v = value.strip()
    if bucket == "ipv4":
        parts = v.split(".")
        if len(parts) == 4 and all(p.isdigit() for p in parts):
            return ".".join(str(int(p)) for p in parts)
        return v
    if bucket == "ipv6":
        try:
            return ipaddress.ip_address(v.partition("%")[0]).compressed
        except ValueError:
            return v.lower()
    if bucket == "url":
        scheme, sep, rest = v.partition("://")
        if not sep:
            return v
        cut = min((i for i in (rest.find(c) for c in "/?#") if i >= 0), default=len(rest))
        return f"{scheme.lower()}://{rest[:cut].lower()}{rest[cut:]}"
    return v.lower().rstrip(".") if bucket in ("fqdn", "hostname") else v.lower()


def _group(values: object, kind: str) -> list[list[tuple[str, str]]]:
    groups: list[list[tuple[str, str]]] = []
    for item in values if isinstance(values, list) else ():
        alts = item if isinstance(item, list) else [item]
        group = []
        for alt in alts:
            b = bucket_of(kind, str(alt))
            group.append((b, normal(b, str(alt))))
        groups.append(group)
    return groups


def score_message(
    record: Mapping[str, object], found: Found, buckets: Sequence[str] = BUCKETS
) -> Score:
    """Score one message. Only `buckets` are counted (peers are judged on what they support)."""
    expect = record.get("expect") or {}
    allow = record.get("allow") or {}
    assert isinstance(expect, dict)
    assert isinstance(allow, dict)
    groups = [g for kind, vals in expect.items() for g in _group(vals, kind)]
    allowed = {alt for kind, vals in allow.items() for g in _group(vals, kind) for alt in g}
    expected_any = {alt for g in groups for alt in g}
    got = {(b, normal(b, v)) for kind, v in found for b in (bucket_of(kind, v),)}
    score = Score()
    rid = str(record.get("id"))
    for group in groups:
        b = group[0][0]
        if b not in buckets:
            continue
        if any(alt in got for alt in group):
            score.per_bucket[b].tp += 1
        else:
            score.per_bucket[b].fn += 1
            score.misses.append((rid, b, group[0][1]))
    for b, v in sorted(got):
        if b in buckets and (b, v) not in expected_any and (b, v) not in allowed:
            score.per_bucket[b].fp += 1
            score.false_positives.append((rid, b, v))
    return score


def score_corpus(
    records: Iterable[Mapping[str, object]],
    results: Iterable[Found],
    buckets: Sequence[str] = BUCKETS,
) -> Score:
    total = Score()
    for record, found in zip(records, results, strict=True):
        one = score_message(record, found, buckets)
        for b in BUCKETS:
            total.per_bucket[b].add(one.per_bucket[b])
        total.misses.extend(one.misses)
        total.false_positives.extend(one.false_positives)
    return total
