"""Custom indicators (Ti): list, submit or update, delete (docs/mde-api.md §6).

    GET    /indicators[?$filter=…]   Ti.Read.All, Ti.ReadWrite, Ti.ReadWrite.All   200 (active)
    POST   /indicators               Ti.ReadWrite, Ti.ReadWrite.All                200 + indicator
    DELETE /indicators/{id}          Ti.ReadWrite, Ti.ReadWrite.All                204

A submission is a whole indicator: submitting a value (of a type) the tenant already has
replaces that indicator's fields and keeps its id, creator, creation time and `application`.
An app with Ti.ReadWrite alone sees and deletes only the indicators it created (as MDE documents
for listing); Ti.Read.All and Ti.ReadWrite.All see all. The list leaves out indicators whose
`expirationTime` has passed.
"""

from __future__ import annotations

import ipaddress
import re
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from aiohttp import web

from bot.demo.simulator import api
from bot.demo.simulator.api import CTX, BadInput, Ctx, Endpoint
from bot.demo.simulator.data import Row
from bot.demo.simulator.rows import Submitter, indicator_row, iso

TI_WRITE = ("Ti.ReadWrite", "Ti.ReadWrite.All")
TI_READ = ("Ti.Read.All", *TI_WRITE)
SEES_ALL = frozenset({"Ti.Read.All", "Ti.ReadWrite.All"})
TYPES = (
    "FileSha1",
    "FileSha256",
    "FileMd5",
    "CertificateThumbprint",
    "IpAddress",
    "DomainName",
    "Url",
)
ACTIONS = ("Alert", "Warn", "Block", "Audit", "BlockAndRemediate", "AlertAndBlock", "Allowed")
SEVERITIES = ("Informational", "Low", "Medium", "High")
FIELDS = frozenset(
    [
        "application",
        "createdByDisplayName",
        "expirationTime",
        "generateAlert",
        "title",
        "rbacGroupNames",
        "rbacGroupIds",
        "indicatorValue",
        "indicatorType",
        "creationTimeDateTimeUtc",
        "createdBy",
        "action",
        "severity",
    ]
)
BODY = (
    "indicatorValue",
    "indicatorType",
    "action",
    "title",
    "description",
    "application",
    "expirationTime",
    "severity",
    "recommendedActions",
    "rbacGroupNames",
    "educateUrl",
    "generateAlert",
)
_HEX_LENGTH = {"FileSha1": 40, "FileSha256": 64, "FileMd5": 32, "CertificateThumbprint": 40}
_HEX = re.compile(r"[0-9a-fA-F]+")
# Not public: IP indicators refuse these. The documentation ranges (192.0.2.0/24,
# 198.51.100.0/24, 203.0.113.0/24, 2001:db8::/32) count as public here: the demo and the tests
# use them as internet addresses.
NOT_PUBLIC = tuple(
    ipaddress.ip_network(n)
    for n in (
        "0.0.0.0/8",
        "10.0.0.0/8",
        "100.64.0.0/10",
        "127.0.0.0/8",
        "169.254.0.0/16",
        "172.16.0.0/12",
        "192.168.0.0/16",
        "224.0.0.0/4",
        "240.0.0.0/4",
        "::/127",
        "fc00::/7",
        "fe80::/10",
        "ff00::/8",
    )
)


def indicator_value(kind: str, raw: str) -> str:
    """`raw` checked for its type and put in a canonical form, else 400 with MDE's code."""
    value = raw.strip()
    if kind in _HEX_LENGTH:
        if len(value) != _HEX_LENGTH[kind] or not _HEX.fullmatch(value):
            raise BadInput("InvalidHashValue", f"'{raw}' is not a valid {kind}")
        return value.lower()
    if kind == "IpAddress":
        ip = api.ip_address(value)
        address = ipaddress.ip_address(ip)
        if any(address in net for net in NOT_PUBLIC if net.version == address.version):
            raise BadInput(
                "InvalidIpAddress",
                f"'{ip}' is not a public IP address: IP indicators take public addresses only",
            )
        return ip
    if kind == "DomainName":
        return api.domain_name(value)
    return _url(value)


def _url(value: str) -> str:
    try:
        parts = urlsplit(value if "//" in value else f"//{value}")
        host = parts.hostname or ""
    except ValueError:
        host, parts = "", None
    if parts is None or parts.scheme not in {"", "http", "https"} or not host:
        raise BadInput("InvalidUrl", f"'{value}' is not a valid URL")
    try:
        api.ip_address(host)
    except BadInput:
        try:
            api.domain_name(host)
        except BadInput:
            raise BadInput("InvalidUrl", f"'{value}' is not a valid URL") from None
    return value


