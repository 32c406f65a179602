"""Real Redis and PostgreSQL servers for the tests, loaded as a pytest plugin (`-p tests.servers`
in pyproject.toml), so every test module can ask for these fixtures:

    redis_server     one redis-server for the whole session (loopback, a free port)
    redis_url        its URL, the server emptied (FLUSHALL) before the test: tests run one at a
                     time, so each starts from nothing
    own_redis        a redis-server of the test's own, which the test may `stop()` and
                     `start()` again on the same port (outages)
    postgres_server  one PostgreSQL cluster for the whole session (initdb in a temporary folder,
                     trust authentication on loopback, no unix socket)
    postgres_url     a fresh, empty database on it for the test, dropped afterwards
    redis_links      makes `bot.state` links to `redis_url`, one per simulated replica

Each server runs from a temporary folder that is removed when it stops, listens on 127.0.0.1
only, and is waited for (at most START_TIMEOUT seconds) before a test gets it. They need the
Debian packages `redis-server` and `postgresql` (`.ci/run` installs them): a missing binary is a
failure that says what to install, never a skip. PostgreSQL refuses to run as root: as root, it
runs as the `postgres` user the Debian package creates.

The classes work outside pytest too (`with RedisServer() as redis: …`), for the benchmarks.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from types import TracebackType
from typing import IO, Any, Self

import pytest
import redis

from bot.state.link import CALL_TIMEOUT, RedisLink, open_redis

REDIS_HINT = "install redis-server: apt-get install -y redis-server"
POSTGRES_HINT = "install PostgreSQL: apt-get install -y postgresql"
START_TIMEOUT = 30.0  # seconds a server may take to accept connections
STOP_TIMEOUT = 10.0  # seconds a server may take to stop before it is killed
POSTGRES_USER = "postgres"  # the superuser initdb creates, and who runs the server as root


class ServerMissing(Exception):
    """A server's binary is not installed; the message says how to install it."""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _stop(process: subprocess.Popen[bytes], how: signal.Signals) -> None:
    """Ask `process` to stop with `how`; kill it if it has not within STOP_TIMEOUT."""
    if process.poll() is not None:
        return
    process.send_signal(how)
    try:
        process.wait(STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(STOP_TIMEOUT)


def _log_tail(path: Path) -> str:
    with contextlib.suppress(OSError):
        return path.read_text(errors="replace")[-1500:]
    return ""


class RedisServer:
    """One redis-server on 127.0.0.1 from a temporary folder: no persistence, no password
    (loopback only), no unix socket. `stop()` and `start()` again keep its port and folder."""

    def __init__(self, port: int | None = None) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            raise ServerMissing(f"redis-server is not on PATH: {REDIS_HINT}")
        self._binary = binary
        self.port = port or free_port()
        self.folder = Path(tempfile.mkdtemp(prefix="mde-bot-redis-"))
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def start(self) -> None:
        """Start the server and wait until it answers PING."""
        command = [
            self._binary,
            *("--port", str(self.port), "--bind", "127.0.0.1"),
            *("--dir", str(self.folder), "--logfile", str(self.folder / "redis.log")),
            *("--save", "", "--appendonly", "no", "--daemonize", "no"),
        ]
        self._process = subprocess.Popen(  # noqa: S603 - the installed redis-server, our args
            command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL
        )
        deadline = time.monotonic() + START_TIMEOUT
        client = redis.Redis(host="127.0.0.1", port=self.port, socket_timeout=1.0)
        try:
            while True:
                if self._process.poll() is not None:
                    raise RuntimeError(
                        f"redis-server exited: {_log_tail(self.folder / 'redis.log')}"
                    )
                with contextlib.suppress(redis.ConnectionError):
                    client.ping()
                    return
                if time.monotonic() > deadline:
                    raise RuntimeError(f"redis-server did not answer within {START_TIMEOUT} s")
                time.sleep(0.02)
        finally:
            client.close()

    def stop(self) -> None:
        """Stop the server (SIGTERM, then SIGKILL); the folder stays for `start()`."""
        if self._process is not None:
            _stop(self._process, signal.SIGTERM)
            self._process = None

    def pause(self) -> None:
        """Freeze the server (SIGSTOP): connections open, nothing answers, as a hung Redis."""
        if self._process is not None:
            self._process.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        """Let a paused server go on (SIGCONT)."""
        if self._process is not None:
            self._process.send_signal(signal.SIGCONT)

    def close(self) -> None:
        """Stop the server and remove its folder."""
        self.resume()
        self.stop()
        shutil.rmtree(self.folder, ignore_errors=True)

    def flush(self) -> None:
        """Empty every database of the server."""
        with redis.Redis(host="127.0.0.1", port=self.port) as client:
            client.flushall()

    def __enter__(self) -> Self:
        try:
            self.start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def postgres_bin() -> Path:
    """The folder of the PostgreSQL server's binaries: where `postgres` on PATH really is
    (Debian's /usr/lib/postgresql/N/bin, often linked from elsewhere), else the newest
    /usr/lib/postgresql/*/bin."""
    found = shutil.which("postgres")
    if found is not None:
        return Path(found).resolve().parent
    folders = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/postgres"),
        key=lambda p: (
            int(Path(p).parent.parent.name) if Path(p).parent.parent.name.isdigit() else 0
        ),
    )
    if not folders:
        raise ServerMissing(
            f"no PostgreSQL server (postgres) on PATH or in /usr/lib/postgresql: {POSTGRES_HINT}"
        )
    return Path(folders[-1]).parent


