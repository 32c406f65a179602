"""Each simulated MDE endpoint over HTTPS: the happy path on the demo story, and 404 versus
200-with-an-empty-list versus 400 exactly where mde-api.md §3 and §6 put them."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.demo.simulator import Simulator
from bot.demo.simulator.data import (
    CONTOSO_TENANT,
    CROSS_TENANT_IP,
    DC_HOST,
    DEMO_ALERT_IDS,
    DEMO_DOMAIN,
    DEMO_EXTERNAL_IP,
    DEMO_FILE,
    DEMO_HOST,
    DEMO_IP,
    DEMO_MACHINE_ID,
    DEMO_MD5,
    DEMO_REMOTE_IP,
    DEMO_SHA1,
    DEMO_SHA256,
    DEMO_USER,
    FABRIKAM_HOST,
    FABRIKAM_TENANT,
    HOST_PREFIX,
    POWERSHELL,
    SHARED_IP,
    SHARED_IP_HOSTS,
)
from bot.demo.simulator.derive import user_key
from bot.demo.simulator.probe import Probe, Reply

UNKNOWN_SHA1 = "0" * 40
UNKNOWN_SHA256 = "f" * 64


class Api:
    """GETs with a contoso (or another tenant's) token with every read role."""

    def __init__(self, probe: Probe, sim: Simulator) -> None:
        self.probe = probe
        self.sim = sim

    async def get(
        self, path: str, params: dict[str, str] | None = None, *, tenant: str = CONTOSO_TENANT
    ) -> Reply:
        return await self.probe.get(path, token=self.sim.issue_token(tenant), params=params)

    async def values(self, path: str, params: dict[str, str] | None = None, **kw: str) -> Any:
        reply = await self.get(path, params, **kw)
        assert reply.status == 200, reply.text
        return reply.json()["value"]


@pytest.fixture
async def api(simulator: Simulator) -> AsyncIterator[Api]:
    async with Probe.open(simulator) as probe:
        yield Api(probe, simulator)


def hosts(rows: list[dict[str, Any]]) -> list[str]:
    return [str(r["computerDnsName"]).split(".")[0] for r in rows]


def stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


# ------------------------------------------------------------------------------------ machines


async def test_the_demo_ip_is_one_device_in_one_tenant(api: Api) -> None:
    query = {"$filter": f"lastIpAddress eq '{DEMO_IP}'"}

    contoso = await api.values("/machines", query)
    fabrikam = await api.values("/machines", query, tenant=FABRIKAM_TENANT)

    assert [m["computerDnsName"] for m in contoso] == [DEMO_HOST]
    assert contoso[0]["id"] == DEMO_MACHINE_ID
    assert fabrikam == []


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        (f"lastIpAddress eq '{SHARED_IP}'", set(SHARED_IP_HOSTS)),
        (f"lastIpAddress eq '{SHARED_IP}' or lastIpAddress eq '{DEMO_IP}'",
         {*SHARED_IP_HOSTS, "ws-fin-042"}),
        (f"lastIpAddress in ('{DEMO_IP}', '10.1.0.10')", {"ws-fin-042", "srv-dc01"}),
        ("id eq 'B2F9C1D47A3E8F60519C2D7E4A8B3F1C6D0E9A27'", {"ws-fin-042"}),
        (f"computerDnsName eq '{DC_HOST}'", {"srv-dc01"}),
    ],
)  # fmt: skip
async def test_machine_filters(api: Api, expression: str, expected: set[str]) -> None:
    assert set(hosts(await api.values("/machines", {"$filter": expression}))) == expected


async def test_prefix_tags_groups_and_dates_filter(api: Api) -> None:
    prefixed = await api.values(
        "/machines", {"$filter": f"startswith(computerDnsName,'{HOST_PREFIX}')"}
    )
    tagged = await api.values("/machines", {"$filter": "machineTags/any(tag: tag eq 'Tier0')"})
    group = await api.values("/machines", {"$filter": "rbacGroupId eq 11 and riskScore eq 'High'"})
    recent = await api.values("/machines", {"$filter": "lastSeen gt 2026-11-27T22:00:00Z"})

    assert len(prefixed) == 25
    assert all(h.startswith(HOST_PREFIX) for h in hosts(prefixed))
    assert "ws-fin-042" in hosts(tagged)
    assert all("Tier0" in m["machineTags"] for m in tagged)
    assert all(m["rbacGroupId"] == 11 and m["riskScore"] == "High" for m in group)
    assert DEMO_MACHINE_ID in {m["id"] for m in recent}


