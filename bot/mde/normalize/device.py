"""MDE Machine → OCSF `device` and the Device Inventory Info event (ocsf.md §5.1)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from bot import ocsf
from bot.mde.models import Machine
from bot.mde.normalize.common import (
    PRODUCT_NAME,
    compact,
    dedupe,
    epoch_ms,
    ip_or_none,
    key,
    mac_or_none,
    mde_time,
    observable,
    version_at_least,
)

# §5.1 riskScore: Informational→0 Info … High→3; None/null → omitted; other → 99 + raw.
_RISK = {
    "informational": ocsf.RiskLevelId.INFO,
    "low": ocsf.RiskLevelId.LOW,
    "medium": ocsf.RiskLevelId.MEDIUM,
    "high": ocsf.RiskLevelId.HIGH,
}
_NO_RISK = {"", "none"}

# §5.1 ipAddresses[].type: Ethernet→1 Wired, Wireless80211→2, Tunnel→4, else 0.
_NIC_TYPE = {
    "ethernet": ocsf.NetworkInterfaceTypeId.WIRED,
    "wireless80211": ocsf.NetworkInterfaceTypeId.WIRELESS,
    "tunnel": ocsf.NetworkInterfaceTypeId.TUNNEL,
}
_LOOPBACK = "softwareloopback"  # §5.1: "or skip loopback" — skipped

# §5.1 osPlatform prefix rules (lowercase).
_LINUX = ("linux", "ubuntu", "redhat", "centos", "debian", "suse", "oracle", "amazon")

# §5.1 osArchitecture / osProcessor → cpu_bits.
_CPU_BITS = {"64bit": 64, "32bit": 32, "x64": 64, "amd64": 64, "arm64": 64, "x86": 32}

# §5.1 managedBy: a known manager → is_managed true; otherwise omitted.
_UNMANAGED = {"", "unknown", "none", "unknownfuturevalue"}

# §5.1 "exposureLevel, deviceValue, healthStatus, … → unmapped.*", keyed by MDE's camelCase names.
_UNMAPPED = (
    "healthStatus",
    "exposureLevel",
    "deviceValue",
    "onboardingStatus",
    "defenderAvStatus",
    "isAadJoined",
    "managedBy",
    "managedByStatus",
    "lastExternalIpAddress",
    "isPotentialDuplication",
)


def _os_type(platform: str) -> ocsf.OsTypeId:
    p = key(platform)
    if not p:
        return ocsf.OsTypeId.UNKNOWN
    if p.startswith("windows"):
        return ocsf.OsTypeId.WINDOWS
    if p.startswith(_LINUX):
        return ocsf.OsTypeId.LINUX
    if p == "android":
        return ocsf.OsTypeId.ANDROID
    if p.startswith(("macos", "osx", "mac")):
        return ocsf.OsTypeId.MACOS
    if p == "ios":
        return ocsf.OsTypeId.IOS
    if p == "ipados":
        return ocsf.OsTypeId.IPADOS
    return ocsf.OsTypeId.OTHER


def _device_type(machine: Machine) -> ocsf.DeviceTypeId:
    # §5.1 (derived): MDE gives no form factor; Windows clients stay 0 Unknown.
    platform = key(machine.os_platform)
    if platform.startswith("windowsserver"):
        return ocsf.DeviceTypeId.SERVER
    if platform in {"ios", "android"}:
        return ocsf.DeviceTypeId.MOBILE
    if platform == "ipados":
        return ocsf.DeviceTypeId.TABLET
    if machine.vm_metadata is not None:
        return ocsf.DeviceTypeId.VIRTUAL
    return ocsf.DeviceTypeId.UNKNOWN


def _os(machine: Machine) -> ocsf.Os | None:
    if not (machine.os_platform or machine.version or machine.os_build is not None):
        return None
    platform = machine.os_platform or ""
    bits = _CPU_BITS.get(key(machine.os_architecture)) or _CPU_BITS.get(key(machine.os_processor))
    return ocsf.Os(
        name=platform or "Unknown",  # §5.1 osPlatform → os.name (raw, or "Unknown")
        type_id=_os_type(platform),  # §5.1 osPlatform → os.type_id
        version=machine.version or machine.os_version,  # §5.1 version → os.version
        build=str(machine.os_build) if machine.os_build is not None else None,  # §5.1 str(int)
        cpu_bits=bits,  # §5.1 osArchitecture / osProcessor → cpu_bits
    )


def _risk(machine: Machine) -> tuple[ocsf.RiskLevelId | None, str | None]:
    raw = machine.risk_score
    if key(raw) in _NO_RISK:
        return None, None
    risk = _RISK.get(key(raw))
    return (risk, None) if risk is not None else (ocsf.RiskLevelId.OTHER, raw)


def _interfaces(machine: Machine) -> tuple[ocsf.NetworkInterface, ...]:
    found = []
    for nic in machine.ip_addresses:
        if key(nic.type) == _LOOPBACK:
            continue
        ip, mac = ip_or_none(nic.ip_address), mac_or_none(nic.mac_address)
        if ip is None and mac is None and not nic.type:
            continue
        found.append(
            ocsf.NetworkInterface(
                type_id=_NIC_TYPE.get(key(nic.type), ocsf.NetworkInterfaceTypeId.UNKNOWN),
                name=nic.type or None,  # §5.1 name = MDE type
                ip=ip,
                mac=mac,  # §5.1 macAddress reformatted with ':'
            )
        )
    return tuple(found)


def _groups(machine: Machine) -> tuple[ocsf.Group, ...]:
    groups = []
    if machine.rbac_group_name or machine.rbac_group_id is not None:
        groups.append(  # §5.1 rbacGroupName / rbacGroupId → groups[] DeviceGroup (id as str)
            ocsf.Group(
                name=machine.rbac_group_name or None,
                uid=str(machine.rbac_group_id) if machine.rbac_group_id is not None else None,
                type="DeviceGroup",
            )
        )
    # §5.1 machineTags[] → groups[] MachineTag
    groups.extend(ocsf.Group(name=tag, type="MachineTag") for tag in machine.machine_tags if tag)
    return tuple(groups)


def _agent(machine: Machine) -> ocsf.Agent | None:
    # §5.1 agentVersion → agent_list[]; a device that is not onboarded has no sensor.
    if not machine.agent_version and key(machine.onboarding_status) != "onboarded":
        return None
    return ocsf.Agent(
        name=PRODUCT_NAME,
        vendor_name="Microsoft",
        type_id=ocsf.AgentTypeId.ENDPOINT_DETECTION_AND_RESPONSE,
        version=machine.agent_version or None,
    )


def _unmapped(machine: Machine) -> dict[str, Any]:
    raw = machine.model_dump(by_alias=True, mode="json")
    values = {name: raw.get(name) for name in _UNMAPPED}
    vm = machine.vm_metadata
    if vm is not None:  # §5.1 vmMetadata: vmId → instance_uid, the rest → unmapped
        values["vmMetadata"] = compact(vm.model_dump(by_alias=True, exclude={"vm_id"})) or None
    return compact(values)


def device_from_machine(machine: Machine) -> ocsf.Device:
    """The OCSF `device` for an MDE machine (ocsf.md §5.1)."""
    hostname = machine.computer_dns_name or None  # §5.1 computerDnsName → hostname (FQDN)
    name, _, domain = (hostname or "").partition(".")  # name = first label, domain = the rest
    risk, risk_text = _risk(machine)
    ip = ip_or_none(machine.last_ip_address)  # §5.1 lastIpAddress → ip (single string)
    interfaces = _interfaces(machine)
    agent = _agent(machine)
    return ocsf.Device(
        type_id=_device_type(machine),
        uid=machine.id,  # §5.1 id → uid
        uid_alt=machine.aad_device_id or None,  # §5.1 aadDeviceId → uid_alt
        hostname=hostname,
        name=name or None,
        domain=domain or None,
        ip=ip,
        # §5.1 device.mac = the MAC of the interface whose ip == lastIpAddress
        mac=next((nic.mac for nic in interfaces if ip and nic.ip == ip and nic.mac), None),
        instance_uid=machine.vm_metadata.vm_id if machine.vm_metadata else None,
        os=_os(machine),
        risk_level_id=risk,
        risk_level=risk_text,
        is_managed=True if key(machine.managed_by) not in _UNMANAGED else None,
        first_seen_time=epoch_ms(machine.first_seen),  # §5.1 firstSeen (ms)
        last_seen_time=epoch_ms(machine.last_seen),  # §5.1 lastSeen (ms)
        groups=_groups(machine) or None,
        agent_list=(agent,) if agent else None,
        network_interfaces=interfaces or None,
        unmapped=_unmapped(machine) or None,
    )


def device_observables(
    device: ocsf.Device, *, path: str, unmapped_path: str, version: str
) -> Iterator[ocsf.Observable | None]:
    """Observables for a device at `path` (ocsf.md §5.3 "Also emit observables")."""
    obs = ocsf.ObservableTypeId
    yield observable(obs.HOSTNAME, f"{path}.hostname", device.hostname)
    yield observable(obs.IP_ADDRESS, f"{path}.ip", device.ip)
    yield observable(obs.MAC_ADDRESS, f"{path}.mac", device.mac)
    for i, nic in enumerate(device.network_interfaces or ()):
        yield observable(obs.IP_ADDRESS, f"{path}.network_interfaces[{i}].ip", nic.ip)
        yield observable(obs.MAC_ADDRESS, f"{path}.network_interfaces[{i}].mac", nic.mac)
    external = ip_or_none((device.unmapped or {}).get("lastExternalIpAddress"))
    yield observable(obs.IP_ADDRESS, f"{unmapped_path}.lastExternalIpAddress", external)
    if version_at_least(version, (1, 6)):  # §5.1 id: observable type 47 exists only in 1.6+
        yield observable(obs.DEVICE_UID, f"{path}.uid", device.uid)


def device_event(
    source: Machine | ocsf.Device,
    *,
    tenant_id: str | None = None,
    time: int | None = None,
    version: str = ocsf.OCSF_VERSION,
) -> ocsf.DeviceInventoryInfo:
    """A device as an OCSF Device Inventory Info event (class 5001, activity 2 Collect).

    `time` is when it was collected (the caller's clock; this module reads none). Without it the
    event is dated by the device's last report (`lastSeen`). The device's MDE-only fields
    (health, exposure, …) are the event's `unmapped`, under MDE's names."""
    machine = source if isinstance(source, Machine) else None
    device = device_from_machine(source) if isinstance(source, Machine) else source
    seen = device.last_seen_time or device.first_seen_time
    label = device.hostname or device.name or device.uid or device.ip
    return ocsf.DeviceInventoryInfo(
        time=time if time is not None else seen or 0,
        message=f"MDE device {label}",
        metadata=ocsf.Metadata(
            version=version,
            tenant_uid=tenant_id,
            original_time=mde_time(machine.last_seen) if machine and time is None else None,
            log_name="machines",
        ),
        device=device,
        observables=dedupe(
            o
            for o in device_observables(
                device, path="device", unmapped_path="unmapped", version=version
            )
            if o is not None
        ),
        unmapped=dict(device.unmapped) if device.unmapped else None,
    )
