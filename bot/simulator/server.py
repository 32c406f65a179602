"""The embedded MDE + Entra simulator: HTTPS on loopback, behaving as
`../shared/reference/mde-api.md` documents MDE.

    /{tenant}/v2.0/.well-known/openid-configuration   OIDC discovery (what msal reads)
    /{tenant}/oauth2/v2.0/token                        client credentials → JWT with `roles`
    /api/...                                           the MDE endpoints

Everything a test or a benchmark needs to steer is on `Simulator`: registered apps (with their
roles and secrets), tenants (licensed or not), latency, forced faults, the rate limit, and
counters of calls per endpoint.
"""

from __future__ import annotations

import asyncio
import math
import random
import tempfile
import time
import uuid
from collections import Counter, deque
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiohttp import web

from bot.simulator import data
from bot.simulator.odata import ODataError, parse_filter
from bot.simulator.tls import make_pki
from bot.simulator.tokens import MDE_AUDIENCE, SCOPE_AUDIENCES, TokenMint

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

ALL_READ_ROLES = (
    "Machine.Read.All",
    "Alert.Read.All",
    "File.Read.All",
    "Ip.Read.All",
    "Url.Read.All",
    "User.Read.All",
    "AdvancedQuery.Read.All",
)
# The simulator's built-in app registration: the demo's default connector. Not a secret: it only
# opens this process's own simulator.
DEMO_CLIENT_ID = "5d3f7a9c-1b2e-4c6d-8e0f-a1b2c3d4e5f6"
DEMO_CLIENT_SECRET = "simulator-only-client-secret-0001"  # noqa: S105 - the simulator's own

# Filterable properties, as documented (lastExternalIpAddress is deliberately absent).
MACHINE_FIELDS = frozenset(
    [
        "computerDnsName",
        "id",
        "version",
        "deviceValue",
        "aadDeviceId",
        "machineTags",
        "lastSeen",
        "exposureLevel",
        "onboardingStatus",
        "lastIpAddress",
        "healthStatus",
        "osPlatform",
        "riskScore",
        "rbacGroupId",
    ]
)
ALERT_FIELDS = frozenset(
    [
        "alertCreationTime",
        "lastUpdateTime",
        "incidentId",
        "investigationId",
        "id",
        "assignedTo",
        "detectionSource",
        "lastEventTime",
        "status",
        "severity",
        "category",
    ]
)
MAX_TOP = 10_000
TENANT = web.RequestKey("tenant", data.Tenant)  # set by the API middleware for every handler


@dataclass
class AppRegistration:
    """An Entra app in a tenant: its secret and the MDE roles an admin consented to."""

    client_id: str
    secret: str
    tenant_id: str
    roles: tuple[str, ...] = ALL_READ_ROLES


@dataclass
class Fault:
    """One forced response: `status` (with optional Retry-After) or a hang past the timeout."""

    status: int = 500
    retry_after: float | None = None
    hang: float = 0.0
    code: str = ""


@dataclass
class Knobs:
    latency: float = 0.0  # seconds added to every API call
    error_rate: float = 0.0  # share of API calls answered 500
    timeout_rate: float = 0.0  # share of API calls that hang for `hang_seconds`
    hang_seconds: float = 30.0
    token_endpoint_down: bool = False  # the token endpoint answers 503
    rate_limit: int = 100  # calls per window, per app and tenant (MDE: 100/min)
    rate_window: float = 60.0
    forced: deque[Fault] = field(default_factory=deque)  # consumed one per API call


def _error(status: int, code: str, message: str, **headers: str) -> web.Response:
    body = {"error": {"code": code, "message": message, "target": str(uuid.uuid4())}}
    return web.json_response(body, status=status, headers=headers)


def _aad_error(status: int, error: str, code: int, description: str) -> web.Response:
    body = {
        "error": error,
        "error_description": f"AADSTS{code}: {description}\r\nTrace ID: {uuid.uuid4()}",
        "error_codes": [code],
        "timestamp": time.strftime("%Y-%m-%d %H:%M:%SZ", time.gmtime()),
        "trace_id": str(uuid.uuid4()),
        "correlation_id": str(uuid.uuid4()),
    }
    return web.json_response(body, status=status)