def _run_as() -> str | None:
    """Who the PostgreSQL binaries must run as: None (ourselves), or the `postgres` user when
    we are root (the server refuses to run as root)."""
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam(POSTGRES_USER)
    except KeyError:
        raise ServerMissing(
            f"PostgreSQL will not run as root and there is no {POSTGRES_USER!r} user to run it "
            f"as: {POSTGRES_HINT} creates one"
        ) from None
    return POSTGRES_USER


class PostgresServer:
    """One PostgreSQL cluster on 127.0.0.1 from a temporary folder: `initdb` with trust
    authentication (no password on loopback), no unix socket, durability off (fsync) since
    the data dies with the folder."""

    def __init__(self) -> None:
        self.bin = postgres_bin()
        for tool in ("initdb", "postgres", "pg_isready", "createdb", "dropdb"):
            if not (self.bin / tool).exists():
                raise ServerMissing(f"{self.bin / tool} is missing: {POSTGRES_HINT}")
        self.user = _run_as()
        self.port = free_port()
        self.folder = Path(tempfile.mkdtemp(prefix="mde-bot-postgres-"))
        if self.user is not None:
            entry = pwd.getpwnam(self.user)
            os.chown(self.folder, entry.pw_uid, entry.pw_gid)
        self.data = self.folder / "data"
        self._log: IO[bytes] | None = None
        self._process: subprocess.Popen[bytes] | None = None

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://{POSTGRES_USER}@127.0.0.1:{self.port}/{database}"

    def _tool(self, tool: str, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(  # noqa: S603 - PostgreSQL's own tools, our args
            [str(self.bin / tool), *args],
            user=self.user,
            capture_output=True,
            text=True,
            timeout=START_TIMEOUT,
            check=False,
        )

    def _client(self, tool: str, *args: str) -> subprocess.CompletedProcess[str]:
        return self._tool(tool, "-h", "127.0.0.1", "-p", str(self.port), "-U", POSTGRES_USER, *args)

    def start(self) -> None:
        """Create the cluster, start the server and wait until it accepts connections."""
        made = self._tool(
            "initdb",
            "-D",
            str(self.data),
            "-U",
            POSTGRES_USER,
            "-A",
            "trust",
            "-E",
            "UTF8",
            "--no-sync",
        )
        if made.returncode != 0:
            raise RuntimeError(f"initdb failed: {made.stderr[-1500:]}")
        self._log = (self.folder / "postgres.log").open("wb")
        command = [
            str(self.bin / "postgres"),
            *("-D", str(self.data), "-p", str(self.port), "-h", "127.0.0.1", "-k", ""),
            *("-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off"),
        ]
        self._process = subprocess.Popen(  # noqa: S603 - the installed postgres, our args
            command, user=self.user, stdin=subprocess.DEVNULL, stdout=self._log, stderr=self._log
        )
        deadline = time.monotonic() + START_TIMEOUT
        while self._client("pg_isready", "-d", "postgres", "-t", "1").returncode != 0:
            if self._process.poll() is not None:
                raise RuntimeError(f"postgres exited: {_log_tail(self.folder / 'postgres.log')}")
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"PostgreSQL did not accept connections within {START_TIMEOUT} s"
                )
            time.sleep(0.05)

    def create_database(self) -> str:
        """A new, empty database; its URL."""
        name = f"test_{secrets.token_hex(6)}"
        done = self._client("createdb", name)
        if done.returncode != 0:
            raise RuntimeError(f"createdb failed: {done.stderr}")
        return self.url(name)

    def drop_database(self, url: str) -> None:
        """Drop a database made by `create_database`, closing what is still connected."""
        self._client("dropdb", "--force", "--if-exists", url.rsplit("/", 1)[1])

    def close(self) -> None:
        """Stop the server (a fast shutdown: sessions are ended) and remove its folder."""
        if self._process is not None:
            _stop(self._process, signal.SIGINT)
            self._process = None
        if self._log is not None:
            self._log.close()
            self._log = None
        shutil.rmtree(self.folder, ignore_errors=True)

    def __enter__(self) -> Self:
        try:
            self.start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


@contextlib.contextmanager
def _or_fail() -> Iterator[None]:
    """A missing server binary fails the test with what to install (never a skip)."""
    try:
        yield
    except ServerMissing as missing:
        pytest.fail(str(missing), pytrace=False)


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    with _or_fail():
        server = RedisServer()
    with server:
        yield server


@pytest.fixture
def redis_url(redis_server: RedisServer) -> str:
    """The session's Redis, emptied for this test."""
    redis_server.flush()
    return redis_server.url


@pytest.fixture
def own_redis() -> Iterator[RedisServer]:
    """A Redis for this test alone, which it may stop and start again."""
    with _or_fail():
        server = RedisServer()
    with server:
        yield server


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    with _or_fail():
        server = PostgresServer()
    with server:
        yield server


@pytest.fixture
def postgres_url(postgres_server: PostgresServer) -> Iterator[str]:
    """A fresh, empty database for this test (`postgresql://postgres@127.0.0.1:PORT/test_…`),
    dropped after it."""
    url = postgres_server.create_database()
    yield url
    postgres_server.drop_database(url)


@pytest.fixture
async def redis_links(redis_url: str) -> AsyncIterator[Callable[..., RedisLink]]:
    """Makes links to the session's Redis, each with a client of its own, as separate
    replicas have (`redis_links()`, or `redis_links(probe_every=0.1)`); all are closed after
    the test."""
    made: list[RedisLink] = []

    def link(timeout: float = CALL_TIMEOUT, **options: Any) -> RedisLink:
        client = open_redis(redis_url, timeout=timeout)
        made.append(RedisLink(client, prefix="test", timeout=timeout, **options))
        return made[-1]

    yield link
    for each in made:
        await each.close()