@pytest.mark.parametrize(
    "expression",
    [
        f"lastExternalIpAddress eq '{DEMO_EXTERNAL_IP}'",  # not filterable, as documented
        "rbacGroupName eq 'Finance'",
        "lastIpAddress eq",
        "lastIpAddress eq '10.1.2.3' and",
        "startswith(computerDnsName)",
        "lastSeen gt 2026-13-45Z",
        "(" * 60 + "id eq 'x'" + ")" * 60,
        "not " * 60 + "id eq 'x'",
        "id eq 'unterminated",
        "machineTags/any(t: s eq 'x')",
    ],
)
async def test_malformed_or_unsupported_filters_are_400_odata_error(
    api: Api, expression: str
) -> None:
    reply = await api.get("/machines", {"$filter": expression})

    assert reply.status == 400
    assert reply.code == "ODataError"


async def test_machine_by_id_or_computer_name_else_404(api: Api) -> None:
    by_id = await api.get(f"/machines/{DEMO_MACHINE_ID}")
    by_name = await api.get(f"/machines/{DEMO_HOST.upper()}")
    missing = await api.get("/machines/ws-nowhere.corp.contoso.com")

    assert by_id.json()["computerDnsName"] == DEMO_HOST
    assert by_name.json()["id"] == DEMO_MACHINE_ID
    assert by_id.json()["@odata.context"].endswith("/api/$metadata#Machines/$entity")
    assert missing.status == 404
    assert missing.code == "ResourceNotFound"


async def test_machine_count_is_plain_text(api: Api) -> None:
    reply = await api.get("/machines/$count", {"$filter": f"lastIpAddress eq '{SHARED_IP}'"})

    assert reply.status == 200
    assert reply.text == str(len(SHARED_IP_HOSTS))


# ------------------------------------------------------------------------------------ findbyip


async def test_findbyip_finds_the_demo_device_now(api: Api) -> None:
    now = stamp(datetime.now(UTC) - timedelta(minutes=5))

    found = await api.values(f"/machines/findbyip(ip='{DEMO_IP}',timestamp={now})")

    assert [m["id"] for m in found] == [DEMO_MACHINE_ID]


async def test_findbyip_tells_who_held_a_shared_ip_when(api: Api, simulator: Simulator) -> None:
    leases = sorted(
        (h for h in simulator.tenant("contoso").ip_history if h["ipAddress"] == SHARED_IP),
        key=lambda h: h["start"],
    )
    handover = leases[-1]["start"]  # the last two holders swap at this instant
    inside_third = leases[-2]["start"] + timedelta(hours=12)
    within = max(handover - timedelta(days=1), datetime.now(UTC) - timedelta(days=29))

    current = await api.values(
        f"/machines/findbyip(ip='{SHARED_IP}',timestamp={stamp(datetime.now(UTC))})"
    )
    both = await api.values(f"/machines/findbyip(ip='{SHARED_IP}',timestamp={stamp(handover)})")
    third = await api.values(
        f"/machines/findbyip(ip='{SHARED_IP}',timestamp={stamp(inside_third)})"
    )
    earlier = await api.values(f"/machines/findbyip(ip='{SHARED_IP}',timestamp='{stamp(within)}')")

    assert hosts(current) == [SHARED_IP_HOSTS[-1]]
    assert set(hosts(both)) == set(SHARED_IP_HOSTS[-2:])
    assert hosts(third) == [SHARED_IP_HOSTS[-2]]
    assert hosts(earlier) == [SHARED_IP_HOSTS[-2]]


async def test_findbyip_with_nobody_on_the_ip_is_an_empty_list(api: Api) -> None:
    now = stamp(datetime.now(UTC))

    assert await api.values(f"/machines/findbyip(ip='10.99.99.99',timestamp={now})") == []


