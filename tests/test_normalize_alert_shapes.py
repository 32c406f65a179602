"""Alerts as MDE really sends them (docs/ocsf-mapping.md §3, §4): the device facts a finding
keeps and those it marks current, the process's account, the older evidence shape, folders
given as file names, and each evidence item's own detection status."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from bot import ocsf
from bot.demo.simulator.data import load_doc_example
from bot.mde import normalize
from bot.mde.models import Alert, Machine
from tests.ocsf_validation import SCHEMA_VERSIONS, ocsf_errors

PORTAL = "https://security.microsoft.com"
DOC_ALERT: dict[str, Any] = load_doc_example("alerts.response.json")
USER, PROCESS, FILE = (copy.deepcopy(e) for e in DOC_ALERT["evidence"])
NULLS = dict.fromkeys(k for k in USER if k != "entityType")  # MDE sends every field, null

# The device of DOC_ALERT as /api/machines/{id} answers today: renamed, in another group.
MACHINE: dict[str, Any] = load_doc_example("get-alert-related-machine-info.response.json") | {
    "id": DOC_ALERT["machineId"],
    "computerDnsName": "renamed-since.middleeast.corp.microsoft.com",
    "rbacGroupName": "Moved-Later",
}

# An alert of the older shape (before `evidence`), as /api/alerts/{id} answered it then.
OLDER: dict[str, Any] = {
    "id": "da637084217856368682_-292920499",
    "incidentId": 66860,
    "severity": "Low",
    "status": "New",
    "detectionSource": "WindowsDefenderAtp",
    "category": "CommandAndControl",
    "title": "Network connection to a risky host",
    "alertCreationTime": "2019-11-03T23:49:45.3823185Z",
    "machineId": "986e5df8b73dacd43c8917d17e523e76b13c75cd",
    "alertUser": {"accountName": "jdoe", "domainName": "CONTOSO"},
    "alertFiles": [
        {
            "sha1": "77e862797dd525fd3e9c3058153247945d0d4cfd",
            "sha256": "c05823562aee5e6d000b0e041197d5b8303f5aa4eecb49820879b705c926e16e",
            "filePath": "C:\\Users\\jdoe\\AppData\\Local\\Temp\\nsf61D3.tmp.exe",
            "fileName": "nsf61D3.tmp.exe",
        }
    ],
    "alertDomains": [{"host": "login.bad.example"}],
    "alertIPs": [{"ipAddress": "203.0.113.53"}],
}


def finding_for(raw: dict[str, Any], **kwargs: Any) -> ocsf.DetectionFinding:
    return normalize.finding_from_alert(Alert.model_validate(raw), portal_url=PORTAL, **kwargs)


def evidence_alert(*items: dict[str, Any], **changes: Any) -> dict[str, Any]:
    return copy.deepcopy(DOC_ALERT) | {"evidence": list(items)} | changes


# --- the alert's own device facts, and the looked-up ones marked current -------------------


def test_the_alerts_own_device_facts_win_and_the_rest_is_current() -> None:
    f = finding_for(DOC_ALERT, machine=Machine.model_validate(MACHINE))
    device = f.device
    assert device is not None
    # the alert's own facts, from when it was raised
    assert (device.uid, device.hostname, device.name) == (
        DOC_ALERT["machineId"],
        "temp123.middleeast.corp.microsoft.com",
        "temp123",
    )
    assert [(g.name, g.type) for g in device.groups or ()] == [
        ("A", "DeviceGroup"),  # the alert's group, not today's "Moved-Later"
        ("Tag1", "MachineTag"),
        ("Tag2", "MachineTag"),
    ]
    # what the lookup added is today's state, and says so
    assert device.ip == "10.166.113.46"
    assert device.current is not None
    assert {"ip", "network_interfaces", "os", "risk_level_id", "groups"} <= set(device.current)
    assert not {"uid", "hostname", "name", "domain"} & set(device.current)
    assert f.unmapped is not None
    state = f.unmapped["device_current"]
    assert "device.ip" in state["attributes"]
    assert state["as_of_time"] == device.last_seen_time == 1611559656052  # its last report
    legacy = normalize.security_finding_from_detection(f)
    assert legacy.unmapped is not None
    assert legacy.unmapped["device_current"] == state  # the legacy finding says it too


def test_a_finding_without_a_lookup_has_nothing_current() -> None:
    f = finding_for(DOC_ALERT)
    assert f.device is not None
    assert (f.device.current, f.device.ip) == (None, None)
    assert "device_current" not in (f.unmapped or {})


def test_a_device_named_only_by_the_lookup_is_all_current() -> None:
    alert = {k: v for k, v in DOC_ALERT.items() if k not in {"machineId", "computerDnsName"}}
    f = finding_for(alert, machine=Machine.model_validate(MACHINE))
    assert f.device is not None
    assert f.device.current is not None
    assert {"hostname", "ip", "os"} <= set(f.device.current)


def test_another_devices_lookup_is_not_merged() -> None:
    """A looked-up device with another id is not the alert's: its IP must not be blamed."""
    other = Machine.model_validate(MACHINE | {"id": "1e5bc9d7e413ddd7902c2932e418702b84d0cc07"})
    f = finding_for(DOC_ALERT, machine=other)
    assert f.device is not None
    assert (f.device.uid, f.device.ip, f.device.current) == (DOC_ALERT["machineId"], None, None)


