"""The async MDE API client for one connector.

One `aiohttp.ClientSession` per process is passed in; each connector brings its own TLS context,
token provider, budget, retry policy and cache. Every call:

    token (msal's, reused in-loop while valid) → a place in flight → a budget slot
    → HTTPS with a timeout, the answer read up to MAX_ANSWER_BYTES → translate errors
    401 → the token is dropped and a new one asked for, once
    429 → pause that budget (API or hunting) for Retry-After (clamped), then retry;
    5xx / network → bounded backoff with jitter

Answers are cached as what the caller made of them (`parse`), weighed by their size on the
wire; an answer the caller could read only in part (`keep` says no) is handed back but never
cached, so the next lookup asks MDE again. `fresh` reads past the cache (what is polled, and
what confirms a write).

Writes (`write`: POST, PATCH, DELETE; `bot.mde.actions`) are retried only where MDE surely did
nothing: after a 401 (once, with a new token), a 429 (after Retry-After) or a connection that
could not be made. A timeout, a connection lost after sending, a 5xx, or an answer that cannot
be read raise `MdeUnconfirmed` at once: the request may have been carried out, and only the
caller can look before sending it again. A write that went through, or may have, clears the
connector's cache: what MDE said before may no longer hold. Writes are never cached.

Callers (`bot.mde.lookups`) only pass paths built from values validated by `bot.mde.query`,
each path segment percent-encoded (`segment`).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import ssl
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final, TypeVar, cast
from urllib.parse import quote

import aiohttp

from bot.cache import TtlCache
from bot.errors import (
    MdeAuthError,
    MdeBadRequest,
    MdeBusy,
    MdeError,
    MdeForbidden,
    MdeNotFound,
    MdeRateLimited,
    MdeUnavailable,
    MdeUnconfirmed,
)
from bot.logs import get_logger, note_tenant
from bot.mde.auth import TokenProvider
from bot.mde.limits import HUNTING_WINDOWS, Budget, DeadlinePassed, QueueFull, Window
from bot.metrics import Metrics
from bot.retry import POLICY, RetryPolicy, retry_after
from bot.settings import ConnectorSettings
from bot.state.cache import AnswerCache

Json = Any
Params = Mapping[str, str]
T = TypeVar("T")

CALL_TIMEOUT: Final = 20.0  # seconds per HTTP call, connection included
# Calls in flight at once, per budget (a connector's API calls, its hunting calls): the
# process's connection pool holds 256. Beyond it, requests would queue inside aiohttp after
# taking a budget slot and reach MDE late and bunched.
MAX_IN_FLIGHT: Final = 48
MAX_PAGES: Final = 20  # paging guard: 20 pages of `page_size` rows at most
INLINE_JSON_BYTES: Final = 256 * 1024  # larger answers are decoded and parsed off the event loop
# The largest answer read: 1,000 alerts with their evidence are about 4 MB. Anything far larger
# is not an answer the bot could use (a proxy's error page, a runaway response).
MAX_ANSWER_BYTES: Final = 32 * 1024 * 1024
# What a parsed answer costs in the cache: per byte it took on the wire (parsed models hold
# more than their JSON did: about 3x, measured on the seeded alerts and machines), plus what
# any entry costs (its key, the entry itself, the dictionary's slot: about 1 KB).
PARSED_BYTES_PER_WIRE_BYTE: Final = 3
ENTRY_BYTES: Final = 1024
# getPackageUri's own limit, on top of the API's: 2 calls a minute and 120 an hour.
PACKAGE_URI_WINDOWS: Final = (Window(2, 60.0), Window(120, 3600.0))
WRITE_METHODS: Final = frozenset({"POST", "PATCH", "DELETE"})
MAX_DETAIL_CHARS: Final = 300  # of MDE's own error message, kept on a refusal
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]+")

log = get_logger(__name__)


def segment(value: str, *, safe: str = "") -> str:
    """One URL path segment (or an OData literal inside one), percent-encoded. Values are
    validated first; this makes sure that nothing in one can ever start a query string, a new
    segment or a fragment."""
    return quote(value, safe=safe)


def tls_context(connector: ConnectorSettings) -> ssl.SSLContext:
    """The TLS context for a connector's API host (reads the CA file: call it off the loop)."""
    if connector.ca_bundle is not None:
        return ssl.create_default_context(cafile=str(connector.ca_bundle))
    return ssl.create_default_context()


