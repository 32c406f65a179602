"""The audit store on SQLite: it migrates at open, appends sealed records stamped by the
injected clock and logs each one, lists them by time, refuses to change or delete a record,
and its `verify` names the first broken link after each kind of tampering done in SQL.

The helpers taking a URL are shared with tests/test_audit_postgres.py, which runs them
against PostgreSQL when one is given."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import inspect, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine
from structlog.testing import capture_logs

from bot.audit import schema
from bot.audit import store as store_module
from bot.audit.chain import BreakKind, Head
from bot.audit.database import DatabaseUnavailable, check_revision, migrate, open_engine
from bot.audit.records import Actor, AuditKind, AuditRecord, Detail, Place, entry, seal
from bot.audit.store import AuditStore
from bot.retry import RetryPolicy

START = 1_700_000_000.0  # the fake clock's first reading (2023-11-14T22:13:20Z)


class Clock:
    """Seconds since the epoch, one further on at every reading."""

    def __init__(self, start: float = START) -> None:
        self.now = start

    def __call__(self) -> float:
        self.now += 1.0
        return self.now


def sqlite_url(tmp_path: Path) -> str:
    return str(tmp_path / "audit.sqlite3")


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[AuditStore]:
    async with await AuditStore.open(sqlite_url(tmp_path), clock=Clock()) as opened:
        yield opened


async def fill(store: AuditStore, n: int) -> list[AuditRecord]:
    return [
        await store.append(
            AuditKind.LOOKUP,
            actor=Actor("U0001", "T0001"),
            place=Place("C0001", "1700000000.000100"),
            tenants=["contoso"],
            subject=f"10.0.0.{i}",
            details={Detail.FOUND: {"devices": i}},
        )
        for i in range(1, n + 1)
    ]


async def all_records(store: AuditStore, **query: Any) -> list[AuditRecord]:
    return [record async for record in store.records(**query)]


# ------------------------------------------------------------------ opening, appending


async def test_open_migrates_once_and_again_is_a_no_op(tmp_path: Path) -> None:
    url = sqlite_url(tmp_path)
    async with await AuditStore.open(url) as first:
        await fill(first, 2)
    async with await AuditStore.open(url) as again:
        assert [r.seq for r in await all_records(again)] == [1, 2]
        assert (await again.verify()).ok


async def test_several_processes_opening_a_new_database_at_once_migrate_it_once(
    tmp_path: Path,
) -> None:
    url = sqlite_url(tmp_path)
    stores = await asyncio.gather(*(AuditStore.open(url) for _ in range(4)))
    try:
        assert await stores[0].head() == Head(0, "0" * 64)
    finally:
        for opened in stores:
            await opened.close()


async def test_append_seals_stamps_and_chains(store: AuditStore) -> None:
    first, second = await fill(store, 2)
    assert (first.seq, second.seq) == (1, 2)
    assert first.prev_hash == "0" * 64
    assert second.prev_hash == first.hash
    assert first.time == datetime(2023, 11, 14, 22, 13, 21, tzinfo=UTC)
    assert second.time_us - first.time_us == 1_000_000
    assert await all_records(store) == [first, second]
    assert await store.head() == Head(2, second.hash)


async def test_each_record_is_logged_as_an_audit_event_without_secrets(
    store: AuditStore,
) -> None:
    with capture_logs() as logged:
        record = await store.append(
            AuditKind.ACTION_REQUESTED,
            actor=Actor("U0001", "T0001"),
            place=Place("C0001"),
            tenants=["contoso"],
            subject="dev-1",
            details={
                Detail.ACTION: "Isolate",
                "response_url": "https://hooks.slack.com/actions/T1/2/xyz",
            },
        )
    [event] = [e for e in logged if e["event"] == "audit"]
    assert (event["seq"], event["hash"], event["kind"]) == (1, record.hash, "action_requested")
    assert (event["user"], event["channel"], event["subject"]) == ("U0001", "C0001", "dev-1")
    assert event["details"]["action"] == "Isolate"
    assert "hooks.slack.com" not in json.dumps(event)


async def test_records_since_a_time_and_after_a_seq(store: AuditStore) -> None:
    await fill(store, 5)  # at START+1 … START+5 seconds
    since = datetime.fromtimestamp(START + 3, tz=UTC)
    assert [r.seq for r in await all_records(store, since=since)] == [3, 4, 5]
    assert [r.seq for r in await all_records(store, after_seq=4)] == [5]


async def test_listing_and_verifying_read_page_by_page(
    store: AuditStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(store_module, "PAGE", 3)
    records = await fill(store, 10)
    assert await all_records(store) == records
    report = await store.verify()
    assert report.ok
    assert report.records == 10


# --------------------------------------------------------------------- failures


async def test_a_reader_never_creates_a_database(tmp_path: Path) -> None:
    missing = tmp_path / "none.sqlite3"
    with pytest.raises(DatabaseUnavailable, match="no database at"):
        await AuditStore.open(str(missing), migrate_schema=False)
    assert not missing.exists()


async def test_a_database_without_the_trail_or_at_another_revision_is_unavailable(
    tmp_path: Path,
) -> None:
    other = tmp_path / "other.sqlite3"
    engine = open_engine(str(other))
    try:
        async with engine.begin() as connection:
            await connection.execute(text("CREATE TABLE unrelated (x INTEGER)"))
        with pytest.raises(DatabaseUnavailable, match="no tables of this kind"):
            await AuditStore.open(str(other), migrate_schema=False)
        async with await AuditStore.open(engine):
            pass
        async with engine.begin() as connection:
            await connection.execute(text("UPDATE alembic_version_audit SET version_num = 'x9'"))
        with pytest.raises(DatabaseUnavailable, match="revision x9"):
            await AuditStore.open(str(other), migrate_schema=False)
    finally:
        await engine.dispose()


async def test_a_database_in_a_missing_folder_is_unavailable(tmp_path: Path) -> None:
    with pytest.raises(DatabaseUnavailable, match="its folder does not exist"):
        await AuditStore.open(str(tmp_path / "no" / "such" / "audit.sqlite3"))


async def test_an_unreachable_database_is_unavailable_without_driver_text() -> None:
    """Nothing listens on port 9 of loopback; the password is not shown."""
    url = "postgresql://audit:hunter2@127.0.0.1:9/audit"
    with pytest.raises(DatabaseUnavailable) as caught:
        await AuditStore.open(url)
    assert str(caught.value).startswith("cannot migrate the database postgresql+asyncpg://")
    assert "hunter2" not in str(caught.value)
    assert "refused" not in str(caught.value).lower()


async def test_an_append_that_keeps_failing_is_reported(
    store: AuditStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(store_module, "APPEND_RETRIES", RetryPolicy(2, 0.001))
    async with unprotected(sqlite_url(tmp_path)) as engine, engine.begin() as connection:
        await connection.execute(text("DROP TABLE audit_records"))
    with pytest.raises(DatabaseUnavailable, match="cannot write to the audit trail"):
        await fill(store, 1)


# ------------------------------------------------------------------ append-only, tamper


async def refuses_changes(url: str) -> None:
    """The database itself refuses to update or delete a record."""
    async with await AuditStore.open(url, clock=Clock()) as opened:
        await fill(opened, 2)
    engine = open_engine(url)
    try:
        for statement in (
            "UPDATE audit_records SET subject = 'x' WHERE seq = 1",
            "DELETE FROM audit_records WHERE seq = 2",
        ):
            with pytest.raises(DBAPIError, match="append-only"):
                async with engine.begin() as connection:
                    await connection.execute(text(statement))
    finally:
        await engine.dispose()


async def test_the_database_refuses_to_change_or_delete_a_record(tmp_path: Path) -> None:
    await refuses_changes(sqlite_url(tmp_path))


_DROP_TRIGGERS = {
    "sqlite": (
        "DROP TRIGGER IF EXISTS audit_records_no_update",
        "DROP TRIGGER IF EXISTS audit_records_no_delete",
    ),
    "postgresql": (
        "DROP TRIGGER IF EXISTS audit_records_no_change ON audit_records",
        "DROP TRIGGER IF EXISTS audit_records_no_truncate ON audit_records",
    ),
}


@contextlib.asynccontextmanager
async def unprotected(url: str) -> AsyncIterator[AsyncEngine]:
    """An engine on `url` with the append-only triggers dropped, as an attacker with write
    access to the database would."""
    engine = open_engine(url)
    try:
        async with engine.begin() as connection:
            for statement in _DROP_TRIGGERS[connection.dialect.name]:
                await connection.execute(text(statement))
        yield engine
    finally:
        await engine.dispose()


async def _insert(engine: AsyncEngine, record: AuditRecord) -> None:
    async with engine.begin() as connection:
        await connection.execute(schema.records.insert().values(schema.row_of(record)))


def _forged(seq: int, prev_hash: str, subject: str) -> AuditRecord:
    item = entry(AuditKind.LOOKUP, actor=Actor("U0666"), subject=subject)
    return seal(item, seq=seq, time_us=1_700_000_100_000_000, prev_hash=prev_hash)


Tamper = Callable[[AsyncEngine, list[AuditRecord]], Awaitable[None]]


async def _sql(engine: AsyncEngine, *statements: tuple[str, dict[str, Any]]) -> None:
    async with engine.begin() as connection:
        for statement, values in statements:
            await connection.execute(text(statement), values)


async def _changed(engine: AsyncEngine, _: list[AuditRecord]) -> None:
    await _sql(engine, ("UPDATE audit_records SET subject = :s WHERE seq = 3", {"s": "10.9.9.9"}))


async def _deleted(engine: AsyncEngine, _: list[AuditRecord]) -> None:
    await _sql(engine, ("DELETE FROM audit_records WHERE seq = 4", {}))


async def _inserted(engine: AsyncEngine, records: list[AuditRecord]) -> None:
    """A well-formed record forged at seq 3 (chained to seq 2), the later ones renumbered."""
    await _sql(
        engine,
        ("UPDATE audit_records SET seq = seq + 1000 WHERE seq >= 3", {}),
        ("UPDATE audit_records SET seq = seq - 999 WHERE seq >= 1003", {}),
    )
    await _insert(engine, _forged(3, records[1].hash, "10.6.6.6"))


async def _reordered(engine: AsyncEngine, _: list[AuditRecord]) -> None:
    await _sql(
        engine,
        ("UPDATE audit_records SET seq = -2 WHERE seq = 2", {}),
        ("UPDATE audit_records SET seq = 2 WHERE seq = 4", {}),
        ("UPDATE audit_records SET seq = 4 WHERE seq = -2", {}),
    )


async def _replaced(engine: AsyncEngine, records: list[AuditRecord]) -> None:
    """Seq 4 changed and given a hash that fits its new content."""
    forged = _forged(4, records[2].hash, "10.6.6.6")
    await _sql(engine, ("DELETE FROM audit_records WHERE seq = 4", {}))
    await _insert(engine, forged)


async def _truncated(engine: AsyncEngine, _: list[AuditRecord]) -> None:
    await _sql(engine, ("DELETE FROM audit_records WHERE seq > 4", {}))


async def _appended(engine: AsyncEngine, records: list[AuditRecord]) -> None:
    await _insert(engine, _forged(7, records[-1].hash, "forged"))


async def _unreadable(engine: AsyncEngine, _: list[AuditRecord]) -> None:
    await _sql(engine, ("UPDATE audit_records SET details = 'not json' WHERE seq = 2", {}))


TAMPERING: list[tuple[Tamper, BreakKind, int]] = [
    (_changed, BreakKind.CHANGED, 3),
    (_deleted, BreakKind.MISSING, 4),
    (_inserted, BreakKind.CHANGED, 4),  # the forged seq 3 fits; the renumbered seq 4 does not
    (_reordered, BreakKind.CHANGED, 2),
    (_replaced, BreakKind.UNLINKED, 5),
    (_truncated, BreakKind.TRUNCATED, 5),
    (_appended, BreakKind.EXTRA, 7),
    (_unreadable, BreakKind.UNREADABLE, 2),
]


async def tampered_report(url: str, tamper: Tamper) -> Any:
    """Six records appended, tampered with in SQL, then verified: the report."""
    async with await AuditStore.open(url, clock=Clock()) as opened:
        records = await fill(opened, 6)
        assert (await opened.verify()).ok
        async with unprotected(url) as engine:
            await tamper(engine, records)
        return await opened.verify()


@pytest.mark.parametrize(
    ("tamper", "kind", "seq"), TAMPERING, ids=[t.__name__.strip("_") for t, _, _ in TAMPERING]
)
async def test_verify_names_the_first_broken_link_after_tampering(
    tmp_path: Path, tamper: Tamper, kind: BreakKind, seq: int
) -> None:
    report = await tampered_report(sqlite_url(tmp_path), tamper)
    assert report.problem is not None
    assert (report.problem.kind, report.problem.seq) == (kind, seq)


async def rewound_tail(url: str) -> tuple[bool, Any]:
    """The tail cut and the head moved back with it: intact without an anchor; with the
    last record's logged seq and hash as the anchor, the report."""
    async with await AuditStore.open(url, clock=Clock()) as opened:
        records = await fill(opened, 6)
        async with unprotected(url) as engine:
            await _truncated(engine, records)
            await _sql(
                engine,
                ("UPDATE audit_head SET seq = 4, hash = :h", {"h": records[3].hash}),
            )
        alone = (await opened.verify()).ok
        return alone, await opened.verify(anchors=[Head(6, records[-1].hash)])


