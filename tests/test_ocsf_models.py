"""The OCSF pydantic models: unknown fields refused, ids and captions as the official schema
spells them, derived attributes (captions, type_uid, profiles), and OCSF's scalar rules."""

from __future__ import annotations

from typing import Any

import pytest
from ocsf_json_schema import get_ocsf_schema
from pydantic import BaseModel, ValidationError

from bot import ocsf
from tests.ocsf_validation import SCHEMA_VERSIONS

MODELS = [
    m
    for m in (getattr(ocsf, name) for name in ocsf.__all__)
    if isinstance(m, type) and issubclass(m, ocsf.OcsfModel) and m is not ocsf.OcsfModel
]


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.__name__)
def test_unknown_fields_are_refused(model: type[BaseModel]) -> None:
    with pytest.raises(ValidationError) as caught:
        model.model_validate({"hostnme": "typo"})
    assert "extra_forbidden" in {e["type"] for e in caught.value.errors()}


# Where each enum lives in the schema: (classes|objects, name, attribute).
ENUM_HOMES: dict[type[ocsf.OcsfEnum], tuple[str, str, str]] = {
    ocsf.SeverityId: ("classes", "detection_finding", "severity_id"),
    ocsf.StatusId: ("classes", "detection_finding", "status_id"),
    ocsf.StateId: ("classes", "security_finding", "state_id"),
    ocsf.ActivityId: ("classes", "detection_finding", "activity_id"),
    ocsf.InventoryActivityId: ("classes", "inventory_info", "activity_id"),
    ocsf.RiskLevelId: ("objects", "device", "risk_level_id"),
    ocsf.OsTypeId: ("objects", "os", "type_id"),
    ocsf.DeviceTypeId: ("objects", "device", "type_id"),
    ocsf.NetworkInterfaceTypeId: ("objects", "network_interface", "type_id"),
    ocsf.AgentTypeId: ("objects", "agent", "type_id"),
    ocsf.HashAlgorithmId: ("objects", "fingerprint", "algorithm_id"),
    ocsf.FileTypeId: ("objects", "file", "type_id"),
    ocsf.UserTypeId: ("objects", "user", "type_id"),
    ocsf.AnalyticTypeId: ("objects", "analytic", "type_id"),
    ocsf.MalwareClassificationId: ("objects", "malware", "classification_ids"),
    ocsf.VerdictId: ("classes", "detection_finding", "verdict_id"),
    ocsf.DispositionId: ("classes", "detection_finding", "disposition_id"),
    ocsf.ActionId: ("classes", "detection_finding", "action_id"),
    ocsf.ConfidenceId: ("classes", "detection_finding", "confidence_id"),
    ocsf.ObservableTypeId: ("objects", "observable", "type_id"),
    ocsf.QueryActivityId: ("classes", "file_query", "activity_id"),
    ocsf.QueryResultId: ("classes", "file_query", "query_result_id"),
    ocsf.SignatureAlgorithmId: ("objects", "digital_signature", "algorithm_id"),
    ocsf.SignatureStateId: ("objects", "digital_signature", "state_id"),
}
SINCE_1_6 = {ocsf.ObservableTypeId.DEVICE_UID}  # emitted only for a 1.6+ metadata.version


def _schema_enum(version: str, home: tuple[str, str, str]) -> dict[int, str]:
    kind, name, attribute = home
    enum = get_ocsf_schema(version)[kind][name]["attributes"][attribute]["enum"]
    return {int(k): v["caption"] for k, v in enum.items()}


def test_every_enum_is_checked() -> None:
    enums = {
        getattr(ocsf, n)
        for n in ocsf.__all__
        if isinstance(getattr(ocsf, n), type) and issubclass(getattr(ocsf, n), ocsf.OcsfEnum)
    }
    assert enums - {ocsf.OcsfEnum} == set(ENUM_HOMES)


@pytest.mark.parametrize("version", SCHEMA_VERSIONS)
@pytest.mark.parametrize("enum", ENUM_HOMES, ids=lambda e: e.__name__)
def test_enum_ids_and_captions_match_the_schema(enum: type[ocsf.OcsfEnum], version: str) -> None:
    official = _schema_enum(version, ENUM_HOMES[enum])
    ours = {m.value: m.caption for m in enum if not (version < "1.6" and m in SINCE_1_6)}
    assert {k: official.get(k) for k in ours} == ours


def test_caption_function_keeps_its_old_behaviour() -> None:
    assert ocsf.caption(ocsf.StatusId.IN_PROGRESS) == "In Progress"
    assert ocsf.caption(ocsf.OsTypeId.MACOS) == "macOS"
    assert ocsf.caption(ocsf.SeverityId.HIGH) == "High"


def test_captions_are_filled_beside_their_ids() -> None:
    device = ocsf.Device(type_id=ocsf.DeviceTypeId.SERVER, uid="d", risk_level_id=2)
    assert (device.type, device.risk_level) == ("Server", "Medium")
    malware = ocsf.Malware(name="x", classification_ids=(18, 2))
    assert malware.classifications == ("Trojan", "Backdoor")
    other = ocsf.Device(type_id=0, uid="d", risk_level_id=99, risk_level="Extreme")
    assert other.risk_level == "Extreme"  # 99 Other keeps the source's text


