"""The simulator's seeded tenants: MDE payloads exactly as the API returns them (camelCase).

Three kinds of rows make up a tenant:
- the **demo story** (`story.py`, contoso only), fixed values the demo and the tests assert:
  device `ws-fin-042` (the only device anywhere with local IP 10.1.2.3), its three alerts (2 High,
  1 Low) whose evidence tells one intrusion, and `srv-dc01`; its indicators are exported here
  (`DEMO_SHA256`, `DEMO_DOMAIN`, `SHARED_IP`, …, each commented with what it finds);
- **Microsoft's documented examples** (`docs.py`), so documented requests answer as documented;
- the **seeded fleet** (`seed.py`, `seed_alerts.py`): ~220 devices and ~320 alerts in contoso,
  60 devices and 90 alerts in fabrikam, one deterministic `random.Random` draw per tenant.

**Time.** Seeded timestamps are relative to `now`, which defaults to the start of the current UTC
day: the data is identical all day, and always inside the 30 days `findbyip` and hunting look
back from the real clock. The demo story keeps its fixed timestamps (2026-11-26/27), so tests that
need "within 30 days of the real clock" use seeded rows (the campaign below), not the demo alerts.
Pass `now=` for data that never moves.

Rows are built once per process per `now` and shared by every simulator (starting one costs
nothing): treat them as read-only.
"""

from __future__ import annotations

import functools
import random
from dataclasses import dataclass, field
from datetime import UTC, datetime

from bot.demo.simulator import derive, docs, seed, seed_alerts
from bot.demo.simulator.docs import load_doc_example, strip
from bot.demo.simulator.rows import Row
from bot.demo.simulator.seed import Campaign, Fleet, TenantSpec
from bot.demo.simulator.story import (
    AUDITED_IP,
    CONTOSO_TENANT,
    CROSS_TENANT_IP,
    DC_HOST,
    DEMO_ALERT_IDS,
    DEMO_DOMAIN,
    DEMO_EXTERNAL_IP,
    DEMO_FILE,
    DEMO_HASHES,
    DEMO_HOST,
    DEMO_IP,
    DEMO_MACHINE_ID,
    DEMO_MD5,
    DEMO_REMOTE_IP,
    DEMO_SHA1,
    DEMO_SHA256,
    DEMO_URL,
    DEMO_USER,
    DOC_ALERT_ID,
    DOC_FILE_SHA1,
    DOC_MACHINE_ID,
    DOC_RELATED_ALERT_ID,
    FABRIKAM_HOST,
    FABRIKAM_TENANT,
    HOST_PREFIX,
    POWERSHELL,
    SHARED_IP,
    SHARED_IP_HOSTS,
    UNLICENSED_TENANT,
    story_indicators,
    story_rows,
)

__all__ = [
    "AUDITED_IP",
    "CONTOSO_TENANT",
    "CROSS_TENANT_IP",
    "DC_HOST",
    "DEMO_ALERT_IDS",
    "DEMO_DOMAIN",
    "DEMO_EXTERNAL_IP",
    "DEMO_FILE",
    "DEMO_HOST",
    "DEMO_IP",
    "DEMO_MACHINE_ID",
    "DEMO_MD5",
    "DEMO_REMOTE_IP",
    "DEMO_SHA1",
    "DEMO_SHA256",
    "DEMO_URL",
    "DEMO_USER",
    "DOC_ALERT_ID",
    "DOC_FILE_SHA1",
    "DOC_MACHINE_ID",
    "DOC_RELATED_ALERT_ID",
    "FABRIKAM_HOST",
    "FABRIKAM_TENANT",
    "HOST_PREFIX",
    "POWERSHELL",
    "SHARED_IP",
    "SHARED_IP_HOSTS",
    "UNLICENSED_TENANT",
    "Row",
    "Tenant",
    "contoso",
    "default_now",
    "fabrikam",
    "load_doc_example",
    "seeded_tenants",
    "strip",
    "unlicensed",
]


@dataclass
class Tenant:
    tenant_id: str
    name: str
    machines: list[Row] = field(default_factory=list)
    alerts: list[Row] = field(default_factory=list)
    files: list[Row] = field(default_factory=list)  # profiles, with md5 (see files route)
    licensed: bool = True
    users: list[Row] = field(default_factory=list)  # alerts/{id}/user entities
    ip_history: list[Row] = field(default_factory=list)  # {machineId, ipAddress, start, end}
    file_events: list[Row] = field(default_factory=list)  # hunting's DeviceFileEvents
    file_stats: dict[str, Row] = field(default_factory=dict)  # documented, by sha1
    ip_stats: dict[str, Row] = field(default_factory=dict)  # documented, by IP
    hunting: dict[str, Row] = field(default_factory=dict)  # documented query → answer
    indicators: list[Row] = field(default_factory=list)  # custom indicators (Ti)
    machine_actions: list[Row] = field(default_factory=list)  # finished before the simulator
    last_indicator_id: int = 10_000  # indicators created here get the next numbers


