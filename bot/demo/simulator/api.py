"""What every simulated MDE endpoint shares: the endpoint table entry, the per-request context,
MDE's response envelopes and error bodies, paging, JSON request bodies, and identifier
validation.

Response shapes (docs/mde-api.md §2, §4):
    collection  {"@odata.context": ".../api/$metadata#Machines", "value": [...]}
    entity      {"@odata.context": ".../api/$metadata#Machines/$entity", ...fields}
    error       {"error": {"code": ..., "message": ..., "target": <correlation id>}}
with `OData-Version: 4.0` and MDE's OData content type.
"""

from __future__ import annotations

import ipaddress
import json
import re
import uuid
from collections.abc import Awaitable, Callable, Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from aiohttp import web

from bot.demo.simulator.data import Row, Tenant
from bot.demo.simulator.lifecycle import ActionBook
from bot.demo.simulator.odata import ODataError, parse_filter

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

CONTENT_TYPE = "application/json; odata.metadata=minimal; odata.streaming=true; charset=utf-8"
MAX_TOP = 10_000

# Filterable properties, as documented (lastExternalIpAddress and rbacGroupName are not).
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

MACHINE_READ = ("Machine.Read.All", "Machine.ReadWrite.All")
ALERT_READ = ("Alert.Read.All", "Alert.ReadWrite.All")


@dataclass(frozen=True, slots=True)
class Endpoint:
    """One MDE route: `path` is relative to `/api`; any one of `roles` grants access."""

    name: str  # the key of `Simulator.calls`
    method: str
    path: str
    handler: Handler
    roles: tuple[str, ...]
    hunting: bool = False  # counts against the advanced hunting budget, not the API one


@dataclass(frozen=True, slots=True)
class Ctx:
    """What a handler may use besides the request: set by the simulator's middleware."""

    tenant: Tenant
    base_url: str
    page_size: int  # rows per page when the caller sends no $top (MDE: 10,000)
    app_id: str  # the caller's `appid`: the requestor of what it creates
    roles: frozenset[str]  # the caller's application roles
    book: ActionBook  # machine actions and package links, with the simulator's clock

    def now(self) -> datetime:
        return self.book.clock()


CTX = web.RequestKey("mde_ctx", Ctx)


