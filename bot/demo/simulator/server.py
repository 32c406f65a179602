"""The embedded MDE + Entra simulator: HTTPS on loopback, behaving as
docs/mde-api.md describes MDE.

    /{tenant}/v2.0/.well-known/openid-configuration   OIDC discovery (what msal reads)
    /{tenant}/oauth2/v2.0/token                        client credentials → JWT with `roles`
    /api/... and /api/v1.0/...                         the MDE endpoints (see `REQUIRED_ROLES`)
    /safedownload/WDATP_Investigation_Package.zip      investigation packages (getPackageUri)

Every API call goes through one middleware, in this order:

    count (calls[name], calls["*"]) → latency → observe the rate window (peaks)
    → 429 storm / forced or random fault → 401 bad token → 403 DisabledFeature (no licence)
    → 403 Forbidden (missing role) → 429 own rate limit, then the endpoint's own limits
    (Retry-After) → the handler (→ 400 with MDE's code for malformed input, 404 for what is
    not there)
    [→ an `applied` fault answers only now, after the handler has taken effect]

Everything a test or a benchmark steers is on `Simulator`: registered apps (`AppRegistration`),
tenants (licensed or not), `knobs` (latency, fault rates, rate limits, page size, the token
endpoint, how machine actions run), the clock machine actions follow (`clock=`), forced faults,
counters, and what the bot did (`actions`, `device_state`).
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import random
import tempfile
import time
from collections import Counter
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from types import MappingProxyType
from typing import Any, NamedTuple

from aiohttp import web

from bot.demo.simulator import (
    actions,
    alerts,
    api,
    custom_indicators,
    data,
    entra,
    files,
    hunting,
    lifecycle,
    machines,
    network,
)
from bot.demo.simulator.api import CTX, BadInput, Ctx, Endpoint, Handler, NotFound
from bot.demo.simulator.knobs import (
    ALL_READ_ROLES,
    DEMO_ROLES,
    AppRegistration,
    Clock,
    Fault,
    Knobs,
    system_clock,
)
from bot.demo.simulator.lifecycle import ActionBook, ActionRecord
from bot.demo.simulator.odata import ODataError
from bot.demo.simulator.quotas import Quotas
from bot.demo.simulator.tls import make_pki
from bot.demo.simulator.tokens import MDE_AUDIENCE, TokenMint

# The simulator's built-in app registration: the demo's default connector. Not a secret: it only
# opens this process's own simulator.
DEMO_CLIENT_ID = "5d3f7a9c-1b2e-4c6d-8e0f-a1b2c3d4e5f6"
DEMO_CLIENT_SECRET = "simulator-only-client-secret-0001"  # noqa: S105 - the simulator's own

# In registration order: function-call routes before `/machines/{id}`.
ENDPOINTS: tuple[Endpoint, ...] = (
    *machines.ENDPOINTS,
    *alerts.ENDPOINTS,
    *files.ENDPOINTS,
    *network.ENDPOINTS,
    *hunting.ENDPOINTS,
    *actions.ENDPOINTS,
    *custom_indicators.ENDPOINTS,
)
_BY_NAME = MappingProxyType({e.name: e for e in ENDPOINTS})
# Endpoint name → the application roles that open it (any one of them).
REQUIRED_ROLES = MappingProxyType({e.name: e.roles for e in ENDPOINTS})
API_VERSIONS = ("", "/v1.0")  # `/api/...` (latest) and `/api/v1.0/...`
_FAULT_CODES = {
    400: "BadRequest",
    401: "Unauthorized",
    403: "Forbidden",
    404: "ResourceNotFound",
    429: "TooManyRequests",
}


class DeviceState(NamedTuple):
    isolated: bool
    restricted: bool


class Simulator:
    """Start with `async with Simulator(...) as sim:`; the URLs are valid inside the block.

    `tenants` default to contoso and fabrikam (`data.seeded_tenants()` adds the unlicensed one),
    seeded relative to `now` (default: the start of the current UTC day, see `data`). The
    built-in app registration (`DEMO_CLIENT_ID`) has `DEMO_ROLES`, read and act. `clock` is
    what machine actions, package links, indicator expiry and getPackageUri's limits follow
    (default: the system's; `knobs.ManualClock` for a test that moves time itself).
    """

    def __init__(
        self,
        tenants: Iterable[data.Tenant] | None = None,
        apps: Iterable[AppRegistration] | None = None,
        *,
        seed: int = 7,
        now: datetime | None = None,
        clock: Clock = system_clock,
    ) -> None:
        tenant_list = (
            list(tenants) if tenants is not None else [data.contoso(now), data.fabrikam(now)]
        )
        self.tenants = {t.tenant_id: t for t in tenant_list}
        default_apps = [
            AppRegistration(DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, t.tenant_id, roles=DEMO_ROLES)
            for t in tenant_list
        ]
        self.apps: list[AppRegistration] = list(apps) if apps is not None else default_apps
        self.knobs = Knobs()
        self.clock = clock
        self.book = ActionBook(clock, self.knobs)
        self.calls: Counter[str] = Counter()
        self.token_requests = 0
        self._rng = random.Random(seed)  # noqa: S311 - fault injection, not crypto
        self._quotas = Quotas(self.knobs, clock, self.calls)
        self._mint = TokenMint()
        self._runner: web.AppRunner | None = None
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        self._stopping = asyncio.Event()
        self.base_url = ""
        self.ca_path = Path()

    # ------------------------------------------------------------------ lifecycle

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> Simulator:
        self._tmp = tempfile.TemporaryDirectory(prefix="mde-sim-")
        pki = await asyncio.to_thread(make_pki, Path(self._tmp.name))
        self.ca_path = pki.ca_path
        self._stopping = asyncio.Event()
        app = web.Application(middlewares=[self._api_middleware])
        app.add_routes(self._routes())
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port, ssl_context=pki.server_context)
        await site.start()
        bound = self._runner.addresses[0]
        self.base_url = f"https://{host}:{bound[1]}"
        return self

    async def stop(self) -> None:
        self._stopping.set()  # ends hanging faults and latency sleeps at once
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    async def __aenter__(self) -> Simulator:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    def authority(self, tenant_id: str) -> str:
        return f"{self.base_url}/{tenant_id}"

    @property
    def api_url(self) -> str:
        return self.base_url

    def tenant(self, name: str) -> data.Tenant:
        return next(t for t in self.tenants.values() if t.name == name)

    # ------------------------------------------------------------------ steering

    def force(self, *faults: Fault) -> None:
        """Answer the next API calls with these faults, in order (a fault with an `endpoint`:
        the next call of that endpoint)."""
        if unknown := [f.endpoint for f in faults if f.endpoint and f.endpoint not in _BY_NAME]:
            raise ValueError(f"No endpoint is named {unknown[0]!r}: see REQUIRED_ROLES")
        self.knobs.forced.extend(faults)

    def storm_429(self, seconds: float) -> None:
        """Answer every API call 429 for `seconds`, Retry-After counting down to the end."""
        self.knobs.storm_until = time.monotonic() + seconds

    def token_endpoint_down_for(self, seconds: float) -> None:
        """The token endpoint answers 503 for `seconds`."""
        self.knobs.token_down_until = time.monotonic() + seconds

    def revoke_tokens(self) -> None:
        """Every access token issued so far is refused from now on (401), as Entra's are after
        a revocation or a change of the app's roles; new ones work."""
        self._mint.revoke_all()

    def register(self, app: AppRegistration) -> AppRegistration:
        self.apps.append(app)
        return app

    def issue_token(
        self,
        tenant_id: str,
        *,
        roles: Iterable[str] = ALL_READ_ROLES,
        client_id: str = DEMO_CLIENT_ID,
        audience: str = MDE_AUDIENCE,
        lifetime: int | None = None,
    ) -> str:
        """A token as the token endpoint would mint it (a negative `lifetime`: expired)."""
        return self._mint.mint(
            tenant_id=tenant_id,
            client_id=client_id,
            audience=audience,
            roles=tuple(roles),
            lifetime=lifetime,
        )

    def reset_counters(self) -> None:
        """Zero `calls`, `token_requests` and the observed peaks (the limits keep their state)."""
        self.calls.clear()
        self.token_requests = 0
        self._quotas.clear_observed()

    @property
    def peak_window_calls(self) -> int:
        """The most API calls one app made in one tenant within any `rate_window` (429s too)."""
        return self._quotas.peak(hunting=False)

    @property
    def peak_hunting_window_calls(self) -> int:
        return self._quotas.peak(hunting=True)

    # ------------------------------------------------------------------ what the bot did

    @property
    def actions(self) -> list[ActionRecord]:
        """Every machine action created, in order, with the request body that created it."""
        return self.book.records

    def device_state(self, machine_id: str, tenant: str = "contoso") -> DeviceState:
        """Whether the device is isolated and its apps restricted now, as its machine actions
        tell (the last Succeeded Isolate/Unisolate, Restrict/Unrestrict)."""
        wanted = machine_id.strip().lower()
        found = self.tenant(tenant)
        rows = [*self.book.rows(found.tenant_id), *found.machine_actions]
        return DeviceState(*lifecycle.device_state(r for r in rows if r["machineId"] == wanted))

    # ------------------------------------------------------------------ Entra

    def _routes(self) -> list[web.RouteDef]:
        routes = [
            web.get("/{tenant}/v2.0/.well-known/openid-configuration", self._discovery),
            web.post("/{tenant}/oauth2/v2.0/token", self._token),
            web.get(actions.PACKAGE_PATH, self._package),
        ]
        for version in API_VERSIONS:
            suffix = ".v1_0" if version else ""
            routes += [
                web.route(e.method, f"/api{version}{e.path}", e.handler, name=e.name + suffix)
                for e in ENDPOINTS
            ]
        return routes

    async def _package(self, request: web.Request) -> web.Response:
        self.calls["package_download"] += 1
        return actions.download(self.book, request)

    async def _discovery(self, request: web.Request) -> web.Response:
        return entra.discovery(self.base_url, request.match_info["tenant"], self.tenants)

    async def _token(self, request: web.Request) -> web.Response:
        self.token_requests += 1
        knobs = self.knobs
        if knobs.token_endpoint_down or time.monotonic() < knobs.token_down_until:
            return entra.aad_error(503, "temporarily_unavailable", 90033, "Service unavailable.")
        form = await request.post()
        fields = {k: str(v) for k, v in form.items()}
        return entra.token(
            request.match_info["tenant"], fields, self.tenants, self.apps, self._mint
        )

    # ------------------------------------------------------------------ the API middleware

    @web.middleware
    async def _api_middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        if not request.path.startswith("/api/"):
            return await handler(request)
        route = request.match_info.route.name
        endpoint = _BY_NAME.get((route or "").split(".")[0])
        self.calls["*"] += 1
        if endpoint is None or request.match_info.http_exception is not None:
            self.calls["unknown"] += 1
            status = getattr(request.match_info.http_exception, "status", 404)
            code = "ResourceNotFound" if status == 404 else "BadRequest"
            return api.error(status, code, f"No MDE API at {request.method} {request.path}")
        self.calls[endpoint.name] += 1
        await self._sleep(self.knobs.latency + self.knobs.route_latency.get(endpoint.name, 0.0))
        claims = self._claims(request)
        key = (str(claims.get("appid")), str(claims.get("tid"))) if claims else ("", "")
        self._quotas.observe(endpoint, key)
        fault = self._next_fault(endpoint.name)
        if fault is not None and not fault.applied:
            return await self._answer(fault)
        response = await self._serve(request, handler, endpoint, claims, key)
        if fault is not None:  # accepted, then the fault: the caller cannot know it took effect
            return await self._answer(fault)
        return response

    async def _serve(
        self,
        request: web.Request,
        handler: Handler,
        endpoint: Endpoint,
        claims: dict[str, Any] | None,
        key: tuple[str, str],
    ) -> web.StreamResponse:
        """From the token check to the handler's answer."""
        if claims is None:
            return api.error(
                401,
                "Unauthorized",
                "Authorization token is missing, invalid or expired.",
                **{"WWW-Authenticate": 'Bearer error="invalid_token"'},
            )
        tenant = self.tenants[claims["tid"]]
        if not tenant.licensed:
            return api.error(
                403,
                "DisabledFeature",
                "The tenant is not provisioned for Microsoft Defender for Endpoint.",
            )
        granted = claims.get("roles") or []
        if not set(endpoint.roles) & set(granted):
            return api.error(
                403,
                "Forbidden",
                f"Missing application roles. API required roles: {','.join(endpoint.roles)}, "
                f"application roles: {','.join(granted)}.",
            )
        if limited := self._quotas.refuse(endpoint, key):
            return limited
        request[CTX] = Ctx(
            tenant,
            self.base_url,
            self.knobs.page_size,
            app_id=str(claims.get("appid") or ""),
            roles=frozenset(granted),
            book=self.book,
        )
        try:
            return await handler(request)
        except BadInput as exc:
            return api.error(400, exc.code, exc.message)
        except NotFound as exc:
            return api.not_found(exc.kind, exc.key)
        except ODataError as exc:
            return api.error(400, "ODataError", str(exc))

    async def _sleep(self, seconds: float) -> None:
        """Sleep, unless the simulator stops first (then return at once)."""
        if seconds > 0 and not self._stopping.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), seconds)

    def _next_fault(self, endpoint: str) -> Fault | None:
        """The storm's 429, else the first forced fault meant for this endpoint (or any), else
        maybe a random one."""
        remaining = self.knobs.storm_until - time.monotonic()
        if remaining > 0:
            return Fault(429, retry_after=remaining)
        forced = self.knobs.forced
        for index, fault in enumerate(forced):
            if fault.endpoint in ("", endpoint):
                del forced[index]
                return fault
        return self._random_fault()

    async def _answer(self, fault: Fault) -> web.Response:
        await self._sleep(fault.hang)
        if fault.oversize:
            return web.json_response({"value": [], "padding": "x" * fault.oversize})
        headers = {}
        if isinstance(fault.retry_after, str):
            headers["Retry-After"] = fault.retry_after
        elif fault.retry_after is not None:
            headers["Retry-After"] = str(max(1, math.ceil(fault.retry_after)))
        if fault.status == 429:
            self.calls["429"] += 1
        code = fault.code or _FAULT_CODES.get(fault.status, "InternalServerError")
        return api.error(fault.status, code, f"Simulated {code}.", **headers)

    def _random_fault(self) -> Fault | None:
        knobs = self.knobs
        if not (knobs.timeout_rate or knobs.error_rate):
            return None
        roll = self._rng.random()
        if roll < knobs.timeout_rate:
            return Fault(hang=knobs.hang_seconds)
        if roll < knobs.timeout_rate + knobs.error_rate:
            return Fault(knobs.error_status)
        return None

    def _claims(self, request: web.Request) -> dict[str, Any] | None:
        auth = request.headers.get("Authorization", "")
        if not auth.startswith("Bearer "):
            return None
        claims = self._mint.verify(auth.removeprefix("Bearer ").strip())
        if claims is None or claims.get("aud") != MDE_AUDIENCE:
            return None
        return claims if claims.get("tid") in self.tenants else None