def _always(_: object) -> bool:
    return True


@dataclass(frozen=True, slots=True)
class Answer:
    """An MDE answer as the cache holds it: what the caller made of it, and what it weighs."""

    value: Any
    cost: int


_NOT_FOUND: Final = object()  # a cached 404: asked once, known missing
_NOT_FOUND_RAW: Final = b"\x00not found"  # the same in a shared cache (not JSON: no body)


def _encoded(body: Json) -> bytes:
    """MDE's decoded body as compact JSON, for a shared cache."""
    return json.dumps(body, separators=(",", ":")).encode()


def answer_cost(answer: Answer) -> int:
    return answer.cost


@dataclass(frozen=True, slots=True)
class _Reply:
    status: int
    headers: Mapping[str, str]
    raw: bytes


class MdeClient:
    def __init__(
        self,
        connector: ConnectorSettings,
        session: aiohttp.ClientSession,
        tokens: TokenProvider,
        *,
        ssl_context: ssl.SSLContext,
        budget: Budget | None = None,
        hunting_budget: Budget | None = None,
        package_budget: Budget | None = None,
        retry: RetryPolicy | None = None,
        cache: TtlCache[Answer] | None = None,
        timeout: float = CALL_TIMEOUT,
        max_answer_bytes: int = MAX_ANSWER_BYTES,
        metrics: Metrics | None = None,
        shared_cache: AnswerCache | None = None,
    ) -> None:
        self.connector = connector
        self._metrics = metrics
        self._shared = shared_cache  # MDE's answers for every replica (REDIS_URL set)
        self._session = session
        self._tokens = tokens
        self._ssl = ssl_context
        self._base = connector.resolved_api_url.rstrip("/") + "/api"
        # `is None`, not `or`: an empty cache is falsy (it has a length).
        self.budget = Budget(max_in_flight=MAX_IN_FLIGHT) if budget is None else budget
        self.hunting_budget = (
            Budget(HUNTING_WINDOWS, max_in_flight=MAX_IN_FLIGHT)
            if hunting_budget is None
            else hunting_budget
        )
        # getPackageUri's own windows; its calls also take a slot of `budget`.
        self.package_budget = (
            Budget(PACKAGE_URI_WINDOWS) if package_budget is None else package_budget
        )
        self._retry = POLICY if retry is None else retry
        self.cache: TtlCache[Answer] = TtlCache(cost=answer_cost) if cache is None else cache
        self._timeout = timeout
        self._max_answer_bytes = max_answer_bytes
        self.calls = 0  # HTTP calls actually sent (for tests, benchmarks and `check`)

    @property
    def alias(self) -> str:
        return self.connector.alias

    @property
    def tokens(self) -> TokenProvider:
        return self._tokens

    def queue_delay(self, calls: int = 1) -> float:
        """Seconds the last of `calls` new calls would wait for budget (0: none waits), behind
        the calls waiting or booked before them."""
        return self.budget.delay(calls)

    async def close(self) -> None:
        """Stop what the client runs of its own (the budgets' schedulers); idempotent."""
        await self.budget.close()
        await self.hunting_budget.close()
        await self.package_budget.close()

    # ------------------------------------------------------------------ public calls

    async def get(
        self,
        path: str,
        params: Params | None = None,
        *,
        parse: Callable[[Json], T],
        keep: Callable[[T], bool] = _always,
    ) -> T:
        """GET `path` (under /api) and `parse` the body; cached (a 404 too: `MdeNotFound`)."""

        async def fetch() -> tuple[Json, int]:
            return await self._send("GET", path, params=params)

        key = ("GET", path, _items(params))
        answer = await self._answer(key, fetch, parse, keep, not_found=True)
        if answer.value is _NOT_FOUND:
            raise MdeNotFound(self.alias, "not found in MDE")
        return cast(T, answer.value)

    async def collect(
        self,
        path: str,
        params: Params | None = None,
        *,
        parse: Callable[[list[Json]], T],
        keep: Callable[[T], bool] = _always,
        limit: int = 100,
        page_size: int = 100,
    ) -> T:
        """The rows of a collection, paged with $top/$skip, up to `limit` rows, `parse`d as a
        whole and cached as one answer (the pages are not cached on their own).

        Stops on a short page, at `limit`, after `MAX_PAGES`, or when a page repeats the last.
        """

        async def fetch() -> tuple[Json, int]:
            return await self._pages(path, params, limit=limit, page_size=page_size)

        key = ("COLLECT", path, _items(params), limit)
        answer = await self._answer(key, fetch, parse, keep)
        return cast(T, answer.value)

    async def collect_uncached(
        self, path: str, params: Params | None = None, *, limit: int = 100, page_size: int = 100
    ) -> list[Json]:
        """The raw rows of a collection, never cached: for scans whose caller caches only what
        it keeps of them (`bot.mde.lookups.alerts_with_file_names`)."""
        rows, _ = await self._pages(path, params, limit=limit, page_size=page_size)
        return rows

    async def derive(
        self,
        key: tuple[Any, ...],
        load: Callable[[], Any],
        *,
        cost: Callable[[Any], int],
        keep: Callable[[Any], bool] = _always,
    ) -> Any:
        """`load()` once for `key` within the cache's lifetime, shared with concurrent callers:
        for answers a lookup derives from several calls (a filtered scan)."""

        async def wrapped() -> Answer:
            value = await load()
            return Answer(value, cost(value))

        answer = await self.cache.get_or_load(("DERIVED", *key), wrapped, keep=_keeping(keep))
        return answer.value

    async def fresh(
        self,
        path: str,
        params: Params | None = None,
        *,
        parse: Callable[[Json], T],
        limit: Budget | None = None,
    ) -> T:
        """GET `path` and `parse` the body, past the cache (neither read from it nor kept in
        it): for what is polled, and for the reads that confirm a write. Retried as any read.

        `limit` is a budget of the endpoint's own (getPackageUri's 2 a minute): every try also
        takes a slot of it, and is refused at once (`MdeRateLimited`, with the wait) when it
        has none free rather than queued; MDE's 429 pauses that budget alone and is reported,
        not retried."""
        body, size = await self._send("GET", path, params=params, limit=limit)
        return cast(T, (await self._parsed(parse, body, size)).value)

    async def write(
        self, method: str, path: str, *, body: Json = None, parse: Callable[[Json], T]
    ) -> T:
        """POST, PATCH or DELETE `path` with the JSON `body`, and `parse` the answer (an empty
        answer, a 204, reads as `{}`). Never retried when it may have taken effect: see the
        module docstring; `MdeUnconfirmed` then. Takes a slot of the API budget like any call;
        never cached; clears the connector's cache once it went through, or may have."""
        if method not in WRITE_METHODS:
            raise ValueError(f"not a write method: {method}")
        try:
            answer, _ = await self._send(method, path, json_body=body, write=True)
        except MdeUnconfirmed as exc:
            await self.forget()
            log.warning(
                "mde_write_unconfirmed",
                connector=self.alias,
                method=method,
                path=path,
                status=exc.status,
                reason=exc.message,
            )
            raise
        await self.forget()
        log.info("mde_write", connector=self.alias, method=method, path=path)
        try:
            return parse(answer)
        except MdeUnavailable:
            log.warning("mde_write_unreadable", connector=self.alias, method=method, path=path)
            raise self._unconfirmed(None, 200) from None

    async def forget(self) -> None:
        """Forget every cached answer: in this process, and in the shared cache for every
        replica (after a write: what MDE said before may no longer hold)."""
        self.cache.clear()
        if self._shared is not None:
            await self._shared.clear()

    async def probe(self) -> None:
        """One cheap live call that bypasses the cache (for `check`)."""
        await self._send("GET", "/machines", params={"$top": "1"})

    async def hunt(
        self, query: str, *, parse: Callable[[Json], T], keep: Callable[[T], bool] = _always
    ) -> T:
        """Run an advanced hunting query (its own, smaller budget); cached like a GET."""

        async def fetch() -> tuple[Json, int]:
            return await self._send(
                "POST", "/advancedqueries/run", json_body={"Query": query}, hunting=True
            )

        answer = await self._answer(("HUNT", query), fetch, parse, keep)
        return cast(T, answer.value)

    async def _answer(
        self,
        key: tuple[Any, ...],
        fetch: Callable[[], Awaitable[tuple[Json, int]]],
        parse: Callable[[Any], Any],
        keep: Callable[[Any], bool],
        *,
        not_found: bool = False,
    ) -> Answer:
        """The answer for `key`: cached, or `fetch()`ed (MDE's decoded body and its size) and
        `parse`d, concurrent identical calls merged into one. `not_found`: a 404 is an answer
        too (`_NOT_FOUND`). In the connector's own cache; with a shared cache (several
        replicas), MDE's body is kept in Redis as JSON for every replica and parsed where it
        is read, so that `clear()` on one replica reaches them all."""

        async def load() -> Answer:
            try:
                body, size = await fetch()
            except MdeNotFound:
                if not not_found:
                    raise
                return Answer(_NOT_FOUND, ENTRY_BYTES)
            return await self._parsed(parse, body, size)

        if self._shared is None:
            return await self.cache.get_or_load(key, load, keep=_keeping(keep))
        loaded: list[Answer] = []  # this caller's own load, parsed already

        async def raw() -> bytes:
            try:
                body, size = await fetch()
            except MdeNotFound:
                if not not_found:
                    raise
                loaded.append(Answer(_NOT_FOUND, ENTRY_BYTES))
                return _NOT_FOUND_RAW
            loaded.append(await self._parsed(parse, body, size))
            if size > INLINE_JSON_BYTES:
                return await asyncio.to_thread(_encoded, body)
            return _encoded(body)

        def kept(_: bytes) -> bool:
            return bool(loaded) and _keeping(keep)(loaded[0])

        data = await self._shared.get_or_load(repr(key), raw, keep=kept)
        if self._metrics is not None:
            self._metrics.cache_lookup(not loaded)
        if loaded:
            return loaded[0]
        if data == _NOT_FOUND_RAW:
            return Answer(_NOT_FOUND, ENTRY_BYTES)
        return await self._parsed(parse, await self._decoded(data), len(data))

    # ------------------------------------------------------------------ transport

    async def _pages(
        self, path: str, params: Params | None, *, limit: int, page_size: int
    ) -> tuple[list[Json], int]:
        rows: list[Json] = []
        size = 0
        previous_first: Json = None
        for page in range(MAX_PAGES):
            top = min(page_size, limit - len(rows))
            query = {**(params or {}), "$top": str(top), "$skip": str(page * page_size)}
            body, page_bytes = await self._send("GET", path, params=query)
            size += page_bytes
            values = body.get("value", []) if isinstance(body, dict) else []
            if not isinstance(values, list):
                break
            if values and values[0] == previous_first:
                break  # the service handed back the same page: never loop on it
            previous_first = values[0] if values else None
            rows.extend(values)
            if len(values) < top or len(rows) >= limit:
                break
        return rows[:limit], size

    async def _parsed(self, parse: Callable[[Any], Any], body: Any, size: int) -> Answer:
        """`parse(body)` as a cache entry; a large answer is parsed in a thread (it is CPU
        alone: a thousand alerts with evidence)."""
        if size > INLINE_JSON_BYTES:
            value = await asyncio.to_thread(parse, body)
        else:
            value = parse(body)
        return Answer(value, ENTRY_BYTES + size * PARSED_BYTES_PER_WIRE_BYTE)

    async def _send(
        self,
        method: str,
        path: str,
        *,
        params: Params | None = None,
        json_body: Json = None,
        hunting: bool = False,
        write: bool = False,
        limit: Budget | None = None,
    ) -> tuple[Json, int]:
        """One request, retried as the module docstring says; (decoded body, bytes read).
        `write`: never retried once it may have reached MDE. `limit`: see `fresh`."""
        budget = self.hunting_budget if hunting else self.budget
        attempt = 0
        signed_in_again = False
        while True:
            attempt += 1
            # The token first: the budget slot is taken right before the request leaves.
            token = await self._tokens.token()
            note_tenant(self.alias)
            try:
                reply = await self._attempt(budget, method, path, params, json_body, token, limit)
            except aiohttp.ClientConnectorError as exc:
                # The connection could not be made: the request never left, even a write.
                await self._back_off(attempt, self._network_error(exc))
                continue
            except (aiohttp.ClientError, TimeoutError, MdeUnavailable) as exc:
                if write:
                    raise self._unconfirmed(exc) from None
                if isinstance(exc, MdeUnavailable):
                    raise  # an answer too large: asking again would not make it smaller
                await self._back_off(attempt, self._network_error(exc))
                continue
            if reply.status < 300:
                try:
                    return await self._decoded(reply.raw), len(reply.raw)
                except MdeUnavailable as exc:
                    if write:
                        raise self._unconfirmed(exc, reply.status) from None
                    raise
            if reply.status == 401 and not signed_in_again:
                # A token MDE no longer takes (revoked, or the app's roles changed) is dropped
                # and a new one asked for, once, before the refusal is reported.
                signed_in_again = True
                self._tokens.invalidate(token)
                continue
            if reply.status == 429:
                if limit is not None:
                    raise self._over_own_limit(limit, reply.headers)
                self._throttled(budget, attempt, reply.headers, write=write)
                continue
            if reply.status >= 500:
                if write:
                    raise self._unconfirmed(None, reply.status)
                await self._back_off(attempt, self._server_error(reply.status))
                continue
            raise self._http_error(reply.status, reply.raw)

    async def _back_off(self, attempt: int, failure: MdeError) -> None:
        """Wait before the next try, or raise `failure` when the tries are spent."""
        delay = self._retry.backoff(attempt)
        if delay is None:
            raise failure from None
        await asyncio.sleep(delay)

    def _throttled(
        self, budget: Budget, attempt: int, headers: Mapping[str, str], *, write: bool = False
    ) -> None:
        """A 429: every call of this budget waits, not just this one (Retry-After plus jitter,
        so the queue does not return all at once); this call is retried, or reported when the
        wait is too long or the tries are spent. MDE refused it: a write is retried too."""
        seconds = retry_after(headers)
        wait = self._retry.after_throttle(attempt, seconds)
        budget.pause(wait if wait is not None else seconds)
        if wait is None:
            hint = (
                "MDE did nothing; the request can be sent again then"
                if write
                else "the lookup can be repeated then"
            )
            raise MdeRateLimited(self.alias, seconds, hint=hint)

    def _over_own_limit(self, limit: Budget, headers: Mapping[str, str]) -> MdeRateLimited:
        """MDE's 429 to a call with a limit of its own: that limit's budget waits, the
        connector's other calls do not."""
        seconds = retry_after(headers)
        limit.pause(seconds)
        return MdeRateLimited(
            self.alias, seconds, hint="this MDE call has a smaller limit of its own"
        )

    async def _attempt(
        self,
        budget: Budget,
        method: str,
        path: str,
        params: Params | None,
        json_body: Json,
        token: str,
        limit: Budget | None = None,
    ) -> _Reply:
        """One try: a slot of the endpoint's own `limit` if it has one, a budget slot (and a
        place in flight), then the request."""
        async with contextlib.AsyncExitStack() as held:
            if limit is not None:
                await held.enter_async_context(self._own_slot(limit))
            await held.enter_async_context(self._slot(budget))
            try:
                reply = await self._once(method, path, params, json_body, token)
            except (aiohttp.ClientError, TimeoutError, MdeUnavailable):
                self._observed(path, None)
                raise
            self._observed(path, reply.status)
            return reply

    def _observed(self, path: str, status: int | None) -> None:
        """One call to MDE, for the metrics: its endpoint's family and its status."""
        if self._metrics is not None:
            self._metrics.mde_call(path, status)

    @contextlib.asynccontextmanager
    async def _own_slot(self, limit: Budget) -> AsyncIterator[None]:
        """A slot of an endpoint's own limit now, or `MdeRateLimited` with the wait: a call
        that may go twice a minute is refused, not queued behind the others."""
        wait = limit.delay()
        if wait > 0:
            raise MdeRateLimited(
                self.alias, wait, hint="this MDE call has a smaller limit of its own"
            )
        async with self._slot(limit):
            yield

    @contextlib.asynccontextmanager
    async def _slot(self, budget: Budget) -> AsyncIterator[None]:
        try:
            async with self._waiting(budget):
                await budget.acquire()
        except QueueFull:
            raise MdeBusy(
                self.alias,
                "the bot's queue for MDE is full: too many lookups are waiting",
                hint="try again in a few minutes, or ask about fewer things at once",
            ) from None
        except DeadlinePassed:
            raise MdeBusy(
                self.alias,
                "gave up waiting for MDE's call budget: the answer could no longer be delivered",
                hint="ask again",
            ) from None
        try:
            yield
        finally:
            budget.release()

    @contextlib.asynccontextmanager
    async def _waiting(self, budget: Budget) -> AsyncIterator[None]:
        """Around a wait for `budget`: counted as waiting (a gauge) and timed (a histogram)."""
        if self._metrics is None or budget is self.package_budget:
            yield
            return
        name = "hunting" if budget is self.hunting_budget else "api"
        queue = self._metrics.budget_queue.labels(budget=name)
        started = time.monotonic()
        queue.inc()
        try:
            yield
        finally:
            queue.dec()
            self._metrics.budget_wait_seconds.labels(budget=name).observe(
                time.monotonic() - started
            )

    async def _once(
        self, method: str, path: str, params: Params | None, json_body: Json, token: str
    ) -> _Reply:
        self.calls += 1
        async with (
            asyncio.timeout(self._timeout),
            self._session.request(
                method,
                self._base + path,
                params=params,
                json=json_body,
                headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
                ssl=self._ssl,
                allow_redirects=False,
            ) as response,
        ):
            return _Reply(response.status, response.headers, await self._read(response))

    async def _read(self, response: aiohttp.ClientResponse) -> bytes:
        """The body, refused beyond `max_answer_bytes` (by its Content-Length at once, or as
        soon as the bytes read pass it)."""
        cap = self._max_answer_bytes
        if (response.content_length or 0) > cap:
            raise self._too_large()
        chunks: list[bytes] = []
        read = 0
        async for chunk in response.content.iter_chunked(256 * 1024):
            read += len(chunk)
            if read > cap:
                raise self._too_large()
            chunks.append(chunk)
        return b"".join(chunks)

    # ------------------------------------------------------------------ translation

    async def _decoded(self, raw: bytes) -> Json:
        if len(raw) > INLINE_JSON_BYTES:  # 1,000 alerts with evidence: a thread's job
            return await asyncio.to_thread(self._decode, raw)
        return self._decode(raw)

    def _decode(self, raw: bytes) -> Json:
        """A success body. Something that is not JSON (a proxy's login page, say) is a failure,
        not an empty answer that would read as "nothing found"."""
        if not raw:
            return {}
        try:
            return json.loads(raw)
        except ValueError:
            raise MdeUnavailable(
                self.alias,
                "MDE's answer was not JSON",
                hint="a proxy or gateway may be answering in MDE's place; check the API URL",
            ) from None

    def _too_large(self) -> MdeUnavailable:
        return MdeUnavailable(
            self.alias,
            f"MDE's answer was larger than {_size(self._max_answer_bytes)}",
            hint="ask about fewer things at once; a proxy may also be answering in MDE's place",
        )

    def _server_error(self, status: int) -> MdeUnavailable:
        return MdeUnavailable(
            self.alias,
            f"MDE answered {status} and kept failing",
            hint="MDE is having trouble; try again in a few minutes",
        )

    def _network_error(self, exc: BaseException) -> MdeUnavailable:
        if isinstance(exc, TimeoutError):
            return MdeUnavailable(
                self.alias,
                f"MDE did not answer within {self._timeout:g} s",
                hint="MDE is slow right now; try again shortly",
            )
        if isinstance(exc, aiohttp.ClientConnectorCertificateError):
            return MdeUnavailable(
                self.alias,
                "MDE's TLS certificate is not trusted",
                hint="check the connector's CA bundle",
            )
        return MdeUnavailable(
            self.alias,
            "cannot reach the MDE API",
            hint="check network access to the connector's API host",
        )

    def _unconfirmed(self, exc: BaseException | None, status: int | None = None) -> MdeUnconfirmed:
        """A write that may have been carried out, or was (a 2xx `status` whose answer could
        not be read): why we cannot tell, in words."""
        hint = "look up what MDE now has before sending it again"
        if status is not None and status < 300:
            return MdeUnconfirmed(
                self.alias,
                "MDE accepted the request, but its answer could not be read",
                accepted=True,
                hint=hint,
            )
        if status is not None:
            reason = f"MDE answered {status}"
        elif isinstance(exc, TimeoutError):
            reason = f"MDE did not answer within {self._timeout:g} s"
        elif isinstance(exc, MdeUnavailable):
            reason = exc.message
        else:
            reason = "the connection to MDE was lost"
        return MdeUnconfirmed(
            self.alias,
            f"{reason}: the request may or may not have been carried out",
            status=status,
            hint=hint,
        )

    def _http_error(self, status: int, raw: bytes) -> MdeError:
        code, message = _error_fields(raw)
        if status == 404:
            return MdeNotFound(self.alias, "not found in MDE")
        if status == 401:
            return MdeAuthError(
                self.alias,
                "MDE refused the access token",
                code="Unauthorized",
                hint="the token's audience may be wrong: check the scope for your cloud",
            )
        if status == 403:
            return forbidden(self.alias, code, message)
        if status == 400:
            return MdeBadRequest(
                self.alias,
                f"MDE rejected the request ({code or 'BadRequest'})",
                code=code,
                detail=_detail(message),
                hint="the indicator may be malformed",
            )
        return MdeUnavailable(self.alias, f"MDE answered {status}")


