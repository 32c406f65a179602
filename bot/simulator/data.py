"""The simulator's seeded tenants: MDE payloads exactly as the API returns them (camelCase)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

Row = dict[str, Any]

CONTOSO_TENANT = "4f1c2a0e-6b1d-4c1e-9a57-0c7d3f1e2a10"
FABRIKAM_TENANT = "9b2e7d41-3c5a-4f08-8e6b-2d1f0a9c7e55"
UNLICENSED_TENANT = "0d6a3b1c-2e4f-4a5b-8c7d-9e0f1a2b3c4d"

# The device the demo and the walking-skeleton tests look up.
DEMO_IP = "10.1.2.3"
DEMO_HOST = "ws-fin-042.corp.contoso.com"


@dataclass
class Tenant:
    tenant_id: str
    name: str
    machines: list[Row] = field(default_factory=list)
    alerts: list[Row] = field(default_factory=list)
    files: list[Row] = field(default_factory=list)
    licensed: bool = True


def load_doc_example(name: str) -> Any:
    """One of Microsoft's documented example payloads shipped with the simulator."""
    text = resources.files("bot.simulator").joinpath("mde_docs", name).read_text("utf-8")
    return json.loads(text)


def _strip(row: Row) -> Row:
    return {k: v for k, v in row.items() if k != "@odata.context"}


def _machine(
    mid: str,
    name: str,
    ip: str,
    *,
    os_platform: str = "Windows11",
    version: str = "23H2",
    build: int = 22631,
    health: str = "Active",
    risk: str = "High",
    exposure: str = "Medium",
    last_seen: str = "2026-11-27T22:14:05.1234567Z",
    tags: tuple[str, ...] = (),
    group: tuple[int, str] = (11, "Finance"),
) -> Row:
    return {
        "id": mid,
        "computerDnsName": name,
        "firstSeen": "2025-03-02T09:11:41.3342012Z",
        "lastSeen": last_seen,
        "osPlatform": os_platform,
        "version": version,
        "osProcessor": "x64",
        "osArchitecture": "64-bit",
        "lastIpAddress": ip,
        "lastExternalIpAddress": "203.0.113.24",
        "osBuild": build,
        "healthStatus": health,
        "onboardingStatus": "Onboarded",
        "rbacGroupId": group[0],
        "rbacGroupName": group[1],
        "riskScore": risk,
        "exposureLevel": exposure,
        "deviceValue": "Normal",
        "isAadJoined": True,
        "aadDeviceId": None,
        "machineTags": list(tags),
        "agentVersion": "10.8760.22631.1012",
        "defenderAvStatus": "Updated",
        "managedBy": "Intune",
        "ipAddresses": [
            {
                "ipAddress": ip,
                "macAddress": "00155D8A3B21",
                "type": "Ethernet",
                "operationalStatus": "Up",
            }
        ],
        "vmMetadata": None,
    }


def _alert(
    aid: str, machine: Row, title: str, severity: str, *, category: str, created: str, **extra: Any
) -> Row:
    row: Row = {
        "id": aid,
        "incidentId": 4711,
        "investigationId": None,
        "assignedTo": None,
        "severity": severity,
        "status": "New",
        "classification": None,
        "determination": None,
        "investigationState": "Queued",
        "detectionSource": "WindowsDefenderAtp",
        "detectorId": "0f3a1c52-7c1e-4f7b-9a5e-1d2c3b4a5f60",
        "category": category,
        "threatFamilyName": None,
        "threatName": None,
        "title": title,
        "description": f"{title} on {machine['computerDnsName']}.",
        "alertCreationTime": created,
        "firstEventTime": created,
        "lastEventTime": created,
        "lastUpdateTime": created,
        "resolvedTime": None,
        "machineId": machine["id"],
        "computerDnsName": machine["computerDnsName"],
        "rbacGroupName": machine["rbacGroupName"],
        "aadTenantId": CONTOSO_TENANT,
        "mitreTechniques": [],
        "relatedUser": None,
        "comments": [],
        "evidence": [],
    }
    row.update(extra)
    return row


def contoso() -> Tenant:
    """The demo tenant."""
    fin = _machine(
        "b2f9c1d47a3e8f60519c2d7e4a8b3f1c6d0e9a27",
        DEMO_HOST,
        DEMO_IP,
        tags=("Tier0", "Finance"),
    )
    dc = _machine(
        "7c1e9a5d3b2f4e6a8c0d1f3e5a7b9c2d4e6f8a01",
        "srv-dc01.corp.contoso.com",
        "10.1.0.10",
        os_platform="WindowsServer2022",
        version="21H2",
        build=20348,
        risk="Low",
        exposure="Low",
        group=(3, "Domain Controllers"),
    )
    alerts = [
        _alert(
            "da638671234567890123_1029384756",
            fin,
            "Suspicious PowerShell command line",
            "High",
            category="Execution",
            created="2026-11-27T21:58:12.4410000Z",
            mitreTechniques=["T1059.001"],
        ),
        _alert(
            "da638671234567890124_5647382910",
            fin,
            "Credential dumping activity observed",
            "High",
            category="CredentialAccess",
            created="2026-11-27T22:03:40.0190000Z",
            mitreTechniques=["T1003.001"],
        ),
        _alert(
            "da638671234567890125_1928374650",
            fin,
            "Unusual sign-in time",
            "Low",
            category="SuspiciousActivity",
            created="2026-11-26T07:12:03.5550000Z",
        ),
    ]
    docs_machine = _strip(load_doc_example("get-machine-by-id.response.json"))
    docs_alert = _strip(load_doc_example("alerts.response.json"))
    docs_file = _strip(load_doc_example("get-file-information.response.json"))
    return Tenant(
        CONTOSO_TENANT,
        "contoso",
        machines=[fin, dc, docs_machine],
        alerts=[*alerts, docs_alert],
        files=[docs_file],
    )


def fabrikam() -> Tenant:
    """A second tenant, for multi-connector lookups."""
    return Tenant(FABRIKAM_TENANT, "fabrikam")


def unlicensed() -> Tenant:
    """A tenant that issues tokens but has no MDE licence: every API call answers 403."""
    return Tenant(UNLICENSED_TENANT, "unlicensed", licensed=False)


def seeded_tenants() -> list[Tenant]:
    """Every tenant the default simulator serves."""
    return [contoso(), fabrikam(), unlicensed()]