@pytest.mark.parametrize(
    ("call", "code"),
    [
        (f"findbyip(ip='{DEMO_IP}',timestamp=2019-09-22T08:44:05Z)", "InvalidInput"),  # > 30 days
        ("findbyip(ip='10.1.2.300',timestamp={now})", "InvalidIpAddress"),
        ("findbyip(ip='not-an-ip',timestamp={now})", "InvalidIpAddress"),
        ("findbyip(ip='10.1.2.3/24',timestamp={now})", "InvalidIpAddress"),
        (f"findbyip(ip='{DEMO_IP}',timestamp=yesterday)", "InvalidInput"),
        (f"findbyip(ip='{DEMO_IP}')", "InvalidInput"),
        ("findbyip(timestamp={now})", "InvalidInput"),
        ("findbyip(ip='10.1.2.3'timestamp={now})", "InvalidInput"),
        ("findbyip()", "InvalidInput"),
    ],
)
async def test_findbyip_refuses_malformed_calls_with_400(api: Api, call: str, code: str) -> None:
    reply = await api.get("/machines/" + call.format(now=stamp(datetime.now(UTC))))

    assert reply.status == 400
    assert reply.code == code


# ------------------------------------------------------------------------------------ alerts


async def test_the_demo_devices_alerts(api: Api) -> None:
    rows = await api.values(f"/machines/{DEMO_MACHINE_ID}/alerts")
    by_name = await api.values(f"/machines/{DEMO_HOST}/alerts")
    missing = await api.get(f"/machines/{UNKNOWN_SHA1}/alerts")

    assert [a["id"] for a in rows] == list(DEMO_ALERT_IDS)
    assert sorted(a["severity"] for a in rows) == ["High", "High", "Low"]
    assert all(a["evidence"] == [] for a in rows)  # a list call: no evidence
    assert by_name == rows
    assert missing.status == 404


async def test_alert_lists_carry_evidence_only_when_expanded(api: Api) -> None:
    query = {"$filter": f"id eq '{DEMO_ALERT_IDS[0]}'"}
    plain = await api.values("/alerts", query)
    expanded = await api.values("/alerts", {**query, "$expand": "evidence"})
    bad = await api.get("/alerts", {"$expand": "machine"})

    assert plain[0]["evidence"] == []
    kinds = {e["entityType"] for e in expanded[0]["evidence"]}
    assert kinds == {"User", "Process", "Url", "Ip"}
    assert bad.status == 400
    assert bad.code == "ODataError"


async def test_alert_filters(api: Api) -> None:
    high_new = await api.values("/alerts", {"$filter": "severity eq 'High' and status eq 'New'"})
    incident = await api.values("/alerts", {"$filter": "incidentId eq 4711"})
    recent = await api.values(
        "/alerts", {"$filter": "alertCreationTime ge 2026-11-27T00:00:00Z", "$top": "500"}
    )

    assert high_new
    assert all(a["severity"] == "High" and a["status"] == "New" for a in high_new)
    assert {a["id"] for a in incident} == set(DEMO_ALERT_IDS)
    assert set(DEMO_ALERT_IDS[:2]) <= {a["id"] for a in recent}


async def test_one_alert_with_evidence_else_404(api: Api) -> None:
    found = await api.get(f"/alerts/{DEMO_ALERT_IDS[1]}")
    missing = await api.get("/alerts/da000000000000000000_1")

    body = found.json()
    assert body["title"] == "Credential dumping activity observed"
    files = [e for e in body["evidence"] if e["entityType"] == "File"]
    assert files[0]["sha1"] == DEMO_SHA1
    assert files[0]["sha256"] == DEMO_SHA256
    assert files[0]["fileName"] == DEMO_FILE
    assert missing.status == 404
    assert missing.code == "ResourceNotFound"


async def test_an_alerts_related_entities(api: Api) -> None:
    first, second, third = DEMO_ALERT_IDS

    files = await api.values(f"/alerts/{first}/files")
    ips = await api.values(f"/alerts/{first}/ips")
    domains = await api.values(f"/alerts/{first}/domains")
    machine = (await api.get(f"/alerts/{first}/machine")).json()
    user = (await api.get(f"/alerts/{first}/user")).json()
    dropped = await api.values(f"/alerts/{second}/files")

    assert [f["sha1"] for f in files] == [POWERSHELL.sha1]
    assert files[0]["md5"] == POWERSHELL.md5  # as the alert-files example shows it
    assert ips == [{"id": DEMO_REMOTE_IP}]
    assert domains == [{"host": DEMO_DOMAIN}]
    assert machine["id"] == DEMO_MACHINE_ID
    assert user["id"] == f"contoso\\{DEMO_USER}"
    assert user["accountName"] == DEMO_USER
    assert [(f["sha256"], f["md5"]) for f in dropped] == [(DEMO_SHA256, DEMO_MD5)]
    assert await api.values(f"/alerts/{third}/files") == []
    assert await api.values(f"/alerts/{third}/ips") == []


