"""The process's state, opened once: shared on Redis when REDIS_URL is set, in the process
otherwise (a single instance, as before).

    async with open_state(load_state_settings(), on_error=metrics.redis_errors.inc) as state:
        log.info("state", mode=state.mode)   # "single instance" or "shared on Redis"
        seen = state.dedupe("deliveries")
        reports = state.key_value("reports", Codec.of(PostedReport))
        answers = state.cache(f"mde:{alias}", ttl=cache_ttl, max_bytes=cache_bytes)
        budget = state.rate_window(f"mde:{alias}:api", API_WINDOWS)
        leases = state.leases("follow")

(Action requests are not here: they live in the database, `bot.actions.store`.)

Each name separates one store's keys from another's within REDIS_PREFIX; in-process stores
ignore it. Building a store does no I/O.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar
from urllib.parse import urlsplit

from bot.logs import get_logger
from bot.mde.limits import Window
from bot.state.cache import CACHE_BYTES, CACHE_TTL, AnswerCache, LocalCache, SharedCache
from bot.state.dedupe import DEDUPE_TTL, MAX_KEYS, Dedupe, LocalDedupe, RedisDedupe
from bot.state.lease import Leases, LocalLeases, RedisLeases
from bot.state.link import RedisLink, open_redis
from bot.state.pending import LocalPending, Pending, RedisPending
from bot.state.settings import StateSettings
from bot.state.store import MAX_ENTRIES, Codec, KeyValue, LocalKeyValue, RedisKeyValue
from bot.state.window import LocalRateWindow, RateWindow, RedisRateWindow

log = get_logger(__name__)

T = TypeVar("T")

SINGLE = "single instance"
SHARED = "shared on Redis"


def _nothing() -> None:
    return None


def where(url: str) -> str:
    """Where a Redis URL points, for logs: host:port (a socket's path), never a password."""
    parts = urlsplit(url)
    if parts.scheme == "unix":
        return parts.path
    return f"{parts.hostname or 'localhost'}:{parts.port or 6379}"


@dataclass(frozen=True, slots=True)
class State:
    """Builds the stores; `link` is None for a single instance."""

    link: RedisLink | None
    replicas: int = 1

    @property
    def mode(self) -> str:
        """What the start-up log line says: "single instance" or "shared on Redis"."""
        return SINGLE if self.link is None else SHARED

    async def healthy(self) -> bool:
        """Whether the state is usable as configured (for /healthz): Redis answers, or there
        is none to answer."""
        return self.link is None or await self.link.ping()

    def dedupe(self, name: str, *, ttl: float = DEDUPE_TTL, max_entries: int = MAX_KEYS) -> Dedupe:
        if self.link is None:
            return LocalDedupe(ttl=ttl, max_entries=max_entries)
        return RedisDedupe(self.link, name, ttl=ttl, max_entries=max_entries)

    def key_value(
        self, name: str, codec: Codec[T], *, max_entries: int = MAX_ENTRIES
    ) -> KeyValue[T]:
        if self.link is None:
            return LocalKeyValue(max_entries=max_entries)
        return RedisKeyValue(self.link, name, codec, max_entries=max_entries)

    def cache(
        self, name: str, *, ttl: float = CACHE_TTL, max_bytes: int = CACHE_BYTES
    ) -> AnswerCache:
        if self.link is None:
            return LocalCache(ttl=ttl, max_bytes=max_bytes)
        return SharedCache(self.link, name, ttl=ttl, max_bytes=max_bytes)

    def rate_window(self, name: str, windows: Sequence[Window]) -> RateWindow:
        if self.link is None:
            return LocalRateWindow(windows)
        return RedisRateWindow(self.link, name, windows, replicas=self.replicas)

    def leases(self, name: str) -> Leases:
        if self.link is None:
            return LocalLeases()
        return RedisLeases(self.link, name)

    def pending(self, name: str) -> Pending:
        if self.link is None:
            return LocalPending()
        return RedisPending(self.link, name)


@contextlib.asynccontextmanager
async def open_state(
    settings: StateSettings, *, on_error: Callable[[], None] = _nothing
) -> AsyncIterator[State]:
    """The state `settings` ask for. With Redis, its connection is closed at the end; Redis
    is asked once at the start, so that an outage at start-up is logged (the bot starts
    anyway, on its fallbacks)."""
    if settings.redis_url is None:
        log.info("state_opened", mode=SINGLE)
        yield State(None)
        return
    url = settings.redis_url.get_secret_value()
    link = RedisLink(open_redis(url), prefix=settings.redis_prefix, on_error=on_error)
    try:
        await link.ping()
        log.info(
            "state_opened",
            mode=SHARED,
            redis=where(url),
            replicas=settings.replicas,
            redis_up=link.up,
        )
        yield State(link, settings.replicas)
    finally:
        await link.close()
