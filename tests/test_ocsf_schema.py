"""Every OCSF event the normalizer produces conforms to the official OCSF 1.5.0 and 1.8.0
schemas (offline, via tests/ocsf_validation.py), and the validator catches each gotcha of
docs/ocsf-mapping.md §7."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from datetime import UTC
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot import ocsf
from bot.demo.simulator.data import load_doc_example, seeded_tenants
from bot.mde import normalize
from bot.mde.models import Alert, FileInfo, Machine
from bot.mde.records import Parsed, parse_record
from tests.ocsf_validation import SCHEMA_VERSIONS, object_errors, ocsf_errors
from tests.test_normalize_messy import messy_events

PORTAL = "https://security.microsoft.com"

DOC_MACHINES = (
    "get-machines.response.json",
    "get-machine-by-id.response.json",
    "get-alert-related-machine-info.response.json",
    "find-machine-info-by-ip.response.json",
)
DOC_ALERTS = (
    "alerts.response.json",
    "get-alerts.response.json",
    "get-alerts.response.2.json",
)
DOC_FILES = (
    "files.representation.json",
    "get-file-information.response.json",
    "get-alert-related-files-info.response.json",
)

Labelled = tuple[str, dict[str, Any]]


def _rows(name: str) -> list[dict[str, Any]]:
    """A doc example's entities: the `value` list of a collection, or the single entity."""
    body = load_doc_example(name)
    return list(body["value"]) if "value" in body else [body]


def _doc_data() -> tuple[list[Machine], list[Alert], list[FileInfo]]:
    machines = [Machine.model_validate(r) for n in DOC_MACHINES for r in _rows(n)]
    alerts = [Alert.model_validate(r) for n in DOC_ALERTS for r in _rows(n)]
    files = [FileInfo.model_validate(r) for n in DOC_FILES for r in _rows(n)]
    return machines, alerts, files


def _events_for(
    machines: list[Machine], alerts: list[Alert], files: list[FileInfo], version: str, label: str
) -> Iterator[Labelled]:
    """Each machine with its alerts (device event, merged findings, legacy findings), and each
    alert alone (thin device), with both finding classes."""
    for machine in machines:
        own = [a for a in alerts if a.machine_id == machine.id]
        for event in normalize.device_events(
            machine, own, portal_url=PORTAL, files=files, legacy=True, version=version
        ):
            yield f"{label} machine {machine.id} {event.class_name}", ocsf.to_json(event)
    for alert in alerts:
        finding = normalize.finding_from_alert(
            alert, portal_url=PORTAL, files=files, version=version
        )
        legacy = normalize.security_finding_from_detection(finding)
        yield f"{label} alert {alert.id}", ocsf.to_json(finding)
        yield f"{label} alert {alert.id} (2001)", ocsf.to_json(legacy)
    for info in files:
        yield f"{label} file {info.sha1}", ocsf.to_json(normalize.file_event(info, version=version))


def all_events(version: str) -> list[Labelled]:
    """Every event for the simulator's whole seeded data, Microsoft's doc examples and the
    messy corpus of real shapes (tests/test_normalize_messy.py)."""
    events: list[Labelled] = []
    for tenant in seeded_tenants():
        machines = [Machine.model_validate(r) for r in tenant.machines]
        alerts = [Alert.model_validate(r) for r in tenant.alerts]
        files = [FileInfo.model_validate(r) for r in tenant.files]
        events.extend(_events_for(machines, alerts, files, version, tenant.name))
    machines, alerts, files = _doc_data()
    events.extend(_events_for(machines, alerts, files, version, "docs"))
    # The alert-related machine example, as the device of every doc alert.
    row = _rows("get-alert-related-machine-info.response.json")[0]
    for alert in alerts:
        related = Machine.model_validate(row | {"id": alert.machine_id})
        merged = normalize.device_events(
            related, [alert], portal_url=PORTAL, files=files, legacy=True, version=version
        )
        events.extend((f"docs related machine {e.class_name}", ocsf.to_json(e)) for e in merged)
    events.extend((f"messy {e.class_name}", ocsf.to_json(e)) for e in messy_events(version))
    return events