async def test_related_entities_of_an_unknown_alert_are_404(api: Api) -> None:
    for part in ("files", "ips", "domains", "machine", "user"):
        reply = await api.get(f"/alerts/da000000000000000000_1/{part}")
        assert reply.status == 404, part


async def test_an_alert_without_a_user_has_no_user_entity(api: Api, simulator: Simulator) -> None:
    lonely = next(a for a in simulator.tenant("contoso").alerts if user_key(a) is None)

    reply = await api.get(f"/alerts/{lonely['id']}/user")

    assert reply.status == 404


# ------------------------------------------------------------------------------------ files


async def test_file_profile_by_sha1_or_sha256_without_md5(api: Api) -> None:
    by_sha1 = (await api.get(f"/files/{DEMO_SHA1}")).json()
    by_sha256 = (await api.get(f"/files/{DEMO_SHA256.upper()}")).json()

    assert by_sha1 == by_sha256
    assert by_sha1["sha256"] == DEMO_SHA256
    assert by_sha1["determinationType"] == "Malware"
    assert "md5" not in by_sha1
    assert by_sha1["@odata.context"].endswith("#Files/$entity")


@pytest.mark.parametrize(
    ("digest", "status", "code"),
    [
        (UNKNOWN_SHA1, 404, "ResourceNotFound"),
        (UNKNOWN_SHA256, 404, "ResourceNotFound"),
        (DEMO_MD5, 400, "InvalidHashValue"),  # MD5 is not a file id: find it with hunting
        ("xyz", 400, "InvalidHashValue"),
        ("g" * 40, 400, "InvalidHashValue"),
    ],
)
async def test_file_profile_errors(api: Api, digest: str, status: int, code: str) -> None:
    reply = await api.get(f"/files/{digest}")

    assert reply.status == status
    assert reply.code == code


async def test_file_alerts_and_machines_by_sha1(api: Api) -> None:
    alerts = await api.values(f"/files/{DEMO_SHA1}/alerts")
    machines = await api.values(f"/files/{DEMO_SHA1}/machines")

    assert DEMO_ALERT_IDS[1] in {a["id"] for a in alerts}
    assert set(hosts(alerts)) == {"ws-fin-042", "ws-fin-017", "srv-file01"}
    assert set(hosts(machines)) == {"ws-fin-042", "ws-fin-017", "srv-file01", "ws-fin-021"}


@pytest.mark.parametrize("part", ["alerts", "machines"])
async def test_sha1_only_endpoints(api: Api, part: str) -> None:
    unknown = await api.get(f"/files/{UNKNOWN_SHA1}/{part}")
    sha256 = await api.get(f"/files/{DEMO_SHA256}/{part}")
    md5 = await api.get(f"/files/{DEMO_MD5}/{part}")

    assert unknown.status == 200
    assert unknown.json()["value"] == []  # unknown SHA-1: 200 and an empty list
    assert (sha256.status, sha256.code) == (400, "InvalidHashValue")
    assert (md5.status, md5.code) == (400, "InvalidHashValue")


async def test_file_statistics(api: Api) -> None:
    stats = (await api.get(f"/files/{DEMO_SHA256}/stats", {"lookBackHours": "48"})).json()
    unknown = await api.get(f"/files/{UNKNOWN_SHA1}/stats")

    assert stats["sha1"] == DEMO_SHA1
    assert stats["organizationPrevalence"] == 4
    assert stats["topFileNames"] == [DEMO_FILE]
    assert unknown.status == 404


# ------------------------------------------------------------------------------------ ips, domains