async def test_a_rewound_tail_is_found_only_against_a_logged_anchor(tmp_path: Path) -> None:
    alone, anchored = await rewound_tail(sqlite_url(tmp_path))
    assert alone  # what a hash chain alone cannot tell
    assert anchored.problem is not None
    assert (anchored.problem.kind, anchored.problem.seq) == (BreakKind.TRUNCATED, 5)


async def test_listing_stops_at_a_record_it_cannot_read(tmp_path: Path) -> None:
    url = sqlite_url(tmp_path)
    async with await AuditStore.open(url, clock=Clock()) as opened:
        records = await fill(opened, 3)
        async with unprotected(url) as engine:
            await _unreadable(engine, records)
        with pytest.raises(DatabaseUnavailable, match="seq 2 cannot be read"):
            await all_records(opened)


_OTHER_SET = """
import sqlalchemy as sa
from alembic import op

revision = "approvals_0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table("approvals", sa.Column("id", sa.Integer, primary_key=True))


def downgrade() -> None:
    op.drop_table("approvals")
"""


def _write_other_set(folder: Path) -> Path:
    (folder / "versions").mkdir(parents=True)
    (folder / "env.py").write_text("from bot.audit.database import run_env\n\nrun_env()\n")
    (folder / "versions" / "approvals_0001.py").write_text(_OTHER_SET)
    return folder


async def test_another_table_set_migrates_beside_the_trail_on_one_engine(tmp_path: Path) -> None:
    """The recipe docs/audit.md gives: its own folder and version table, the shared engine."""
    migrations = await asyncio.to_thread(_write_other_set, tmp_path / "approvals")
    engine = open_engine(sqlite_url(tmp_path))
    try:
        async with await AuditStore.open(engine) as store:
            await migrate(engine, migrations, version_table="alembic_version_approvals")
            await migrate(engine, migrations, version_table="alembic_version_approvals")
            await fill(store, 1)
            await check_revision(engine, migrations, version_table="alembic_version_approvals")
        async with engine.connect() as connection:
            tables = await connection.run_sync(lambda c: set(inspect(c).get_table_names()))
    finally:
        await engine.dispose()
    assert {"approvals", "alembic_version_approvals", "audit_records"} <= tables