@pytest.fixture(scope="module", params=SCHEMA_VERSIONS)
def version_events(request: pytest.FixtureRequest) -> tuple[str, list[Labelled]]:
    return request.param, all_events(request.param)


def test_every_event_validates(version_events: tuple[str, list[Labelled]]) -> None:
    """Seeded tenants + doc examples: zero schema errors, for each schema version."""
    version, events = version_events
    errors = [f"{label}: {e}" for label, event in events for e in ocsf_errors(event, version)]
    assert errors == []


def test_every_seeded_entity_is_covered(version_events: tuple[str, list[Labelled]]) -> None:
    """The run is generic: one inventory event per machine, two findings per alert at least."""
    version, events = version_events
    machines = sum(len(t.machines) for t in seeded_tenants()) + sum(
        len(_rows(n)) for n in DOC_MACHINES
    )
    alerts = sum(len(t.alerts) for t in seeded_tenants()) + sum(len(_rows(n)) for n in DOC_ALERTS)
    files = sum(len(t.files) for t in seeded_tenants()) + sum(len(_rows(n)) for n in DOC_FILES)
    docs = [(label, e) for label, e in events if not label.startswith("messy")]
    classes = [e["class_uid"] for _, e in docs]
    assert classes.count(5001) == machines + len(_rows("alerts.response.json")) + 2  # + related
    assert classes.count(2004) >= alerts
    assert classes.count(2001) >= alerts
    assert classes.count(5007) == files
    assert {e["metadata"]["version"] for _, e in events} == {version}


@pytest.mark.parametrize("version", SCHEMA_VERSIONS)
def test_file_profiles_validate_as_file_objects(version: str) -> None:
    infos = [FileInfo.model_validate(r) for t in seeded_tenants() for r in t.files]
    infos += [FileInfo.model_validate(r) for n in DOC_FILES for r in _rows(n)]
    errors = [
        e
        for info in infos
        for e in object_errors(
            ocsf.to_json(normalize.file_from_info(info, version=version)), "file", version
        )
    ]
    assert errors == []


# --- the validator catches each gotcha (docs/ocsf-mapping.md §7) ----------------------------


@pytest.fixture(scope="module")
def doc_alert() -> Alert:
    return Alert.model_validate(load_doc_example("alerts.response.json"))


@pytest.fixture(scope="module")
def related_machine(doc_alert: Alert) -> Machine:
    """The alert-related machine example, as the device of the doc alert."""
    row = load_doc_example("get-alert-related-machine-info.response.json")
    return Machine.model_validate(row | {"id": doc_alert.machine_id})


def _finding(alert: Alert, machine: Machine, version: str) -> dict[str, Any]:
    event = normalize.finding_from_alert(alert, portal_url=PORTAL, machine=machine, version=version)
    data = ocsf.to_json(event)
    assert ocsf_errors(data) == []  # the baseline is valid; each test breaks one thing
    return copy.deepcopy(data)


def _set(event: dict[str, Any], path: str, value: Any) -> None:
    *parents, last = path.split(".")
    for part in parents:
        event = event[int(part)] if part.isdigit() else event[part]  # type: ignore[index]
    event[last] = value


BREAKAGES = {
    "ip as a list": ("device.ip", ["10.166.113.47", "10.166.113.46"]),
    "raw MDE MAC": ("device.network_interfaces.0.mac", "8CEC4B897E73"),
    "a null": ("finding_info.title", None),
    "ISO time": ("time", "2021-01-26T20:33:57.7220239Z"),
    "ISO time in an object": ("device.last_seen_time", "2021-01-25T07:27:36.052313Z"),
    "misspelled attribute": ("device.hostnme", "mymachine1"),
}


