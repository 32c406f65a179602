"""MDE Alert → OCSF Detection Finding (and the legacy Security Finding), field by field.

Each assertion names the docs/ocsf-mapping.md table row it checks (§3 alert, §4 evidence)."""

from __future__ import annotations

from typing import Any

import pytest

from bot import ocsf
from bot.demo.simulator.data import load_doc_example
from bot.mde import normalize
from bot.mde.models import Alert, Evidence, FileInfo, Machine

PORTAL = "https://security.microsoft.com"
TENANT = "a839b112-1253-6432-9bf6-94542403f21c"


def doc_alert(name: str = "alerts.response.json", **changes: Any) -> Alert:
    body = load_doc_example(name)
    row = body["value"][0] if "value" in body else body
    return Alert.model_validate(row | changes)


def finding(alert: Alert, **kwargs: Any) -> ocsf.DetectionFinding:
    return normalize.finding_from_alert(alert, portal_url=PORTAL, **kwargs)


def test_single_alert_field_by_field() -> None:
    """alerts.md's single-alert example (User, Process and File evidence)."""
    f = finding(doc_alert())
    assert (f.class_uid, f.category_uid) == (2004, 2)  # (constant)
    assert (f.class_name, f.category_name) == ("Detection Finding", "Findings")
    assert (f.activity_id, f.type_uid) == (ocsf.ActivityId.CREATE, 200401)  # status New → Create
    assert (f.status_id, f.status) == (ocsf.StatusId.NEW, "New")  # status New → 1
    assert (f.severity_id, f.severity) == (ocsf.SeverityId.LOW, "Low")  # severity Low → 2
    assert f.time == 1611693237722  # alertCreationTime → time (ms)
    assert f.metadata.original_time == "2021-01-26T20:33:57.7220239Z"  # … as sent, 7 digits
    assert f.finding_info.created_time == 1611693237722  # … finding_info.created_time
    assert (f.start_time, f.end_time) == (1611693092956, 1611693093057)  # first/lastEventTime
    assert f.finding_info.first_seen_time == 1611693092956
    assert f.finding_info.last_seen_time == 1611693093057
    assert f.finding_info.modified_time == f.metadata.modified_time == 1611693239200  # lastUpdate
    assert f.finding_info.uid == f.metadata.uid == "da637472900382838869_1364969609"  # id
    title = "Low-reputation arbitrary code executed by signed executable"
    assert f.finding_info.title == f.message == title  # title → title, message
    assert f.finding_info.desc is not None  # description → desc
    assert f.finding_info.desc.startswith("Binaries signed by Microsoft")
    assert f.finding_info.src_url == (  # (derived) portal link, via alert_url
        f"{PORTAL}/alerts/da637472900382838869_1364969609?tid={TENANT}"
    )
    assert f.finding_info.types == ("Execution",)  # category → types[]
    assert f.finding_info.analytic == ocsf.Analytic(
        type_id=ocsf.AnalyticTypeId.BEHAVIORAL,  # detectionSource WindowsDefenderAtp → 2
        uid="17e10bbc-3a68-474a-8aad-faef14d43952",  # detectorId → analytic.uid
        name=title,  # title → analytic.name
        category="Execution",  # category → analytic.category
    )
    assert f.metadata.product == ocsf.Product(  # (constant) + detectionSource → feature.name
        feature=ocsf.Feature(name="WindowsDefenderAtp")
    )
    assert f.metadata.version == ocsf.OCSF_VERSION  # metadata.version = OCSF_VERSION
    assert f.metadata.log_name == "alerts"
    assert f.metadata.tenant_uid == TENANT  # aadTenantId → tenant_uid
    assert f.metadata.correlation_uid == "1126093"  # incidentId → correlation_uid (str)
    assert f.is_alert is True  # (derived) true unless Close
    assert f.comment == "test comment for docs"  # comments[] → comment (newest)
    assert f.device == ocsf.Device(  # machineId, computerDnsName, rbacGroupName → device
        type_id=ocsf.DeviceTypeId.UNKNOWN,
        uid="111e6dd8c833c8a052ea231ec1b19adaf497b625",
        hostname="temp123.middleeast.corp.microsoft.com",
        name="temp123",
        domain="middleeast.corp.microsoft.com",
        groups=(ocsf.Group(name="A", type="DeviceGroup"),),
    )
    assert f.unmapped == {"investigationState": "Queued"}  # no OCSF slot
    assert f.malware is None  # threatName/threatFamilyName null
    assert f.verdict_id is None  # classification null → omit
    assert f.assignee is None  # assignedTo null