async def test_ip_alerts(api: Api) -> None:
    related = await api.values(f"/ips/{DEMO_REMOTE_IP}/alerts")
    nothing = await api.get("/ips/192.0.2.250/alerts")
    ipv6 = await api.get("/ips/2001:db8::1/alerts")

    assert DEMO_ALERT_IDS[0] in {a["id"] for a in related}
    assert set(hosts(related)) == {"ws-fin-042", "ws-fin-023", "ws-fin-008"}
    assert (nothing.status, nothing.json()["value"]) == (200, [])
    assert (ipv6.status, ipv6.json()["value"]) == (200, [])


@pytest.mark.parametrize("ip", ["10.1.2.300", "1.2.3", "evil.example.com", "1.2.3.4.5", "::g"])
async def test_a_malformed_ip_is_400_invalid_ip_address(api: Api, ip: str) -> None:
    for path in (f"/ips/{ip}/alerts", f"/ips/{ip}/stats"):
        reply = await api.get(path)
        assert (reply.status, reply.code) == (400, "InvalidIpAddress")


async def test_ip_statistics(api: Api) -> None:
    stats = (await api.get(f"/ips/{SHARED_IP}/stats")).json()

    assert stats["ipAddress"] == SHARED_IP
    assert stats["organizationPrevalence"] >= len(SHARED_IP_HOSTS)  # + alerts naming it
    assert stats["orgFirstSeen"] < stats["orgLastSeen"]


async def test_domain_alerts_and_machines(api: Api) -> None:
    alerts = await api.values(f"/domains/{DEMO_DOMAIN.upper()}/alerts")
    machines = await api.values(f"/domains/{DEMO_DOMAIN}/machines")
    nothing_alerts = await api.get("/domains/example.org/alerts")
    nothing_machines = await api.get("/domains/example.org/machines")

    assert DEMO_ALERT_IDS[0] in {a["id"] for a in alerts}
    assert set(hosts(machines)) == {"ws-fin-042", "ws-fin-023", "ws-fin-008"}
    assert nothing_alerts.json()["value"] == nothing_machines.json()["value"] == []


@pytest.mark.parametrize("domain", ["not_a_domain", "localhost", "10.1.2.3", "-bad-.com", "a..b"])
async def test_a_malformed_domain_is_400_invalid_domain_name(api: Api, domain: str) -> None:
    for part in ("alerts", "machines"):
        reply = await api.get(f"/domains/{domain}/{part}")
        assert (reply.status, reply.code) == (400, "InvalidDomainName")


# ------------------------------------------------------------------------------------ tenants


async def test_each_tenant_sees_only_its_own_devices(api: Api) -> None:
    fabrikam = await api.get(f"/machines/{FABRIKAM_HOST}", tenant=FABRIKAM_TENANT)
    cross = await api.get(f"/machines/{FABRIKAM_HOST}")
    demo_elsewhere = await api.get(f"/machines/{DEMO_HOST}", tenant=FABRIKAM_TENANT)

    assert fabrikam.status == 200
    assert fabrikam.json()["computerDnsName"] == FABRIKAM_HOST
    assert cross.status == demo_elsewhere.status == 404


async def test_a_home_network_ip_is_in_both_tenants(api: Api) -> None:
    query = {"$filter": f"lastIpAddress eq '{CROSS_TENANT_IP}'"}

    assert len(await api.values("/machines", query)) == 1
    assert len(await api.values("/machines", query, tenant=FABRIKAM_TENANT)) == 1


@pytest.mark.parametrize(
    "path",
    [
        "/machines/%00",
        "/machines/findbyip(ip='%27',timestamp=%27)",
        "/machines/find(key=,timestamp=)",
        "/alerts/%E2%80%8B/user",
        "/files/%20/alerts",
        "/ips/%25/alerts",
        "/domains/%2E/machines",
        "/machines?$filter=%27",
        "/alerts?$skip=99999999999999999999",
    ],
)
async def test_strange_input_never_crashes_the_simulator(api: Api, path: str) -> None:
    reply = await api.probe.request(
        "GET",
        f"{api.sim.api_url}/api{path}",
        headers={"Authorization": f"Bearer {api.sim.issue_token(CONTOSO_TENANT)}"},
    )

    assert reply.status in {200, 400, 404}
    if reply.status != 200:
        assert reply.code  # a refusal always carries MDE's error code