@pytest.mark.parametrize("version", SCHEMA_VERSIONS)
@pytest.mark.parametrize("breakage", BREAKAGES)
def test_validator_catches(
    breakage: str, version: str, doc_alert: Alert, related_machine: Machine
) -> None:
    path, value = BREAKAGES[breakage]
    event = _finding(doc_alert, related_machine, version)
    _set(event, path, value)
    errors = ocsf_errors(event)
    assert errors, breakage
    assert any(e.startswith(path.rsplit(".", 1)[0]) for e in errors), errors


@pytest.mark.parametrize("version", SCHEMA_VERSIONS)
def test_validator_catches_missing_type_id(
    version: str, doc_alert: Alert, related_machine: Machine
) -> None:
    event = _finding(doc_alert, related_machine, version)
    del event["device"]["type_id"]
    assert any("'type_id' is a required property" in e for e in ocsf_errors(event))


@pytest.mark.parametrize("version", SCHEMA_VERSIONS)
def test_validator_catches_malware_without_classification_ids(
    version: str, doc_alert: Alert, related_machine: Machine
) -> None:
    event = _finding(doc_alert, related_machine, version)
    event["malware"] = [{"name": "Meterpreter"}]
    assert any("'classification_ids' is a required property" in e for e in ocsf_errors(event))


@pytest.mark.parametrize("version", SCHEMA_VERSIONS)
def test_validator_catches_undeclared_profile(
    version: str, doc_alert: Alert, related_machine: Machine
) -> None:
    """Top-level `attacks` belongs to `security_control`: without it declared, it is refused."""
    event = _finding(doc_alert, related_machine, version)
    assert "attacks" in event
    event["metadata"]["profiles"].remove("security_control")
    assert any("'attacks'" in e and "unexpected" in e for e in ocsf_errors(event))


@pytest.mark.parametrize("version", SCHEMA_VERSIONS)
def test_validator_catches_unknown_profile(
    version: str, doc_alert: Alert, related_machine: Machine
) -> None:
    event = _finding(doc_alert, related_machine, version)
    event["metadata"]["profiles"].append("osintt")
    assert "metadata.profiles: 'osintt' is no profile of detection_finding" in ocsf_errors(event)


def test_validator_catches_a_version_mismatch(doc_alert: Alert, related_machine: Machine) -> None:
    event = _finding(doc_alert, related_machine, "1.8.0")
    assert any(e.startswith("metadata.version") for e in ocsf_errors(event, "1.5.0"))


def test_1_6_values_are_refused_by_1_5(doc_alert: Alert, related_machine: Machine) -> None:
    """Why the normalizer gates them: observable 47 and file type 8 are 1.6+ (§7)."""
    event = _finding(doc_alert, related_machine, "1.5.0")
    assert all(o["type_id"] != 47 for o in event["observables"])
    event["observables"].append({"type_id": 47, "name": "device.uid", "value": "x"})
    event["evidences"][2]["file"]["type_id"] = 8
    errors = ocsf_errors(event)
    assert any(e.startswith("observables") for e in errors)
    assert any(e.startswith("evidences.2.file.type_id") for e in errors)
    upgraded = copy.deepcopy(event)
    upgraded["metadata"]["version"] = "1.8.0"
    assert ocsf_errors(upgraded) == []


@pytest.mark.parametrize("version", SCHEMA_VERSIONS)
def test_file_hash_is_not_a_signature_digest(version: str, doc_alert: Alert) -> None:
    """Hashes live in file.hashes[]; the schema has no `digest` on a file."""
    event = ocsf.to_json(
        normalize.finding_from_alert(doc_alert, portal_url=PORTAL, version=version)
    )
    file = event["evidences"][2]["file"]
    assert [h["algorithm_id"] for h in file["hashes"]] == [2, 3]
    file["digest"] = file.pop("hashes")[0]
    assert any("'digest' was unexpected" in e for e in ocsf_errors(event))


# --- whatever MDE sends, the output stays valid ----------------------------------------------

