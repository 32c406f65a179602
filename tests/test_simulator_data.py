"""The simulator's seeded data: deterministic, big and varied enough, the demo story intact, and
Microsoft's documented examples served exactly as documented."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest

from bot.demo.simulator import Simulator, data
from bot.demo.simulator.data import (
    CONTOSO_TENANT,
    DC_HOST,
    DEMO_ALERT_IDS,
    DEMO_EXTERNAL_IP,
    DEMO_HOST,
    DEMO_IP,
    DEMO_MACHINE_ID,
    DEMO_MD5,
    DEMO_SHA1,
    DEMO_SHA256,
    FABRIKAM_HOST,
    HOST_PREFIX,
    SHARED_IP,
    SHARED_IP_HOSTS,
    Tenant,
    load_doc_example,
    seeded_tenants,
    strip,
)
from bot.demo.simulator.probe import Probe
from bot.demo.simulator.seed import EXPOSURE, HEALTH, RISK
from bot.mde.models import Alert, FileInfo, Machine

FIXED = datetime(2026, 11, 28, tzinfo=UTC)


def dump(tenant: Tenant) -> str:
    return json.dumps(
        [tenant.machines, tenant.alerts, tenant.files, tenant.users, tenant.file_events],
        sort_keys=True,
    )


@pytest.fixture
async def probe(simulator: Simulator) -> AsyncIterator[Probe]:
    async with Probe.open(simulator) as opened:
        yield opened


async def get(probe: Probe, path: str, tenant: str = CONTOSO_TENANT) -> Any:
    reply = await probe.get(path, token=probe.sim.issue_token(tenant))
    assert reply.status == 200, reply.text
    return reply.json()


# ------------------------------------------------------------------------------------ determinism


def test_the_same_seed_and_now_give_the_same_data() -> None:
    first = data.generate(data.contoso_spec(), FIXED)
    second = data.generate(data.contoso_spec(), FIXED)

    assert json.dumps(first.machines, default=str) == json.dumps(second.machines, default=str)
    assert json.dumps(first.alerts) == json.dumps(second.alerts)
    assert json.dumps(first.file_events) == json.dumps(second.file_events)


def test_two_simulators_serve_identical_tenants() -> None:
    one, two = Simulator(), Simulator()

    for tenant_id, tenant in one.tenants.items():
        assert dump(tenant) == dump(two.tenants[tenant_id])


def test_now_moves_timestamps_but_not_identities() -> None:
    today = data.contoso(FIXED)
    later = data.contoso(datetime(2027, 3, 1, tzinfo=UTC))

    assert [m["id"] for m in today.machines] == [m["id"] for m in later.machines]
    assert today.machines[10]["lastSeen"] != later.machines[10]["lastSeen"]
    assert today.machines[0] == later.machines[0]  # the demo device keeps its fixed values


def test_tenants_own_their_lists() -> None:
    mine = data.contoso()
    mine.machines.clear()

    assert data.contoso().machines


# ------------------------------------------------------------------------------------ size, variety


def test_there_is_plenty_of_varied_data() -> None:
    contoso, fabrikam, unlicensed = seeded_tenants()
    machines = contoso.machines + fabrikam.machines

    assert len(contoso.machines) >= 200
    assert len(contoso.alerts) >= 300
    assert len(fabrikam.machines) >= 50
    assert len(fabrikam.alerts) >= 50
    assert not unlicensed.licensed
    platforms = Counter(m.get("osPlatform") for m in machines)
    for platform in ("Windows10", "Windows11", "WindowsServer2022", "macOS", "Linux", "iOS"):
        assert platforms[platform] >= 3, platform
    assert platforms["Android"] >= 3
    for field, values in (
        ("healthStatus", HEALTH),
        ("riskScore", RISK),
        ("exposureLevel", EXPOSURE),
    ):
        assert {m.get(field) for m in contoso.machines} >= set(values), field
    assert len({m.get("rbacGroupName") for m in contoso.machines}) >= 8
    assert sum(1 for m in contoso.machines if m.get("machineTags")) >= 50


def test_evidence_of_every_kind_with_both_hashes() -> None:
    evidence = [e for a in data.contoso().alerts for e in a["evidence"]]
    kinds = Counter(e["entityType"] for e in evidence)

    for kind in ("User", "Process", "File", "Ip", "Url"):
        assert kinds[kind] >= 20, kind
    hashed = [e for e in evidence if e["entityType"] in {"File", "Process"}]
    assert all(len(e["sha1"]) == 40 and len(e["sha256"]) == 64 for e in hashed)


def test_several_devices_share_an_ip() -> None:
    sharing = [m for m in data.contoso().machines if m.get("lastIpAddress") == SHARED_IP]

    assert {str(m["computerDnsName"]).split(".")[0] for m in sharing} == set(SHARED_IP_HOSTS)
    assert {m["healthStatus"] for m in sharing} == {"Active", "Inactive"}


def test_every_alert_points_at_a_device_of_its_tenant_or_a_documented_one() -> None:
    for tenant in seeded_tenants():
        ids = {m["id"] for m in tenant.machines}
        strays = {a["machineId"] for a in tenant.alerts} - ids
        assert strays <= {a["machineId"] for a in _documented_alerts()}


def _documented_alerts() -> list[dict[str, Any]]:
    return [
        load_doc_example("alerts.response.json"),
        *load_doc_example("get-alerts.response.json")["value"],
    ]


def test_every_row_parses_with_the_bots_models() -> None:
    for tenant in seeded_tenants():
        for machine in tenant.machines:
            Machine.model_validate(machine)
        for alert in tenant.alerts:
            Alert.model_validate(alert)
        for profile in tenant.files:
            FileInfo.model_validate(profile)


# ------------------------------------------------------------------------------------ the story


def test_the_demo_ip_belongs_to_one_device_in_every_tenant_and_every_lease() -> None:
    for tenant in seeded_tenants():
        holders = {m["id"] for m in tenant.machines if m.get("lastIpAddress") == DEMO_IP}
        leased = {h["machineId"] for h in tenant.ip_history if h["ipAddress"] == DEMO_IP}
        expected = {DEMO_MACHINE_ID} if tenant.name == "contoso" else set()
        assert holders == leased == expected


def test_the_demo_device_is_as_the_demo_shows_it() -> None:
    machine = next(m for m in data.contoso().machines if m["id"] == DEMO_MACHINE_ID)

    assert machine["computerDnsName"] == DEMO_HOST
    assert machine["lastIpAddress"] == DEMO_IP
    assert machine["lastExternalIpAddress"] == DEMO_EXTERNAL_IP
    assert (machine["osPlatform"], machine["version"], machine["osBuild"]) == (
        "Windows11",
        "23H2",
        22631,
    )
    assert (machine["healthStatus"], machine["riskScore"]) == ("Active", "High")
    assert machine["lastSeen"] == "2026-11-27T22:14:05.1234567Z"
    alerts = [a for a in data.contoso().alerts if a["machineId"] == DEMO_MACHINE_ID]
    assert [a["id"] for a in alerts] == list(DEMO_ALERT_IDS)
    assert [a["severity"] for a in alerts] == ["High", "High", "Low"]
    dc = next(m for m in data.contoso().machines if m["computerDnsName"] == DC_HOST)
    assert (dc["lastIpAddress"], dc["osPlatform"], dc["riskScore"]) == (
        "10.1.0.10",
        "WindowsServer2022",
        "Low",
    )


def test_the_demo_indicators_name_real_rows() -> None:
    contoso, fabrikam = data.contoso(), data.fabrikam()
    profile = next(f for f in contoso.files if f["sha1"] == DEMO_SHA1)

    assert (profile["sha256"], profile["md5"]) == (DEMO_SHA256, DEMO_MD5)
    assert sum(str(m["computerDnsName"]).startswith(HOST_PREFIX) for m in contoso.machines) == 25
    assert any(m["computerDnsName"] == FABRIKAM_HOST for m in fabrikam.machines)
    assert not any(f["sha1"] == DEMO_SHA1 for f in fabrikam.files)
    assert sum(m.get("lastExternalIpAddress") == DEMO_EXTERNAL_IP for m in contoso.machines) >= 10


# ------------------------------------------------------------------------------------ doc examples


async def test_documented_machine_answers_as_documented(probe: Probe) -> None:
    documented = strip(load_doc_example("get-machine-by-id.response.json"))

    served = await get(probe, f"/machines/{documented['id']}")

    assert {k: served[k] for k in documented} == documented
    listed = load_doc_example("get-machines.response.json")["value"][0]
    assert {k: served[k] for k in listed} == listed


async def test_documented_alerts_answer_as_documented(probe: Probe) -> None:
    single = strip(load_doc_example("alerts.response.json"))
    listed = load_doc_example("get-alerts.response.json")["value"][0]

    served = await get(probe, f"/alerts/{single['id']}")
    in_list = await get(probe, "/alerts?$filter=" + f"id eq '{listed['id']}'")
    expanded = await get(probe, "/alerts?$top=10&$expand=evidence")

    assert {k: served[k] for k in single} == single
    assert {k: v for k, v in in_list["value"][0].items() if k != "evidence"} == {
        k: v for k, v in listed.items() if k != "evidence"
    }
    example = load_doc_example("get-alerts.response.2.json")["value"][0]
    assert example in expanded["value"]


async def test_documented_file_profile_answers_as_documented(probe: Probe) -> None:
    documented = load_doc_example("get-file-information.response.json")

    served = await get(probe, f"/files/{documented['sha1']}")

    assert {k: served[k] for k in documented if k != "@odata.context"} == strip(documented)
    assert served == {**documented, "@odata.context": served["@odata.context"]}


async def test_documented_alert_sub_resources_answer_as_documented(probe: Probe) -> None:
    alert = "636688558380765161_2136280442"

    files = await get(probe, f"/alerts/{alert}/files")
    ips = await get(probe, f"/alerts/{alert}/ips")
    domains = await get(probe, f"/alerts/{alert}/domains")
    user = await get(probe, f"/alerts/{alert}/user")
    machine = await get(probe, f"/alerts/{alert}/machine")

    assert files["value"] == load_doc_example("get-alert-related-files-info.response.json")["value"]
    assert ips["value"] == load_doc_example("get-alert-related-ip-info.response.json")["value"]
    domain_doc = load_doc_example("get-alert-related-domain-info.response.json")
    assert domains["value"] == domain_doc["value"]
    assert strip(user) == strip(load_doc_example("get-alert-related-user-info.response.json"))
    related_machine = load_doc_example("get-alert-related-machine-info.response.json")
    assert machine["id"] == related_machine["id"]
    assert machine["computerDnsName"] == related_machine["computerDnsName"]
    assert machine["ipAddresses"] == related_machine["ipAddresses"]


async def test_documented_statistics_and_legacy_find_answer_as_documented(probe: Probe) -> None:
    file_stats = load_doc_example("get-file-statistics.response.json")
    ip_stats = load_doc_example("get-ip-statistics.response.json")
    found = load_doc_example("find-machine-info-by-ip.response.json")

    served_file = await get(probe, f"/files/{file_stats['sha1']}/stats?lookBackHours=48")
    served_ip = await get(probe, f"/ips/{ip_stats['ipAddress']}/stats?lookBackHours=48")
    served_found = await get(
        probe, "/machines/find(timestamp=2018-06-19T10:00:00Z,key='10.166.93.61')"
    )

    assert strip(served_file) == strip(file_stats)
    assert strip(served_ip) == strip(ip_stats)
    assert served_found["value"] == found["value"]


async def test_documented_hunting_query_answers_as_documented(probe: Probe) -> None:
    request = (
        "DeviceProcessEvents |where InitiatingProcessFileName =~ 'powershell.exe' "
        "|where ProcessCommandLine contains 'appdata'"
        "|project Timestamp, FileName, InitiatingProcessFileName, DeviceId|limit 2"
    )

    reply = await probe.hunt({"Query": request}, token=probe.sim.issue_token(CONTOSO_TENANT))

    assert reply.json() == load_doc_example("run-advanced-query-api.response.json")