def test_mitre_techniques_and_category_tactic() -> None:
    """mitreTechniques[] → finding_info.attacks[]; category ∈ tactics → one tactic-only attack."""
    f = finding(doc_alert())
    assert f.finding_info.attacks == (
        *(
            ocsf.Attack(
                technique=ocsf.Technique(uid=t, src_url=f"https://attack.mitre.org/techniques/{t}/")
            )
            for t in ("T1064", "T1085", "T1220")
        ),
        ocsf.Attack(
            tactic=ocsf.Tactic(
                uid="TA0002", name="Execution", src_url="https://attack.mitre.org/tactics/TA0002/"
            )
        ),
    )


def test_sub_technique() -> None:
    """Tnnnn.mmm → {technique: Tnnnn, sub_technique: Tnnnn.mmm}; junk → unmapped."""
    f = finding(
        doc_alert(mitreTechniques=["T1059.001", "t1003", "bogus"], category="CredentialAccess")
    )
    attacks = f.finding_info.attacks or ()
    assert attacks[0] == ocsf.Attack(
        technique=ocsf.Technique(uid="T1059", src_url="https://attack.mitre.org/techniques/T1059/"),
        sub_technique=ocsf.SubTechnique(
            uid="T1059.001", src_url="https://attack.mitre.org/techniques/T1059/001/"
        ),
    )
    assert attacks[1].technique == ocsf.Technique(
        uid="T1003", src_url="https://attack.mitre.org/techniques/T1003/"
    )
    assert attacks[2].tactic is not None
    assert (attacks[2].tactic.uid, attacks[2].tactic.name) == ("TA0006", "Credential Access")
    assert f.unmapped is not None
    assert f.unmapped["mitreTechniques"] == ["bogus"]


def test_detection_status_and_security_control_profile() -> None:
    """evidence detectionStatus Detected → disposition 15 / action 3 (security_control), and
    then the attacks also top-level."""
    f = finding(doc_alert())
    assert (f.disposition_id, f.disposition) == (ocsf.DispositionId.DETECTED, "Detected")
    assert (f.action_id, f.action) == (ocsf.ActionId.OBSERVED, "Observed")
    assert f.attacks == f.finding_info.attacks
    assert f.metadata.profiles == ("security_control",)


def test_user_evidence() -> None:
    """User → {user: {name: accountName, domain, uid: userSid, uid_alt: aadUserId, email}}."""
    user = finding(doc_alert()).evidences[0].user  # type: ignore[index]
    assert user == ocsf.User(
        name="name",
        domain="DOMAIN",
        uid="S-1-5-21-11111607-1111760036-109187956-75141",
        uid_alt="11118379-2a59-1111-ac3c-a51eb4a3c627",
        email_addr="temp123@microsoft.com",  # UPN only because it is a valid email
    )


