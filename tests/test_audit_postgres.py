"""The audit store on PostgreSQL, through the same code and the same checks as on SQLite:
migrations, concurrent writers (tasks, two engines, two processes), the append-only triggers
and every kind of tampering. Against the real PostgreSQL of `tests.servers`, a fresh database
per test."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.audit.chain import BreakKind
from tests.test_audit_concurrency import many_tasks, two_processes, two_stores
from tests.test_audit_store import TAMPERING, Tamper, refuses_changes, rewound_tail, tampered_report


@pytest.fixture
def pg_url(postgres_url: str) -> str:
    """An empty database of the session's PostgreSQL, for this test alone."""
    return postgres_url


async def test_many_tasks_keep_one_chain(pg_url: str) -> None:
    await many_tasks(pg_url)


async def test_two_engines_keep_one_chain(pg_url: str) -> None:
    await two_stores(pg_url)


async def test_two_processes_keep_one_chain(pg_url: str, tmp_path: Path) -> None:
    await two_processes(pg_url, tmp_path / "gate")


async def test_the_database_refuses_to_change_or_delete_a_record(pg_url: str) -> None:
    await refuses_changes(pg_url)


@pytest.mark.parametrize(
    ("tamper", "kind", "seq"), TAMPERING, ids=[t.__name__.strip("_") for t, _, _ in TAMPERING]
)
async def test_verify_names_the_first_broken_link(
    pg_url: str, tamper: Tamper, kind: BreakKind, seq: int
) -> None:
    report = await tampered_report(pg_url, tamper)
    assert report.problem is not None
    assert (report.problem.kind, report.problem.seq) == (kind, seq)


async def test_a_rewound_tail_is_found_against_a_logged_anchor(pg_url: str) -> None:
    alone, anchored = await rewound_tail(pg_url)
    assert alone
    assert anchored.problem is not None
    assert anchored.problem.kind == BreakKind.TRUNCATED
