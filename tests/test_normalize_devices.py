"""Devices as MDE really lists them (docs/ocsf-mapping.md §2): addresses that name no device
(loopback, link-local, all-zero MACs, interfaces that are down) never become device IPs or
observables whatever the interface type says, each interface keeps its status; excluded and
merged devices say so; a nameless device group 0 is no group."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from bot import ocsf
from bot.mde import normalize
from bot.mde.models import Machine
from tests.ocsf_validation import SCHEMA_VERSIONS, ocsf_errors

# A Windows device as /api/machines lists it, with the interfaces a laptop reports.
WINDOWS: dict[str, Any] = {
    "id": "7c1d0a2b9e3f4a5b6c7d8e9f0a1b2c3d4e5f6a7b",
    "mergedIntoMachineId": None,
    "isPotentialDuplication": False,
    "isExcluded": False,
    "exclusionReason": None,
    "computerDnsName": "lt-ops-07",
    "firstSeen": "2024-02-11T08:12:40.1618923Z",
    "lastSeen": "2024-03-01T17:40:05.684607Z",
    "osPlatform": "Windows11",
    "version": "23H2",
    "osProcessor": "x64",
    "lastIpAddress": "10.20.30.41",
    "lastExternalIpAddress": "198.51.100.23",
    "agentVersion": "10.8760.22621.3155",
    "osBuild": 22631,
    "healthStatus": "Active",
    "rbacGroupId": 0,
    "rbacGroupName": None,
    "riskScore": "Medium",
    "machineTags": [],
    "onboardingStatus": "Onboarded",
    "ipAddresses": [
        {"ipAddress": "10.20.30.41", "macAddress": "00155D0A1B2C", "type": "Ethernet",
         "operationalStatus": "Up"},
        {"ipAddress": "2001:db8:20:30::41", "macAddress": "00155D0A1B2C", "type": "Ethernet",
         "operationalStatus": "Up"},
        {"ipAddress": "fe80::1c2d:3e4f:5a6b:7c8d", "macAddress": "00155D0A1B2C",
         "type": "Ethernet", "operationalStatus": "Up"},
        {"ipAddress": "169.254.12.7", "macAddress": "147DDA0011AA", "type": "Ethernet",
         "operationalStatus": "Down"},
        {"ipAddress": "10.99.0.5", "macAddress": "147DDA0011BB", "type": "Wireless80211",
         "operationalStatus": "Down"},
        {"ipAddress": "127.0.0.1", "macAddress": None, "type": "SoftwareLoopback",
         "operationalStatus": "Up"},
        {"ipAddress": "::1", "macAddress": None, "type": "SoftwareLoopback",
         "operationalStatus": "Up"},
    ],
}  # fmt: skip
# A Linux server: MDE reports its loopback as type "Other", with an all-zero MAC.
LINUX: dict[str, Any] = {
    "id": "0f9e8d7c6b5a49382716051a2b3c4d5e6f708192",
    "computerDnsName": "db-02.corp.example",
    "lastSeen": "2024-03-01T09:00:00Z",
    "osPlatform": "Ubuntu",
    "version": "22.4",
    "osBuild": None,
    "lastIpAddress": "127.0.0.1",
    "lastExternalIpAddress": "::1",
    "ipAddresses": [
        {"ipAddress": "127.0.0.1", "macAddress": "000000000000", "type": "Other",
         "operationalStatus": "Up"},
        {"ipAddress": "::1", "macAddress": "000000000000", "type": "Other",
         "operationalStatus": "Up"},
        {"ipAddress": "172.16.4.12", "macAddress": "0050569A4B12", "type": "Other",
         "operationalStatus": "Up"},
        {"ipAddress": "fe80::250:56ff:fe9a:4b12", "macAddress": "0050569A4B12", "type": "Other",
         "operationalStatus": "Up"},
        {"ipAddress": None, "macAddress": "0050569A4BFF", "type": "Other",
         "operationalStatus": "Down"},
    ],
}  # fmt: skip


def device_of(raw: dict[str, Any], **changes: Any) -> ocsf.Device:
    return normalize.device_from_machine(Machine.model_validate(copy.deepcopy(raw) | changes))


NEVER_A_DEVICE_ADDRESS = {
    "127.0.0.1",
    "::1",
    "169.254.12.7",
    "fe80::1c2d:3e4f:5a6b:7c8d",
    "fe80::250:56ff:fe9a:4b12",
    "10.99.0.5",  # on an interface that is down
}


@pytest.mark.parametrize(
    ("raw", "ip", "interfaces"),
    [
        pytest.param(
            WINDOWS,
            "10.20.30.41",
            [
                (1, "10.20.30.41", "00:15:5D:0A:1B:2C"),
                (1, "2001:db8:20:30::41", "00:15:5D:0A:1B:2C"),
            ],
            id="windows-laptop",
        ),
        pytest.param(
            LINUX,
            None,  # lastIpAddress is the loopback
            [(0, "172.16.4.12", "00:50:56:9A:4B:12")],
            id="linux-loopback-typed-other",
        ),
    ],
)
def test_only_addresses_that_name_the_device(
    raw: dict[str, Any], ip: str | None, interfaces: list[tuple[int, str, str]]
) -> None:
    device = device_of(raw)
    assert device.ip == ip
    assert [(n.type_id, n.ip, n.mac) for n in device.network_interfaces or ()] == interfaces
    for version in SCHEMA_VERSIONS:
        event = ocsf.to_json(normalize.device_event(Machine.model_validate(raw), version=version))
        assert ocsf_errors(event) == []
        observed = {o["value"] for o in event.get("observables", ())}
        assert not observed & NEVER_A_DEVICE_ADDRESS
        assert "00:00:00:00:00:00" not in observed


@pytest.mark.parametrize(
    ("last_ip", "expected"),
    [
        ("10.20.30.41", "10.20.30.41"),
        ("10.99.0.5", None),  # only on an interface that is down
        ("169.254.12.7", None),  # link-local
        ("fe80::1c2d:3e4f:5a6b:7c8d", None),
        ("::1", None),
        ("0.0.0.0", None),  # noqa: S104 - an address MDE may send, not one we bind
        ("192.0.2.9", "192.0.2.9"),  # not listed among the interfaces: kept
    ],
)
def test_device_ip(last_ip: str, expected: str | None) -> None:
    device = device_of(WINDOWS, lastIpAddress=last_ip)
    assert device.ip == expected
    assert device.mac == ("00:15:5D:0A:1B:2C" if expected == "10.20.30.41" else None)


def test_a_loopback_external_address_is_no_observable() -> None:
    event = normalize.device_event(Machine.model_validate(LINUX))
    names = {o.name for o in event.observables or ()}
    assert "unmapped.lastExternalIpAddress" not in names
    assert event.unmapped is not None
    assert event.unmapped["lastExternalIpAddress"] == "::1"  # MDE's value, kept as data


def test_every_interface_keeps_its_status() -> None:
    """The interfaces as MDE listed them, status and type included, are the event's data."""
    event = normalize.device_event(Machine.model_validate(WINDOWS))
    assert event.unmapped is not None
    listed = event.unmapped["ipAddresses"]
    assert [(n["ipAddress"], n["operationalStatus"]) for n in listed] == [
        (n["ipAddress"], n["operationalStatus"]) for n in WINDOWS["ipAddresses"]
    ]
    assert listed[5] == {
        "ipAddress": "127.0.0.1",
        "type": "SoftwareLoopback",
        "operationalStatus": "Up",
    }