def test_process_evidence() -> None:
    """Process → {process: {pid, name, cmd_line, created_time, file{…hashes}, parent_process}}."""
    process = finding(doc_alert()).evidences[1].process  # type: ignore[index]
    assert process is not None
    assert (process.pid, process.name) == (3276, "rundll32.exe")
    assert process.cmd_line == "rundll32.exe  c:\\temp\\suspicious.dll,RepeatAfterMe"
    assert process.created_time == 1611693092958
    assert process.file == ocsf.File(
        name="rundll32.exe",
        type_id=ocsf.FileTypeId.REGULAR_FILE,
        path="C:\\Windows\\SysWOW64\\rundll32.exe",
        parent_folder="C:\\Windows\\SysWOW64",
        ext="exe",
        hashes=(
            ocsf.Fingerprint(algorithm_id=2, value="ff836cfb1af40252bd2a2ea843032e99a5b262ed"),
            ocsf.Fingerprint(
                algorithm_id=3,
                value="a4752c71d81afd3d5865d24ddb11a6b0c615062fcc448d24050c2172d2cbccd6",
            ),
        ),
    )
    parent = process.parent_process
    assert parent is not None
    assert (parent.pid, parent.name, parent.created_time) == (8420, "rundll32.exe", 1611693092900)
    assert parent.file is not None
    assert parent.file.path == "C:\\Windows\\System32\\rundll32.exe"


def test_process_without_parent_id_has_no_parent() -> None:
    """Process needs pid/uid: parent_process only if parentProcessId is set."""
    item = Evidence(entity_type="Process", process_id=1, parent_process_file_name="explorer.exe")
    assert normalize.evidence_item(item, {}).process == ocsf.Process(pid=1)


def test_file_evidence_hashes_are_fingerprints() -> None:
    """File → {file: {name, type_id 1, parent_folder: filePath, path: folder\\name, hashes}}."""
    file = finding(doc_alert()).evidences[2].file  # type: ignore[index]
    assert file is not None
    assert (file.name, file.type_id, file.type) == ("suspicious.dll", 1, "Regular File")
    assert (file.parent_folder, file.path) == ("c:\\temp", "c:\\temp\\suspicious.dll")
    data = ocsf.to_json(file)
    assert data["hashes"] == [
        {
            "algorithm_id": 2,
            "algorithm": "SHA-1",
            "value": "8563f95b2f8a284fc99da44500cd51a77c1ff36c",
        },
        {
            "algorithm_id": 3,
            "algorithm": "SHA-256",
            "value": "dc0ade0c95d6db98882bc8fa6707e64353cd6f7767ff48d6a81a6c2aef21c608",
        },
    ]
    assert "signature" not in data


def test_related_user_becomes_an_evidence() -> None:
    """relatedUser {userName, domainName} → evidences[] {user: {name, domain}}."""
    evidences = finding(doc_alert()).evidences or ()
    assert evidences[3] == ocsf.Evidence(user=ocsf.User(name="temp123", domain="DOMAIN"))
    assert len(evidences) == 4


@pytest.mark.parametrize(
    ("entity", "expected"),
    [
        (
            {"entityType": "Ip", "ipAddress": "23.203.232.228"},
            {"dst_endpoint": {"ip": "23.203.232.228"}},
        ),
        (
            {"entityType": "Url", "url": "http://evil.example/x"},
            {"url": {"url_string": "http://evil.example/x"}},
        ),
        (
            {"entityType": "RegistryValue", "registryKey": "HKLM\\Run", "registryValue": "x.exe"},
            {
                "name": "RegistryValue",
                "data": {
                    "entityType": "RegistryValue",
                    "registryKey": "HKLM\\Run",
                    "registryValue": "x.exe",
                },
            },
        ),
        (
            {"entityType": "Ip", "ipAddress": "not-an-ip"},
            {"name": "Ip", "data": {"entityType": "Ip", "ipAddress": "not-an-ip"}},
        ),
        (
            {"entityType": "File", "sha1": "8563f95b2f8a284fc99da44500cd51a77c1ff36c"},
            {
                "name": "File",
                "data": {"entityType": "File", "sha1": "8563f95b2f8a284fc99da44500cd51a77c1ff36c"},
            },
        ),
    ],
    ids=["ip", "url", "registry-as-data", "bad-ip-as-data", "nameless-file-as-data"],
)
def test_other_evidence(entity: dict[str, Any], expected: dict[str, Any]) -> None:
    """Ip → dst_endpoint.ip; Url → url.url_string; other or unusable → {name, data}."""
    item = Evidence.model_validate(entity)
    assert ocsf.to_json(normalize.evidence_item(item, {})) == expected


