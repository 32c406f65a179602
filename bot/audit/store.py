"""The audit trail's store: append-only, hash-chained, one database shared by every replica.

    store = await AuditStore.open(url)                  # migrates, then returns the store
    await store.append(AuditKind.LOOKUP, actor=Actor(user, team), place=Place(channel, ts),
                       tenants=["contoso"], subject="10.1.2.3", details={"found": {...}})
    report = await store.verify()                       # the first broken link, if any
    await store.close()

Appending serialises on the database itself, so that several processes keep one chain: the
transaction locks the chain's head row (`SELECT … FOR UPDATE` on PostgreSQL; SQLite's write
lock, taken at `BEGIN IMMEDIATE`), reads the last seq and hash, inserts the next record and
moves the head on. Within one process appends also take turns on a lock, so they never make
SQLite's writers wait on each other. A failed attempt (a lock that timed out, a dropped
connection, a conflict) is retried a few times, then reported as `DatabaseUnavailable`: the
caller decides whether what it was about to do may go ahead unaudited.

Every appended record is also logged (event `audit`, with its seq and hash): those lines are
the anchors `verify(anchors=…)` checks the database against.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Iterable, Mapping, Sequence
from datetime import datetime
from types import TracebackType
from typing import Any, Self

import structlog
from sqlalchemy import Row, select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bot import logs
from bot.audit import schema
from bot.audit.chain import ChainCheck, ChainReport, Head
from bot.audit.database import (
    DatabaseUnavailable,
    check_revision,
    check_sqlite_location,
    describe,
    migrate,
    open_engine,
    read_snapshot,
    translated,
    write_transaction,
)
from bot.audit.migrations import MIGRATIONS, VERSION_TABLE
from bot.audit.records import Actor, AuditKind, AuditRecord, Entry, Place, entry, epoch_us, seal
from bot.retry import RetryPolicy

PAGE = 1000  # records read per query when listing or verifying
BATCH = 200  # records written in one transaction at most (group commit)
# Appends that fail (a lock held too long, a dropped connection) are tried again, briefly.
APPEND_RETRIES = RetryPolicy(attempts=5, base=0.05, cap=1.0)

log = logs.get_logger(__name__)


class AuditStore:
    """The audit trail in one database. Open it with `AuditStore.open`."""

    def __init__(
        self,
        engine: AsyncEngine,
        *,
        owns_engine: bool,
        clock: Callable[[], float] = time.time,
        logger: structlog.stdlib.BoundLogger = log,
    ) -> None:
        self._engine = engine
        self._owns_engine = owns_engine
        self._clock = clock
        self._log = logger
        self._turn = asyncio.Lock()  # one writer at a time in this process
        self._waiting: list[tuple[Entry, asyncio.Future[AuditRecord]]] = []

    @classmethod
    async def open(
        cls,
        database: str | AsyncEngine,
        *,
        migrate_schema: bool = True,
        clock: Callable[[], float] = time.time,
        logger: structlog.stdlib.BoundLogger = log,
    ) -> Self:
        """The store in `database`: a path or URL (`bot.audit.database.database_url`), or an
        engine shared with other table sets (then the caller closes it). The schema is
        migrated first; with `migrate_schema=False` (readers such as `mde-bot audit`) it must
        be current already, and a SQLite file must exist. `clock` gives the time (seconds
        since the epoch) every record is stamped with."""
        owns = not isinstance(database, AsyncEngine)
        engine = open_engine(database) if isinstance(database, str) else database
        try:
            await asyncio.to_thread(check_sqlite_location, engine.url, create=migrate_schema)
            if migrate_schema:
                await migrate(engine, MIGRATIONS, version_table=VERSION_TABLE)
            else:
                await check_revision(engine, MIGRATIONS, version_table=VERSION_TABLE)
        except BaseException:
            if owns:
                await engine.dispose()
            raise
        return cls(engine, owns_engine=owns, clock=clock, logger=logger)

    @property
    def database(self) -> str:
        """Where the trail is, for messages (a password hidden)."""
        return describe(self._engine.url)

    async def close(self) -> None:
        if self._owns_engine:
            await self._engine.dispose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    # ------------------------------------------------------------------------- writing

    async def append(
        self,
        kind: AuditKind,
        *,
        actor: Actor,
        place: Place = Place(),  # noqa: B008 - frozen dataclass, immutable default
        tenants: Iterable[str] = (),
        subject: str = "",
        details: Mapping[str, Any] | None = None,
    ) -> AuditRecord:
        """Record that `kind` happened; returns the sealed record once it is committed (and
        logged). Texts and details are bounded and scrubbed of secrets (`records.entry`).
        DatabaseUnavailable when it could not be written."""
        item = entry(
            kind, actor=actor, place=place, tenants=tenants, subject=subject, details=details
        )
        record = await self._committed(item)
        self._log.info(
            "audit",
            seq=record.seq,
            kind=str(record.kind),
            user=record.actor.user,
            team=record.actor.team,
            channel=record.place.channel,
            thread=record.place.thread,
            tenants=list(record.tenants),
            subject=record.subject,
            details=dict(record.details),
            hash=record.hash,
        )
        return record

    async def _committed(self, item: Entry) -> AuditRecord:
        """Group commit: `item` waits with the others that arrive while a transaction runs,
        and the next one writes them all (at most BATCH), in order: one commit for many
        records when lookups come faster than a commit takes (each is still sealed on the
        one before it). Whoever finds no writer at work writes."""
        done: asyncio.Future[AuditRecord] = asyncio.get_running_loop().create_future()
        self._waiting.append((item, done))
        async with self._turn:
            while not done.done() and self._waiting:
                batch, self._waiting = self._waiting[:BATCH], self._waiting[BATCH:]
                try:
                    records = await self._append_retrying([i for i, _ in batch])
                # Whatever stopped the batch (DatabaseUnavailable, a bug) is every caller's in it.
                except Exception as exc:  # noqa: BLE001
                    for _, waiter in batch:
                        if not waiter.done():
                            waiter.set_exception(exc)
                    break
                except BaseException:  # this writer was cancelled: the next one writes them
                    self._waiting[:0] = batch
                    raise
                for (_, waiter), record in zip(batch, records, strict=True):
                    if not waiter.done():  # its caller may have been cancelled meanwhile
                        waiter.set_result(record)
        return await done

    async def _append_retrying(self, items: Sequence[Entry]) -> list[AuditRecord]:
        attempt = 1
        while True:
            try:
                return await self._append_once(items)
            except (SQLAlchemyError, OSError) as exc:
                wait = APPEND_RETRIES.backoff(attempt)
                self._log.warning(
                    "audit_append_retry",
                    attempt=attempt,
                    error=type(exc).__name__,  # the class only: driver text can hold values
                    gives_up=wait is None,
                )
                if wait is None:
                    raise DatabaseUnavailable(
                        f"cannot write to the audit trail in {self.database}",
                        hint="check that the database is reachable and not full",
                    ) from None
                attempt += 1
                await asyncio.sleep(wait)

    async def _append_once(self, items: Sequence[Entry]) -> list[AuditRecord]:
        async with write_transaction(self._engine) as connection:
            head = await self._head(connection, lock=True)
            if head is None:
                raise DatabaseUnavailable(f"the audit trail in {self.database} has no head row")
            records: list[AuditRecord] = []
            seq, prev_hash = head.seq, head.hash
            for item in items:
                record = seal(
                    item,
                    seq=seq + 1,
                    time_us=int(self._clock() * 1_000_000),
                    prev_hash=prev_hash,
                )
                records.append(record)
                seq, prev_hash = record.seq, record.hash
            await connection.execute(
                schema.records.insert(), [schema.row_of(record) for record in records]
            )
            await connection.execute(
                update(schema.head)
                .where(schema.head.c.id == schema.HEAD_ROW)
                .values(seq=seq, hash=prev_hash)
            )
        return records

    # ------------------------------------------------------------------------- reading

    async def head(self) -> Head | None:
        """The chain's head as the store notes it: the last seq and hash (seq 0 when empty)."""
        async with translated(self._engine, "read"), self._engine.connect() as connection:
            return await self._head(connection, lock=False)

    async def records(
        self, *, since: datetime | None = None, after_seq: int = 0
    ) -> AsyncIterator[AuditRecord]:
        """The records in sequence order, from `since` (by their time) and after `after_seq`.
        Read a page at a time, each in its own short transaction. A record whose stored
        values cannot be read ends the listing with DatabaseUnavailable (`verify` says which)."""
        last = after_seq
        while True:
            rows = await self._page(last, since)
            for row in rows:
                record = schema.record_of(row)
                if record is None:
                    raise DatabaseUnavailable(f"the audit record seq {row.seq} cannot be read")
                yield record
            if len(rows) < PAGE:
                return
            last = rows[-1].seq

    async def _page(self, after_seq: int, since: datetime | None) -> Sequence[Row[Any]]:
        query = select(schema.records).where(schema.records.c.seq > after_seq)
        if since is not None:
            query = query.where(schema.records.c.time_us >= epoch_us(since))
        query = query.order_by(schema.records.c.seq).limit(PAGE)
        async with translated(self._engine, "read"), self._engine.connect() as connection:
            return (await connection.execute(query)).all()

    async def verify(self, *, anchors: Iterable[Head] = ()) -> ChainReport:
        """Walk the whole chain and report its first broken link (`bot.audit.chain`), against
        the store's head and the `anchors` given (seq and hash pairs from the `audit` log). The
        walk reads one consistent snapshot, a page at a time."""
        async with translated(self._engine, "read"), read_snapshot(self._engine) as connection:
            check = ChainCheck(await self._head(connection, lock=False), anchors)
            last = 0
            while True:
                query = (
                    select(schema.records)
                    .where(schema.records.c.seq > last)
                    .order_by(schema.records.c.seq)
                    .limit(PAGE)
                )
                rows = (await connection.execute(query)).all()
                for row in rows:
                    record = schema.record_of(row)
                    if record is None:
                        check.unreadable(row.seq, "its stored tenants or details are not JSON")
                    if record is None or not check.feed(record):
                        return check.finish()
                if len(rows) < PAGE:
                    return check.finish()
                last = rows[-1].seq

    @staticmethod
    async def _head(connection: AsyncConnection, *, lock: bool) -> Head | None:
        query = select(schema.head.c.seq, schema.head.c.hash).where(
            schema.head.c.id == schema.HEAD_ROW
        )
        row = (await connection.execute(query.with_for_update() if lock else query)).first()
        return None if row is None else Head(int(row.seq), str(row.hash))
