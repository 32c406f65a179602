"""The MDE enum tables of ocsf.md §5.2, row by row: severity, status, detectionSource,
classification/determination, threatName prefixes, evidence detectionStatus. MDE strings are
matched case-insensitively."""

from __future__ import annotations

from typing import Any

import pytest

from bot import ocsf
from tests.test_normalize_alert import doc_alert, finding


@pytest.mark.parametrize(
    ("statuses", "disposition", "action"),
    [
        (["Detected", "Blocked"], (2, "Blocked"), (2, "Denied")),  # strongest wins
        (["Prevented", "Detected"], (2, "Blocked"), (2, "Denied")),
        (["detected"], (15, "Detected"), (3, "Observed")),
        (["Remediated"], (99, "Remediated"), (99, "Remediated")),  # other → 99 + raw
        ([None], (None, None), (None, None)),
    ],
)
def test_detection_status_mapping(
    statuses: list[str | None], disposition: tuple[Any, Any], action: tuple[Any, Any]
) -> None:
    evidence = [
        {"entityType": "Ip", "ipAddress": "1.2.3.4", "detectionStatus": s} for s in statuses
    ]
    f = finding(doc_alert(evidence=evidence))
    assert (f.disposition_id, f.disposition) == disposition
    assert (f.action_id, f.action) == action
    if disposition[0] is None:
        assert f.attacks is None
        assert f.metadata.profiles is None


@pytest.mark.parametrize(
    ("threat", "classification"),
    [
        ("Trojan:Win32/Meterpreter.A", 18),
        ("Backdoor:Win32/Bladabindi!ml", 2),
        ("Ransom:Win32/WannaCrypt", 10),
        ("Worm:Win32/Conficker.B", 22),
        ("Virus:Win32/Sality", 19),
        ("TrojanDownloader:Win32/Upatre", 6),
        ("TrojanDropper:Win32/Dorv", 7),
        ("Spyware:Win32/Keylog", 17),
        ("PWS:Win32/Zbot", 17),
        ("Rootkit:Win32/Necurs", 15),
        ("Exploit:Win32/CVE-2017-0144", 99),
        ("HackTool:Win32/Mimikatz", 99),
        ("PUA:Win32/FusionCore", 99),
        ("trojan:win32/lowercase", 18),
        ("Behavior:Win32/Unknown", 0),
    ],
)
def test_malware_classification_from_threat_name(threat: str, classification: int) -> None:
    """threatName prefix `Type:Platform/Family` → classification_ids."""
    f = finding(doc_alert(threatName=threat, threatFamilyName="Family"))
    assert f.malware is not None
    assert (f.malware[0].name, f.malware[0].classification_ids) == (threat, (classification,))
    assert f.unmapped is not None
    assert f.unmapped["threatFamilyName"] == "Family"


@pytest.mark.parametrize(
    ("classification", "determination", "verdict"),
    [
        ("TruePositive", "Malware", (2, "True Positive")),
        ("truePositive", None, (2, "True Positive")),
        ("FalsePositive", "Clean", (1, "False Positive")),
        ("InformationalExpectedActivity", None, (5, "Benign")),
        ("Informational, expected activity", None, (5, "Benign")),
        ("InformationalExpectedActivity", "SecurityTesting", (6, "Test")),
        ("Undecided", None, (99, "Undecided")),
        (None, None, (None, None)),
    ],
)
def test_verdict(classification: str | None, determination: str | None, verdict: Any) -> None:
    """classification / determination → verdict_id (incident profile)."""
    f = finding(doc_alert(classification=classification, determination=determination))
    assert (f.verdict_id, f.verdict) == verdict


@pytest.mark.parametrize(
    ("severity", "expected"),
    [
        ("UnSpecified", (0, "Unknown")),
        ("Informational", (1, "Informational")),
        ("low", (2, "Low")),
        ("Medium", (3, "Medium")),
        ("HIGH", (4, "High")),
        ("Critical", (99, "Critical")),  # MDE v1 has no Critical: other → 99 + raw
    ],
)
def test_severity(severity: str, expected: tuple[int, str]) -> None:
    f = finding(doc_alert(severity=severity))
    assert (f.severity_id, f.severity) == expected


@pytest.mark.parametrize(
    ("status", "expected", "activity"),
    [
        ("Unknown", (0, "Unknown"), 1),
        ("New", (1, "New"), 1),
        ("InProgress", (2, "In Progress"), 1),
        ("inProgress", (2, "In Progress"), 1),
        ("Resolved", (4, "Resolved"), 3),
        ("Parked", (99, "Parked"), 1),
    ],
)
def test_status_and_activity(status: str, expected: tuple[int, str], activity: int) -> None:
    f = finding(doc_alert(status=status))
    assert (f.status_id, f.status, f.activity_id) == (*expected, activity)


@pytest.mark.parametrize(
    ("source", "analytic_type"),
    [
        ("CustomDetection", ocsf.AnalyticTypeId.RULE),
        ("WindowsDefenderAtp", ocsf.AnalyticTypeId.BEHAVIORAL),
        ("windowsdefenderav", ocsf.AnalyticTypeId.FINGERPRINTING),
        ("CustomerTI", ocsf.AnalyticTypeId.UNKNOWN),
        ("AutomatedInvestigation", ocsf.AnalyticTypeId.UNKNOWN),
        (None, ocsf.AnalyticTypeId.UNKNOWN),
    ],
)
def test_detection_source(source: str | None, analytic_type: ocsf.AnalyticTypeId) -> None:
    """detectionSource → analytic.type_id and metadata.product.feature.name."""
    f = finding(doc_alert(detectionSource=source))
    assert f.finding_info.analytic is not None
    assert f.finding_info.analytic.type_id == analytic_type
    feature = f.metadata.product.feature
    assert (feature.name if feature else None) == source
