"""Several writers at once keep one chain: many tasks of one store, two stores (two engines,
as two replicas have) in one process, and two processes on one SQLite file. Every append gets
its own seq, none is lost, and the chain verifies. The helpers taking a URL are shared with
tests/test_audit_postgres.py."""

from __future__ import annotations

import asyncio
import sys
from collections import Counter
from pathlib import Path
from typing import Any

from structlog.testing import capture_logs

from bot.audit.records import Actor, AuditKind
from bot.audit.store import AuditStore

ROOT = Path(__file__).resolve().parent.parent

WRITER = """
import asyncio, sys, time
from pathlib import Path
from typing import Any
from bot.audit.records import Actor, AuditKind
from bot.audit.store import AuditStore

async def main(url: str, name: str, count: int, gate: str) -> None:
    async with await AuditStore.open(url) as store:
        Path(gate, name).touch()
        deadline = time.monotonic() + 60
        while len(list(Path(gate).iterdir())) < 2 and time.monotonic() < deadline:
            await asyncio.sleep(0.01)
        for i in range(count):
            await store.append(AuditKind.LOOKUP, actor=Actor(name), subject=f"{name}-{i}")

asyncio.run(main(sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]))
"""


async def append_concurrently(stores: list[AuditStore], each: int) -> None:
    await asyncio.gather(
        *(
            s.append(AuditKind.LOOKUP, actor=Actor(f"U{n}"), subject=f"U{n}-{i}")
            for i in range(each)
            for n, s in enumerate(stores)
        )
    )


async def assert_one_chain(store: AuditStore, writers: int, each: int) -> list[str]:
    """Seqs 1…writers*each, every subject once, the chain intact; the writers in seq order."""
    records = [r async for r in store.records()]
    assert [r.seq for r in records] == list(range(1, writers * each + 1))
    assert len({r.subject for r in records}) == writers * each
    assert set(Counter(r.actor.user for r in records).values()) == {each}
    report = await store.verify()
    assert report.ok, report.summary()
    return [r.actor.user for r in records]


async def many_tasks(url: str) -> None:
    async with await AuditStore.open(url) as store:
        await append_concurrently([store], 300)
        await assert_one_chain(store, 1, 300)


async def two_stores(url: str) -> None:
    """Two engines, as two replicas have: they queue on the database's lock, neither has to
    retry an append that conflicted."""
    first = await AuditStore.open(url)
    second = await AuditStore.open(url)
    try:
        with capture_logs() as logged:
            await append_concurrently([first, second], 150)
        await assert_one_chain(first, 2, 150)
        assert [e for e in logged if e["event"] == "audit_append_retry"] == []
    finally:
        await first.close()
        await second.close()


async def two_processes(url: str, gate: Path, each: int = 150) -> None:
    await asyncio.to_thread(gate.mkdir)
    writers = [
        await asyncio.create_subprocess_exec(
            sys.executable, "-c", WRITER, url, name, str(each), str(gate), cwd=ROOT
        )
        for name in ("UA", "UB")
    ]
    codes = await asyncio.wait_for(asyncio.gather(*(w.wait() for w in writers)), timeout=120)
    assert codes == [0, 0]
    async with await AuditStore.open(url, migrate_schema=False) as store:
        order = await assert_one_chain(store, 2, each)
    assert set(order) == {"UA", "UB"}


async def test_many_tasks_of_one_store_keep_one_chain(tmp_path: Path) -> None:
    await many_tasks(str(tmp_path / "audit.sqlite3"))


async def test_two_stores_on_one_sqlite_file_keep_one_chain(tmp_path: Path) -> None:
    await two_stores(str(tmp_path / "audit.sqlite3"))


async def test_two_processes_on_one_sqlite_file_keep_one_chain(tmp_path: Path) -> None:
    await two_processes(str(tmp_path / "audit.sqlite3"), tmp_path / "gate")


async def test_appends_that_arrive_together_are_committed_together_in_order(
    tmp_path: Path,
) -> None:
    """Group commit: 300 appends at once take a few transactions, not 300, and the chain they
    make is one unbroken sequence that verifies."""
    store = await AuditStore.open(str(tmp_path / "audit.sqlite3"))
    async with store:
        transactions = 0
        original = store._append_once  # counting the store's own transactions

        async def counted(items: Any) -> Any:
            nonlocal transactions
            transactions += 1
            return await original(items)

        store._append_once = counted  # type: ignore[method-assign]
        records = await asyncio.gather(
            *(store.append(AuditKind.LOOKUP, actor=Actor(f"U{n}")) for n in range(300))
        )
        assert sorted(r.seq for r in records) == list(range(1, 301))
        assert transactions <= 10
        assert (await store.verify()).ok