def default_now() -> datetime:
    """The start of the current UTC day: the seeded data's "now"."""
    return datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)


def contoso_spec() -> TenantSpec:
    hq = ("203.0.113.25",)
    dc_egress = ("203.0.113.5",)
    kinds = ("file", "app", "sql", "web", "rds", "print", "backup", "exch", "jump", "hv")
    servers = tuple(f"srv-{kind}{n:02d}" for n in (1, 2, 3) for kind in kinds)
    return TenantSpec(
        name="contoso",
        tenant_id=CONTOSO_TENANT,
        dns_domain="corp.contoso.com",
        upn_domain="contoso.com",
        netbios="CONTOSO",
        seed=7,
        fleets=(
            Fleet(
                HOST_PREFIX,
                24,
                seed.WORKSTATION,
                (11, "Finance"),
                "10.1.2",
                (DEMO_EXTERNAL_IP,),
                ("Finance", "PCI"),
            ),
            Fleet("ws-hr-", 20, seed.WORKSTATION, (12, "HR"), "10.1.3", hq, ("HR",)),
            Fleet(
                "ws-eng-",
                40,
                seed.WORKSTATION,
                (13, "Engineering"),
                "10.1.4",
                hq,
                ("Dev",),
                vpn_share=0.3,
            ),
            Fleet(
                "ws-sales-",
                30,
                seed.WORKSTATION,
                (14, "Sales"),
                "10.2.1",
                ("203.0.113.80",),
                ("Sales",),
                vpn_share=0.4,
            ),
            Fleet(
                "",
                30,
                seed.SERVER,
                (20, "Servers"),
                "10.10.1",
                dc_egress,
                ("Prod", "Tier1"),
                names=servers,
            ),
            Fleet("mac-", 25, seed.MAC, (30, "Mac fleet"), "10.1.6", hq, ("Design",), fqdn=False),
            Fleet("lnx-build-", 10, seed.LINUX, (31, "Linux"), "10.10.20", dc_egress, ("Build",)),
            Fleet(
                "k8s-node-",
                15,
                seed.LINUX,
                (31, "Linux"),
                "10.10.30",
                dc_egress,
                ("Prod",),
                fqdn=False,
            ),
            Fleet(
                "phone-",
                26,
                seed.MOBILE,
                (40, "Mobile"),
                "10.50.0",
                ("192.0.2.33",),
                ("BYOD",),
                fqdn=False,
            ),
        ),
        alerts=320,
        users=60,
        reserved_ips=frozenset({DEMO_IP, "10.1.0.10"}),
        reserved_names=frozenset({DEMO_HOST.split(".")[0], DC_HOST.split(".")[0]}),
        reserved_users=frozenset({DEMO_USER}),
        quiet_hosts=frozenset({DEMO_HOST, DC_HOST}),
        shared_ip=SHARED_IP,
        shared_ip_hosts=SHARED_IP_HOSTS,
        home_ip=("ws-sales-012", CROSS_TENANT_IP, "192.0.2.14"),
        campaign=Campaign(
            file_name=DEMO_FILE,
            folder="C:\\Users\\{u}\\AppData\\Local\\Temp",
            hashes=DEMO_HASHES,
            url=DEMO_URL,
            remote_ip=DEMO_REMOTE_IP,
            file_victims=("ws-fin-017", "srv-file01"),
            url_victims=("ws-fin-023", "ws-fin-008"),
            sightings=("ws-fin-021",),
        ),
    )


def fabrikam_spec() -> TenantSpec:
    egress = ("192.0.2.60",)
    return TenantSpec(
        name="fabrikam",
        tenant_id=FABRIKAM_TENANT,
        dns_domain="ad.fabrikam.com",
        upn_domain="fabrikam.com",
        netbios="FABRIKAM",
        seed=11,
        fleets=(
            Fleet(
                "fab-ws-",
                30,
                seed.WORKSTATION,
                (5, "Workstations"),
                "172.16.1",
                egress,
                ("Office",),
                vpn_share=0.2,
            ),
            Fleet(
                "fab-srv-", 10, seed.SERVER, (6, "Servers"), "172.16.10", ("192.0.2.61",), ("Prod",)
            ),
            Fleet("fab-mac-", 8, seed.MAC, (7, "Macs"), "172.16.2", egress, (), fqdn=False),
            Fleet("fab-lnx-", 6, seed.LINUX, (8, "Linux"), "172.16.20", ("192.0.2.61",), ()),
            Fleet("fab-phone-", 6, seed.MOBILE, (9, "Mobile"), "172.16.50", egress, (), fqdn=False),
        ),
        alerts=90,
        users=25,
        vpn_subnets=("172.16.200",),
        vpn_egress="192.0.2.62",
        reserved_ips=frozenset({DEMO_IP}),
        home_ip=("fab-ws-019", CROSS_TENANT_IP, "192.0.2.201"),
    )


