"""File endpoints: the profile (`files/{sha1 or sha256}`), its statistics, and the alerts and
devices related to a SHA-1.

Which hash each takes, as documented (mde-api.md §3):
- `files/{id}` and `files/{id}/stats`: SHA-1 or SHA-256; unknown → 404 ResourceNotFound.
- `files/{id}/alerts` and `files/{id}/machines`: SHA-1 only (a SHA-256 → 400 InvalidHashValue);
  an unknown SHA-1 → 200 with an empty list.
- MD5 anywhere → 400 InvalidHashValue (the reference: assume `files/{md5}` does not work; find MD5s
  with advanced hunting).
The profile leaves `md5` out, as the File property table does; `alerts/{id}/files` keeps it, as
its documented example does.
"""

from __future__ import annotations

from aiohttp import web

from bot.demo.simulator import api
from bot.demo.simulator.alerts import without_evidence
from bot.demo.simulator.api import ALERT_READ, CTX, MACHINE_READ, Endpoint
from bot.demo.simulator.data import Row, Tenant
from bot.indicators import hash_type


def find_profile(tenant: Tenant, digest: str) -> Row | None:
    key = str(hash_type(digest) or "sha256")
    return next((f for f in tenant.files if str(f.get(key) or "").lower() == digest), None)


def alerts_with(tenant: Tenant, sha1: str) -> list[Row]:
    return [
        a
        for a in tenant.alerts
        if any(
            e.get("entityType") in {"File", "Process"} and e.get("sha1") == sha1
            for e in a.get("evidence") or ()
        )
    ]


def machines_with(tenant: Tenant, sha1: str) -> list[Row]:
    """Devices the file was seen on: file events first, then alerted devices."""
    ids = [e["DeviceId"] for e in tenant.file_events if e["SHA1"] == sha1]
    ids += [a["machineId"] for a in alerts_with(tenant, sha1)]
    by_id = {m["id"]: m for m in tenant.machines}
    return [by_id[mid] for mid in dict.fromkeys(ids) if mid in by_id]


async def file(request: web.Request) -> web.Response:
    ctx = request[CTX]
    digest = api.file_hash(request.match_info["hash"])
    profile = find_profile(ctx.tenant, digest)
    if profile is None:
        return api.not_found("File", digest)
    return api.entity(ctx, {k: v for k, v in profile.items() if k != "md5"}, "Files")


async def file_stats(request: web.Request) -> web.Response:
    ctx = request[CTX]
    digest = api.file_hash(request.match_info["hash"])
    api.query_int(request, "lookBackHours", 720)  # validated, not applied
    profile = find_profile(ctx.tenant, digest)
    if profile is None:
        return api.not_found("File", digest)
    sha1 = str(profile["sha1"])
    entity_set = "microsoft.windowsDefenderATP.api.InOrgFileStats"
    if documented := ctx.tenant.file_stats.get(sha1):
        return api.json_response({"@odata.context": api.context(ctx, entity_set), **documented})
    events = [e for e in ctx.tenant.file_events if e["SHA1"] == sha1]
    seen = sorted(str(e["Timestamp"]) for e in events)
    stats = {
        "sha1": sha1,
        "organizationPrevalence": len({e["DeviceId"] for e in events}),
        "orgFirstSeen": seen[0] if seen else None,
        "orgLastSeen": seen[-1] if seen else None,
        "globallyPrevalence": profile.get("globalPrevalence"),  # sic, as documented
        "globalFirstObserved": profile.get("globalFirstObserved"),
        "globalLastObserved": profile.get("globalLastObserved"),
        "topFileNames": list(dict.fromkeys(str(e["FileName"]) for e in events)),
    }
    return api.json_response({"@odata.context": api.context(ctx, entity_set), **stats})


async def file_alerts(request: web.Request) -> web.Response:
    sha1 = api.file_hash(request.match_info["hash"], sha1_only=True)
    return api.page(request, without_evidence(alerts_with(request[CTX].tenant, sha1)), "Alerts")


async def file_machines(request: web.Request) -> web.Response:
    sha1 = api.file_hash(request.match_info["hash"], sha1_only=True)
    return api.page(request, machines_with(request[CTX].tenant, sha1), "Machines")


ENDPOINTS = (
    Endpoint("file", "GET", "/files/{hash}", file, ("File.Read.All",)),
    Endpoint("file_stats", "GET", "/files/{hash}/stats", file_stats, ("File.Read.All",)),
    Endpoint("file_alerts", "GET", "/files/{hash}/alerts", file_alerts, ALERT_READ),
    Endpoint("file_machines", "GET", "/files/{hash}/machines", file_machines, MACHINE_READ),
)
