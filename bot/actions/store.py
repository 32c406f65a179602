"""Where action requests are kept: a table in the bot's database (the audit trail's: SQLite
by default, PostgreSQL when DATABASE_URL says so), so that every replica sees the same
requests and a restart forgets none. One code path for one instance and for many.

    store = await ActionStore.open(engine)        # migrates its table set, then returns
    request, created = await store.create(request, key="view:V123")
    taken = await store.advance(request.id, Stage.AWAITING, stage=Stage.SUBMITTING, approver=u)

Each step is one statement that the database makes atomic, whichever replica runs it:

- `create`: `INSERT … ON CONFLICT (idempotency_key) DO NOTHING`, then the request that key
  made is read back: of any number of replicas creating with one key, one request results.
  (The column holds the key's SHA-256: any length fits.)
- `advance`: `UPDATE … SET … WHERE id = :id AND stage IN (:expected) RETURNING *`: the first
  caller moves the request on, every other one finds no row at the expected stage (None).
- `note`: the same without the stage condition, for what is not a step (MDE's status within
  a stage, the Slack message's ts); it writes only the columns it names, so notes and steps
  never undo each other.

Why the database and not Redis: requests must outlive Redis restarts (a pending isolation
approved after a deploy), the database is already there for the audit trail and migrated at
start-up, and its row-level atomic updates are exactly the compare-and-set a step needs. A
database that does not answer is a `DatabaseUnavailable` ("try again in a minute"): two
replicas approving on two copies would be worse.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
from collections.abc import Callable, Collection, Mapping
from typing import Any, Self

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Float,
    MetaData,
    Row,
    String,
    Table,
    Text,
    select,
    text,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.actions.migrations import MIGRATIONS, VERSION_TABLE
from bot.actions.requests import FINAL, ActionRequest, Stage
from bot.audit.database import migrate, translated, write_transaction
from bot.mde.actions import ActionKind

HEALTH_TIMEOUT = 1.0  # seconds the database gets to answer a health check

metadata = MetaData()

requests = Table(
    "action_requests",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("idempotency_key", String(255), nullable=False, unique=True),
    Column("kind", String(32), nullable=False),
    Column("tenant", String(64), nullable=False),
    Column("subject", Text, nullable=False),
    Column("subject_name", Text, nullable=False),
    Column("comment", Text, nullable=False),
    Column("requester", String(64), nullable=False),
    Column("team", String(64), nullable=False),
    Column("channel", String(64), nullable=False),
    Column("thread", String(32), nullable=False),
    Column("created", Float(precision=53), nullable=False),
    Column("stage", String(32), nullable=False, index=True),
    Column("options", Text, nullable=False),
    Column("needs_approval", Boolean, nullable=False),
    Column("expires", Float(precision=53), nullable=True),
    Column("approver", String(64), nullable=True),
    Column("mde_id", String(128), nullable=True),
    Column("mde_status", String(64), nullable=True),
    Column("note", Text, nullable=True),
    Column("message_ts", String(32), nullable=True),
    Column("dry_run", Boolean, nullable=False),
    Column("updated_us", BigInteger, nullable=False),
)

# What `advance` and `note` may change: everything but who asked for what, where and when.
CHANGEABLE = frozenset(
    {"stage", "needs_approval", "expires", "approver", "mde_id", "mde_status", "note"}
    | {"message_ts", "dry_run"}
)


def _column(name: str, value: Any) -> Any:
    """A field's value as its column holds it."""
    if name == "options":
        return json.dumps(dict(value), sort_keys=True)
    if name in {"stage", "kind"}:
        return str(value)
    return value


def _keyed(key: str) -> str:
    """An idempotency key as its column holds it: SHA-256, so that a key of any length fits
    and no value a caller put in it can be read from the table."""
    return hashlib.sha256(key.encode()).hexdigest()


def row_of(request: ActionRequest) -> dict[str, Any]:
    """A request as its row (without the idempotency key and the update time)."""
    return {
        column.name: _column(column.name, getattr(request, column.name))
        for column in requests.c
        if column.name not in {"idempotency_key", "updated_us"}
    }


