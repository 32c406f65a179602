"""The async MDE API client for one connector.

One `aiohttp.ClientSession` per process is passed in; each connector brings its own TLS context,
token provider, budget, retry policy and cache. Every call:

    token (msal's, reused in-loop while valid) → a place in flight → a budget slot
    → HTTPS with a timeout → translate errors
    429 → pause that budget (API or hunting) for Retry-After, then retry;
    5xx / network → bounded backoff with jitter

Callers (`bot.mde.lookups`) only pass paths built from values validated by `bot.mde.query`.
"""

from __future__ import annotations

import asyncio
import json
import re
import ssl
from collections.abc import Mapping
from typing import Any, Final
from urllib.parse import quote

import aiohttp

from bot.cache import TtlCache
from bot.errors import (
    MdeAuthError,
    MdeBadRequest,
    MdeError,
    MdeForbidden,
    MdeNotFound,
    MdeRateLimited,
    MdeUnavailable,
)
from bot.mde.auth import TokenProvider
from bot.mde.limits import HUNTING_WINDOWS, Budget, RetryPolicy
from bot.settings import ConnectorSettings

Json = Any
Params = Mapping[str, str]

CALL_TIMEOUT: Final = 20.0  # seconds per HTTP call, connection included
MAX_IN_FLIGHT: Final = 48  # per connector; the process's connection pool holds 256
MAX_PAGES: Final = 20  # paging guard: 20 pages of `page_size` rows at most
INLINE_JSON_BYTES: Final = 256 * 1024  # larger answers are parsed off the event loop
_NOT_FOUND: Final = {"__not_found__": True}  # cached 404s: asked once, known missing


def segment(value: str) -> str:
    """One URL path segment, percent-encoded (defence in depth: values are validated first)."""
    return quote(value, safe="")


