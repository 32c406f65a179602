"""The one Redis connection of a process, and whether Redis answers.

Every shared store calls Redis through `RedisLink.run`, which translates Redis's and the
socket's errors into one of ours, `RedisDown`, which the stores answer by falling back to
in-process state. A replica must keep answering Slack whatever Redis does, so the timeouts are
short: connecting and each reply get `CALL_TIMEOUT` (0.5 s: a Redis that does not answer is
down after that), and a whole call, waiting for a pooled connection behind a burst included,
at most `CALL_TIMEOUT * QUEUE_FACTOR` (a burst of a few hundred calls on a busy replica is not
an outage).

The link remembers that Redis is down: while it is, calls fail at once (no call waits for a
timeout), except one probe at most every `PROBE_EVERY` seconds, which is a real call: the
first that succeeds brings the link back. Both edges are logged once each (`redis_down`,
`redis_back`), never once per call. `on_error` is called for every failed call (the metrics'
Redis error counter).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

from redis.asyncio import BlockingConnectionPool, Redis
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from redis.retry import Retry

from bot.logs import get_logger

log = get_logger(__name__)

T = TypeVar("T")

CALL_TIMEOUT = 0.5  # seconds Redis may take to accept a connection, and to answer
QUEUE_FACTOR = 4  # a whole call, queueing for a connection included: 4 times that
PROBE_EVERY = 3.0  # seconds between tries while Redis is down
MAX_CONNECTIONS = 64  # per process: Redis answers in well under a millisecond
# What "Redis does not answer" looks like: refused, reset, timed out, or still loading its data.
# Anything else (a script error, a wrong type) is a bug and is raised as it is.
DOWN_ERRORS = (RedisConnectionError, RedisTimeoutError, TimeoutError, OSError)


class RedisDown(Exception):
    """Redis did not answer, or did not within the timeout: fall back."""


def _nothing() -> None:
    return None


def as_bytes(reply: bytes | str) -> bytes:
    """A Redis reply as bytes (the client does not decode replies; its types allow str)."""
    return reply if isinstance(reply, bytes) else reply.encode()


def open_redis(url: str, *, timeout: float = CALL_TIMEOUT) -> Redis:
    """A client for `url` (redis://, rediss:// or unix://) that gives up quickly: connecting
    and each reply bounded by `timeout`; a connection error is tried once more at once (a
    pooled connection that went stale while Redis restarted is replaced, not reported), a
    timeout is not. At most MAX_CONNECTIONS connections; a call beyond them waits for one
    rather than failing. Connects lazily."""
    pool = BlockingConnectionPool.from_url(
        url,
        max_connections=MAX_CONNECTIONS,
        timeout=None,  # bounded by the call's own timeout (`RedisLink.run`)
        socket_timeout=timeout,
        socket_connect_timeout=timeout,
        retry=Retry(NoBackoff(), 1, supported_errors=(RedisConnectionError,)),
    )
    return Redis.from_pool(pool)


class RedisLink:
    """A Redis client, the prefix of every key the bot writes, and whether Redis answers."""

    def __init__(
        self,
        client: Redis,
        *,
        prefix: str = "mde-bot",
        timeout: float = CALL_TIMEOUT,
        probe_every: float = PROBE_EVERY,
        on_error: Callable[[], None] = _nothing,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.client = client
        self.prefix = prefix
        self.timeout = timeout
        self.probe_every = probe_every
        self._on_error = on_error
        self._clock = clock
        self._up = True
        self._down_since = 0.0
        self._next_probe = 0.0

    @property
    def up(self) -> bool:
        """False from a failed call until a call succeeds again."""
        return self._up

    def key(self, *parts: str) -> str:
        """A key of ours: the prefix and `parts`, joined by colons."""
        return ":".join((self.prefix, *parts))

    async def run(self, call: Callable[[Redis], Awaitable[T]]) -> T:
        """`call(client)`; RedisDown if Redis does not answer (in time), or at once while it
        is known to be down and no probe is due."""
        if not self._up:
            if self._clock() < self._next_probe:
                raise RedisDown
            self._next_probe = self._clock() + self.probe_every  # this call is the probe
        try:
            async with asyncio.timeout(self.timeout * QUEUE_FACTOR):
                result = await call(self.client)
        except DOWN_ERRORS as error:
            self._failed(error)
            raise RedisDown from None
        await self._answered()
        return result

    async def ping(self) -> bool:
        """Whether Redis answers now (for /healthz)."""
        try:
            return bool(await self.run(lambda client: client.ping()))
        except RedisDown:
            return False

    async def close(self) -> None:
        await self.client.aclose()

    def _failed(self, error: BaseException) -> None:
        self._on_error()
        if self._up:
            self._up = False
            self._down_since = self._clock()
            self._next_probe = self._down_since + self.probe_every
            log.warning("redis_down", error=type(error).__name__, retry_every=self.probe_every)

    async def _answered(self) -> None:
        if not self._up:
            # The pooled connections from before the outage may all be stale (Redis
            # restarted): dropped now, rather than each failing once and reading as a new
            # outage.
            await self.client.connection_pool.disconnect(inuse_connections=False)
            self._up = True
            log.info("redis_back", down_for=round(self._clock() - self._down_since, 1))
