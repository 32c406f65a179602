"""Alert endpoints: list and filter (`$expand=evidence`), `$count`, one alert (evidence
included), a device's alerts, and an alert's files, IPs, domains, machine and user.

List calls leave `evidence` empty unless `$expand=evidence`; a single-alert GET includes it
(D:alerts). `alerts/{id}/user` answers with the alert's `relatedUser`, or, when that is null, the
first User evidence (the demo alerts carry users only as evidence).

`PATCH alerts/{id}` triages: any of `status`, `assignedTo`, `classification`, `determination`
and `comment` (appended to `comments`), answered 200 with the alert as it now is.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from urllib.parse import urlsplit

from aiohttp import web

from bot.demo.simulator import api
from bot.demo.simulator.api import ALERT_FIELDS, ALERT_READ, CTX, MACHINE_READ, BadInput, Endpoint
from bot.demo.simulator.data import Row, Tenant
from bot.demo.simulator.derive import user_key
from bot.demo.simulator.machines import find_machine, target_machine
from bot.demo.simulator.odata import ODataError
from bot.demo.simulator.rows import iso

STATUSES = ("New", "InProgress", "Resolved")
CLASSIFICATIONS = ("TruePositive", "InformationalExpectedActivity", "FalsePositive")
# Every determination of every classification; both spellings where the docs have two. Not
# checked against the classification: the documented example pairs FalsePositive with Malware.
DETERMINATIONS = (
    "MultiStagedAttack",
    "MaliciousUserActivity",
    "CompromisedUser",
    "Malware",
    "Phishing",
    "UnwantedSoftware",
    "SecurityTesting",
    "LineOfBusinessApplication",
    "ConfirmedUserActivity",
    "ConfirmedActivity",
    "Clean",
    "NotMalicious",
    "InsufficientData",
    "Other",
)
UPDATABLE = ("status", "assignedTo", "classification", "determination", "comment")


def find_alert(tenant: Tenant, key: str) -> Row | None:
    return next((a for a in tenant.alerts if a["id"] == key), None)


def without_evidence(rows: Iterable[Row]) -> list[Row]:
    return [{**row, "evidence": []} for row in rows]


def listed(request: web.Request, rows: Sequence[Row]) -> list[Row]:
    """Filter, then drop evidence unless `$expand=evidence` asks for it."""
    rows = api.filtered(request, rows, ALERT_FIELDS)
    expand = request.query.get("$expand")
    if expand is None:
        return without_evidence(rows)
    if expand.strip().lower() != "evidence":
        raise ODataError(f"Could not find a navigation property named '{expand}'")
    return rows


def evidence_of(alert: Row, *kinds: str) -> list[Row]:
    return [e for e in alert.get("evidence") or () if e.get("entityType") in kinds]


def host_of(url: str) -> str | None:
    try:
        return urlsplit(url if "//" in url else f"//{url}").hostname
    except ValueError:
        return None


async def alerts(request: web.Request) -> web.Response:
    return api.page(request, listed(request, request[CTX].tenant.alerts), "Alerts")


async def alerts_count(request: web.Request) -> web.Response:
    return api.count(api.filtered(request, request[CTX].tenant.alerts, ALERT_FIELDS))


async def machine_alerts(request: web.Request) -> web.Response:
    ctx, machine = target_machine(request)
    rows = [a for a in ctx.tenant.alerts if a.get("machineId") == machine["id"]]
    return api.page(request, listed(request, rows), "Alerts")


def target_alert(request: web.Request) -> tuple[api.Ctx, Row]:
    """The alert `{id}` names, else 404."""
    return api.target(request, "Alert", lambda ctx, key: find_alert(ctx.tenant, key))


async def alert(request: web.Request) -> web.Response:
    ctx, found = target_alert(request)
    return api.entity(ctx, found, "Alerts")


async def alert_files(request: web.Request) -> web.Response:
    """The alert's File and Process evidence as File entities (with md5, as documented)."""
    ctx, found = target_alert(request)
    profiles = {f["sha1"]: f for f in ctx.tenant.files}
    rows: list[Row] = []
    for item in evidence_of(found, "File", "Process"):
        sha1 = item.get("sha1")
        if not sha1 or any(r["sha1"] == sha1 for r in rows):
            continue
        rows.append(profiles.get(sha1) or {"sha1": sha1, "sha256": item.get("sha256")})
    return api.values(ctx, rows, "Files")