_odd_text = st.one_of(st.none(), st.text(max_size=12), st.sampled_from(["null", "None", ""]))
# a value of any JSON type, where MDE should have sent another
_anything = st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=6), st.just({}))
_ip_text = st.one_of(_odd_text, st.ip_addresses().map(str))
_mac_text = st.one_of(_odd_text, st.text("0123456789ABCDEFabcdef:-", min_size=11, max_size=17))
_hash = st.one_of(_odd_text, st.text("0123456789abcdef", min_size=40, max_size=40))
_time = st.one_of(st.none(), st.datetimes(timezones=st.just(UTC)).map(lambda d: d.isoformat()))


def _pick(*values: str) -> st.SearchStrategy[str | None]:
    return st.one_of(st.sampled_from(values), _odd_text)


machines = st.fixed_dictionaries(
    {"id": st.text(min_size=1, max_size=40)},
    optional={
        "computerDnsName": _odd_text,
        "osPlatform": _pick("Windows11", "WindowsServer2022", "Linux", "macOS", "iOS", "iPadOS"),
        "osArchitecture": _pick("64-bit", "32-bit"),
        "osBuild": st.one_of(st.none(), st.integers(0, 10**6)),
        "lastIpAddress": _ip_text,
        "lastExternalIpAddress": _ip_text,
        "riskScore": _pick("None", "Informational", "Low", "Medium", "High"),
        "healthStatus": _odd_text,
        "managedBy": _pick("Intune", "Unknown"),
        "rbacGroupId": st.one_of(st.none(), st.integers(0, 999)),
        "rbacGroupName": _odd_text,
        "machineTags": st.one_of(st.none(), st.lists(st.text(max_size=8), max_size=3)),
        "agentVersion": _odd_text,
        "lastSeen": _time,
        "vmMetadata": st.one_of(st.none(), st.fixed_dictionaries({"vmId": _odd_text})),
        "ipAddresses": st.one_of(
            st.none(),
            _anything,
            st.lists(
                st.one_of(
                    _anything,
                    st.fixed_dictionaries(
                        {
                            "ipAddress": st.one_of(
                                _ip_text, st.sampled_from(["127.0.0.1", "::1", "fe80::1"])
                            ),
                            "macAddress": st.one_of(_mac_text, st.just("000000000000")),
                            "type": _pick("Ethernet", "Wireless80211", "SoftwareLoopback", "Other"),
                            "operationalStatus": _pick("Up", "Down"),
                        }
                    ),
                ),
                max_size=3,
            ),
        ),
        "mergedIntoMachineId": _odd_text,
        "isExcluded": st.one_of(st.none(), st.booleans(), _anything),
        "exclusionReason": _odd_text,
        "firstSeen": st.one_of(_time, _anything),
    },
)
evidence = st.fixed_dictionaries(
    {
        "entityType": st.one_of(
            st.sampled_from(["File", "Process", "User", "Ip", "Url", "RegistryKey", "Mailbox"]),
            st.text(max_size=10),
        )
    },
    optional={
        "sha1": _hash,
        "sha256": _odd_text,
        "fileName": _odd_text,
        "filePath": _odd_text,
        "processId": st.one_of(st.none(), st.integers(0, 2**31)),
        "parentProcessId": st.one_of(st.none(), st.integers(0, 2**31)),
        "parentProcessFileName": _odd_text,
        "ipAddress": _ip_text,
        "url": _odd_text,
        "accountName": _odd_text,
        "userSid": _odd_text,
        "userPrincipalName": st.one_of(_odd_text, st.emails()),
        "registryKey": _odd_text,
        "detectionStatus": _pick("Detected", "Blocked", "Prevented"),
        "processCreationTime": _time,
    },
)
alerts = st.fixed_dictionaries(
    {"id": st.text(min_size=1, max_size=30)},
    optional={
        "title": _odd_text,
        "severity": _pick("UnSpecified", "Informational", "Low", "Medium", "High"),
        "status": _pick("Unknown", "New", "InProgress", "Resolved"),
        "classification": _pick("TruePositive", "FalsePositive", "InformationalExpectedActivity"),
        "determination": _pick("SecurityTesting", "Malware"),
        "category": _pick("Execution", "CredentialAccess", "Malware"),
        "detectionSource": _pick("WindowsDefenderAtp", "WindowsDefenderAv", "CustomDetection"),
        "detectorId": _odd_text,
        "threatName": _pick("Trojan:Win32/X", "Ransom:Win64/Y"),
        "threatFamilyName": _odd_text,
        "machineId": _odd_text,
        "computerDnsName": _odd_text,
        "rbacGroupName": _odd_text,
        "assignedTo": st.one_of(_odd_text, st.emails()),
        "incidentId": st.one_of(st.none(), st.integers(0, 10**9)),
        "alertCreationTime": _time,
        "resolvedTime": _time,
        "mitreTechniques": st.one_of(
            st.none(), st.lists(st.sampled_from(["T1059", "T1059.001", "t1003", "?"]), max_size=3)
        ),
        "relatedUser": st.one_of(
            st.none(), st.fixed_dictionaries({"userName": _odd_text, "domainName": _odd_text})
        ),
        "comments": st.lists(st.fixed_dictionaries({"comment": _odd_text}), max_size=2),
        "evidence": st.one_of(evidence, st.lists(st.one_of(evidence, _anything), max_size=4)),
        "alertFiles": st.lists(
            st.fixed_dictionaries({"sha1": _hash, "fileName": _odd_text, "filePath": _odd_text}),
            max_size=2,
        ),
        "alertIps": st.lists(st.one_of(_ip_text, st.fixed_dictionaries({"ipAddress": _ip_text}))),
        "alertDomains": st.lists(st.fixed_dictionaries({"host": _odd_text}), max_size=2),
        "alertUser": st.one_of(
            st.none(), st.fixed_dictionaries({"accountName": _odd_text, "accountSid": _odd_text})
        ),
    },
)
files = st.fixed_dictionaries(
    {"sha1": _hash},
    optional={
        "sha256": _odd_text,
        "md5": _odd_text,
        "signer": _odd_text,
        "signerHash": _odd_text,
        "isValidCertificate": st.one_of(st.none(), st.booleans()),
        "isPeFile": st.one_of(st.none(), st.booleans()),
        "filePublisher": _odd_text,
        "fileProductName": _odd_text,
        "globalLastObserved": _time,
        "size": st.one_of(st.none(), st.integers(0, 2**40), _anything),
    },
)