# --- process evidence keeps its account ----------------------------------------------------


@pytest.mark.parametrize(
    ("account", "user"),
    [
        (
            {
                "accountName": "temp123",
                "domainName": "DOMAIN",
                "userSid": "S-1-5-21-11111607-1111760036-109187956-75141",
                "userPrincipalName": "temp123@microsoft.com",
            },
            ocsf.User(
                name="temp123",
                domain="DOMAIN",
                uid="S-1-5-21-11111607-1111760036-109187956-75141",
                email_addr="temp123@microsoft.com",
            ),
        ),
        (
            {"accountName": "system", "domainName": "nt authority", "userSid": "S-1-5-18"},
            ocsf.User(name="system", domain="nt authority", uid="S-1-5-18"),
        ),
        ({"userPrincipalName": "not an email"}, None),  # nothing that names a user
        ({}, None),
    ],
    ids=["full-account", "system", "upn-only", "none"],
)
def test_process_evidence_keeps_its_account(account: dict[str, Any], user: Any) -> None:
    f = finding_for(evidence_alert(PROCESS | account))
    process = (f.evidences or ())[0].process
    assert process is not None
    assert process.user == user
    observed = {(o.type_id, o.name, o.value) for o in f.observables or ()}
    if user is not None:
        assert (4, "evidences[0].process.user.name", user.name) in observed
    for version in SCHEMA_VERSIONS:
        assert (
            ocsf_errors(
                ocsf.to_json(finding_for(evidence_alert(PROCESS | account), version=version))
            )
            == []
        )


# --- the older shape is evidence too -------------------------------------------------------


def test_the_older_alert_shape_is_evidence() -> None:
    f = finding_for(OLDER)
    items = [ocsf.to_json(e) for e in f.evidences or ()]
    assert items == [
        {
            "file": {
                "name": "nsf61D3.tmp.exe",
                "type_id": 1,
                "type": "Regular File",
                # filePath is the full path here: kept, not doubled
                "path": "C:\\Users\\jdoe\\AppData\\Local\\Temp\\nsf61D3.tmp.exe",
                "parent_folder": "C:\\Users\\jdoe\\AppData\\Local\\Temp",
                "ext": "exe",
                "hashes": [
                    {
                        "algorithm_id": 2,
                        "algorithm": "SHA-1",
                        "value": "77e862797dd525fd3e9c3058153247945d0d4cfd",
                    },
                    {
                        "algorithm_id": 3,
                        "algorithm": "SHA-256",
                        "value": "c05823562aee5e6d000b0e041197d5b8303f5aa4eecb49820879b705c926e16e",
                    },
                ],
            }
        },
        {"dst_endpoint": {"ip": "203.0.113.53"}},
        {"dst_endpoint": {"hostname": "login.bad.example"}},
        {"user": {"name": "jdoe", "domain": "CONTOSO"}},
    ]
    observed = {(o.type_id, o.value) for o in f.observables or ()}
    assert {
        (7, "nsf61D3.tmp.exe"),
        (8, "77e862797dd525fd3e9c3058153247945d0d4cfd"),
        (2, "203.0.113.53"),
        (1, "login.bad.example"),
        (4, "jdoe"),
    } <= observed
    for version in SCHEMA_VERSIONS:
        assert ocsf_errors(ocsf.to_json(finding_for(OLDER, version=version))) == []


