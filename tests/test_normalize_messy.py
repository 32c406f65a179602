"""MDE answers as they really come, end to end: pages of machines, alerts and file profiles
with the odd shapes real tenants send (written after public captures, values our own) are read
with no record lost, the odd fields counted, and every event valid for OCSF 1.5.0 and 1.8.0.

`MESSY` is also the input of the `mde-bot normalize` tests and of the schema test's corpus."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from bot import ocsf
from bot.mde import normalize
from bot.mde.models import Alert, FileInfo, Machine
from bot.mde.records import parse_rows
from tests.ocsf_validation import SCHEMA_VERSIONS, ocsf_errors
from tests.test_normalize_alert_shapes import NULLS as NULL_EVIDENCE
from tests.test_normalize_alert_shapes import OLDER
from tests.test_normalize_devices import LINUX, WINDOWS

PORTAL = "https://security.microsoft.com"

MACHINES: dict[str, Any] = {
    "@odata.context": "https://api.security.microsoft.com/api/$metadata#Machines",
    "value": [
        WINDOWS,
        LINUX,
        WINDOWS
        | {  # a duplicate MDE merged into another, and excluded; odd nulls and casing
            "id": "2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e",
            "mergedIntoMachineId": WINDOWS["id"],
            "isExcluded": True,
            "exclusionReason": "Duplicate",
            "machineTags": None,
            "ipAddresses": None,
            "riskScore": "None",
            "exposureLevel": None,
            "healthStatus": "Inactive",
            "OsPlatform": "windows11",
            "lastSeen": "2024-02-28T10:00:00+01:00",
        },
        {  # a macOS device with a version-like build and the minimum MDE gives
            "id": "a1b2c3d4e5f60718293a4b5c6d7e8f9012345678",
            "computerDnsName": "mbp-design-3",
            "osPlatform": "macOS",
            "osBuild": "23E224",  # not a number: left out, counted
            "lastSeen": "2024-03-01T06:06:06.1234567Z",
            "vmMetadata": {},
        },
    ],
}

ALERTS: dict[str, Any] = {
    "@odata.context": "https://api.security.microsoft.com/api/$metadata#Alerts",
    "value": [
        {  # a blocked hack tool, process evidence with its account, one evidence object only
            "id": "da638412345678901234_-1234567890",
            "incidentId": "4242",
            "severity": "Medium",
            "status": "InProgress",
            "classification": None,
            "category": "CredentialAccess",
            "detectionSource": "WindowsDefenderAv",
            "threatFamilyName": "Mimikatz",
            "threatName": "HackTool:Win32/Mimikatz!pz",
            "title": "'Mimikatz' hacktool was prevented",
            "alertCreationTime": "2024-03-01T12:00:01.1234567Z",
            "lastUpdateTime": "2024-03-01T12:05:00Z",
            "machineId": WINDOWS["id"],
            "computerDnsName": "lt-ops-07",
            "rbacGroupName": None,
            "aadTenantId": "0c2b6a6e-5e1a-4d3c-9a51-5f2c7a9b1d00",
            "mitreTechniques": "T1003.001",
            "relatedUser": None,
            "loggedOnUsers": [{"accountName": "jdoe", "domainName": "CONTOSO"}, None],
            "comments": None,
            "evidence": NULL_EVIDENCE
            | {
                "entityType": "Process",
                "processId": "6612",
                "fileName": "mimi.exe",
                "filePath": "C:\\Users\\jdoe\\Downloads",
                "sha1": "D1F4E1E1D2B2A3C4B5A6978869504132A1B2C3D4",
                "processCommandLine": "mimi.exe privilege::debug",
                "processCreationTime": "2024-03-01T11:59:59.9999999Z",
                "accountName": "jdoe",
                "domainName": "CONTOSO",
                "userSid": "S-1-5-21-1004336348-1177238915-682003330-1001",
                "userPrincipalName": "jdoe@contoso.example",
                "detectionStatus": "Prevented",
            },
        },
        {  # an automated investigation: Unknown severity, status missing, evidence `{}`
            "id": "ar638412345600000000_11111111",
            "severity": "Unknown",
            "category": "None",
            "detectionSource": "AutomatedInvestigation",
            "title": "Automated investigation started manually",
            "alertCreationTime": "2024-03-02T08:00:00Z",
            "machineId": LINUX["id"],
            "rbacGroupName": "",
            "evidence": {},
            "domains": [],
        },
        {  # evidence with nulls, strings, a folder as a file name and an IP to read as text
            "id": "da638412399999999999_5555",
            "severity": "high",
            "status": "new",
            "category": "null",
            "threatFamilyName": "CobaltStrike",
            "title": "Cobalt Strike command and control",
            "alertCreationTime": "2024-03-03T03:03:03.3030303+00:00",
            "machineId": WINDOWS["id"],
            "evidence": [
                None,
                "File",
                NULL_EVIDENCE
                | {
                    "entityType": "File",
                    "fileName": "C:\\ProgramData\\Kit\\",
                    "filePath": "C:\\ProgramData\\Kit\\",
                    "detectionStatus": "Detected",
                },
                NULL_EVIDENCE | {"entityType": "Ip", "ipAddress": "198.51.100.77"},
                NULL_EVIDENCE | {"entityType": "Url", "url": "hxxp://c2.bad.example/beacon"},
                NULL_EVIDENCE
                | {"entityType": "Process", "processId": "unknown", "fileName": "rundll32.exe"},
            ],
        },
        OLDER,
    ],
}

FILES: list[Any] = [
    {  # a file with a signer hash and an invalid certificate
        "sha1": "0a1b2c3d4e5f60718293a4b5c6d7e8f901234567",
        "sha256": "1f" * 32,
        "md5": None,
        "globalPrevalence": "12",
        "globalFirstObserved": "2023-01-01T00:00:00Z",
        "globalLastObserved": "2024-03-01T00:00:00.1Z",
        "size": 81920,
        "isPeFile": True,
        "signer": None,
        "issuer": None,
        "signerHash": "6c3245d4a9bc0244d99dff27af259cbbae2e2d16",
        "isValidCertificate": False,
        "determinationType": "Malware",
        "determinationValue": "Trojan:Win32/Wacatac.B!ml",
    },
    {"sha256": "2e" * 32, "fileType": None, "isPeFile": None, "determinationType": "Unknown"},
]

MESSY: list[Any] = [MACHINES, ALERTS, FILES]
# What the corpus holds, and how many of its records are partly readable.
RECORDS = {"machine": 4, "alert": 4, "file": 2}
PARTLY_READABLE = {"machine": 1, "alert": 2, "file": 0}


def _rows() -> dict[str, tuple[type[Any], list[Any]]]:
    return {
        "machine": (Machine, MACHINES["value"]),
        "alert": (Alert, ALERTS["value"]),
        "file": (FileInfo, FILES),
    }


def messy_events(version: str) -> list[ocsf.Event]:
    """Every event of the corpus, as `mde-bot normalize --legacy` writes them."""
    events: list[ocsf.Event] = []
    for model, rows in _rows().values():
        for record in parse_rows(model, copy.deepcopy(rows)).records:
            if isinstance(record, Machine):
                events.append(normalize.device_event(record, version=version))
            elif isinstance(record, Alert):
                finding = normalize.finding_from_alert(record, portal_url=PORTAL, version=version)
                events += [finding, normalize.security_finding_from_detection(finding)]
            else:
                events.append(normalize.file_event(record, version=version))
    return events


@pytest.mark.parametrize("kind", RECORDS)
def test_no_record_is_lost(kind: str) -> None:
    model, rows = _rows()[kind]
    parsed = parse_rows(model, copy.deepcopy(rows))
    assert (len(parsed.records), parsed.unreadable) == (RECORDS[kind], 0)
    assert parsed.partly_readable == PARTLY_READABLE[kind]


def test_what_was_left_out_is_named() -> None:
    parsed = parse_rows(Alert, copy.deepcopy(ALERTS["value"]))
    assert [(p.index, p.dropped) for p in parsed.problems] == [
        (0, ("loggedOnUsers[1]",)),
        (2, ("evidence[0]", "evidence[1]", "evidence[5].processId")),
    ]


@pytest.mark.parametrize("version", SCHEMA_VERSIONS)
def test_every_event_is_valid(version: str) -> None:
    events = messy_events(version)
    assert len(events) == 4 + 2 * 4 + 2
    assert [e for e in events if ocsf_errors(ocsf.to_json(e))] == []


def test_the_messy_corpus_says_what_it_holds() -> None:
    """Spot checks that the odd values came through as the issue wants them."""
    events = {
        e.metadata.uid: e for e in messy_events("1.8.0") if isinstance(e, ocsf.DetectionFinding)
    }
    blocked = events["da638412345678901234_-1234567890"]
    assert isinstance(blocked, ocsf.DetectionFinding)
    assert blocked.metadata.original_time == "2024-03-01T12:00:01.1234567Z"
    assert blocked.metadata.correlation_uid == "4242"
    assert blocked.malware is not None
    assert blocked.malware[0].classification_ids == (ocsf.MalwareClassificationId.OTHER,)
    process = (blocked.evidences or ())[0].process
    assert process is not None
    assert process.user is not None
    assert process.user.name == "jdoe"
    assert (blocked.evidences or ())[0].data == {"detectionStatus": "Prevented"}
    air = events["ar638412345600000000_11111111"]
    assert isinstance(air, ocsf.DetectionFinding)
    assert (air.severity_id, air.status_id, air.finding_info.types) == (0, 0, None)
    assert air.evidences is None
    c2 = events["da638412399999999999_5555"]
    assert isinstance(c2, ocsf.DetectionFinding)
    folder = (c2.evidences or ())[0].file
    assert folder is not None
    assert (folder.type_id, folder.path) == (ocsf.FileTypeId.FOLDER, "C:\\ProgramData\\Kit")
    assert c2.finding_info.types is None
    assert c2.malware is not None
    assert c2.malware[0].classification_ids == (ocsf.MalwareClassificationId.BACKDOOR,)


def test_partly_readable_records_are_still_read() -> None:
    outcome = parse_rows(Machine, copy.deepcopy(MACHINES["value"]))
    mac = outcome.records[3]
    assert (mac.computer_dns_name, mac.os_build) == ("mbp-design-3", None)
    assert outcome.problems[0].dropped == ("osBuild",)
    merged = normalize.device_event(outcome.records[2])
    assert merged.message == (
        f"MDE device lt-ops-07 (merged into {WINDOWS['id']}, excluded: Duplicate)"
    )
