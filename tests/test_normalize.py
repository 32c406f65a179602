"""MDE Machine → OCSF device / Device Inventory Info, field by field, and the shared helpers.

Each assertion names the docs/ocsf-mapping.md table row it checks (§2 unless said)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from bot import ocsf
from bot.demo.simulator.data import load_doc_example
from bot.mde import normalize
from bot.mde.models import Machine, WireTime

BY_ID = "get-machine-by-id.response.json"
RELATED = "get-alert-related-machine-info.response.json"


def machine(name: str = BY_ID, **changes: Any) -> Machine:
    return Machine.model_validate(load_doc_example(name) | changes)


def test_machine_by_id_field_by_field() -> None:
    """Microsoft's get-machine-by-id example, every field traced to its §2 row."""
    device = normalize.device_from_machine(machine())
    assert device.uid == "1e5bc9d7e413ddd7902c2932e418702b84d0cc07"  # id → uid
    assert device.hostname == "mymachine1.contoso.com"  # computerDnsName → hostname (FQDN)
    assert device.name == "mymachine1"  # … name = first label
    assert device.domain == "contoso.com"  # … domain = the rest
    assert device.ip == "172.17.230.209"  # lastIpAddress → ip (single string)
    assert device.os is not None
    assert device.os.name == "Windows10"  # osPlatform → os.name (raw)
    assert device.os.type_id == ocsf.OsTypeId.WINDOWS  # osPlatform windows* → 100
    assert device.os.type == "Windows"
    assert device.os.version == "1709"  # version → os.version
    assert device.os.build == "18209"  # osBuild → os.build, str(int)
    assert device.os.cpu_bits == 64  # osProcessor x64 → cpu_bits 64
    assert device.type_id == ocsf.DeviceTypeId.UNKNOWN  # (derived) Windows client → 0
    assert (device.risk_level_id, device.risk_level) == (ocsf.RiskLevelId.LOW, "Low")  # riskScore
    assert device.first_seen_time == 1533221703779  # firstSeen → ms
    assert device.last_seen_time == 1533221703779  # lastSeen → ms
    assert device.groups == (  # rbacGroupName/rbacGroupId, machineTags[] → groups[]
        ocsf.Group(name="The-A-Team", uid="140", type="DeviceGroup"),
        ocsf.Group(name="test tag 1", type="MachineTag"),
        ocsf.Group(name="test tag 2", type="MachineTag"),
    )
    assert device.uid_alt == "80fe8ff8-2624-418e-9591-41f0491218f9"  # aadDeviceId → uid_alt
    assert device.unmapped == {  # exposureLevel, healthStatus, … → unmapped (MDE's names)
        "healthStatus": "Active",
        "exposureLevel": "Medium",
        "isAadJoined": True,
        "lastExternalIpAddress": "167.220.196.71",  # lastExternalIpAddress → unmapped
    }
    assert device.mac is None
    assert device.network_interfaces is None
    assert device.agent_list is None  # no agentVersion, no onboardingStatus


def test_alert_related_machine_interfaces_and_macs() -> None:
    """ipAddresses[] → network_interfaces[] with MACs reformatted; device.mac only from the
    interface whose ip == lastIpAddress (none here: .46 vs .47)."""
    device = normalize.device_from_machine(machine(RELATED))
    assert device.network_interfaces == (
        ocsf.NetworkInterface(type_id=0, ip="10.166.113.47", mac="8C:EC:4B:89:7E:73"),
        ocsf.NetworkInterface(
            type_id=0, ip="2a01:110:68:4:59e4:3916:3b3e:4f96", mac="8C:EC:4B:89:7E:73"
        ),
    )
    assert device.ip == "10.166.113.46"
    assert device.mac is None
    assert device.unmapped is not None
    assert device.unmapped["deviceValue"] == "Normal"
    assert device.groups is not None
    # rbacGroupName without rbacGroupId (this example has none) → a group without uid
    assert device.groups[0] == ocsf.Group(name="The-A-Team", type="DeviceGroup")