def test_alerts_list_example_malware_verdict_assignee() -> None:
    """get-alerts Example 1: threatFamilyName, classification, assignedTo, WindowsDefenderAv."""
    f = finding(doc_alert("get-alerts.response.json"))
    assert f.malware == (  # threatFamilyName → malware[] (a bare family: what it is)
        ocsf.Malware(
            name="Meterpreter",
            classification_ids=(ocsf.MalwareClassificationId.BACKDOOR,),
            provider="Microsoft Defender for Endpoint",
        ),
    )
    assert (f.verdict_id, f.verdict) == (ocsf.VerdictId.TRUE_POSITIVE, "True Positive")
    assert f.assignee == ocsf.User(  # assignedTo → assignee (incident profile)
        name="secop123@contoso.com", email_addr="secop123@contoso.com"
    )
    assert f.metadata.profiles == ("incident",)
    analytic = f.finding_info.analytic
    assert analytic is not None  # no detectorId in this example: named by its title
    assert (analytic.uid, analytic.type_id) == (None, ocsf.AnalyticTypeId.FINGERPRINTING)
    assert f.unmapped == {
        "investigationId": 723156,
        "investigationState": "Queued",
        "classification": "TruePositive",
    }
    assert f.finding_info.attacks is not None
    assert f.finding_info.attacks[-1].tactic is None  # SuspiciousActivity is no tactic


def test_resolved_alert_is_a_close() -> None:
    """status Resolved → activity 3 Close, time = resolvedTime, is_alert false."""
    f = finding(doc_alert(status="Resolved", resolvedTime="2021-01-27T08:00:00.1234567Z"))
    assert (f.activity_id, f.type_uid, f.type_name) == (3, 200403, "Detection Finding: Close")
    assert f.time == 1611734400123
    assert f.finding_info.created_time == 1611693237722
    assert f.is_alert is False
    fallback = finding(doc_alert(status="Resolved", resolvedTime=None))
    assert fallback.time == 1611693239200  # … fallback lastUpdateTime


def related_machine(**changes: Any) -> Machine:
    """get-alert-related-machine-info's device, as the device of the doc alert."""
    row = load_doc_example("get-alert-related-machine-info.response.json")
    return Machine.model_validate(row | {"id": doc_alert().machine_id} | changes)


def test_machine_merges_the_full_device() -> None:
    """machineId… → device: the looked-up device adds what the alert does not say; its
    MDE-only fields go to the finding's unmapped under `device`."""
    machine = related_machine()
    f = finding(doc_alert(), machine=machine)
    assert f.device is not None
    looked_up = normalize.device_from_machine(machine)
    assert (f.device.ip, f.device.os) == (looked_up.ip, looked_up.os)
    assert f.unmapped is not None
    assert {k: f.unmapped["device"][k] for k in ("healthStatus", "lastExternalIpAddress")} == {
        "healthStatus": "Active",
        "lastExternalIpAddress": "167.220.203.175",
    }
    names = {o.name for o in f.observables or ()}
    assert {"device.network_interfaces[0].mac", "unmapped.device.lastExternalIpAddress"} <= names


def test_file_profiles_enrich_matching_evidence() -> None:
    """A file profile matched by hash adds MD5 (algorithm 1), size and publisher."""
    profile = FileInfo(
        sha1="8563f95b2f8a284fc99da44500cd51a77c1ff36c",
        md5="8d5b7cc9a832e21d22503057e1fec8e9",
        size=113984,
        file_publisher="Contoso",
        file_product_name="Suspicious Suite",
    )
    file = finding(doc_alert(), files=[profile]).evidences[2].file  # type: ignore[index]
    assert file is not None
    assert [h.algorithm_id for h in file.hashes or ()] == [2, 3, 1]
    assert (file.size, file.company_name) == (113984, "Contoso")
    assert file.product == ocsf.Product(name="Suspicious Suite", vendor_name="Contoso")