class BadInput(Exception):
    """A malformed request: answered 400 with MDE's `code`."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class NotFound(Exception):
    """What the request names does not exist: answered 404 ResourceNotFound."""

    def __init__(self, kind: str, key: str) -> None:
        super().__init__(f"{kind} {key} was not found")
        self.kind = kind
        self.key = key


def target(
    request: web.Request, kind: str, find: Callable[[Ctx, str], Row | None]
) -> tuple[Ctx, Row]:
    """The context and the `{id}` the request names, found with `find`, else NotFound."""
    ctx = request[CTX]
    key = request.match_info["id"]
    found = find(ctx, key)
    if found is None:
        raise NotFound(kind, key)
    return ctx, found


# ---------------------------------------------------------------------------------- responses


def json_response(
    body: Any, status: int = 200, headers: dict[str, str] | None = None
) -> web.Response:
    return web.Response(
        body=json.dumps(body).encode(),
        status=status,
        headers={"Content-Type": CONTENT_TYPE, "OData-Version": "4.0", **(headers or {})},
    )


def error(status: int, code: str, message: str, **headers: str) -> web.Response:
    body = {"error": {"code": code, "message": message, "target": str(uuid.uuid4())}}
    return json_response(body, status, headers)


def not_found(kind: str, key: str) -> web.Response:
    return error(404, "ResourceNotFound", f"{kind} {key} was not found")


def entity(ctx: Ctx, row: Row, entity_set: str) -> web.Response:
    return json_response({"@odata.context": context(ctx, f"{entity_set}/$entity"), **row})


def context(ctx: Ctx, fragment: str) -> str:
    return f"{ctx.base_url}/api/$metadata#{fragment}"


def values(ctx: Ctx, rows: Sequence[Any], entity_set: str) -> web.Response:
    """A collection without paging (sub-resources such as `alerts/{id}/ips`)."""
    return json_response({"@odata.context": context(ctx, entity_set), "value": list(rows)})


def query_int(request: web.Request, name: str, default: int) -> int:
    raw = request.query.get(name)
    if raw is None:
        return default
    if not re.fullmatch(r"\d{1,9}", raw.strip()):
        raise ODataError(f"The value '{raw}' of {name} is not a non-negative integer")
    return int(raw)


def page(request: web.Request, rows: Sequence[Row], entity_set: str) -> web.Response:
    """A pageable collection: `$top` caps the total and gets no nextLink; without it, pages of
    `page_size` rows come with a `$skip` nextLink (as MDE pages machines and alerts)."""
    ctx = request[CTX]
    has_top = "$top" in request.query
    top = query_int(request, "$top", ctx.page_size)
    skip = query_int(request, "$skip", 0)
    if top > MAX_TOP:
        raise ODataError(f"The limit of '{MAX_TOP}' for Top query has been exceeded")
    chosen = select(request, rows[skip : skip + top])
    body: dict[str, Any] = {"@odata.context": context(ctx, entity_set), "value": chosen}
    if not has_top and skip + top < len(rows):
        query = {**request.query, "$skip": str(skip + top)}
        body["@odata.nextLink"] = f"{ctx.base_url}{request.url.with_query(query).raw_path_qs}"
    return json_response(body)


def select(request: web.Request, rows: Sequence[Row]) -> list[Row]:
    """`$select=a,b`: only those properties (unknown names are an OData error)."""
    raw = request.query.get("$select")
    if raw is None:
        return list(rows)
    names = [n.strip() for n in raw.split(",") if n.strip()]
    if not names or not all(re.fullmatch(r"[A-Za-z][A-Za-z0-9]*", n) for n in names):
        raise ODataError(f"Invalid $select: '{raw}'")
    if rows and (unknown := [n for n in names if n not in rows[0]]):
        raise ODataError(f"Could not find a property named '{unknown[0]}'")
    return [{n: row.get(n) for n in names} for row in rows]


def filtered(request: web.Request, rows: Sequence[Row], fields: frozenset[str]) -> list[Row]:
    text = request.query.get("$filter")
    if text is None:
        return list(rows)
    predicate = parse_filter(text, fields)
    return [row for row in rows if predicate(row)]


def count(rows: Sequence[Row]) -> web.Response:
    """`.../$count`: the number as plain text, as OData answers it."""
    return web.Response(text=str(len(rows)), content_type="text/plain")


def replace_row(rows: list[Row], old: Row, new: Row) -> None:
    """Put `new` where `old` is: rows are shared between simulators and never changed."""
    rows[next(i for i, row in enumerate(rows) if row is old)] = new


# ---------------------------------------------------------------------------------- bodies


async def json_body(request: web.Request, allowed: Collection[str]) -> dict[str, Any]:
    """The request's JSON object, naming only `allowed` parameters (case-sensitive, as MDE's
    are), else 400 InvalidRequestBody."""
    try:
        body = await request.json()
    except (ValueError, UnicodeDecodeError):
        raise BadInput("InvalidRequestBody", "The request body is not valid JSON") from None
    if not isinstance(body, dict):
        raise BadInput("InvalidRequestBody", "The request body must be a JSON object")
    if unknown := sorted(k for k in body if k not in allowed):
        raise BadInput(
            "InvalidRequestBody",
            f"Unknown parameter '{unknown[0]}'; expected {', '.join(sorted(allowed))} "
            "(names are case-sensitive)",
        )
    return body


def text_field(body: dict[str, Any], name: str, *, required: bool = True) -> str | None:
    """A non-empty string parameter (None when absent and optional)."""
    value = body.get(name)
    if value is None:
        if required:
            raise BadInput("MissingRequiredParameter", f"The parameter '{name}' is required")
        return None
    if not isinstance(value, str) or not value.strip():
        raise BadInput("InvalidRequestBody", f"The parameter '{name}' must be a non-empty string")
    return value


def choice_field(
    body: dict[str, Any], name: str, choices: Collection[str], *, required: bool = True
) -> str | None:
    """One of `choices`, spelled exactly (None when absent and optional)."""
    value = text_field(body, name, required=required)
    if value is not None and value not in choices:
        raise BadInput(
            "InvalidRequestBody",
            f"The value '{value}' of '{name}' is not one of {', '.join(sorted(choices))}",
        )
    return value


# ---------------------------------------------------------------------------------- validation

_HEX = re.compile(r"[0-9a-fA-F]+")
_LABEL = re.compile(r"(?!-)[A-Za-z0-9-]{1,63}(?<!-)")
_TLD = re.compile(r"[a-z]{2,63}|xn--[a-z0-9-]{1,59}")


def ip_address(value: str) -> str:
    """A valid IPv4/IPv6 address (canonical form), else 400 InvalidIpAddress."""
    try:
        return ipaddress.ip_address(value.strip()).compressed
    except ValueError:
        raise BadInput("InvalidIpAddress", f"Invalid IP address: '{value}'") from None


def file_hash(value: str, *, sha1_only: bool = False) -> str:
    """A lower-case SHA-1 (or SHA-256 unless `sha1_only`), else 400 InvalidHashValue.

    MD5 is refused everywhere: the reference says to assume `files/{md5}` does not work.
    """
    lengths = (40,) if sha1_only else (40, 64)
    if len(value) not in lengths or not _HEX.fullmatch(value):
        kinds = "SHA1" if sha1_only else "SHA1 or SHA256"
        raise BadInput("InvalidHashValue", f"Invalid hash value '{value}': expected {kinds}")
    return value.lower()


def domain_name(value: str) -> str:
    """A DNS name of two labels or more with an alphabetic TLD, else 400 InvalidDomainName."""
    name = value.strip().rstrip(".").lower()
    labels = name.split(".")
    valid = (
        0 < len(name) <= 253
        and len(labels) >= 2
        and all(_LABEL.fullmatch(label) for label in labels)
        and _TLD.fullmatch(labels[-1]) is not None
    )
    if not valid:
        raise BadInput("InvalidDomainName", f"Invalid domain name: '{value}'")
    return name