def test_device_mac_comes_from_the_last_ip_interface() -> None:
    nics = [
        {"ipAddress": "10.0.0.9", "macAddress": "000C29897942", "type": "Ethernet"},
        {"ipAddress": "10.0.0.8", "macAddress": "000C29897943", "type": "Wireless80211"},
        {"ipAddress": "127.0.0.1", "macAddress": None, "type": "SoftwareLoopback"},
    ]
    device = normalize.device_from_machine(
        machine(lastIpAddress="10.0.0.8", ipAddresses=nics, agentVersion="10.8")
    )
    assert device.mac == "00:0C:29:89:79:43"
    assert device.network_interfaces is not None
    assert [(n.type_id, n.type, n.name) for n in device.network_interfaces] == [
        (ocsf.NetworkInterfaceTypeId.WIRED, "Wired", "Ethernet"),  # Ethernet → 1, name = type
        (ocsf.NetworkInterfaceTypeId.WIRELESS, "Wireless", "Wireless80211"),  # → 2
    ]  # SoftwareLoopback skipped
    assert device.agent_list == (  # agentVersion → agent_list[] (EDR, type_id 1)
        ocsf.Agent(
            name="Microsoft Defender for Endpoint",
            vendor_name="Microsoft",
            type_id=ocsf.AgentTypeId.ENDPOINT_DETECTION_AND_RESPONSE,
            version="10.8",
        ),
    )


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("000C29897942", "00:0C:29:89:79:42"),
        ("8cec4b897e73", "8C:EC:4B:89:7E:73"),
        ("00-0c-29-89-79-42", "00:0C:29:89:79:42"),
        ("00:0C:29:89:79:42", "00:0C:29:89:79:42"),
        ("000C2989794", None),
        ("ZZ0C29897942", None),
        ("", None),
        (None, None),
    ],
)
def test_mac_reformatting(raw: str | None, expected: str | None) -> None:
    """ipAddresses[].macAddress `000C29897942` → `00:0C:29:89:79:42` (mac_t)."""
    assert normalize.mac_or_none(raw) == expected


@pytest.mark.parametrize(
    ("platform", "os_type", "device_type"),
    [
        ("Windows10", ocsf.OsTypeId.WINDOWS, ocsf.DeviceTypeId.UNKNOWN),
        ("windows11", ocsf.OsTypeId.WINDOWS, ocsf.DeviceTypeId.UNKNOWN),
        ("WindowsServer2022", ocsf.OsTypeId.WINDOWS, ocsf.DeviceTypeId.SERVER),
        ("windowsserver2019", ocsf.OsTypeId.WINDOWS, ocsf.DeviceTypeId.SERVER),
        ("Linux", ocsf.OsTypeId.LINUX, ocsf.DeviceTypeId.UNKNOWN),
        ("Ubuntu", ocsf.OsTypeId.LINUX, ocsf.DeviceTypeId.UNKNOWN),
        ("RedHatEnterpriseLinux", ocsf.OsTypeId.LINUX, ocsf.DeviceTypeId.UNKNOWN),
        ("CentOS", ocsf.OsTypeId.LINUX, ocsf.DeviceTypeId.UNKNOWN),
        ("Debian", ocsf.OsTypeId.LINUX, ocsf.DeviceTypeId.UNKNOWN),
        ("SuSE", ocsf.OsTypeId.LINUX, ocsf.DeviceTypeId.UNKNOWN),
        ("OracleLinux", ocsf.OsTypeId.LINUX, ocsf.DeviceTypeId.UNKNOWN),
        ("AmazonLinux", ocsf.OsTypeId.LINUX, ocsf.DeviceTypeId.UNKNOWN),
        ("macOS", ocsf.OsTypeId.MACOS, ocsf.DeviceTypeId.UNKNOWN),
        ("OSX", ocsf.OsTypeId.MACOS, ocsf.DeviceTypeId.UNKNOWN),
        ("iOS", ocsf.OsTypeId.IOS, ocsf.DeviceTypeId.MOBILE),
        ("Android", ocsf.OsTypeId.ANDROID, ocsf.DeviceTypeId.MOBILE),
        ("iPadOS", ocsf.OsTypeId.IPADOS, ocsf.DeviceTypeId.TABLET),
        ("FreeBSD", ocsf.OsTypeId.OTHER, ocsf.DeviceTypeId.UNKNOWN),
    ],
)
def test_os_and_device_type(platform: str, os_type: int, device_type: int) -> None:
    """osPlatform prefix rules → os.type_id; (derived) device.type_id."""
    device = normalize.device_from_machine(machine(osPlatform=platform))
    assert device.os is not None
    assert (device.os.name, device.os.type_id, device.type_id) == (platform, os_type, device_type)


