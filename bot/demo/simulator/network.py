"""IP and domain endpoints: the alerts related to an IP or a domain, the devices related to a
domain, and an IP's statistics.

Relations come from alert evidence (Ip evidence for IPs; the host of Url evidence for domains,
matched exactly, case-insensitive). Nothing related → 200 with an empty list; a malformed IP →
400 InvalidIpAddress; a malformed domain → 400 InvalidDomainName.

`domains/{d}/alerts` accepts Alert.Read.All or Alert.ReadWrite.All: the current doc lists only
ReadWrite, older versions also Read (mde-api.md §3, §8), and the bot asks for Read.
"""

from __future__ import annotations

from datetime import UTC, datetime

from aiohttp import web

from bot.demo.simulator import api
from bot.demo.simulator.alerts import evidence_of, host_of, without_evidence
from bot.demo.simulator.api import ALERT_READ, CTX, MACHINE_READ, Endpoint
from bot.demo.simulator.data import Row, Tenant
from bot.demo.simulator.rows import iso

MAX_DOMAIN_MACHINES = 500  # documented cap


def _same_ip(value: object, ip: str) -> bool:
    try:
        return api.ip_address(str(value)) == ip
    except api.BadInput:
        return False


def alerts_with_ip(tenant: Tenant, ip: str) -> list[Row]:
    return [
        a for a in tenant.alerts if any(_same_ip(e["ipAddress"], ip) for e in evidence_of(a, "Ip"))
    ]


def alerts_with_domain(tenant: Tenant, domain: str) -> list[Row]:
    return [
        a
        for a in tenant.alerts
        if any(
            (host_of(str(e.get("url") or "")) or "").lower() == domain
            for e in evidence_of(a, "Url")
        )
    ]


async def ip_alerts(request: web.Request) -> web.Response:
    ip = api.ip_address(request.match_info["ip"])
    return api.page(request, without_evidence(alerts_with_ip(request[CTX].tenant, ip)), "Alerts")


async def ip_stats(request: web.Request) -> web.Response:
    ctx = request[CTX]
    ip = api.ip_address(request.match_info["ip"])
    api.query_int(request, "lookBackHours", 720)  # validated, not applied
    entity_set = "microsoft.windowsDefenderATP.api.InOrgIPStats"
    if documented := ctx.tenant.ip_stats.get(ip):
        return api.json_response({"@odata.context": api.context(ctx, entity_set), **documented})
    now = iso(datetime.now(UTC))
    devices: set[str] = set()
    seen: list[str] = []
    for lease in ctx.tenant.ip_history:
        if lease["ipAddress"] == ip:
            devices.add(lease["machineId"])
            seen += [iso(lease["start"]), iso(lease["end"]) if lease["end"] else now]
    for alert in alerts_with_ip(ctx.tenant, ip):
        devices.add(alert["machineId"])
        seen.append(str(alert["alertCreationTime"]))
    seen.sort()
    stats = {
        "ipAddress": ip,
        "organizationPrevalence": len(devices),
        "orgFirstSeen": seen[0] if seen else None,
        "orgLastSeen": seen[-1] if seen else None,
    }
    return api.json_response({"@odata.context": api.context(ctx, entity_set), **stats})


async def domain_alerts(request: web.Request) -> web.Response:
    domain = api.domain_name(request.match_info["domain"])
    rows = without_evidence(alerts_with_domain(request[CTX].tenant, domain))
    return api.page(request, rows, "Alerts")


async def domain_machines(request: web.Request) -> web.Response:
    tenant = request[CTX].tenant
    domain = api.domain_name(request.match_info["domain"])
    ids = dict.fromkeys(a["machineId"] for a in alerts_with_domain(tenant, domain))
    by_id = {m["id"]: m for m in tenant.machines}
    rows = [by_id[mid] for mid in ids if mid in by_id][:MAX_DOMAIN_MACHINES]
    return api.page(request, rows, "Machines")


ENDPOINTS = (
    Endpoint("ip_alerts", "GET", "/ips/{ip}/alerts", ip_alerts, ALERT_READ),
    Endpoint("ip_stats", "GET", "/ips/{ip}/stats", ip_stats, ("Ip.Read.All",)),
    Endpoint("domain_alerts", "GET", "/domains/{domain}/alerts", domain_alerts, ALERT_READ),
    Endpoint("domain_machines", "GET", "/domains/{domain}/machines", domain_machines, MACHINE_READ),
)
