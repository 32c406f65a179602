"""MDE Machine → OCSF `device` and the Device Inventory Info event (docs/ocsf-mapping.md §2)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from bot import ocsf
from bot.mde.models import IpAddress, Machine
from bot.mde.normalize.common import (
    PRODUCT_NAME,
    compact,
    dedupe,
    epoch_ms,
    host_ip_or_none,
    key,
    mac_or_none,
    mde_time,
    observable,
    text,
)

# §2 riskScore: Informational→0 Info … High→3; None/null → omitted; other → 99 + raw.
_RISK = {
    "informational": ocsf.RiskLevelId.INFO,
    "low": ocsf.RiskLevelId.LOW,
    "medium": ocsf.RiskLevelId.MEDIUM,
    "high": ocsf.RiskLevelId.HIGH,
}
_NO_RISK = {"", "none"}

# §2 ipAddresses[].type: Ethernet→1 Wired, Wireless80211→2, Tunnel→4, else 0.
_NIC_TYPE = {
    "ethernet": ocsf.NetworkInterfaceTypeId.WIRED,
    "wireless80211": ocsf.NetworkInterfaceTypeId.WIRELESS,
    "tunnel": ocsf.NetworkInterfaceTypeId.TUNNEL,
}
# §2 never a device's address: loopback interfaces (by type; Linux says "Other", so also by
# address, see host_ip_or_none) and interfaces that are down.
_LOOPBACK = "softwareloopback"
_DOWN = "down"

# §2 osPlatform prefix rules (lowercase).
_LINUX = ("linux", "ubuntu", "redhat", "centos", "debian", "suse", "oracle", "amazon")

# §2 osArchitecture / osProcessor → cpu_bits.
_CPU_BITS = {"64bit": 64, "32bit": 32, "x64": 64, "amd64": 64, "arm64": 64, "x86": 32}

# §2 managedBy: a known manager → is_managed true; otherwise omitted.
_UNMANAGED = {"", "unknown", "none", "unknownfuturevalue"}

# §2 "exposureLevel, deviceValue, healthStatus, … → unmapped.*", keyed by MDE's camelCase names.
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
    "isExcluded",
    "exclusionReason",
    "mergedIntoMachineId",
)
# §2 the unmapped name of the device a merged device now lives on (a device id).
MERGED_INTO = "mergedIntoMachineId"


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
    # §2 (derived): MDE gives no form factor; Windows clients stay 0 Unknown.
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
        name=platform or "Unknown",  # §2 osPlatform → os.name (raw, or "Unknown")
        type_id=_os_type(platform),  # §2 osPlatform → os.type_id
        version=machine.version or machine.os_version,  # §2 version → os.version
        build=str(machine.os_build) if machine.os_build is not None else None,  # §2 str(int)
        cpu_bits=bits,  # §2 osArchitecture / osProcessor → cpu_bits
    )


def _risk(machine: Machine) -> tuple[ocsf.RiskLevelId | None, str | None]:
    raw = machine.risk_score
    if key(raw) in _NO_RISK:
        return None, None
    risk = _RISK.get(key(raw))
    return (risk, None) if risk is not None else (ocsf.RiskLevelId.OTHER, raw)


def _is_up(nic: IpAddress) -> bool:
    return key(nic.type) != _LOOPBACK and key(nic.operational_status) != _DOWN


def _interfaces(machine: Machine) -> tuple[ocsf.NetworkInterface, ...]:
    """§2 ipAddresses[] → network_interfaces[]: the interfaces that are up, with the addresses
    that can name the device (no loopback, link-local, all-zero MAC); one per address pair,
    and none for a MAC alone that another interface already lists."""
    found: dict[tuple[str | None, str | None], ocsf.NetworkInterface] = {}
    usable = [
        (host_ip_or_none(nic.ip_address), mac_or_none(nic.mac_address), nic)
        for nic in machine.ip_addresses
        if _is_up(nic)
    ]
    with_ip = {mac for ip, mac, _ in usable if ip is not None}
    for ip, mac, nic in usable:
        if ip is None and (mac is None or mac in with_ip):
            continue
        found.setdefault(
            (ip, mac),
            ocsf.NetworkInterface(
                type_id=_NIC_TYPE.get(key(nic.type), ocsf.NetworkInterfaceTypeId.UNKNOWN),
                name=text(nic.type),  # §2 name = MDE type
                ip=ip,
                mac=mac,  # §2 macAddress reformatted with ':'
            ),
        )
    return tuple(found.values())


def _device_ip(machine: Machine) -> str | None:
    """§2 lastIpAddress → ip, unless it names no device (loopback, link-local) or MDE lists it
    only on interfaces that are down."""
    ip = host_ip_or_none(machine.last_ip_address)
    listed = [n for n in machine.ip_addresses if (n.ip_address or "").strip() == ip]
    return None if listed and not any(_is_up(n) for n in listed) else ip


def _groups(machine: Machine) -> tuple[ocsf.Group, ...]:
    groups = []
    name, uid = text(machine.rbac_group_name), text(machine.rbac_group_id)
    if name or (uid and uid != "0"):  # §2 group 0 without a name is "no group": omitted
        # §2 rbacGroupName / rbacGroupId → groups[] DeviceGroup (id as str)
        groups.append(ocsf.Group(name=name, uid=uid, type="DeviceGroup"))
    # §2 machineTags[] → groups[] MachineTag
    groups.extend(ocsf.Group(name=tag, type="MachineTag") for tag in machine.machine_tags if tag)
    return tuple(groups)


def _agent(machine: Machine) -> ocsf.Agent | None:
    # §2 agentVersion → agent_list[]; a device that is not onboarded has no sensor.
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
    values[MERGED_INTO] = text(machine.merged_into_machine_id)
    values["exclusionReason"] = text(machine.exclusion_reason)
    vm = machine.vm_metadata
    if vm is not None:  # §2 vmMetadata: vmId → instance_uid, the rest → unmapped
        values["vmMetadata"] = compact(vm.model_dump(by_alias=True, exclude={"vm_id"})) or None
    # §2 every interface as MDE listed it, with its type and status (up, down, loopback)
    values["ipAddresses"] = [compact(n) for n in raw["ipAddresses"]] or None
    return compact(values)


def device_name_parts(hostname: str | None) -> dict[str, str | None]:
    """§2 computerDnsName → hostname (FQDN), name = its first label, domain = the rest."""
    name, _, domain = (hostname or "").partition(".")
    return {"hostname": hostname, "name": name or None, "domain": domain or None}


def device_from_machine(machine: Machine) -> ocsf.Device:
    """The OCSF `device` for an MDE machine (docs/ocsf-mapping.md §2)."""
    risk, risk_text = _risk(machine)
    ip = _device_ip(machine)
    interfaces = _interfaces(machine)
    agent = _agent(machine)
    return ocsf.Device(
        type_id=_device_type(machine),
        uid=machine.id,  # §2 id → uid
        uid_alt=text(machine.aad_device_id),  # §2 aadDeviceId → uid_alt
        **device_name_parts(text(machine.computer_dns_name)),
        ip=ip,
        # §2 device.mac = the MAC of the interface whose ip == lastIpAddress
        mac=next((nic.mac for nic in interfaces if ip and nic.ip == ip and nic.mac), None),
        instance_uid=text(machine.vm_metadata.vm_id) if machine.vm_metadata else None,
        os=_os(machine),
        risk_level_id=risk,
        risk_level=risk_text,
        is_managed=True if key(machine.managed_by) not in _UNMANAGED else None,
        first_seen_time=epoch_ms(machine.first_seen),  # §2 firstSeen (ms)
        last_seen_time=epoch_ms(machine.last_seen),  # §2 lastSeen (ms)
        groups=_groups(machine) or None,
        agent_list=(agent,) if agent else None,
        network_interfaces=interfaces or None,
        unmapped=_unmapped(machine) or None,
    )


def device_observables(
    device: ocsf.Device, *, path: str, unmapped_path: str, version: str
) -> Iterator[ocsf.Observable | None]:
    """Observables for a device at `path` (docs/ocsf-mapping.md §4, observables)."""
    obs = ocsf.ObservableTypeId
    yield observable(obs.HOSTNAME, f"{path}.hostname", device.hostname)
    yield observable(obs.IP_ADDRESS, f"{path}.ip", device.ip)
    yield observable(obs.MAC_ADDRESS, f"{path}.mac", device.mac)
    for i, nic in enumerate(device.network_interfaces or ()):
        yield observable(obs.IP_ADDRESS, f"{path}.network_interfaces[{i}].ip", nic.ip)
        yield observable(obs.MAC_ADDRESS, f"{path}.network_interfaces[{i}].mac", nic.mac)
    unmapped = device.unmapped or {}
    external = host_ip_or_none(unmapped.get("lastExternalIpAddress"))
    yield observable(obs.IP_ADDRESS, f"{unmapped_path}.lastExternalIpAddress", external)
    if ocsf.supports(version, ocsf.Change.DEVICE_UID_OBSERVABLE):  # §2 type 47 is 1.6+
        yield observable(obs.DEVICE_UID, f"{path}.uid", device.uid)
        merged = unmapped.get(MERGED_INTO)
        yield observable(obs.DEVICE_UID, f"{unmapped_path}.{MERGED_INTO}", merged)


def _label(device: ocsf.Device) -> str:
    """`MDE device ws-1` (merged into d2, excluded: reason)."""
    name = device.hostname or device.name or device.uid or device.ip
    unmapped = device.unmapped or {}
    notes = []
    if merged := unmapped.get(MERGED_INTO):
        notes.append(f"merged into {merged}")
    if unmapped.get("isExcluded"):
        reason = unmapped.get("exclusionReason")
        notes.append(f"excluded: {reason}" if reason else "excluded")
    return f"MDE device {name}" + (f" ({', '.join(notes)})" if notes else "")


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
    (health, exposure, exclusion, the device it was merged into, …) are the event's
    `unmapped`, under MDE's names."""
    machine = source if isinstance(source, Machine) else None
    device = device_from_machine(source) if isinstance(source, Machine) else source
    seen = device.last_seen_time or device.first_seen_time
    return ocsf.DeviceInventoryInfo(
        time=time if time is not None else seen or 0,
        message=_label(device),
        metadata=ocsf.Metadata(
            version=version,
            tenant_uid=tenant_id,
            original_time=mde_time(machine.last_seen) if machine and time is None else None,
            log_name="machines",
        ),
        device=device,
        observables=dedupe(
            device_observables(device, path="device", unmapped_path="unmapped", version=version)
        ),
        unmapped=dict(device.unmapped) if device.unmapped else None,
    )