def _finding(**overrides: Any) -> ocsf.DetectionFinding:
    values: dict[str, Any] = {
        "activity_id": 1,
        "severity_id": 4,
        "time": 1611693237722,
        "metadata": ocsf.Metadata(),
        "finding_info": ocsf.FindingInfo(uid="a1"),
    }
    return ocsf.DetectionFinding(**(values | overrides))


def test_type_uid_is_derived_and_checked() -> None:
    finding = _finding(activity_id=3)
    assert (finding.type_uid, finding.type_name) == (200403, "Detection Finding: Close")
    assert _finding(type_uid=200401).type_uid == 200401  # the walking skeleton passed it
    with pytest.raises(ValidationError, match="type_uid"):
        _finding(type_uid=200402)
    event = ocsf.DeviceInventoryInfo(
        time=1, metadata=ocsf.Metadata(), device=ocsf.Device(type_id=0, uid="d")
    )
    assert (event.class_uid, event.category_uid, event.type_uid) == (5001, 5, 500102)


def test_profiles_follow_the_attributes_used() -> None:
    """A profile-gated attribute declares its profile (docs/ocsf-mapping.md §1)."""
    assert _finding().metadata.profiles is None
    tactic = ocsf.Attack(tactic=ocsf.Tactic(uid="TA0002"))
    assert _finding(attacks=(tactic,)).metadata.profiles == ("security_control",)
    assert _finding(verdict_id=2).metadata.profiles == ("incident",)
    declared = _finding(verdict_id=2, metadata=ocsf.Metadata(profiles=("datetime",)))
    assert declared.metadata.profiles == ("datetime", "incident")
    legacy = ocsf.SecurityFinding(
        activity_id=1,
        severity_id=1,
        time=1,
        state_id=1,
        metadata=ocsf.Metadata(),
        finding=ocsf.LegacyFinding(uid="a", title="t"),
        device=ocsf.Device(type_id=0, uid="d"),
    )
    assert legacy.metadata.profiles == ("host",)


def test_nulls_are_omitted_and_device_unmapped_stays_ours() -> None:
    device = ocsf.Device(
        type_id=0, uid="d", unmapped={"healthStatus": "Active"}, current=("ip",), ip="10.0.0.1"
    )
    assert ocsf.to_json(device) == {"type_id": 0, "type": "Unknown", "uid": "d", "ip": "10.0.0.1"}
    assert device.unmapped == {"healthStatus": "Active"}  # what the Slack card reads
    assert device.current == ("ip",)  # … and which facts are today's


@pytest.mark.parametrize(
    ("model", "values"),
    [
        pytest.param(ocsf.Device, {"type_id": 0, "ip": ["10.0.0.1", "10.0.0.2"]}, id="ip-list"),
        pytest.param(ocsf.Device, {"type_id": 0, "ip": "10.0.0.300"}, id="ip-bad"),
        pytest.param(ocsf.Device, {"type_id": 0, "uid": "d", "mac": "8CEC4B897E73"}, id="mac-raw"),
        pytest.param(ocsf.Device, {"type_id": 0}, id="device-no-identifier"),
        pytest.param(ocsf.Device, {"uid": "d"}, id="device-no-type_id"),
        pytest.param(ocsf.Device, {"type_id": 42, "uid": "d"}, id="device-type-unknown-id"),
        pytest.param(
            ocsf.Device,
            {"type_id": 0, "uid": "d", "last_seen_time": "2021-01-25T07:27:36Z"},
            id="iso-time",
        ),
        pytest.param(ocsf.Device, {"type_id": 0, "uid": "d", "last_seen_time": 1.5}, id="float"),
        pytest.param(ocsf.Malware, {"name": "Meterpreter"}, id="malware-no-classification"),
        pytest.param(ocsf.Process, {"name": "cmd.exe"}, id="process-no-pid"),
        pytest.param(ocsf.User, {"domain": "CONTOSO"}, id="user-empty"),
        pytest.param(ocsf.Fingerprint, {"algorithm_id": 2, "value": "abc"}, id="sha1-short"),
        pytest.param(ocsf.Fingerprint, {"algorithm_id": 3, "value": "z" * 64}, id="not-hex"),
        pytest.param(ocsf.User, {"name": "u", "email_addr": "not an email"}, id="email"),
        pytest.param(ocsf.Evidence, {"name": "Registry"}, id="evidence-empty"),
        pytest.param(ocsf.DigitalSignature, {"state_id": 1}, id="signature-no-algorithm"),
        pytest.param(ocsf.FileQuery, {"time": 1, "metadata": {}}, id="file-query-no-file"),
    ],
)
def test_models_refuse_what_the_schema_refuses(
    model: type[BaseModel], values: dict[str, Any]
) -> None:
    with pytest.raises(ValidationError):
        model.model_validate(values)


def test_models_are_frozen() -> None:
    device = ocsf.Device(type_id=0, uid="d")
    with pytest.raises(ValidationError):
        device.uid = "other"  # type: ignore[misc]