def test_vm_metadata_makes_a_virtual_device() -> None:
    """(derived) vmMetadata present (not server) → 6 Virtual; vmId → instance_uid."""
    vm = {"vmId": "vm-1", "cloudProvider": "Azure", "resourceId": "/subs/x", "subscriptionId": "s"}
    device = normalize.device_from_machine(machine(vmMetadata=vm))
    assert (device.type_id, device.instance_uid) == (ocsf.DeviceTypeId.VIRTUAL, "vm-1")
    assert device.unmapped is not None
    assert device.unmapped["vmMetadata"] == {
        "cloudProvider": "Azure",
        "resourceId": "/subs/x",
        "subscriptionId": "s",
    }
    server = normalize.device_from_machine(machine(vmMetadata=vm, osPlatform="WindowsServer2022"))
    assert server.type_id == ocsf.DeviceTypeId.SERVER


def test_no_os_without_platform_version_or_build() -> None:
    bare = Machine(id="m1", computer_dns_name="host")
    device = normalize.device_from_machine(bare)
    assert device.os is None
    assert ocsf.to_json(device) == {
        "type_id": 0,
        "type": "Unknown",
        "uid": "m1",
        "hostname": "host",
        "name": "host",  # no dot: no domain
    }
    empty_name = normalize.device_from_machine(Machine(id="m2", computer_dns_name=""))
    assert (empty_name.hostname, empty_name.name) == (None, None)


@pytest.mark.parametrize(
    ("risk", "risk_id", "caption"),
    [
        ("Informational", ocsf.RiskLevelId.INFO, "Info"),
        ("Low", ocsf.RiskLevelId.LOW, "Low"),
        ("medium", ocsf.RiskLevelId.MEDIUM, "Medium"),
        ("HIGH", ocsf.RiskLevelId.HIGH, "High"),
        ("Extreme", ocsf.RiskLevelId.OTHER, "Extreme"),  # other → 99 + raw
        ("None", None, None),  # None → omit (no risk_level "None" with id 0)
        (None, None, None),
    ],
)
def test_risk_score(risk: str | None, risk_id: int | None, caption: str | None) -> None:
    device = normalize.device_from_machine(machine(riskScore=risk))
    assert (device.risk_level_id, device.risk_level) == (risk_id, caption)


@pytest.mark.parametrize(
    ("architecture", "processor", "bits"),
    [("64-bit", None, 64), ("32-bit", "x64", 32), (None, "x86", 32), (None, "arm64", 64)],
)
def test_cpu_bits(architecture: str | None, processor: str | None, bits: int) -> None:
    """osArchitecture (64-bit) / osProcessor (x64) → os.cpu_bits."""
    device = normalize.device_from_machine(
        machine(osArchitecture=architecture, osProcessor=processor)
    )
    assert device.os is not None
    assert device.os.cpu_bits == bits


@pytest.mark.parametrize(
    ("managed_by", "expected"), [("Intune", True), ("ConfigMgr", True), ("Unknown", None)]
)
def test_managed_by(managed_by: str, expected: bool | None) -> None:
    """managedBy known manager → is_managed true, else omitted; raw value kept in unmapped."""
    device = normalize.device_from_machine(machine(managedBy=managed_by))
    assert device.is_managed is expected
    assert device.unmapped is not None
    assert device.unmapped["managedBy"] == managed_by