def tls_context(connector: ConnectorSettings) -> ssl.SSLContext:
    """The TLS context for a connector's API host (reads the CA file: call it off the loop)."""
    if connector.ca_bundle is not None:
        return ssl.create_default_context(cafile=str(connector.ca_bundle))
    return ssl.create_default_context()


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
        retry: RetryPolicy | None = None,
        cache: TtlCache[Json] | None = None,
        timeout: float = CALL_TIMEOUT,
        max_in_flight: int = MAX_IN_FLIGHT,
    ) -> None:
        self.connector = connector
        self._session = session
        self._tokens = tokens
        self._ssl = ssl_context
        self._base = connector.resolved_api_url.rstrip("/") + "/api"
        self.budget = budget or Budget()
        self.hunting_budget = hunting_budget or Budget(HUNTING_WINDOWS)
        self._retry = retry or RetryPolicy()
        self.cache: TtlCache[Json] = cache or TtlCache()
        self._timeout = timeout
        # Calls in flight at once. Beyond the connection pool, requests would queue inside
        # aiohttp after taking a budget slot and reach MDE late and bunched.
        self._in_flight = asyncio.Semaphore(max_in_flight)
        self._before_slot = 0  # calls waiting for a place in flight, not yet in the budget's queue
        self.calls = 0  # HTTP calls actually sent (for tests, benchmarks and `check`)

    @property
    def alias(self) -> str:
        return self.connector.alias

    @property
    def tokens(self) -> TokenProvider:
        return self._tokens

    def queue_delay(self, calls: int = 1) -> float:
        """Seconds the last of `calls` new calls would wait for budget (0: none waits), behind
        every call already waiting, in the budget's queue or for a place in flight."""
        return self.budget.delay(calls + self._before_slot)

    # ------------------------------------------------------------------ public calls

    async def get(self, path: str, params: Params | None = None) -> Json:
        """GET `path` (under /api), cached; a 404 raises `MdeNotFound` (also cached)."""
        key = ("GET", path, tuple(sorted((params or {}).items())))
        body = await self.cache.get_or_load(key, lambda: self._get_or_missing(path, params))
        if body is _NOT_FOUND:
            raise MdeNotFound(self.alias, "not found in MDE")
        return body

    async def collect(
        self, path: str, params: Params | None = None, *, limit: int = 100, page_size: int = 100
    ) -> list[Json]:
        """The rows of a collection, paged with $top/$skip, up to `limit` rows.

        Stops on a short page, at `limit`, after `MAX_PAGES`, or when a page repeats the last.
        """
        rows: list[Json] = []
        previous_first: Json = None
        for page in range(MAX_PAGES):
            top = min(page_size, limit - len(rows))
            query = {**(params or {}), "$top": str(top), "$skip": str(page * page_size)}
            body = await self.get(path, query)
            values = body.get("value", []) if isinstance(body, dict) else []
            if not isinstance(values, list):
                break
            if values and values[0] == previous_first:
                break  # the service handed back the same page: never loop on it
            previous_first = values[0] if values else None
            rows.extend(values)
            if len(values) < top or len(rows) >= limit:
                break
        return rows[:limit]

    async def probe(self) -> None:
        """One cheap live call that bypasses the cache (for `check`)."""
        await self._send("GET", "/machines", params={"$top": "1"})

    async def hunt(self, query: str) -> Json:
        """Run an advanced hunting query (its own, smaller budget); cached like a GET."""
        key = ("HUNT", query)
        return await self.cache.get_or_load(
            key,
            lambda: self._send(
                "POST", "/advancedqueries/run", json_body={"Query": query}, hunting=True
            ),
        )

    # ------------------------------------------------------------------ transport

    async def _get_or_missing(self, path: str, params: Params | None) -> Json:
        try:
            return await self._send("GET", path, params=params)
        except MdeNotFound:
            return _NOT_FOUND

    async def _send(
        self,
        method: str,
        path: str,
        *,
        params: Params | None = None,
        json_body: Json = None,
        hunting: bool = False,
    ) -> Json:
        budget = self.hunting_budget if hunting else self.budget
        attempt = 0
        while True:
            attempt += 1
            # The token first: the budget slot is taken right before the request leaves.
            token = await self._tokens.token()
            try:
                status, headers, raw = await self._attempt(
                    budget, method, path, params, json_body, token
                )
            except (aiohttp.ClientError, TimeoutError) as exc:
                delay = self._retry.backoff(attempt)
                if delay is None:
                    raise self._network_error(exc) from None
                await asyncio.sleep(delay)
                continue
            if status < 300:
                if len(raw) > INLINE_JSON_BYTES:  # 1,000 alerts with evidence: a thread's job
                    return await asyncio.to_thread(self._decode, raw)
                return self._decode(raw)
            if status == 429:
                retry_after = _retry_after(headers)
                wait = self._retry.after_throttle(attempt, retry_after)
                # Every call of this budget waits, not just this one: Retry-After plus jitter,
                # so the queue does not return all at once.
                budget.pause(wait if wait is not None else retry_after)
                if wait is None:
                    raise MdeRateLimited(
                        self.alias, retry_after, hint="the lookup can be repeated then"
                    )
                continue
            if status >= 500:
                delay = self._retry.backoff(attempt)
                if delay is None:
                    raise MdeUnavailable(
                        self.alias,
                        f"MDE answered {status} and kept failing",
                        hint="MDE is having trouble; try again in a few minutes",
                    )
                await asyncio.sleep(delay)
                continue
            raise self._http_error(status, raw)

    async def _attempt(
        self,
        budget: Budget,
        method: str,
        path: str,
        params: Params | None,
        json_body: Json,
        token: str,
    ) -> tuple[int, Mapping[str, str], bytes]:
        """One try: a place in flight, then a budget slot, then the request."""
        self._before_slot += 1
        counted = True
        try:
            async with self._in_flight:
                self._before_slot -= 1
                counted = False
                await budget.acquire()
                return await self._once(method, path, params, json_body, token)
        finally:
            if counted:  # cancelled while waiting for a place
                self._before_slot -= 1

    async def _once(
        self, method: str, path: str, params: Params | None, json_body: Json, token: str
    ) -> tuple[int, Mapping[str, str], bytes]:
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
            return response.status, response.headers, await response.read()

    # ------------------------------------------------------------------ translation

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
                hint="the indicator may be malformed",
            )
        return MdeUnavailable(self.alias, f"MDE answered {status}")


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


def _retry_after(headers: Mapping[str, str]) -> float:
    try:
        return max(0.0, float(headers.get("Retry-After", "")))
    except ValueError:
        return 5.0  # MDE always sends it; be patient if a proxy dropped it