def _expiration(body: dict[str, Any], now: datetime) -> str | None:
    raw = api.text_field(body, "expirationTime", required=False)
    if raw is None:
        return None
    try:
        moment = datetime.fromisoformat(raw.strip())
    except ValueError:
        raise BadInput("InvalidRequestBody", f"Invalid expirationTime '{raw}'") from None
    moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    if moment <= now:
        raise BadInput("InvalidRequestBody", "The expirationTime must be in the future")
    return iso(moment)


def _flag(body: dict[str, Any], name: str) -> bool:
    value = body.get(name, False)
    if isinstance(value, str) and value.lower() in {"true", "false"}:
        return value.lower() == "true"
    if not isinstance(value, bool):
        raise BadInput("InvalidRequestBody", f"The parameter '{name}' must be true or false")
    return value


def _groups(body: dict[str, Any]) -> list[str]:
    """`rbacGroupNames`: a list of names, or one comma-separated string (the docs show both)."""
    value = body.get("rbacGroupNames") or []
    names = value.split(",") if isinstance(value, str) else value
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise BadInput("InvalidRequestBody", "rbacGroupNames must be a list of group names")
    return [n.strip() for n in names if n.strip()]


def _visible(ctx: Ctx, row: Row) -> bool:
    return bool(ctx.roles & SEES_ALL) or row.get("createdBy") == ctx.app_id


def _active(row: Row, now: datetime) -> bool:
    expires = row.get("expirationTime")
    return not expires or datetime.fromisoformat(str(expires)) > now


async def indicators(request: web.Request) -> web.Response:
    ctx = request[CTX]
    now = ctx.now()
    rows = [r for r in ctx.tenant.indicators if _visible(ctx, r) and _active(r, now)]
    return api.page(request, api.filtered(request, rows, FIELDS), "Indicators")


async def submit(request: web.Request) -> web.Response:
    """Create the indicator, or update the tenant's indicator of the same type and value."""
    ctx = request[CTX]
    now = ctx.now()
    body = await api.json_body(request, BODY)
    kind = str(api.choice_field(body, "indicatorType", TYPES))
    value = indicator_value(kind, str(api.text_field(body, "indicatorValue")))
    action = api.choice_field(body, "action", ACTIONS)
    fields: Row = {
        "action": action,
        "title": api.text_field(body, "title"),
        "description": api.text_field(body, "description"),
        "severity": api.choice_field(body, "severity", SEVERITIES, required=False)
        or "Informational",
        "recommendedActions": api.text_field(body, "recommendedActions", required=False),
        "expirationTime": _expiration(body, now),
        "rbacGroupNames": _groups(body),
        "generateAlert": _flag(body, "generateAlert"),
        "educateUrl": api.text_field(body, "educateUrl", required=False),
    }
    if action == "Audit" and not fields["generateAlert"]:
        raise BadInput("InvalidRequestBody", "An Audit indicator needs generateAlert set to true")
    tenant = ctx.tenant
    same = next(
        (
            r
            for r in tenant.indicators
            if r["indicatorType"] == kind and str(r["indicatorValue"]).lower() == value.lower()
        ),
        None,
    )
    stamp = {"lastUpdateTime": iso(now), "lastUpdatedBy": ctx.app_id}
    if same is not None:
        updated = {**same, **fields, **stamp}
        api.replace_row(tenant.indicators, same, updated)
        return api.entity(ctx, updated, "Indicators")
    tenant.last_indicator_id += 1
    head = {name: str(fields.pop(name)) for name in ("action", "title", "description")}
    created = indicator_row(
        str(tenant.last_indicator_id),
        value,
        kind,
        head["action"],
        by=Submitter(ctx.app_id),
        created=now,
        title=head["title"],
        description=head["description"],
        application=api.text_field(body, "application", required=False),
        **fields,
    )
    tenant.indicators.append(created)
    return api.entity(ctx, created, "Indicators")


async def delete(request: web.Request) -> web.Response:
    ctx = request[CTX]
    key = request.match_info["id"]
    found = next((r for r in ctx.tenant.indicators if r["id"] == key.strip()), None)
    if found is None or not _visible(ctx, found):
        return api.not_found("Indicator", key)
    ctx.tenant.indicators[:] = [r for r in ctx.tenant.indicators if r is not found]
    return web.Response(status=204)


ENDPOINTS = (
    Endpoint("indicators", "GET", "/indicators", indicators, TI_READ),
    Endpoint("indicator_submit", "POST", "/indicators", submit, TI_WRITE),
    Endpoint("indicator_delete", "DELETE", "/indicators/{id}", delete, TI_WRITE),
)