def test_malformed_addresses_are_left_out_not_emitted() -> None:
    nics = [{"ipAddress": "not-an-ip", "macAddress": "nope", "type": None}]
    device = normalize.device_from_machine(machine(lastIpAddress="10.1.2.999", ipAddresses=nics))
    assert device.ip is None
    assert device.network_interfaces is None


def test_device_event_is_device_inventory_info() -> None:
    """The device as an OCSF 5001 event: Discovery, activity 2 Collect, unmapped flat."""
    event = normalize.device_event(machine(RELATED), tenant_id="t-1")
    assert (event.class_uid, event.category_uid, event.activity_id) == (5001, 5, 2)
    assert (event.type_uid, event.type_name) == (500102, "Device Inventory Info: Collect")
    assert event.severity_id == ocsf.SeverityId.INFORMATIONAL
    assert event.time == event.device.last_seen_time == 1611559656052  # dated by lastSeen
    assert event.metadata.original_time == "2021-01-25T07:27:36.052313Z"  # as MDE sent it
    assert event.metadata.tenant_uid == "t-1"
    assert event.metadata.log_name == "machines"
    assert event.unmapped == event.device.unmapped
    assert event.unmapped is not None
    assert event.unmapped["healthStatus"] == "Active"
    observed = {(o.type_id, o.name, o.value) for o in event.observables or ()}
    assert (1, "device.hostname", "mymachine1.contoso.com") in observed
    assert (3, "device.network_interfaces[0].mac", "8C:EC:4B:89:7E:73") in observed
    assert (2, "unmapped.lastExternalIpAddress", "167.220.203.175") in observed
    assert (47, "device.uid", "1e5bc9d7e413ddd7902c2932e418702b84d0cc07") in observed


def test_device_event_for_1_5_has_no_device_uid_observable() -> None:
    """id → uid: observable type 47 exists only in 1.6+ (§2, §7)."""
    event = normalize.device_event(machine(), version="1.5.0")
    assert event.metadata.version == "1.5.0"
    assert all(o.type_id != ocsf.ObservableTypeId.DEVICE_UID for o in event.observables or ())


def test_device_event_from_a_device_and_a_given_time() -> None:
    device = normalize.device_from_machine(machine())
    event = normalize.device_event(device, time=1_700_000_000_000)
    assert event.time == 1_700_000_000_000
    assert event.metadata.original_time is None
    assert event.device is device


def test_epoch_ms() -> None:
    """*_time: integer ms since the epoch; 7-digit MDE times parse (Python 3.11)."""
    parsed = datetime.fromisoformat("2021-01-26T20:33:57.7220239Z")
    assert normalize.epoch_ms(parsed) == 1611693237722
    assert normalize.epoch_ms(datetime(1970, 1, 1, 0, 0, 1)) == 1000  # naive = UTC
    plus_two = timezone(timedelta(hours=2))
    assert normalize.epoch_ms(datetime(1970, 1, 1, 2, 0, 0, 5000, tzinfo=plus_two)) == 5
    assert normalize.epoch_ms(None) is None


def test_mde_time_is_the_wire_text_or_mdes_own_form() -> None:
    """metadata.original_time: the text MDE sent; for a time of ours, MDE's form (7 digits)."""
    sent = "2021-01-26T20:33:57.7220239+00:00"
    assert normalize.mde_time(WireTime.parse(sent)) == sent
    parsed = datetime.fromisoformat("2021-01-26T20:33:59.2Z")
    assert normalize.mde_time(parsed) == "2021-01-26T20:33:59.2000000Z"
    assert normalize.mde_time(datetime(2021, 1, 1, tzinfo=UTC)) == "2021-01-01T00:00:00.0000000Z"
    assert normalize.mde_time(None) is None
