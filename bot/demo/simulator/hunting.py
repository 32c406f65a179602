"""Advanced hunting: `POST /api/advancedqueries/run` with `{"Query": "<KQL>"}`.

The simulator runs no KQL. It answers exactly the templates the bot sends (`bot.mde.hunting`,
recognised with `hunting.match`) by computing their result from the seeded tables, plus the
documented example query with its documented answer. Anything else is 400 BadRequest
("unsupported query"), as a query MDE cannot run is.

Tables, as the templates read them:
- DeviceInfo: one row per device, `PublicIP` = lastExternalIpAddress, `Timestamp` = lastSeen;
- DeviceFileEvents: `Tenant.file_events` (seeded from File/Process evidence and sightings);
- AlertEvidence: every File/Process evidence item of every alert, `Timestamp` = its creation time.
`Timestamp > ago(30d)` is applied against the real clock. Hunting has its own budget (45 calls a
minute by default, `Knobs.hunting_rate_limit`).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp import web

from bot.demo.simulator import api
from bot.demo.simulator.api import CTX, BadInput, Endpoint
from bot.demo.simulator.data import Row, Tenant
from bot.demo.simulator.derive import join_path
from bot.mde import hunting as templates
from bot.mde.hunting import Hunt

LOOKBACK = timedelta(days=30)
_TYPES = {"Timestamp": "DateTime"}


def _recent(rows: Iterable[Row]) -> list[Row]:
    horizon = datetime.now(UTC) - LOOKBACK
    return [r for r in rows if r["Timestamp"] and datetime.fromisoformat(r["Timestamp"]) > horizon]


def _latest_by(rows: Iterable[Row], key: str) -> list[Row]:
    """`summarize arg_max(Timestamp, *) by key`, newest first (a stable order)."""

    def when(row: Row) -> datetime:
        return datetime.fromisoformat(row["Timestamp"])

    best: dict[Any, Row] = {}
    for row in rows:
        held = best.get(row[key])
        if held is None or when(row) > when(held):
            best[row[key]] = row
    return sorted(best.values(), key=lambda r: (when(r), str(r[key])), reverse=True)


def device_info(tenant: Tenant) -> list[Row]:
    return [
        {
            "Timestamp": m.get("lastSeen"),
            "DeviceId": m["id"],
            "DeviceName": m.get("computerDnsName"),
            "PublicIP": m.get("lastExternalIpAddress"),
        }
        for m in tenant.machines
    ]


def alert_evidence(tenant: Tenant) -> list[Row]:
    rows = []
    for alert in tenant.alerts:
        for item in alert.get("evidence") or ():
            if item.get("entityType") not in {"File", "Process"}:
                continue
            name, folder = item.get("fileName"), item.get("filePath")
            rows.append(
                {
                    "Timestamp": item.get("evidenceCreationTime"),
                    "AlertId": alert["id"],
                    "EntityType": item["entityType"],
                    "DeviceId": alert.get("machineId"),
                    "DeviceName": alert.get("computerDnsName"),
                    "FileName": name,
                    "FolderPath": join_path(folder, name) if folder and name else folder,
                    "SHA1": item.get("sha1"),
                    "SHA256": item.get("sha256"),
                }
            )
    return rows


def _external_ip_devices(tenant: Tenant, value: str) -> list[Row]:
    rows = [r for r in _recent(device_info(tenant)) if r["PublicIP"] == value]
    return _latest_by(rows, "DeviceId")[:50]


def _md5_files(tenant: Tenant, value: str) -> list[Row]:
    rows = [r for r in _recent(tenant.file_events) if r["MD5"] == value]
    return _latest_by(rows, "SHA1")[:20]


def _file_name_alerts(tenant: Tenant, value: str) -> list[Row]:
    wanted = value.lower()
    rows = [
        r for r in _recent(alert_evidence(tenant)) if str(r["FileName"] or "").lower() == wanted
    ]
    return _latest_by(rows, "AlertId")[:50]


ANSWERS: dict[Hunt, Callable[[Tenant, str], list[Row]]] = {
    Hunt.EXTERNAL_IP_DEVICES: _external_ip_devices,
    Hunt.MD5_FILES: _md5_files,
    Hunt.FILE_NAME_ALERTS: _file_name_alerts,
}
_COLUMNS = {
    Hunt.EXTERNAL_IP_DEVICES: ("DeviceId", "DeviceName", "PublicIP", "Timestamp"),
    Hunt.MD5_FILES: (
        "SHA1", "SHA256", "MD5", "FileName", "FolderPath", "DeviceId", "DeviceName", "Timestamp",
    ),
    Hunt.FILE_NAME_ALERTS: (
        "AlertId", "DeviceId", "DeviceName", "FileName", "FolderPath", "SHA1", "SHA256",
        "Timestamp",
    ),
}  # fmt: skip


def run(tenant: Tenant, query: str) -> dict[str, Any]:
    """The `{"Schema", "Results"}` answer to `query`, or BadInput if it is not one we know."""
    if documented := tenant.hunting.get(query.strip()):
        return documented
    found = templates.match(query)
    if found is None or found[0] not in ANSWERS:
        raise BadInput("BadRequest", "unsupported query: the simulator answers only the bot's")
    hunt, value = found
    columns = _COLUMNS[hunt]
    rows = ANSWERS[hunt](tenant, value)
    return {
        "Schema": [{"Name": c, "Type": _TYPES.get(c, "String")} for c in columns],
        "Results": [{c: row.get(c) for c in columns} for row in rows],
    }


async def advanced_query(request: web.Request) -> web.Response:
    try:
        body = json.loads(await request.read() or b"null")
    except ValueError:
        raise BadInput("InvalidRequestBody", "Request body is incorrect") from None
    if not isinstance(body, dict):
        raise BadInput("InvalidRequestBody", "Request body is incorrect")
    query = body.get("Query")
    if query is None:
        raise BadInput("MissingRequiredParameter", "Query is missing")
    if not isinstance(query, str) or not query.strip():
        raise BadInput("InvalidRequestBody", "Query must be a non-empty string")
    return api.json_response(run(request[CTX].tenant, query))


ENDPOINTS = (
    Endpoint(
        "hunting", "POST", "/advancedqueries/run", advanced_query, ("AdvancedQuery.Read.All",),
        hunting=True,
    ),
)  # fmt: skip
