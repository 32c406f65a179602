"""The database the bot keeps its state in (the audit trail; the approvals next): one engine a
process, SQLite or PostgreSQL through one async code path, schemas migrated by Alembic.

    open_engine(url)              an AsyncEngine: SQLite (aiosqlite) for a path or `sqlite:` URL,
                                  PostgreSQL (asyncpg) for a `postgresql:` URL
    write_transaction(engine)     a transaction that writes; on SQLite it takes the database's
                                  write lock at BEGIN (`BEGIN IMMEDIATE`), so writers in other
                                  processes queue instead of failing half-way
    read_snapshot(engine)         a read transaction that sees one state throughout
    migrate(engine, migrations, version_table=…)
                                  upgrade one table set to its newest revision, serialised
                                  across replicas starting at once
    check_revision(engine, migrations, version_table=…)
                                  DatabaseUnavailable unless the schema is at that revision

Each table set keeps its own Alembic migrations (a folder with `env.py` and `versions/`) and
its own version table, so each evolves on its own: the audit trail's are in
`bot/audit/migrations` (version table `alembic_version_audit`). docs/audit.md says how another
set adds its own.

Every failure is a `DatabaseUnavailable` whose message names the database with its password
hidden and never carries the driver's text.
"""

from __future__ import annotations

import contextlib
import hashlib
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from alembic import command, context
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import event, text
from sqlalchemy.engine import URL, Connection, make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from bot.errors import BotError

SQLITE_DRIVER = "sqlite+aiosqlite"
POSTGRES_DRIVER = "postgresql+asyncpg"
# How long a SQLite writer waits for another process's write lock before it gives up.
SQLITE_BUSY_SECONDS = 30.0
_WRITE = "mde_bot_write"  # execution option: this transaction writes (SQLite: BEGIN IMMEDIATE)


class DatabaseUnavailable(BotError):
    """The database cannot be opened, read, written, or is not at the expected schema."""


def database_url(value: str | URL) -> URL:
    """A setting's value as the URL of the async driver: a file path (`./audit.sqlite3`),
    `sqlite:///path`, or `postgresql://user:pass@host/db` (`postgres://` too)."""
    if isinstance(value, URL):
        url = value
    elif "://" not in value:
        url = URL.create(SQLITE_DRIVER, database=str(Path(value).expanduser()))
    else:
        try:
            url = make_url(value)
        except ArgumentError:
            raise DatabaseUnavailable("the database URL cannot be read") from None
    backend = url.get_backend_name()
    if backend == "sqlite":
        return url.set(drivername=SQLITE_DRIVER)
    if backend in {"postgresql", "postgres"}:
        return url.set(drivername=POSTGRES_DRIVER)
    raise DatabaseUnavailable(
        f"unsupported database {backend!r}", hint="use a SQLite file or a postgresql:// URL"
    )


def sqlite_file(url: URL) -> Path | None:
    """The file of a SQLite database (None for PostgreSQL or an in-memory database)."""
    name = url.database
    if url.get_backend_name() != "sqlite" or not name or name == ":memory:":
        return None
    return Path(name)


def check_sqlite_location(url: URL, *, create: bool) -> None:
    """DatabaseUnavailable unless a SQLite database can be where `url` says: its file exists,
    or (`create`) its folder does. Blocking: call it off the event loop."""
    path = sqlite_file(url)
    if path is None:
        return
    if not create and not path.is_file():
        raise DatabaseUnavailable(f"no database at {path}")
    if create and not path.parent.is_dir():
        raise DatabaseUnavailable(
            f"cannot create the database {path}: its folder does not exist",
            hint="create the folder, or name another file",
        )


def describe(url: URL) -> str:
    """The database for messages and logs: a SQLite file's path, or the URL with its password
    hidden."""
    path = sqlite_file(url)
    return str(path) if path is not None else url.render_as_string(hide_password=True)


def open_engine(value: str | URL) -> AsyncEngine:
    """The process's engine for `value` (see `database_url`). Connects lazily: nothing is
    opened until the first statement."""
    url = database_url(value)
    if url.get_backend_name() == "sqlite":
        engine = create_async_engine(url, connect_args={"timeout": SQLITE_BUSY_SECONDS})
        _sqlite_transactions(engine)
        return engine
    return create_async_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=5)