class Simulator:
    """Start with `async with Simulator(...) as sim:`; the URLs are valid inside the block."""

    def __init__(
        self,
        tenants: Iterable[data.Tenant] | None = None,
        apps: Iterable[AppRegistration] | None = None,
        *,
        seed: int = 7,
    ) -> None:
        tenant_list = list(tenants) if tenants is not None else [data.contoso(), data.fabrikam()]
        self.tenants = {t.tenant_id: t for t in tenant_list}
        default_apps = [
            AppRegistration(DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, t.tenant_id) for t in tenant_list
        ]
        self.apps: list[AppRegistration] = list(apps) if apps is not None else default_apps
        self.knobs = Knobs()
        self.calls: Counter[str] = Counter()
        self.token_requests = 0
        self._rng = random.Random(seed)  # noqa: S311 - fault injection, not crypto
        self._windows: dict[tuple[str, str], deque[float]] = {}
        self._mint = TokenMint()
        self._runner: web.AppRunner | None = None
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        self.base_url = ""
        self.ca_path = Path()

    # ------------------------------------------------------------------ lifecycle

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> Simulator:
        self._tmp = tempfile.TemporaryDirectory(prefix="mde-sim-")
        pki = await asyncio.to_thread(make_pki, Path(self._tmp.name))
        self.ca_path = pki.ca_path
        app = web.Application(middlewares=[self._api_middleware])
        app.add_routes(self._routes())
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port, ssl_context=pki.server_context)
        await site.start()
        bound = self._runner.addresses[0]
        self.base_url = f"https://{host}:{bound[1]}"
        return self

    async def stop(self) -> None:
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

    def force(self, *faults: Fault) -> None:
        """Answer the next API calls with these faults, in order."""
        self.knobs.forced.extend(faults)

    # ------------------------------------------------------------------ routes

    def _routes(self) -> list[web.RouteDef]:
        return [
            web.get("/{tenant}/v2.0/.well-known/openid-configuration", self._discovery),
            web.post("/{tenant}/oauth2/v2.0/token", self._token),
            web.get("/api/machines", self._machines, name="machines"),
            web.get("/api/machines/{id}", self._machine, name="machine"),
            web.get("/api/machines/{id}/alerts", self._machine_alerts, name="machine_alerts"),
            web.get("/api/alerts", self._alerts, name="alerts"),
            web.get("/api/alerts/{id}", self._alert, name="alert"),
        ]

    # Roles that satisfy each route: any one of them.
    REQUIRED_ROLES: dict[str, tuple[str, ...]] = {  # noqa: RUF012 - read-only table
        "machines": ("Machine.Read.All", "Machine.ReadWrite.All"),
        "machine": ("Machine.Read.All", "Machine.ReadWrite.All"),
        "machine_alerts": ("Alert.Read.All", "Alert.ReadWrite.All"),
        "alerts": ("Alert.Read.All", "Alert.ReadWrite.All"),
        "alert": ("Alert.Read.All", "Alert.ReadWrite.All"),
    }

    async def _discovery(self, request: web.Request) -> web.Response:
        tenant = request.match_info["tenant"]
        if tenant not in self.tenants:
            return _aad_error(
                400,
                "invalid_tenant",
                90002,
                f"Tenant '{tenant}' not found. Check to make sure you have the correct tenant ID.",
            )
        base = f"{self.base_url}/{tenant}"
        return web.json_response(
            {
                "issuer": f"{base}/v2.0",
                "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
                "token_endpoint": f"{base}/oauth2/v2.0/token",
                "token_endpoint_auth_methods_supported": ["client_secret_post"],
            }
        )

    async def _token(self, request: web.Request) -> web.Response:
        self.token_requests += 1
        if self.knobs.token_endpoint_down:
            return _aad_error(503, "temporarily_unavailable", 90033, "Service unavailable.")
        tenant = request.match_info["tenant"]
        form = await request.post()
        client_id = str(form.get("client_id", ""))
        secret = str(form.get("client_secret", ""))
        scope = str(form.get("scope", ""))
        if tenant not in self.tenants:
            return _aad_error(400, "invalid_request", 90002, f"Tenant '{tenant}' not found.")
        app = next(
            (a for a in self.apps if a.client_id == client_id and a.tenant_id == tenant), None
        )
        if app is None:
            return _aad_error(
                400,
                "unauthorized_client",
                700016,
                f"Application with identifier '{client_id}' was not found in the directory "
                f"'{tenant}'.",
            )
        if form.get("grant_type") != "client_credentials":
            return _aad_error(400, "unsupported_grant_type", 70003, "Unsupported grant type.")
        if secret != app.secret:
            return _aad_error(
                401,
                "invalid_client",
                7000215,
                f"Invalid client secret provided. Ensure the secret being sent in the request "
                f"is the client secret value, not the client secret ID, for a secret added to "
                f"app '{client_id}'.",
            )
        audience = next(
            (aud for s, aud in SCOPE_AUDIENCES.items() if s in scope.split()),
            None,
        )
        if audience is None:
            return _aad_error(
                400,
                "invalid_resource",
                500011,
                f"The resource principal named {scope} was not found in the tenant.",
            )
        token = self._mint.mint(
            tenant_id=tenant, client_id=client_id, audience=audience, roles=app.roles
        )
        return web.json_response(
            {
                "token_type": "Bearer",
                "expires_in": self._mint.lifetime,
                "ext_expires_in": self._mint.lifetime,
                "access_token": token,
            }
        )

    # ------------------------------------------------------------------ API plumbing

    @web.middleware
    async def _api_middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        if not request.path.startswith("/api/"):
            return await handler(request)
        route = request.match_info.route.name or "unknown"
        self.calls[route] += 1
        self.calls["*"] += 1
        if self.knobs.latency:
            await asyncio.sleep(self.knobs.latency)
        if fault := self._next_fault():
            return await self._answer_fault(fault)
        claims = self._claims(request)
        if claims is None:
            return _error(401, "Unauthorized", "Authorization token is missing or invalid.")
        tenant = self.tenants[claims["tid"]]
        if not tenant.licensed:
            return _error(
                403,
                "DisabledFeature",
                "The tenant is not provisioned for Microsoft Defender for Endpoint.",
            )
        required = self.REQUIRED_ROLES.get(route, ())
        granted = claims.get("roles", [])
        if required and not set(required) & set(granted):
            return _error(
                403,
                "Forbidden",
                f"Missing application roles. API required roles: {','.join(required)}, "
                f"application roles: {','.join(granted)}.",
            )
        if limited := self._rate_limited(claims):
            return limited
        request[TENANT] = tenant
        try:
            return await handler(request)
        except ODataError as exc:
            return _error(400, "ODataError", str(exc))

    def _next_fault(self) -> Fault | None:
        if self.knobs.forced:
            return self.knobs.forced.popleft()
        roll = self._rng.random()
        if roll < self.knobs.timeout_rate:
            return Fault(hang=self.knobs.hang_seconds)
        if roll < self.knobs.timeout_rate + self.knobs.error_rate:
            return Fault(500)
        return None

    async def _answer_fault(self, fault: Fault) -> web.Response:
        if fault.hang:
            await asyncio.sleep(fault.hang)
        headers = {}
        if fault.retry_after is not None:
            headers["Retry-After"] = str(math.ceil(fault.retry_after))
        codes = {429: "TooManyRequests", 403: "Forbidden", 404: "ResourceNotFound"}
        code = fault.code or codes.get(fault.status, "InternalServerError")
        return _error(fault.status, code, f"Simulated {code}.", **headers)

    def _claims(self, request: web.Request) -> dict[str, Any] | None:
        auth = request.headers.get("Authorization", "")
        if not auth.startswith("Bearer "):
            return None
        claims = self._mint.verify(auth.removeprefix("Bearer "))
        if claims is None or claims.get("aud") != MDE_AUDIENCE:
            return None
        return claims if claims.get("tid") in self.tenants else None

    def _rate_limited(self, claims: dict[str, Any]) -> web.Response | None:
        key = (str(claims.get("appid")), str(claims.get("tid")))
        window = self._windows.setdefault(key, deque())
        now = time.monotonic()
        while window and window[0] <= now - self.knobs.rate_window:
            window.popleft()
        if len(window) >= self.knobs.rate_limit:
            wait = max(1, math.ceil(window[0] + self.knobs.rate_window - now))
            self.calls["429"] += 1
            return _error(
                429,
                "TooManyRequests",
                "API calls quota exceeded! Maximum allowed calls per minute reached.",
                **{"Retry-After": str(wait)},
            )
        window.append(now)
        return None

    def _collection(
        self, request: web.Request, rows: Sequence[data.Row], entity: str
    ) -> web.Response:
        try:
            top = int(request.query.get("$top", MAX_TOP))
            skip = int(request.query.get("$skip", 0))
        except ValueError:
            raise ODataError("$top and $skip must be integers") from None
        if not 0 <= top <= MAX_TOP or skip < 0:
            raise ODataError(f"$top must be between 0 and {MAX_TOP}")
        page = list(rows[skip : skip + top])
        body: dict[str, Any] = {
            "@odata.context": f"{self.base_url}/api/$metadata#{entity}",
            "value": page,
        }
        if "$top" not in request.query and skip + top < len(rows):
            body["@odata.nextLink"] = f"{self.base_url}{request.path}?$skip={skip + top}"
        return web.json_response(body)

    def _filtered(
        self, request: web.Request, rows: Sequence[data.Row], fields: frozenset[str]
    ) -> list[data.Row]:
        text = request.query.get("$filter")
        if not text:
            return list(rows)
        predicate = parse_filter(text, fields)
        return [row for row in rows if predicate(row)]

    @staticmethod
    def _entity(row: data.Row, entity: str, base: str) -> web.Response:
        return web.json_response(
            {"@odata.context": f"{base}/api/$metadata#{entity}/$entity", **row}
        )

    @staticmethod
    def _not_found(kind: str, key: str) -> web.Response:
        return _error(404, "ResourceNotFound", f"{kind} {key} was not found")

    # ------------------------------------------------------------------ machines and alerts

    def _find_machine(self, tenant: data.Tenant, key: str) -> data.Row | None:
        key = key.lower()
        return next(
            (
                m
                for m in tenant.machines
                if m["id"] == key or str(m.get("computerDnsName", "")).lower() == key
            ),
            None,
        )

    async def _machines(self, request: web.Request) -> web.Response:
        tenant = request[TENANT]
        rows = self._filtered(request, tenant.machines, MACHINE_FIELDS)
        return self._collection(request, rows, "Machines")

    async def _machine(self, request: web.Request) -> web.Response:
        tenant = request[TENANT]
        key = request.match_info["id"]
        machine = self._find_machine(tenant, key)
        if machine is None:
            return self._not_found("Machine", key)
        return self._entity(machine, "Machines", self.base_url)

    async def _machine_alerts(self, request: web.Request) -> web.Response:
        tenant = request[TENANT]
        key = request.match_info["id"]
        machine = self._find_machine(tenant, key)
        if machine is None:
            return self._not_found("Machine", key)
        rows = [dict(a, evidence=[]) for a in tenant.alerts if a.get("machineId") == machine["id"]]
        return self._collection(request, rows, "Alerts")

    async def _alerts(self, request: web.Request) -> web.Response:
        tenant = request[TENANT]
        rows = self._filtered(request, tenant.alerts, ALERT_FIELDS)
        if request.query.get("$expand") != "evidence":
            rows = [dict(a, evidence=[]) for a in rows]
        return self._collection(request, rows, "Alerts")

    async def _alert(self, request: web.Request) -> web.Response:
        tenant = request[TENANT]
        key = request.match_info["id"]
        alert = next((a for a in tenant.alerts if a["id"] == key), None)
        if alert is None:
            return self._not_found("Alert", key)
        return self._entity(alert, "Alerts", self.base_url)