async def alert_ips(request: web.Request) -> web.Response:
    ctx, found = target_alert(request)
    ips = dict.fromkeys(str(e["ipAddress"]) for e in evidence_of(found, "Ip") if e["ipAddress"])
    return api.values(ctx, [{"id": ip} for ip in ips], "Ips")


async def alert_domains(request: web.Request) -> web.Response:
    ctx, found = target_alert(request)
    hosts = dict.fromkeys(
        host for e in evidence_of(found, "Url") if (host := host_of(str(e.get("url") or "")))
    )
    return api.values(ctx, [{"host": host} for host in hosts], "Domains")


async def alert_machine(request: web.Request) -> web.Response:
    ctx, found = target_alert(request)
    machine = find_machine(ctx.tenant, str(found.get("machineId") or ""))
    if machine is None:
        return api.not_found("Machine", str(found.get("machineId")))
    return api.entity(ctx, machine, "Machines")


async def alert_user(request: web.Request) -> web.Response:
    ctx, found = target_alert(request)
    wanted = user_key(found)
    user = next((u for u in ctx.tenant.users if str(u["id"]).lower() == wanted), None)
    if user is None:
        return api.not_found("User of alert", str(found["id"]))
    return api.entity(ctx, user, "Users")


async def update_alert(request: web.Request) -> web.Response:
    ctx, found = target_alert(request)
    body = await api.json_body(request, UPDATABLE)
    if not body:
        raise BadInput("MissingRequiredParameter", f"Nothing to update: send any of {UPDATABLE}")
    changes: Row = {
        "status": api.choice_field(body, "status", STATUSES, required=False),
        "assignedTo": api.text_field(body, "assignedTo", required=False),
        "classification": api.choice_field(body, "classification", CLASSIFICATIONS, required=False),
        "determination": api.choice_field(body, "determination", DETERMINATIONS, required=False),
    }
    comment = api.text_field(body, "comment", required=False)
    now = iso(ctx.now())
    updated: Row = {
        **found,
        **{k: v for k, v in changes.items() if v is not None},
        "lastUpdateTime": now,
    }
    if changes["status"] is not None:
        updated["resolvedTime"] = now if changes["status"] == "Resolved" else None
    if comment is not None:
        note = {"comment": comment, "createdBy": ctx.app_id, "createdTime": now}
        updated["comments"] = [*(found.get("comments") or ()), note]
    api.replace_row(ctx.tenant.alerts, found, updated)
    return api.entity(ctx, updated, "Alerts")


ENDPOINTS = (
    Endpoint("machine_alerts", "GET", "/machines/{id}/alerts", machine_alerts, ALERT_READ),
    Endpoint("alerts", "GET", "/alerts", alerts, ALERT_READ),
    Endpoint("alerts_count", "GET", "/alerts/$count", alerts_count, ALERT_READ),
    Endpoint("alert", "GET", "/alerts/{id}", alert, ALERT_READ),
    Endpoint("alert_update", "PATCH", "/alerts/{id}", update_alert, ("Alert.ReadWrite.All",)),
    Endpoint("alert_files", "GET", "/alerts/{id}/files", alert_files, ("File.Read.All",)),
    Endpoint("alert_ips", "GET", "/alerts/{id}/ips", alert_ips, ("Ip.Read.All",)),
    # The docs write URL.Read.All; tokens carry Url.Read.All. Either is accepted.
    Endpoint(
        "alert_domains",
        "GET",
        "/alerts/{id}/domains",
        alert_domains,
        ("Url.Read.All", "URL.Read.All"),
    ),
    Endpoint("alert_machine", "GET", "/alerts/{id}/machine", alert_machine, MACHINE_READ),
    Endpoint("alert_user", "GET", "/alerts/{id}/user", alert_user, ("User.Read.All",)),
)
