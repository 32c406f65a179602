"""Values kept for a while under a key, seen by every replica: the reports behind a card's
buttons (a click may reach another replica than the one that posted the card), each user's
recent lookups for their App Home.

    put(key, value, ttl)   keep `value` for `ttl` seconds
    get(key)               the value, or None when unknown or expired

With Redis each value is one string key, `SET key json PX ttl` and `GET key`. Values are
written as JSON by a `Codec` the caller passes, inside an envelope that carries the codec's
`version`: `{"v": 1, "data": …}`. A value written in another version (a replica still on the
old code during a rolling restart) reads as unknown, never as a wrong object. JSON, not
pickle: anything that can write to the Redis must not be able to run code in the bot, and
pickles of our classes break silently when the classes change. `Codec.of(SomeType)` uses
pydantic's TypeAdapter, which handles dataclasses holding pydantic models. A model field
declared with `exclude=True` (`ocsf.Device.unmapped`, `current`: kept out of OCSF output) is
not written by the TypeAdapter; `Codec.of(SomeType, excluded=True)` writes those too
(`with_excluded`), so that what is read back renders as what was written.

While Redis is down values are kept in the replica (`LocalKeyValue`) and read from there too,
also after Redis is back (a card posted during the outage still opens on the replica that
posted it).
"""

from __future__ import annotations

import dataclasses
import json
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

from pydantic import BaseModel, TypeAdapter
from pydantic_core import to_jsonable_python

from bot.logs import get_logger
from bot.state.link import RedisDown, RedisLink, as_bytes

log = get_logger(__name__)

T = TypeVar("T")
MAX_ENTRIES = 5000  # values one replica keeps by itself


@dataclass(frozen=True, slots=True)
class Codec(Generic[T]):
    """How values of one type become JSON-able data and back. Change `version` whenever the
    shape changes: values of another version read as unknown."""

    version: int
    dump: Callable[[T], Any]
    load: Callable[[Any], T]

    @classmethod
    def of(cls, kind: type[T], *, version: int = 1, excluded: bool = False) -> Codec[T]:
        """A codec by pydantic's TypeAdapter for `kind` (dataclasses, models, tuples, …);
        `excluded`: models' `exclude=True` fields are written too (`with_excluded`)."""
        adapter = TypeAdapter(kind)

        def dump(value: T) -> Any:
            dumped = adapter.dump_python(value, mode="json")
            return with_excluded(value, dumped) if excluded else dumped

        return cls(version, dump, adapter.validate_python)

    def encode(self, value: T) -> bytes:
        return json.dumps(
            {"v": self.version, "data": self.dump(value)}, separators=(",", ":")
        ).encode()

    def decode(self, raw: bytes) -> T | None:
        """The value, or None when it was written in another version."""
        envelope = json.loads(raw)
        if not isinstance(envelope, dict) or envelope.get("v") != self.version:
            return None
        return self.load(envelope["data"])


def with_excluded(value: Any, dumped: Any) -> Any:
    """`dumped` (what the TypeAdapter wrote for `value`) with the `exclude=True` fields of
    every model inside `value` added back, as JSON-able data; walks `value` and `dumped`
    side by side (models, dataclasses, sequences, mappings)."""
    if isinstance(value, BaseModel) and isinstance(dumped, dict):
        for name, info in type(value).model_fields.items():
            inner = getattr(value, name)
            if name in dumped:
                dumped[name] = with_excluded(inner, dumped[name])
            elif info.exclude and inner is not None:
                dumped[name] = to_jsonable_python(inner)
    elif dataclasses.is_dataclass(value) and isinstance(dumped, dict):
        for item in dataclasses.fields(value):
            if item.name in dumped:
                dumped[item.name] = with_excluded(getattr(value, item.name), dumped[item.name])
    elif isinstance(value, list | tuple) and isinstance(dumped, list):
        return [with_excluded(v, d) for v, d in zip(value, dumped, strict=False)]
    elif isinstance(value, Mapping) and isinstance(dumped, dict):
        for key, inner in value.items():
            if (name := str(key)) in dumped:
                dumped[name] = with_excluded(inner, dumped[name])
    return dumped


class KeyValue(Protocol[T]):
    async def put(self, key: str, value: T, ttl: float) -> None:
        """Keep `value` under `key` for `ttl` seconds (replacing what was there)."""
        ...

    async def get(self, key: str) -> T | None:
        """The value under `key`, or None when there is none (never kept, or expired)."""
        ...


class LocalKeyValue(Generic[T]):
    """In-process: values as they are (not encoded), each with its own expiry, at most
    `max_entries` of them (the oldest-used go first)."""

    def __init__(
        self, *, max_entries: int = MAX_ENTRIES, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._entries: OrderedDict[str, tuple[float, T]] = OrderedDict()
        self._max = max_entries
        self._clock = clock

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def max_entries(self) -> int:
        return self._max

    async def put(self, key: str, value: T, ttl: float) -> None:
        self._entries.pop(key, None)
        if ttl <= 0:
            return
        self._entries[key] = (self._clock() + ttl, value)
        while len(self._entries) > self._max:
            self._entries.popitem(last=False)

    async def get(self, key: str) -> T | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        expires, value = entry
        if expires <= self._clock():
            del self._entries[key]
            return None
        self._entries.move_to_end(key)
        return value


class RedisKeyValue(Generic[T]):
    """Shared through Redis (`name` separates one store from another), encoded by `codec`,
    with `LocalKeyValue` behind it for outages."""

    def __init__(
        self, link: RedisLink, name: str, codec: Codec[T], *, max_entries: int = MAX_ENTRIES
    ) -> None:
        self._link = link
        self._name = name
        self._codec = codec
        self._local: LocalKeyValue[T] = LocalKeyValue(max_entries=max_entries)

    def _key(self, key: str) -> str:
        return self._link.key("kv", self._name, key)

    async def put(self, key: str, value: T, ttl: float) -> None:
        if ttl <= 0:
            return
        raw = self._codec.encode(value)
        try:
            await self._link.run(
                lambda client: client.set(self._key(key), raw, px=max(1, round(ttl * 1000)))
            )
        except RedisDown:
            await self._local.put(key, value, ttl)

    async def get(self, key: str) -> T | None:
        try:
            raw = await self._link.run(lambda client: client.get(self._key(key)))
        except RedisDown:
            raw = None
        if raw is None:
            return await self._local.get(key)
        try:
            value = self._codec.decode(as_bytes(raw))
        except ValueError:  # JSON or validation: written by a version that did not say so
            value = None
        if value is None:
            log.info("state_value_unreadable", store=self._name)
        return value
