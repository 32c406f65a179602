"""The seeded fleet of a simulated tenant: devices, people and the IP leases behind `findbyip`.

Everything comes from one `random.Random(spec.seed)` and a fixed `now`, so the same spec and the
same `now` always give the same rows. Alerts, evidence and files are drawn in `seed_alerts`.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from bot.demo.simulator import catalog
from bot.demo.simulator.catalog import Os
from bot.demo.simulator.rows import FileHashes, Row, hex_digest, iso

HEALTH = (
    "Active",
    "Inactive",
    "ImpairedCommunication",
    "NoSensorData",
    "NoSensorDataImpairedCommunication",
    "Unknown",
)
RISK = ("None", "Informational", "Low", "Medium", "High")
EXPOSURE = ("None", "Low", "Medium", "High")
ONBOARDING = ("Onboarded", "CanBeOnboarded", "Unsupported", "InsufficientInfo")
WORKSTATION, SERVER, MAC, LINUX, MOBILE = "workstation", "server", "mac", "linux", "mobile"
_OS = {
    WORKSTATION: catalog.OS_WORKSTATION,
    SERVER: catalog.OS_SERVER,
    MAC: catalog.OS_MAC,
    LINUX: catalog.OS_LINUX,
    MOBILE: catalog.OS_MOBILE,
}


@dataclass(frozen=True, slots=True)
class Fleet:
    """A group of similar devices: one naming scheme, one RBAC group, one subnet."""

    prefix: str  # names are prefix + 3 digits, unless `names` is given
    count: int
    kind: str
    group: tuple[int, str]
    subnet: str  # first three octets: devices get subnet.10, subnet.11, ...
    egress: tuple[str, ...]  # lastExternalIpAddress candidates
    tags: tuple[str, ...] = ()
    fqdn: bool = True
    vpn_share: float = 0.0  # share of devices last seen on the VPN pool
    names: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Campaign:
    """One intrusion set planted across named hosts: a file, a download URL, a C2 address."""

    file_name: str
    folder: str
    hashes: FileHashes
    url: str
    remote_ip: str
    file_victims: tuple[str, ...]  # alerted on the file
    url_victims: tuple[str, ...]  # alerted on the URL and the C2 address
    sightings: tuple[str, ...]  # the file was seen there, no alert


@dataclass(frozen=True, slots=True)
class TenantSpec:
    name: str
    tenant_id: str
    dns_domain: str
    upn_domain: str
    netbios: str
    seed: int
    fleets: tuple[Fleet, ...]
    alerts: int
    users: int
    vpn_subnets: tuple[str, ...] = ("10.8.1", "10.8.2")
    vpn_egress: str = "203.0.113.40"
    reserved_ips: frozenset[str] = frozenset()
    reserved_names: frozenset[str] = frozenset()
    reserved_users: frozenset[str] = frozenset()
    quiet_hosts: frozenset[str] = frozenset()  # no generated alerts on these
    shared_ip: str | None = None
    shared_ip_hosts: tuple[str, ...] = ()  # leased `shared_ip` in turn, oldest first
    home_ip: tuple[str, str, str] | None = None  # (host, ip, egress): on a home network
    campaign: Campaign | None = None


@dataclass
class Generated:
    machines: list[Row] = field(default_factory=list)
    alerts: list[Row] = field(default_factory=list)
    files: list[Row] = field(default_factory=list)
    users: list[Row] = field(default_factory=list)  # profiles for alerts/{id}/user
    ip_history: list[Row] = field(default_factory=list)
    file_events: list[Row] = field(default_factory=list)
    people: list[Row] = field(default_factory=list)  # accounts, as evidence shows them
    primary_user: dict[str, Row] = field(default_factory=dict)  # machine id → account


def machine_id(tenant: str, host: str) -> str:
    return hex_digest(f"machine:{tenant}:{host}", 40)


def rng_uuid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def lease(machine_id_: str, ip: str, start: datetime, end: datetime | None) -> Row:
    """One period during which a device used a local IP (`end` None: still does)."""
    return {"machineId": machine_id_, "ipAddress": ip, "start": start, "end": end}


def people(spec: TenantSpec, rng: random.Random) -> list[Row]:
    """The tenant's accounts, in the shape User evidence carries them."""
    domain_sid = "-".join(str(rng.randint(10**8, 4 * 10**9)) for _ in range(3))
    accounts: list[Row] = []
    taken = set(spec.reserved_users)
    while len(accounts) < spec.users:
        first, last = rng.choice(catalog.FIRST_NAMES), rng.choice(catalog.LAST_NAMES)
        name = f"{first[0]}{last}"
        if name in taken:
            name = f"{first}.{last}"
        if name in taken:
            continue
        taken.add(name)
        accounts.append(
            {
                "accountName": name,
                "domainName": spec.netbios,
                "userSid": f"S-1-5-21-{domain_sid}-{1100 + len(accounts) * 7}",
                "aadUserId": rng_uuid(rng),
                "userPrincipalName": f"{first}.{last}@{spec.upn_domain}",
            }
        )
    return accounts


