"""The labelled dev corpus as a regression test, and the hostile inputs as a time bound.

Floors sit just under what the extractor achieves (overall F1 0.998 on 120 messages), so that a
change that costs a hit or adds a false positive somewhere is noticed. The scorer is the one the
benchmark uses (`bench.scoring`), so both report the same numbers.
"""

from __future__ import annotations

import time

import pytest

from bench.extraction import hostile_inputs
from bench.scoring import BUCKETS, load_corpus, score_corpus
from bot.indicators import extract, refang

OVERALL_F1_FLOOR = 0.995
BUCKET_F1_FLOOR = 0.98


def test_dev_corpus_f1_floor() -> None:
    records = load_corpus()
    found = [[(i.type.value, i.value) for i in extract(str(r["text"])).indicators] for r in records]
    score = score_corpus(records, found)
    report = "\n".join(f"{b}: {score.per_bucket[b].f1:.3f}" for b in BUCKETS)
    misses = f"misses {score.misses}, false positives {score.false_positives}"
    assert score.overall().f1 >= OVERALL_F1_FLOOR, f"{report}\n{misses}"
    for bucket in BUCKETS:
        assert score.per_bucket[bucket].f1 >= BUCKET_F1_FLOOR, f"{report}\n{misses}"


def test_scorer_counts_alternatives_allowances_and_false_positives() -> None:
    """The scorer itself: one hit per expected group, allowed values free, the rest false."""
    record = {
        "id": "t",
        "expect": {"filename": [["Quarterly Report.xlsm", "Report.xlsm"]], "domain": ["a.com"]},
        "allow": {"hostname": ["wiki.corp.contoso.com"]},
    }
    found = [
        ("filename", "report.XLSM"),
        ("hostname", "wiki.corp.contoso.com"),
        ("domain", "b.com"),
        ("ipv4", "010.0.0.1"),
    ]
    score = score_corpus([record], [found])
    assert (score.per_bucket["filename"].tp, score.per_bucket["filename"].fp) == (1, 0)
    assert (score.per_bucket["fqdn"].tp, score.per_bucket["fqdn"].fn) == (0, 1)
    assert score.per_bucket["fqdn"].fp == 1  # b.com; the allowed hostname is free
    assert score.false_positives == [("t", "fqdn", "b.com"), ("t", "ipv4", "10.0.0.1")]


@pytest.mark.parametrize(("label", "text"), list(hostile_inputs().items()))
def test_hostile_inputs_finish_quickly(label: str, text: str) -> None:
    """Catastrophic backtracking would take minutes here; linear scanning takes milliseconds."""
    started = time.perf_counter()
    extract(text)
    refang(text)
    assert time.perf_counter() - started < 2.0, label


@pytest.mark.parametrize(
    "text",
    [
        "<" * 100_000,
        "<a|" * 100_000,
        "http://" * 50_000,
        "http://a.com/" + ")" * 200_000,
        "a-" * 100_000,
        "1:" * 100_000,
        "(" * 200_000,
        "a . " * 50_000,
        "\\\\a" * 100_000,
        "a@" * 100_000,
        "1.1.1.1 " * 50_000,
        "x" * 1_000_000,
        "http://a.com/](" * 30_000,
        "http://a.com/\u276f" * 30_000,
        "http://a.com/x\u3002" * 30_000,
        "a[." * 100_000,
        "a.]" * 100_000,
        "a (.) " * 50_000,
        "a\\." * 100_000,
        "on A1 " * 50_000,
        "arn:aws:" + "a-1/" * 100_000,
    ],
    ids=lambda t: repr(t[:12]),
)
def test_more_hostile_shapes_finish_quickly(text: str) -> None:
    started = time.perf_counter()
    extract(text)
    assert time.perf_counter() - started < 2.0