def test_both_shapes_name_each_entity_once() -> None:
    """An alert in transition lists its file in both shapes: one evidence item."""
    both = copy.deepcopy(OLDER) | {
        "evidence": [
            NULLS
            | {
                "entityType": "File",
                "sha1": "77e862797dd525fd3e9c3058153247945d0d4cfd",
                "fileName": "nsf61D3.tmp.exe",
                "filePath": "C:\\Users\\jdoe\\AppData\\Local\\Temp",
                "detectionStatus": "Detected",
            },
            NULLS | {"entityType": "User", "accountName": "jdoe", "domainName": "contoso"},
        ],
        "relatedUser": {"userName": "jdoe", "domainName": "CONTOSO"},
    }
    f = finding_for(both)
    kinds = [
        next(k for k in ("file", "user", "dst_endpoint") if getattr(e, k))
        for e in f.evidences or ()
    ]
    assert kinds == ["file", "user", "dst_endpoint", "dst_endpoint"]
    assert (f.evidences or ())[0].data == {"detectionStatus": "Detected"}  # the newer item kept


# --- a folder as a file name ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("file_name", "file_path", "expected"),
    [
        (  # the usual: filePath is the folder
            "suspicious.dll",
            "c:\\temp",
            ("suspicious.dll", 1, "c:\\temp\\suspicious.dll", "c:\\temp", True),
        ),
        (  # a folder, with its trailing separator, as the name and the path
            "C:\\ProgramData\\Updater\\",
            "C:\\ProgramData\\Updater\\",
            ("Updater", 2, "C:\\ProgramData\\Updater", "C:\\ProgramData", False),
        ),
        (  # a folder named by the same path twice
            "C:\\Users\\jdoe\\AppData\\Roaming\\Kit",
            "C:\\Users\\jdoe\\AppData\\Roaming\\Kit",
            (
                "Kit",
                2,
                "C:\\Users\\jdoe\\AppData\\Roaming\\Kit",
                "C:\\Users\\jdoe\\AppData\\Roaming",
                False,
            ),
        ),
        (  # a full path as the name
            "C:\\Windows\\Temp\\drop.ps1",
            "C:\\Windows\\Temp",
            ("drop.ps1", 1, "C:\\Windows\\Temp\\drop.ps1", "C:\\Windows\\Temp", True),
        ),
        (  # a full path as the folder (the older shape)
            "nsf61D3.tmp.exe",
            "C:\\Temp\\nsf61D3.tmp.exe",
            ("nsf61D3.tmp.exe", 1, "C:\\Temp\\nsf61D3.tmp.exe", "C:\\Temp", True),
        ),
        (  # a Linux folder
            "/opt/.x/",
            None,
            (".x", 2, "/opt/.x", "/opt", False),
        ),
        ("payload.sh", "/home/svc/", ("payload.sh", 1, "/home/svc/payload.sh", "/home/svc/", True)),
    ],
    ids=[
        "file",
        "folder-trailing",
        "folder-twice",
        "path-as-name",
        "path-as-folder",
        "linux-folder",
        "linux-file",
    ],
)
def test_file_names_and_folders(
    file_name: str, file_path: str | None, expected: tuple[Any, ...]
) -> None:
    item = NULLS | {"entityType": "File", "fileName": file_name, "filePath": file_path}
    f = finding_for(evidence_alert(item))
    file = (f.evidences or ())[0].file
    assert file is not None
    name, type_id, path, parent, named = expected
    assert (file.name, file.type_id, file.path, file.parent_folder) == (name, type_id, path, parent)
    file_names = [o for o in f.observables or () if o.type_id == ocsf.ObservableTypeId.FILE_NAME]
    assert bool(file_names) is named
    for version in SCHEMA_VERSIONS:
        assert ocsf_errors(ocsf.to_json(finding_for(evidence_alert(item), version=version))) == []


# --- each evidence item keeps its own detection status ---------------------------------------


def test_each_evidence_keeps_its_own_detection_status() -> None:
    raw = evidence_alert(
        PROCESS | {"detectionStatus": "Blocked"},
        FILE | {"detectionStatus": "Detected"},
        FILE | {"sha1": None, "sha256": None, "fileName": "b.dll", "detectionStatus": "Prevented"},
        USER,  # null: no status
        NULLS
        | {
            "entityType": "RegistryValue",
            "registryKey": "HKLM\\Run",
            "detectionStatus": "Remediated",
        },
    )
    f = finding_for(raw)
    assert [e.data for e in f.evidences or ()][:5] == [
        {"detectionStatus": "Blocked"},
        {"detectionStatus": "Detected"},
        {"detectionStatus": "Prevented"},
        None,
        {
            "entityType": "RegistryValue",
            "registryKey": "HKLM\\Run",
            "detectionStatus": "Remediated",
        },
    ]
    # the finding as a whole: the strongest outcome
    assert (f.disposition_id, f.action_id) == (ocsf.DispositionId.BLOCKED, ocsf.ActionId.DENIED)
    for version in SCHEMA_VERSIONS:
        assert ocsf_errors(ocsf.to_json(finding_for(raw, version=version))) == []