def _detail(message: str) -> str:
    """MDE's own error message as we keep it: one line, at most MAX_DETAIL_CHARS."""
    text = _CONTROL.sub(" ", message).strip()
    return text if len(text) <= MAX_DETAIL_CHARS else text[: MAX_DETAIL_CHARS - 1] + "…"


def _size(nbytes: int) -> str:
    if nbytes >= 1024 * 1024:
        return f"{nbytes / (1024 * 1024):g} MB"
    return f"{nbytes / 1024:g} KB"


def _items(params: Params | None) -> tuple[tuple[str, str], ...]:
    return tuple(sorted((params or {}).items()))


def _keeping(keep: Callable[[Any], bool]) -> Callable[[Answer], bool]:
    return lambda answer: answer.value is _NOT_FOUND or keep(answer.value)


_ROLES = re.compile(r"required roles:\s*([\w.,\s]+?)\s*,\s*application roles", re.IGNORECASE)


def forbidden(alias: str, code: str, message: str) -> MdeForbidden:
    """403, with what is missing in words an Entra admin acts on."""
    if code == "DisabledFeature" or "provision" in message.lower():
        return MdeForbidden(
            alias,
            "MDE is not enabled for this tenant",
            code="DisabledFeature",
            hint="the tenant needs a Defender for Endpoint licence and onboarding",
        )
    match = _ROLES.search(message)
    roles = tuple(r.strip() for r in match.group(1).split(",") if r.strip()) if match else ()
    needed = roles[0] if roles else "a permission"
    return MdeForbidden(
        alias,
        f"the app lacks {needed}",
        missing_roles=roles,
        hint=f"ask an Entra admin to grant {needed} (WindowsDefenderATP API) and admin consent",
    )


def _json(raw: bytes) -> Json:
    """An error body, leniently: anything unreadable is no body."""
    try:
        return json.loads(raw) if raw else {}
    except ValueError:
        return {}


def _error_fields(raw: bytes) -> tuple[str, str]:
    body = _json(raw)
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict):
        return "", ""
    return str(error.get("code", "")), str(error.get("message", ""))