def test_file_from_info() -> None:
    """An MDE file profile as an OCSF file; its SHA-1 stands in for the missing name."""
    info = FileInfo.model_validate(load_doc_example("get-file-information.response.json"))
    file = normalize.file_from_info(info)
    assert file.name == "4388963aaa83afe2042a46a3c017ad50bdcdafb3"
    assert [(h.algorithm, h.value[:8]) for h in file.hashes or ()] == [
        ("SHA-1", "4388963a"),
        ("SHA-256", "413c58c8"),
    ]
    assert normalize.file_from_info(info, name="MobiSaver.exe").name == "MobiSaver.exe"


def test_observables_point_at_their_attributes() -> None:
    """hostname(1), user names(4), process names(9), file names(7), hashes(8)."""
    f = finding(doc_alert(), version="1.5.0")
    observed = [(o.type_id, o.name, o.value) for o in f.observables or ()]
    assert observed[:2] == [
        (1, "device.hostname", "temp123.middleeast.corp.microsoft.com"),
        (4, "evidences[0].user.name", "name"),
    ]
    assert (9, "evidences[1].process.name", "rundll32.exe") in observed
    assert (
        8,
        "evidences[2].file.hashes[0].value",
        "8563f95b2f8a284fc99da44500cd51a77c1ff36c",
    ) in observed
    assert (7, "evidences[2].file.name", "suspicious.dll") in observed
    assert all(t != 47 for t, _, _ in observed)  # 1.5.0: no device-uid observable
    assert f.metadata.version == "1.5.0"


def test_security_finding_is_built_from_the_detection() -> None:
    """Legacy 2001: finding{uid,title}, state_id for the status, device under `host`."""
    alert = doc_alert(status="InProgress")
    legacy = normalize.security_finding_from_alert(alert, portal_url=PORTAL)
    detection = finding(alert)
    assert (legacy.class_uid, legacy.type_uid) == (2001, 200101)
    assert (legacy.state_id, legacy.state) == (ocsf.StateId.IN_PROGRESS, "In Progress")
    assert legacy.finding.uid == detection.finding_info.uid
    assert legacy.finding.title == detection.finding_info.title
    assert legacy.finding.src_url == detection.finding_info.src_url
    assert legacy.analytic == detection.finding_info.analytic
    assert legacy.attacks == detection.finding_info.attacks
    assert legacy.device == detection.device
    assert legacy.process == detection.evidences[1].process  # type: ignore[index]
    assert legacy.evidence is not None
    assert len(legacy.evidence) == 4
    assert legacy.metadata.profiles == ("host", "security_control")
    assert all(not (o.name or "").startswith("evidences") for o in legacy.observables or ())


def test_device_events_list_the_device_then_its_alerts() -> None:
    machine = related_machine()
    alerts = [doc_alert(), doc_alert("get-alerts.response.json", machineId=machine.id)]
    events = normalize.device_events(machine, alerts, portal_url=PORTAL, legacy=True)
    assert [e.class_uid for e in events] == [5001, 2004, 2004, 2001, 2001]
    assert events[0].metadata.tenant_uid == TENANT  # taken from the alerts
    devices = [getattr(e, "device", None) for e in events]
    assert devices[3:] == devices[1:3]  # each legacy finding carries its detection's device
    assert all(d is not None and d.ip == events[0].device.ip for d in devices)


def test_the_walking_skeleton_signatures_still_work() -> None:
    assert normalize.alert_url(PORTAL, "a1", None) == f"{PORTAL}/alerts/a1"
    assert normalize.alert_url(PORTAL, "a1", "t") == f"{PORTAL}/alerts/a1?tid=t"
    f = normalize.finding_from_alert(Alert(id="a1"), portal_url=PORTAL)
    assert (f.severity_id, f.status_id, f.device, f.time) == (0, 0, None, 0)  # none: Unknown