@dataclass(frozen=True)
class _Parts:
    machines: tuple[Row, ...]
    alerts: tuple[Row, ...]
    files: tuple[Row, ...]
    users: tuple[Row, ...]
    ip_history: tuple[Row, ...]
    file_events: tuple[Row, ...]
    file_stats: dict[str, Row]
    ip_stats: dict[str, Row]
    hunting: dict[str, Row]
    indicators: tuple[Row, ...] = ()
    machine_actions: tuple[Row, ...] = ()


def generate(spec: TenantSpec, now: datetime) -> seed.Generated:
    """One tenant's seeded rows: always the same for the same spec and `now`."""
    rng = random.Random(spec.seed)  # noqa: S311 - seeded demo data, not crypto
    out = seed.Generated()
    seed.fleet(spec, rng, now, out)
    seed_alerts.populate(spec, rng, now, out)
    return out


@functools.cache
def _contoso_parts(now: datetime) -> _Parts:
    story_machines, story_alerts, story_files, story_leases = story_rows()
    documented = docs.doc_rows(CONTOSO_TENANT)
    out = generate(contoso_spec(), now)
    alerts = [*story_alerts, *documented.alerts, *out.alerts]
    files = [*story_files, *documented.files, *out.files]
    extra_events = derive.file_events(
        [*story_alerts, *documented.alerts], {f["sha1"]: f.get("md5") for f in files}
    )
    users = {u["id"].lower(): u for u in derive.user_profiles(alerts, now)}
    users.update({u["id"].lower(): u for u in documented.users})
    return _Parts(
        machines=(*story_machines, *documented.machines, *out.machines),
        alerts=tuple(alerts),
        files=tuple(files),
        users=tuple(users.values()),
        ip_history=(*story_leases, *documented.ip_history, *out.ip_history),
        file_events=(*extra_events, *out.file_events),
        file_stats=documented.file_stats,
        ip_stats=documented.ip_stats,
        hunting=documented.hunting,
        indicators=tuple(story_indicators(now)),
        machine_actions=tuple(documented.machine_actions),
    )


@functools.cache
def _fabrikam_parts(now: datetime) -> _Parts:
    out = generate(fabrikam_spec(), now)
    return _Parts(
        machines=tuple(out.machines),
        alerts=tuple(out.alerts),
        files=tuple(out.files),
        users=tuple(derive.user_profiles(out.alerts, now)),
        ip_history=tuple(out.ip_history),
        file_events=tuple(out.file_events),
        file_stats={},
        ip_stats={},
        hunting={},
    )


def _tenant(tenant_id: str, name: str, parts: _Parts) -> Tenant:
    """A tenant over shared rows: its own lists (add or remove rows freely), shared row dicts."""
    return Tenant(
        tenant_id,
        name,
        machines=list(parts.machines),
        alerts=list(parts.alerts),
        files=list(parts.files),
        users=list(parts.users),
        ip_history=list(parts.ip_history),
        file_events=list(parts.file_events),
        file_stats=dict(parts.file_stats),
        ip_stats=dict(parts.ip_stats),
        hunting=dict(parts.hunting),
        indicators=list(parts.indicators),
        machine_actions=list(parts.machine_actions),
    )


def contoso(now: datetime | None = None) -> Tenant:
    """The demo tenant: the demo story, the documented examples and ~220 seeded devices."""
    return _tenant(CONTOSO_TENANT, "contoso", _contoso_parts(now or default_now()))


def fabrikam(now: datetime | None = None) -> Tenant:
    """A second tenant with its own seeded data, for multi-connector lookups."""
    return _tenant(FABRIKAM_TENANT, "fabrikam", _fabrikam_parts(now or default_now()))


def unlicensed() -> Tenant:
    """A tenant that issues tokens but has no MDE licence: every API call answers 403."""
    return Tenant(UNLICENSED_TENANT, "unlicensed", licensed=False)


def seeded_tenants(now: datetime | None = None) -> list[Tenant]:
    """Every tenant there is: contoso, fabrikam and the unlicensed one."""
    return [contoso(now), fabrikam(now), unlicensed()]