def _names(
    fleet: Fleet, spec: TenantSpec, accounts: list[Row], cursor: list[int]
) -> list[tuple[str, Row | None]]:
    """Host names with their primary users (people use workstations, Macs and phones)."""
    personal = fleet.kind in {WORKSTATION, MAC, MOBILE}
    hosts: list[tuple[str, Row | None]] = []
    number = 0
    while len(hosts) < fleet.count:
        owner = accounts[cursor[0] % len(accounts)] if personal else None
        if fleet.names:
            name = fleet.names[len(hosts)]
        elif fleet.kind in {MAC, MOBILE} and owner is not None:
            name = fleet.prefix + str(owner["accountName"]).replace(".", "-")
        else:
            number += 1
            name = f"{fleet.prefix}{number:03d}"
            if name in spec.reserved_names:
                continue
        if personal:
            cursor[0] += 1
        hosts.append((name, owner))
    return hosts


def _health(rng: random.Random, kind: str) -> str:
    weights = (78, 12, 4, 3, 2, 1) if kind != SERVER else (92, 3, 3, 1, 1, 0)
    return rng.choices(HEALTH, weights)[0]


def _last_seen(rng: random.Random, now: datetime, health: str) -> datetime:
    if health == "Inactive":
        return now - timedelta(days=rng.uniform(8, 150))
    if health == "Active":
        return now - timedelta(minutes=rng.uniform(5, 20 * 60))
    return now - timedelta(hours=rng.uniform(20, 24 * 6))


def _machine(
    spec: TenantSpec,
    rng: random.Random,
    now: datetime,
    fleet: Fleet,
    host: str,
    ip: str,
    egress: str,
) -> Row:
    os: Os = rng.choice(_OS[fleet.kind])
    dns = f"{host}.{spec.dns_domain}" if fleet.fqdn else host
    mid = machine_id(spec.name, dns)
    health = _health(rng, fleet.kind)
    onboarding = rng.choices(ONBOARDING, (95, 2, 2, 1))[0]
    if onboarding != "Onboarded":
        health = "Unknown" if onboarding != "Unsupported" else health
    last_seen = _last_seen(rng, now, health)
    first_seen = last_seen - timedelta(days=rng.uniform(30, 900))
    aad = fleet.kind in {WORKSTATION, MAC, MOBILE}
    mac_address = f"{rng.getrandbits(48):012X}"
    addresses: list[Row] = [
        {
            "ipAddress": ip,
            "macAddress": mac_address,
            "type": "Wireless80211" if fleet.kind in {MOBILE, MAC} else "Ethernet",
            "operationalStatus": "Up",
        }
    ]
    if fleet.kind in {WORKSTATION, SERVER}:
        addresses.append(
            {
                "ipAddress": f"fe80::{rng.getrandbits(16):x}:{rng.getrandbits(16):x}",
                "macAddress": mac_address,
                "type": "Ethernet",
                "operationalStatus": "Up",
            }
        )
    tags = [t for t in fleet.tags if rng.random() < 0.6]
    if fleet.kind == WORKSTATION and rng.random() < 0.05:
        tags.append("VIP")
    azure = fleet.kind in {SERVER, LINUX} and rng.random() < 0.4
    value = rng.choices(("Normal", "Low"), (9, 1))[0]
    if "Tier0" in tags or "VIP" in tags:
        value = "High"
    return {
        "id": mid,
        "computerDnsName": dns,
        "firstSeen": iso(first_seen),
        "lastSeen": iso(last_seen),
        "osPlatform": os.platform,
        "version": os.version,
        "osVersion": None,
        "osProcessor": os.processor,
        "osArchitecture": "64-bit",
        "lastIpAddress": ip,
        "lastExternalIpAddress": egress,
        "osBuild": os.build,
        "healthStatus": health,
        "onboardingStatus": onboarding,
        "rbacGroupId": fleet.group[0],
        "rbacGroupName": fleet.group[1],
        "riskScore": "None",
        "exposureLevel": rng.choices(EXPOSURE, (5, 35, 40, 20))[0],
        "deviceValue": value,
        "isAadJoined": aad,
        "aadDeviceId": rng_uuid(rng) if aad else None,
        "machineTags": tags,
        "agentVersion": os.agent if onboarding == "Onboarded" else None,
        "defenderAvStatus": rng.choices(("Updated", "NotUpdated", "Disabled"), (90, 8, 2))[0]
        if os.family != catalog.MOBILE
        else "NotSupported",
        "managedBy": "Intune" if aad else "Unknown",
        "managedByStatus": "Success" if aad else "Unknown",
        "isPotentialDuplication": False,
        "mergedIntoMachineId": None,
        "isExcluded": False,
        "exclusionReason": None,
        "ipAddresses": addresses,
        "vmMetadata": {
            "vmId": rng_uuid(rng),
            "cloudProvider": "Azure",
            "resourceId": f"/subscriptions/{spec.tenant_id}/resourceGroups/prod/providers/"
            f"Microsoft.Compute/virtualMachines/{host}",
            "subscriptionId": spec.tenant_id,
        }
        if azure
        else None,
    }