@pytest.mark.parametrize(
    ("changes", "message", "unmapped"),
    [
        (
            {"mergedIntoMachineId": "1e5bc9d7e413ddd7902c2932e418702b84d0cc07"},
            "MDE device lt-ops-07 (merged into 1e5bc9d7e413ddd7902c2932e418702b84d0cc07)",
            {
                "mergedIntoMachineId": "1e5bc9d7e413ddd7902c2932e418702b84d0cc07",
                "isExcluded": False,
            },
        ),
        (
            {"isExcluded": True, "exclusionReason": "InactiveDevice"},
            "MDE device lt-ops-07 (excluded: InactiveDevice)",
            {"isExcluded": True, "exclusionReason": "InactiveDevice"},
        ),
        (
            {"isExcluded": True, "exclusionReason": "null"},
            "MDE device lt-ops-07 (excluded)",
            {"isExcluded": True},
        ),
        ({}, "MDE device lt-ops-07", {"isExcluded": False}),
    ],
    ids=["merged", "excluded", "excluded-no-reason", "neither"],
)
def test_exclusion_and_merge(changes: dict[str, Any], message: str, unmapped: Any) -> None:
    machine = Machine.model_validate(WINDOWS | changes)
    device = normalize.device_from_machine(machine)
    assert device.unmapped is not None
    keys = ("mergedIntoMachineId", "isExcluded", "exclusionReason")
    assert {k: device.unmapped[k] for k in keys if k in device.unmapped} == unmapped
    event = normalize.device_event(machine)
    assert event.message == message
    assert event.unmapped == device.unmapped


@pytest.mark.parametrize("version", SCHEMA_VERSIONS)
def test_a_merged_device_points_at_the_one_it_was_merged_into(version: str) -> None:
    target = "1e5bc9d7e413ddd7902c2932e418702b84d0cc07"
    event = normalize.device_event(
        Machine.model_validate(WINDOWS | {"mergedIntoMachineId": target}), version=version
    )
    pointers = [o for o in event.observables or () if o.value == target]
    if version >= "1.6":  # a device uid observable (47) exists from 1.6 on
        assert [(o.type_id, o.name) for o in pointers] == [(47, "unmapped.mergedIntoMachineId")]
    else:
        assert pointers == []
    assert ocsf_errors(ocsf.to_json(event)) == []


@pytest.mark.parametrize(
    ("group_id", "group_name", "groups"),
    [
        (0, None, []),  # MDE's "no group": omitted
        (0, "", []),
        (0, "null", []),
        (0, "Unassigned", [("Unassigned", "0")]),
        (140, None, [(None, "140")]),
        ("140", "The-A-Team", [("The-A-Team", "140")]),
        (None, "The-A-Team", [("The-A-Team", None)]),
    ],
)
def test_device_group(group_id: Any, group_name: str | None, groups: list[Any]) -> None:
    device = device_of(WINDOWS, rbacGroupId=group_id, rbacGroupName=group_name)
    assert [(g.name, g.uid) for g in device.groups or () if g.type == "DeviceGroup"] == groups
