"""Audit records as OCSF: every kind makes an event that conforms to the official OCSF 1.8.0
and 1.5.0 schemas (tests/ocsf_validation.py), actions are Remediation Activities with the
D3FEND tactic of what MDE was asked to do, MDE's action id as `command_uid` and MDE's status
mapped; triage updates are Detection Finding updates; lookups and refusals API Activity."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from ocsf_json_schema import get_ocsf_schema

from bot import ocsf
from bot.audit.events import ocsf_json
from bot.audit.records import GENESIS, Actor, AuditKind, AuditRecord, Detail, Place, entry, seal
from bot.ocsf.remediation import (
    ApiActivityId,
    DirectionId,
    EventStatusId,
    RemediationActivityId,
    RemediationStatusId,
)
from tests.ocsf_validation import SCHEMA_VERSIONS, ocsf_errors

SHA1 = "a" * 40
SHA256 = "b" * 64


def record(kind: AuditKind, subject: str = "", seq: int = 7, **details: Any) -> AuditRecord:
    item = entry(
        kind,
        actor=Actor("U0001", "T0001"),
        place=Place("C0001", "1700000000.000100"),
        tenants=["contoso"],
        subject=subject,
        details=details,
    )
    return seal(item, seq=seq, time_us=1_700_000_000_123_456, prev_hash=GENESIS)


EVERY_KIND: list[tuple[str, AuditRecord]] = [
    ("lookup", record(AuditKind.LOOKUP, command="ip", found={"devices": 1})),
    ("refusal", record(AuditKind.REFUSAL, request="action", reason="not an approver")),
    ("refusal, nothing said", record(AuditKind.REFUSAL)),
    ("requested", record(AuditKind.ACTION_REQUESTED, "dev-1", action="Isolate", request_id="r1")),
    ("approved", record(AuditKind.ACTION_APPROVED, "dev-1", action="Isolate", request_id="r1")),
    ("rejected", record(AuditKind.ACTION_REJECTED, "dev-1", action="Isolate", request_id="r1")),
    (
        "submitted",
        record(
            AuditKind.ACTION_SUBMITTED,
            "dev-1",
            action="StopAndQuarantineFile",
            action_id="ma-1",
            sha1=SHA1,
            status="Pending",
        ),
    ),
    ("status", record(AuditKind.ACTION_STATUS, "dev-1", action="Unisolate", status="Succeeded")),
    ("status, unknown", record(AuditKind.ACTION_STATUS, "dev-1", action="Fly", status="Odd")),
    ("cancelled", record(AuditKind.ACTION_CANCELLED, "dev-1", action="RunAntiVirusScan")),
    ("no details", record(AuditKind.ACTION_STATUS)),
    (
        "ip indicator",
        record(
            AuditKind.INDICATOR_SUBMITTED,
            "203.0.113.7",
            indicator_type="IpAddress",
            indicator_action="Block",
            indicator_id="42",
        ),
    ),
    (
        "file indicator",
        record(
            AuditKind.INDICATOR_SUBMITTED,
            SHA256,
            indicator_type="FileSha256",
            indicator_action="Alert",
        ),
    ),
    (
        "bad file indicator",
        record(
            AuditKind.INDICATOR_SUBMITTED, "zz", indicator_type="FileMd5", indicator_action="Warn"
        ),
    ),
    (
        "certificate indicator",
        record(AuditKind.INDICATOR_SUBMITTED, "c" * 40, indicator_type="CertificateThumbprint"),
    ),
    (
        "triage",
        record(
            AuditKind.TRIAGE_UPDATE,
            "da637",
            status="Resolved",
            classification="TruePositive",
            determination="Malware",
            assigned_to="secops@contoso.com",
            comment="contained",
        ),
    ),
    ("triage, nothing said", record(AuditKind.TRIAGE_UPDATE, "da637")),
    ("a newer bot's kind", dataclasses.replace(record(AuditKind.LOOKUP), kind="expired")),
]


@pytest.mark.parametrize("version", SCHEMA_VERSIONS)
def test_every_kind_of_record_validates(version: str) -> None:
    errors = [
        f"{label}: {error}"
        for label, item in EVERY_KIND
        for error in ocsf_errors(ocsf_json(item, version=version), version)
    ]
    assert errors == []


def event(item: AuditRecord) -> dict[str, Any]:
    return ocsf_json(item)


@pytest.mark.parametrize(
    ("action", "class_uid", "activity"),
    [
        ("Isolate", 7001, RemediationActivityId.ISOLATE),
        ("Unisolate", 7001, RemediationActivityId.RESTORE),
        ("RestrictCodeExecution", 7001, RemediationActivityId.ISOLATE),
        ("UnrestrictCodeExecution", 7001, RemediationActivityId.RESTORE),
        ("RunAntiVirusScan", 7001, RemediationActivityId.DETECT),
        ("StopAndQuarantineFile", 7002, RemediationActivityId.EVICT),
        ("CollectInvestigationPackage", 7001, RemediationActivityId.OTHER),
    ],
)
def test_machine_actions_are_remediations_with_their_d3fend_tactic(
    action: str, class_uid: int, activity: RemediationActivityId
) -> None:
    found = event(record(AuditKind.ACTION_SUBMITTED, "dev-1", action=action, sha1=SHA1))
    assert (found["class_uid"], found["activity_id"]) == (class_uid, activity)
    assert found["type_uid"] == class_uid * 100 + activity
    assert found["device"]["uid"] == "dev-1"
    assert found["actor"]["user"]["uid"] == "U0001"
    assert found["metadata"]["profiles"] == ["host"]
    if activity is RemediationActivityId.OTHER:
        assert found["activity_name"] == action  # MDE's own word for what has no tactic


def test_the_quarantined_file_is_the_event_file() -> None:
    found = event(
        record(AuditKind.ACTION_SUBMITTED, "dev-1", action="StopAndQuarantineFile", sha1=SHA1)
    )
    assert found["file"]["hashes"] == [{"algorithm_id": 2, "algorithm": "SHA-1", "value": SHA1}]


def test_command_uid_is_mdes_action_id_else_the_request_else_the_record() -> None:
    assert (
        event(record(AuditKind.ACTION_SUBMITTED, "d", action_id="ma-1", request_id="r1"))[
            "command_uid"
        ]
        == "ma-1"
    )
    assert event(record(AuditKind.ACTION_REQUESTED, "d", request_id="r1"))["command_uid"] == "r1"
    assert event(record(AuditKind.ACTION_REQUESTED, "d", seq=12))["command_uid"] == "audit-12"


def test_the_request_id_correlates_an_actions_records() -> None:
    found = event(record(AuditKind.ACTION_APPROVED, "d", request_id="r1"))
    assert found["metadata"]["correlation_uid"] == "r1"


@pytest.mark.parametrize(
    ("kind", "mde_status", "status_id", "status"),
    [
        (AuditKind.ACTION_REQUESTED, None, RemediationStatusId.OTHER, "Requested"),
        (AuditKind.ACTION_APPROVED, None, RemediationStatusId.OTHER, "Approved"),
        (AuditKind.ACTION_REJECTED, None, RemediationStatusId.OTHER, "Rejected"),
        (AuditKind.ACTION_SUBMITTED, "Pending", RemediationStatusId.OTHER, "Submitted"),
        (AuditKind.ACTION_CANCELLED, None, RemediationStatusId.OTHER, "Cancelled"),
        (AuditKind.ACTION_STATUS, "Succeeded", RemediationStatusId.SUCCESS, "Success"),
        (AuditKind.ACTION_STATUS, "Failed", RemediationStatusId.FAILURE, "Failure"),
        (AuditKind.ACTION_STATUS, "TimeOut", RemediationStatusId.FAILURE, "Failure"),
        (AuditKind.ACTION_STATUS, "InProgress", RemediationStatusId.OTHER, "In Progress"),
        (AuditKind.ACTION_STATUS, "Cancelled", RemediationStatusId.OTHER, "Cancelled"),
        (AuditKind.ACTION_STATUS, None, RemediationStatusId.UNKNOWN, "Unknown"),
        (AuditKind.INDICATOR_SUBMITTED, None, RemediationStatusId.SUCCESS, "Success"),
    ],
)
def test_status_follows_the_workflow_and_mdes_status(
    kind: AuditKind, mde_status: str | None, status_id: int, status: str
) -> None:
    details = {Detail.ACTION: "Isolate"} | ({Detail.STATUS: mde_status} if mde_status else {})
    found = event(record(kind, "dev-1", **details))
    assert (found["status_id"], found["status"]) == (status_id, status)
    assert found.get("status_code") == mde_status  # MDE's own word, as it said it


@pytest.mark.parametrize(
    ("indicator_type", "action", "class_uid", "activity"),
    [
        ("IpAddress", "Block", 7004, RemediationActivityId.ISOLATE),
        ("Url", "AlertAndBlock", 7004, RemediationActivityId.ISOLATE),
        ("DomainName", "Alert", 7004, RemediationActivityId.DETECT),
        ("FileSha256", "BlockAndRemediate", 7002, RemediationActivityId.ISOLATE),
        ("FileSha256", "Audit", 7002, RemediationActivityId.DETECT),
        ("CertificateThumbprint", "Block", 7001, RemediationActivityId.ISOLATE),
        ("IpAddress", "Allowed", 7004, RemediationActivityId.OTHER),
    ],
)
def test_indicators_are_remediations_of_their_kind(
    indicator_type: str, action: str, class_uid: int, activity: RemediationActivityId
) -> None:
    found = event(
        record(
            AuditKind.INDICATOR_SUBMITTED,
            SHA256,
            indicator_type=indicator_type,
            indicator_action=action,
            indicator_id="42",
        )
    )
    assert (found["class_uid"], found["activity_id"], found["command_uid"]) == (
        class_uid,
        activity,
        "42",
    )
    if class_uid == 7004:
        assert found["connection_info"]["direction_id"] == DirectionId.OUTBOUND
    if class_uid == 7002:
        assert found["file"]["hashes"][0]["value"] == SHA256


def test_a_triage_update_is_a_detection_finding_update() -> None:
    found = event(
        record(
            AuditKind.TRIAGE_UPDATE,
            "da637",
            status="Resolved",
            classification="FalsePositive",
            assigned_to="secops@contoso.com",
        )
    )
    assert (found["class_uid"], found["activity_id"], found["type_uid"]) == (2004, 2, 200402)
    assert found["finding_info"]["uid"] == "da637"
    assert (found["status_id"], found["status"]) == (ocsf.StatusId.RESOLVED, "Resolved")
    assert (found["verdict_id"], found["verdict"]) == (
        ocsf.VerdictId.FALSE_POSITIVE,
        "False Positive",
    )
    assert found["assignee"]["email_addr"] == "secops@contoso.com"
    assert found["metadata"]["profiles"] == ["incident"]


def test_a_kind_from_a_newer_bot_is_still_an_event() -> None:
    found = event(EVERY_KIND[-1][1])
    assert (found["class_uid"], found["activity_id"], found["activity_name"]) == (
        6003,
        ApiActivityId.OTHER,
        "expired",
    )


def test_a_lookup_is_a_read_and_a_refusal_a_failed_request() -> None:
    lookup = event(record(AuditKind.LOOKUP, command="hash"))
    assert (lookup["class_uid"], lookup["activity_id"], lookup["status_id"]) == (
        6003,
        ApiActivityId.READ,
        EventStatusId.SUCCESS,
    )
    assert lookup["api"]["operation"] == "hash"
    refusal = event(record(AuditKind.REFUSAL, request="triage", reason="channel not allowed"))
    assert (refusal["activity_id"], refusal["status_id"], refusal["status_detail"]) == (
        ApiActivityId.UPDATE,
        EventStatusId.FAILURE,
        "channel not allowed",
    )


def test_every_event_carries_its_record() -> None:
    item = record(AuditKind.ACTION_REQUESTED, "dev-1", action="Isolate")
    found = event(item)
    assert found["time"] == 1_700_000_000_123
    assert found["metadata"]["uid"] == item.hash
    assert found["metadata"]["product"] == {"name": "MDE Slack bot"}
    assert found["unmapped"]["audit"] == {
        "seq": 7,
        "kind": "action_requested",
        "hash": item.hash,
        "prev_hash": GENESIS,
    }
    assert found["unmapped"]["slack"]["channel"] == "C0001"
    assert found["unmapped"]["details"] == {"action": "Isolate"}


# Where each enum of bot.ocsf.remediation lives in the schema: (classes|objects, name, attribute).
ENUM_HOMES: dict[type[ocsf.OcsfEnum], tuple[str, str, str]] = {
    RemediationActivityId: ("classes", "remediation_activity", "activity_id"),
    RemediationStatusId: ("classes", "remediation_activity", "status_id"),
    ApiActivityId: ("classes", "api_activity", "activity_id"),
    EventStatusId: ("classes", "api_activity", "status_id"),
    DirectionId: ("objects", "network_connection_info", "direction_id"),
}


@pytest.mark.parametrize("version", SCHEMA_VERSIONS)
@pytest.mark.parametrize("enum", ENUM_HOMES, ids=lambda e: e.__name__)
def test_enum_ids_and_captions_match_the_schema(enum: type[ocsf.OcsfEnum], version: str) -> None:
    kind, name, attribute = ENUM_HOMES[enum]
    official = get_ocsf_schema(version)[kind][name]["attributes"][attribute]["enum"]
    assert {m.value: m.caption for m in enum} == {
        m.value: official[str(m.value)]["caption"] for m in enum
    }