def request_of(row: Row[Any]) -> ActionRequest:
    """A stored row as the request it holds."""
    values = row._asdict()
    values.pop("idempotency_key", None)
    values.pop("updated_us", None)
    return ActionRequest(
        **{
            **values,
            "kind": ActionKind(values["kind"]),
            "stage": Stage(values["stage"]),
            "options": json.loads(values["options"]),
        }
    )


class ActionStore:
    """Requests by id, created once per idempotency key, advanced by compare-and-set, in one
    database. Open it with `ActionStore.open`; the engine is the caller's (it closes it)."""

    def __init__(self, engine: AsyncEngine, *, clock: Callable[[], float] = time.time) -> None:
        self._engine = engine
        self._clock = clock

    @classmethod
    async def open(cls, engine: AsyncEngine, *, clock: Callable[[], float] = time.time) -> Self:
        """The store on `engine`, its table set migrated to the newest revision first."""
        await migrate(engine, MIGRATIONS, version_table=VERSION_TABLE)
        return cls(engine, clock=clock)

    def _now_us(self) -> int:
        return int(self._clock() * 1_000_000)

    async def create(self, request: ActionRequest, *, key: str) -> tuple[ActionRequest, bool]:
        """Keep `request`, unless `key` already made one: (the request, whether it is new).
        A modal submitted twice, or a click delivered twice, makes one request."""
        keyed = _keyed(key)
        row = {**row_of(request), "idempotency_key": keyed, "updated_us": self._now_us()}
        async with translated(self._engine, "write to"), write_transaction(self._engine) as db:
            insert = postgresql.insert if db.dialect.name == "postgresql" else sqlite.insert
            await db.execute(
                insert(requests)
                .values(row)
                .on_conflict_do_nothing(index_elements=["idempotency_key"])
            )
            made = (
                await db.execute(select(requests).where(requests.c.idempotency_key == keyed))
            ).one()
        stored = request_of(made)
        return stored, stored.id == request.id

    async def get(self, request_id: str) -> ActionRequest | None:
        async with translated(self._engine, "read"), self._engine.connect() as db:
            row = (await db.execute(select(requests).where(requests.c.id == request_id))).first()
        return None if row is None else request_of(row)

    async def advance(
        self, request_id: str, expect: Collection[Stage] | Stage, **changes: Any
    ) -> ActionRequest | None:
        """Apply `changes` if the request is still at one of the `expect`ed stages; None when
        it is not (someone else took that step first) or is unknown."""
        wanted = [expect] if isinstance(expect, Stage) else list(expect)
        return await self._update(
            request_id, changes, requests.c.stage.in_([str(s) for s in wanted])
        )

    async def note(self, request_id: str, **changes: Any) -> ActionRequest | None:
        """Changes that are not a step (MDE's status within a stage, the Slack message)."""
        return await self._update(request_id, changes, None)

    async def reachable(self) -> bool:
        """Whether the database answers now, within HEALTH_TIMEOUT (for /healthz)."""
        try:
            async with asyncio.timeout(HEALTH_TIMEOUT), self._engine.connect() as db:
                await db.execute(text("SELECT 1"))
        except (SQLAlchemyError, OSError, TimeoutError):
            return False
        return True

    async def open_requests(self) -> list[ActionRequest]:
        """The requests not yet at a final stage, oldest first."""
        final = [str(s) for s in FINAL]
        query = select(requests).where(requests.c.stage.not_in(final)).order_by(requests.c.created)
        async with translated(self._engine, "read"), self._engine.connect() as db:
            rows = (await db.execute(query)).all()
        return [request_of(row) for row in rows]

    async def _update(
        self, request_id: str, changes: Mapping[str, Any], condition: Any
    ) -> ActionRequest | None:
        unknown = set(changes) - CHANGEABLE
        if unknown:
            raise ValueError(f"not a changeable field of a request: {sorted(unknown)}")
        values = {name: _column(name, value) for name, value in changes.items()}
        statement = update(requests).where(requests.c.id == request_id)
        if condition is not None:
            statement = statement.where(condition)
        statement = statement.values(**values, updated_us=self._now_us()).returning(*requests.c)
        async with translated(self._engine, "write to"), write_transaction(self._engine) as db:
            row = (await db.execute(statement)).first()
        return None if row is None else request_of(row)
