"""The MDE enum tables of docs/ocsf-mapping.md §3, row by row: severity, status, category,
detectionSource, classification/determination, threat names and families, evidence
detectionStatus. MDE strings are matched case-insensitively; missing and placeholder values
are Unknown or absent, never shown."""

from __future__ import annotations

from typing import Any

import pytest

from bot import ocsf
from bot.demo.simulator.data import load_doc_example
from bot.mde import normalize
from bot.mde.models import Alert
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
        ("VirTool:Win32/Obfuscator.ZZ", 99),
        ("PUA:Win32/FusionCore", 99),
        ("trojan:win32/lowercase", 18),
        ("TrojanSpy:MSIL/AgentTesla.A", 17),
        ("Behavior:Win32/Unknown", 0),
        ("Behavior:Win32/Meterpreter.gen!A", 2),  # no type: the family says it
        ("Backdoor:PHP/Webshell.A", 2),  # the type wins over the family
    ],
)
def test_malware_classification_from_threat_name(threat: str, classification: int) -> None:
    """threatName `Type:Platform/Family` → classification_ids, from the type, else the family."""
    f = finding(doc_alert(threatName=threat, threatFamilyName="Family"))
    assert f.malware is not None
    assert (f.malware[0].name, f.malware[0].classification_ids) == (threat, (classification,))
    assert f.unmapped is not None
    assert f.unmapped["threatFamilyName"] == "Family"


@pytest.mark.parametrize(
    ("name", "family", "expected"),
    [
        (None, "Meterpreter", ("Meterpreter", 2)),  # a bare family name
        (None, "Mimikatz", ("Mimikatz", 99)),  # a hack tool
        (None, "CobaltStrike", ("CobaltStrike", 2)),
        (None, "WannaCrypt", ("WannaCrypt", 10)),
        (None, "Trojan", ("Trojan", 18)),  # a family that is a type
        (None, "Ransom", ("Ransom", 10)),
        (None, "Win32/Emotet", ("Win32/Emotet", 18)),
        (None, "VirTool:Win32/Obfuscator", ("VirTool:Win32/Obfuscator", 99)),  # named in full
        (None, "SomethingNew", ("SomethingNew", 0)),  # unknown: 0 Unknown, named
        ("Trojan:Win32/Wacatac.B!ml", "Wacatac", ("Trojan:Win32/Wacatac.B!ml", 18)),
        ("SuspiciousName", "Qakbot", ("SuspiciousName", 18)),  # the family when the name says none
        ("null", "None", None),  # placeholders: no malware
        ("", None, None),
    ],
)
def test_malware_from_names_and_families(
    name: str | None, family: str | None, expected: tuple[str, int] | None
) -> None:
    f = finding(doc_alert(threatName=name, threatFamilyName=family))
    got = (f.malware[0].name, f.malware[0].classification_ids[0]) if f.malware else None
    assert got == expected


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
        ("Unknown", (0, "Unknown")),
        ("unknown", (0, "Unknown")),
        (None, (0, "Unknown")),  # missing
        ("", (0, "Unknown")),
        ("null", (0, "Unknown")),
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
        (None, (0, "Unknown"), 1),  # missing
        ("", (0, "Unknown"), 1),
    ],
)
def test_status_and_activity(status: str | None, expected: tuple[int, str], activity: int) -> None:
    f = finding(doc_alert(status=status))
    assert (f.status_id, f.status, f.activity_id) == (*expected, activity)


def test_severity_and_status_absent_from_the_record() -> None:
    alert = Alert.model_validate(
        {
            k: v
            for k, v in load_doc_example("alerts.response.json").items()
            if k not in {"severity", "status"}
        }
    )
    f = normalize.finding_from_alert(alert, portal_url="https://security.microsoft.com")
    assert (f.severity_id, f.severity, f.status_id, f.status) == (0, "Unknown", 0, "Unknown")


@pytest.mark.parametrize(
    ("category", "types", "tactic"),
    [
        ("Execution", ("Execution",), "TA0002"),
        ("SuspiciousActivity", ("SuspiciousActivity",), None),
        ("null", None, None),
        ("None", None, None),
        ("", None, None),
        ("  ", None, None),
        (None, None, None),
    ],
)
def test_placeholder_categories_are_absent(
    category: str | None, types: tuple[str, ...] | None, tactic: str | None
) -> None:
    f = finding(doc_alert(category=category, mitreTechniques=[]))
    assert f.finding_info.types == types
    analytic = f.finding_info.analytic
    assert analytic is not None
    assert analytic.category == (types[0] if types else None)
    tactics = [a.tactic.uid for a in f.finding_info.attacks or () if a.tactic]
    assert tactics == ([tactic] if tactic else [])
    assert "null" not in str(ocsf.to_json(f)).lower()


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