def fleet(spec: TenantSpec, rng: random.Random, now: datetime, out: Generated) -> None:
    """Devices, their primary users and their IP leases, into `out`."""
    out.people = people(spec, rng)
    cursor = [0]
    used_ips = set(spec.reserved_ips)
    if spec.shared_ip:
        used_ips.add(spec.shared_ip)

    def free_ip(subnet: str) -> str:
        while True:
            ip = f"{subnet}.{rng.randint(10, 250)}"
            if ip not in used_ips:
                used_ips.add(ip)
                return ip

    for group in spec.fleets:
        for host, owner in _names(group, spec, out.people, cursor):
            vpn = rng.random() < group.vpn_share
            ip = free_ip(rng.choice(spec.vpn_subnets) if vpn else group.subnet)
            egress = spec.vpn_egress if vpn else rng.choice(group.egress)
            machine = _machine(spec, rng, now, group, host, ip, egress)
            out.machines.append(machine)
            if owner is not None:
                out.primary_user[machine["id"]] = owner
            roam = (lambda: free_ip(rng.choice(spec.vpn_subnets))) if vpn else None
            out.ip_history.extend(_leases(rng, machine, roam))
    if spec.home_ip:
        _relocate(out, *spec.home_ip)
    if spec.shared_ip:
        _shared_ip_chain(out, spec.shared_ip, spec.shared_ip_hosts, now)


def _leases(rng: random.Random, machine: Row, roam: Callable[[], str] | None) -> list[Row]:
    first = datetime.fromisoformat(machine["firstSeen"])
    last = datetime.fromisoformat(machine["lastSeen"])
    end = None if machine["healthStatus"] != "Inactive" else last
    if roam is None:
        return [lease(machine["id"], machine["lastIpAddress"], first, end)]
    # Remote workers: a new VPN address every few days, the current one last.
    leases, start = [], max(first, last - timedelta(days=rng.uniform(20, 40)))
    for _ in range(rng.randint(1, 3)):
        stop = start + timedelta(days=rng.uniform(3, 9))
        if stop >= last:
            break
        leases.append(lease(machine["id"], roam(), start, stop))
        start = stop
    leases.append(lease(machine["id"], machine["lastIpAddress"], start, end))
    return leases


def activate(machine: Row, now: datetime, minutes_ago: float = 37) -> None:
    """Make a device onboarded and reporting: the story needs it to be."""
    machine["onboardingStatus"] = "Onboarded"
    machine["agentVersion"] = machine["agentVersion"] or "10.8760.22631.4391"
    machine["healthStatus"] = "Active"
    machine["lastSeen"] = iso(now - timedelta(minutes=minutes_ago))


def find_host(out: Generated, host: str) -> Row:
    return _find(out, host)


def _find(out: Generated, host: str) -> Row:
    for machine in out.machines:
        if str(machine["computerDnsName"]).split(".")[0] == host:
            return machine
    raise KeyError(f"seed spec names a host the fleet does not have: {host}")


def _relocate(out: Generated, host: str, ip: str, egress: str) -> None:
    machine = _find(out, host)
    machine["lastIpAddress"] = ip
    machine["lastExternalIpAddress"] = egress
    machine["ipAddresses"][0]["ipAddress"] = ip
    for entry in out.ip_history:
        if entry["machineId"] == machine["id"] and entry["end"] is None:
            entry["ipAddress"] = ip


def _shared_ip_chain(out: Generated, ip: str, hosts: tuple[str, ...], now: datetime) -> None:
    """DHCP hands `ip` to each host in turn over the last 60 days; every one still reports it
    as its last IP (the old ones went offline holding it). The last two hand over at the same
    instant, so `findbyip` at that moment answers both."""
    count = len(hosts)
    step = 51 / max(1, count - 1)
    starts = [now - timedelta(days=60 - index * step) for index in range(count)]
    for index, host in enumerate(hosts):
        machine = _find(out, host)
        start = starts[index]
        end: datetime | None = None
        if index < count - 2:
            end = starts[index + 1] - timedelta(days=1)
        elif index == count - 2:
            end = starts[index + 1]
        out.ip_history[:] = [h for h in out.ip_history if h["machineId"] != machine["id"]]
        out.ip_history.append(lease(machine["id"], ip, start, end))
        machine["lastIpAddress"] = ip
        machine["ipAddresses"][0]["ipAddress"] = ip
        machine["firstSeen"] = iso(min(datetime.fromisoformat(machine["firstSeen"]), start))
        activate(machine, now)
        if end is not None:
            machine["healthStatus"] = "Inactive"
            machine["lastSeen"] = iso(end)
