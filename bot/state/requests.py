"""Action requests shared by every replica, each step taken by exactly one caller however many
replicas are clicked at once: the interface of `bot.actions.requests.ActionStore`, with
JSON-able dicts as values (the caller turns an `ActionRequest` into one and back). A value has
at least `id` and `stage`; `final` names the stages after which a request is no longer open.

    create(id, value, key=…)          (the value, True), or (the request `key` made before,
                                      False): a modal submitted twice makes one request
    get(id)                           the value, or None
    advance(id, expect, **changes)    the changed value if its stage was one of `expect`
                                      (compare and set), else None: someone took that step
    note(id, **changes)               changes that are not a step (MDE's status, the message)
    open_requests()                   the values whose stage is not final

With Redis each request is one JSON string key; every change is an optimistic transaction
(WATCH the key, read it, compare in Python, then MULTI/EXEC the write, again if another
replica wrote in between), the textbook compare-and-set. Idempotency keys are keys of their
own, pointing at the request's id. Open requests are indexed in a sorted set by creation time,
trimmed to REQUEST_TTL and to MAX_OPEN entries. Every key expires REQUEST_TTL after its last
write, so finished requests go by themselves.

There is no fallback: while Redis does not answer, every method raises `StateUnavailable`
(a `BotError`: the user is told to try again). Approvals decided on two copies that later
disagree would be worse than a minute without them.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Collection, Mapping
from typing import Any, Protocol, TypeVar

from redis.asyncio import Redis
from redis.asyncio.client import Pipeline
from redis.exceptions import WatchError

from bot.errors import BotError
from bot.state.link import RedisDown, RedisLink, as_bytes

Value = dict[str, Any]
T = TypeVar("T")

REQUEST_TTL = 7 * 86400.0  # seconds a request is kept after its last change
MAX_REQUESTS = 5000  # requests one process keeps (open ones always)
MAX_KEYS = 5000  # idempotency keys one process keeps
MAX_OPEN = 5000  # open requests indexed in Redis
MAX_TRIES = 50  # optimistic tries of one change before giving up
STAGE = "stage"


class StateUnavailable(BotError):
    """Shared state cannot be read or changed now (Redis does not answer)."""


class RequestStore(Protocol):
    async def create(
        self, request_id: str, value: Mapping[str, Any], *, key: str
    ) -> tuple[Value, bool]: ...

    async def get(self, request_id: str) -> Value | None: ...

    async def advance(
        self, request_id: str, expect: Collection[str] | str, **changes: Any
    ) -> Value | None: ...

    async def note(self, request_id: str, **changes: Any) -> Value | None: ...

    async def open_requests(self) -> list[Value]: ...


def _json(value: Mapping[str, Any]) -> str:
    return json.dumps(value, separators=(",", ":"))


def _load(raw: bytes | str) -> Value:
    value: Value = json.loads(raw)
    return value


def _expected(expect: Collection[str] | str) -> frozenset[str]:
    return frozenset({expect}) if isinstance(expect, str) else frozenset(expect)


class LocalRequestStore:
    """In-process (one replica), as `ActionStore` keeps them: every open request and the most
    recent finished ones. Values go through JSON as with Redis, so both hand back the same."""

    def __init__(self, *, final: Collection[str], max_requests: int = MAX_REQUESTS) -> None:
        self._final = frozenset(final)
        self._requests: OrderedDict[str, str] = OrderedDict()  # id → JSON
        self._keys: OrderedDict[str, str] = OrderedDict()  # idempotency key → id
        self._max = max_requests

    def __len__(self) -> int:
        return len(self._requests)

    async def create(
        self, request_id: str, value: Mapping[str, Any], *, key: str
    ) -> tuple[Value, bool]:
        known = self._keys.get(key)
        if known is not None and known in self._requests:
            return _load(self._requests[known]), False
        self._requests[request_id] = _json(value)
        self._keys[key] = request_id
        self._trim()
        return _load(self._requests[request_id]), True

    async def get(self, request_id: str) -> Value | None:
        raw = self._requests.get(request_id)
        return None if raw is None else _load(raw)

    async def advance(
        self, request_id: str, expect: Collection[str] | str, **changes: Any
    ) -> Value | None:
        current = await self.get(request_id)
        if current is None or current.get(STAGE) not in _expected(expect):
            return None
        return self._write(request_id, {**current, **changes})

    async def note(self, request_id: str, **changes: Any) -> Value | None:
        current = await self.get(request_id)
        return None if current is None else self._write(request_id, {**current, **changes})

    async def open_requests(self) -> list[Value]:
        values = [_load(raw) for raw in self._requests.values()]
        return [v for v in values if v.get(STAGE) not in self._final]

    def _write(self, request_id: str, value: Value) -> Value:
        self._requests[request_id] = _json(value)
        return _load(self._requests[request_id])

    def _trim(self) -> None:
        """Forget the oldest finished requests beyond the bound (open ones are kept)."""
        while len(self._requests) > self._max:
            finished = next(
                (k for k, raw in self._requests.items() if _load(raw).get(STAGE) in self._final),
                None,
            )
            if finished is None:
                break
            del self._requests[finished]
        while len(self._keys) > MAX_KEYS:
            self._keys.popitem(last=False)


class RedisRequestStore:
    """Shared by every replica through Redis (`name` separates one store from another)."""

    def __init__(
        self,
        link: RedisLink,
        name: str,
        *,
        final: Collection[str],
        ttl: float = REQUEST_TTL,
    ) -> None:
        self._link = link
        self._name = name
        self._final = frozenset(final)
        self._ttl_ms = max(1, round(ttl * 1000))

    def _request_key(self, request_id: str) -> str:
        return self._link.key("requests", self._name, "id", request_id)

    def _idempotency_key(self, key: str) -> str:
        digest = hashlib.sha256(key.encode()).hexdigest()[:40]
        return self._link.key("requests", self._name, "key", digest)

    def _open_key(self) -> str:
        return self._link.key("requests", self._name, "open")

    async def create(
        self, request_id: str, value: Mapping[str, Any], *, key: str
    ) -> tuple[Value, bool]:
        text = _json(value)

        async def create(client: Redis) -> tuple[Value, bool]:
            async with client.pipeline(transaction=True) as pipe:
                for _ in range(MAX_TRIES):
                    try:
                        await pipe.watch(self._idempotency_key(key))
                        known = await pipe.get(self._idempotency_key(key))
                        if known is not None:
                            known_id = as_bytes(known).decode()
                            raw = await pipe.get(self._request_key(known_id))
                            if raw is not None:
                                return _load(raw), False
                        pipe.multi()  # type: ignore[no-untyped-call]  # unannotated in redis-py
                        pipe.set(self._idempotency_key(key), request_id, px=self._ttl_ms)
                        pipe.set(self._request_key(request_id), text, px=self._ttl_ms)
                        if value.get(STAGE) not in self._final:
                            self._index(pipe, request_id)
                        await pipe.execute()
                        return _load(text), True
                    except WatchError:
                        continue
            raise StateUnavailable("too many changes at once to create the action request")

        return await self._run(create)

    async def get(self, request_id: str) -> Value | None:
        raw = await self._run(lambda client: client.get(self._request_key(request_id)))
        return None if raw is None else _load(raw)

    async def advance(
        self, request_id: str, expect: Collection[str] | str, **changes: Any
    ) -> Value | None:
        return await self._change(request_id, _expected(expect), changes)

    async def note(self, request_id: str, **changes: Any) -> Value | None:
        return await self._change(request_id, None, changes)

    async def open_requests(self) -> list[Value]:
        async def read(client: Redis) -> list[Value]:
            members = await client.zrange(self._open_key(), 0, -1)
            ids = [m.decode() if isinstance(m, bytes) else str(m) for m in members]
            if not ids:
                return []
            raws = await client.mget([self._request_key(i) for i in ids])
            values = [_load(raw) for raw in raws if raw is not None]
            return [v for v in values if v.get(STAGE) not in self._final]

        return await self._run(read)

    async def _change(
        self, request_id: str, wanted: frozenset[str] | None, changes: Mapping[str, Any]
    ) -> Value | None:
        """Read, compare (`wanted`: the stages it may be at; None: any) and write, as one
        optimistic transaction, tried again while other writers get in between."""
        key = self._request_key(request_id)

        async def change(client: Redis) -> Value | None:
            async with client.pipeline(transaction=True) as pipe:
                for _ in range(MAX_TRIES):
                    try:
                        await pipe.watch(key)
                        raw = await pipe.get(key)
                        if raw is None:
                            return None
                        current = _load(raw)
                        if wanted is not None and current.get(STAGE) not in wanted:
                            return None
                        text = _json({**current, **changes})
                        updated = _load(text)
                        pipe.multi()  # type: ignore[no-untyped-call]  # unannotated in redis-py
                        pipe.set(key, text, px=self._ttl_ms)
                        if updated.get(STAGE) in self._final:
                            pipe.zrem(self._open_key(), request_id)
                        await pipe.execute()
                        return updated
                    except WatchError:
                        continue
            raise StateUnavailable("too many changes at once to the action request")

        return await self._run(change)

    def _index(self, pipe: Pipeline, request_id: str) -> None:
        """Add an open request to the index, trimmed by age and count, expiring when idle."""
        now_ms = int(time.time() * 1000)
        pipe.zadd(self._open_key(), {request_id: now_ms})
        pipe.zremrangebyscore(self._open_key(), "-inf", now_ms - self._ttl_ms)
        pipe.zremrangebyrank(self._open_key(), 0, -(MAX_OPEN + 1))
        pipe.pexpire(self._open_key(), self._ttl_ms)

    async def _run(self, call: Callable[[Redis], Awaitable[T]]) -> T:
        try:
            return await self._link.run(call)
        except RedisDown:
            raise StateUnavailable(
                "action requests cannot be read or changed now: Redis does not answer",
                hint="try again in a minute",
            ) from None