def _readable(model: type[Any], raw: dict[str, Any]) -> Any:
    outcome = parse_record(model, raw)
    return outcome.record if isinstance(outcome, Parsed) else None


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    machine=machines,
    alert_rows=st.lists(alerts, max_size=3),
    file_rows=st.lists(files, max_size=2),
)
def test_any_mde_payload_gives_valid_events(
    machine: dict[str, Any], alert_rows: list[dict[str, Any]], file_rows: list[dict[str, Any]]
) -> None:
    """Odd, missing or malformed MDE values are left out or kept as data, never emitted
    broken: the events validate against both versions whatever MDE sends."""
    parsed = _readable(Machine, machine)
    for row in alert_rows:  # an alert without a device of its own is the machine's
        row.setdefault("machineId", machine["id"])
    parsed_alerts = [a for a in (_readable(Alert, row) for row in alert_rows) if a is not None]
    parsed_files = [f for f in (_readable(FileInfo, row) for row in file_rows) if f is not None]
    for version in SCHEMA_VERSIONS:
        events: list[ocsf.Event] = [
            *(
                normalize.finding_from_alert(a, portal_url=PORTAL, version=version)
                for a in parsed_alerts
            ),
            *(normalize.file_event(f, version=version) for f in parsed_files),
        ]
        if parsed is not None:
            events += normalize.device_events(
                parsed,
                parsed_alerts,
                portal_url=PORTAL,
                files=parsed_files,
                legacy=True,
                version=version,
            )
        for event in events:
            assert ocsf_errors(ocsf.to_json(event)) == []