def _sqlite_transactions(engine: AsyncEngine) -> None:
    """SQLite: the driver's own transaction handling off, our BEGIN instead (IMMEDIATE when
    the transaction writes); write-ahead logging, so that readers never block the writer."""

    @event.listens_for(engine.sync_engine, "connect")
    def _connect(dbapi_connection: Any, _: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        # The mode is kept in the file. While another connection holds a lock it cannot be
        # switched: a later connection does it, and the database works either way meanwhile.
        with contextlib.suppress(sqlite3.OperationalError):
            cursor.execute("PRAGMA journal_mode=WAL")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _begin(connection: Connection) -> None:
        writes = connection.get_execution_options().get(_WRITE, False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if writes else "BEGIN")


@contextlib.asynccontextmanager
async def write_transaction(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """A connection in a transaction that will write, committed when the block ends."""
    async with engine.connect() as connection:
        writer = await connection.execution_options(**{_WRITE: True})
        async with writer.begin():
            yield writer


@contextlib.asynccontextmanager
async def read_snapshot(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """A read transaction that sees one state of the database throughout (SQLite's are
    snapshots already; PostgreSQL's need REPEATABLE READ); rolled back when the block ends."""
    async with engine.connect() as connection:
        reader = connection
        if connection.dialect.name == "postgresql":
            reader = await connection.execution_options(isolation_level="REPEATABLE READ")
        async with reader.begin() as transaction:
            yield reader
            await transaction.rollback()


@contextlib.asynccontextmanager
async def translated(engine: AsyncEngine, doing: str) -> AsyncIterator[None]:
    """Database and connection errors inside the block → DatabaseUnavailable (`doing` says
    what failed: "open", "read", "write to")."""
    try:
        yield
    except (SQLAlchemyError, OSError):
        raise DatabaseUnavailable(
            f"cannot {doing} the database {describe(engine.url)}",
            hint="check that it is reachable and the setting names it",
        ) from None


# --------------------------------------------------------------------------- migrations


def _lock_key(version_table: str) -> int:
    """A PostgreSQL advisory lock id for one table set's migrations (a signed 64-bit int)."""
    digest = hashlib.sha256(f"mde-bot migrations {version_table}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


async def migrate(engine: AsyncEngine, migrations: Path, *, version_table: str) -> None:
    """Upgrade the table set whose Alembic scripts are in `migrations` to its newest revision,
    in one transaction. Replicas starting together take turns: SQLite's write lock, or a
    PostgreSQL advisory lock held until the commit; the later ones find nothing to do."""
    async with translated(engine, "migrate"), write_transaction(engine) as connection:
        if connection.dialect.name == "postgresql":
            key = _lock_key(version_table)
            await connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})
        await connection.run_sync(_upgrade, migrations, version_table)


def _config(migrations: Path) -> Config:
    config = Config()
    config.set_main_option("script_location", str(migrations))
    return config


def _upgrade(connection: Connection, migrations: Path, version_table: str) -> None:
    config = _config(migrations)
    config.attributes["connection"] = connection
    config.attributes["version_table"] = version_table
    command.upgrade(config, "head")


def run_env() -> None:
    """The body of every table set's `env.py`: run the migrations Alembic has chosen on the
    connection and version table `migrate` hands in, inside `migrate`'s transaction."""
    config = context.config
    context.configure(
        connection=config.attributes["connection"],
        version_table=config.attributes["version_table"],
    )
    with context.begin_transaction():
        context.run_migrations()


async def check_revision(engine: AsyncEngine, migrations: Path, *, version_table: str) -> None:
    """DatabaseUnavailable unless the table set is at its newest revision (for readers that
    must not migrate, such as `mde-bot audit`)."""
    async with translated(engine, "read"), engine.connect() as connection:
        current = await connection.run_sync(_current_revision, version_table)
    newest = ScriptDirectory.from_config(_config(migrations)).get_current_head()
    if current is None:
        raise DatabaseUnavailable(f"no tables of this kind in {describe(engine.url)}")
    if current != newest:
        raise DatabaseUnavailable(
            f"the database {describe(engine.url)} is at schema revision {current}, "
            f"this version of the bot reads {newest}",
            hint="upgrade the bot, or start it once against the database to migrate it",
        )


def _current_revision(connection: Connection, version_table: str) -> str | None:
    migration = MigrationContext.configure(connection, opts={"version_table": version_table})
    return migration.get_current_revision()
