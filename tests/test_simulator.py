"""The simulator's Entra side and its API gatekeeping, over real HTTPS: discovery and tokens
(raw and through real msal), 401/403/429 as MDE answers them, and the knobs tests and
benchmarks steer (latency, faults, storms, the token endpoint, counters, paging)."""

from __future__ import annotations

import asyncio
import base64
import json
import time
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from bot.demo.backend import simulator_connectors
from bot.demo.simulator import (
    ALL_READ_ROLES,
    DEMO_CLIENT_ID,
    DEMO_ROLES,
    REQUIRED_ROLES,
    AppRegistration,
    Fault,
    Simulator,
)
from bot.demo.simulator.api import CONTENT_TYPE
from bot.demo.simulator.data import (
    CONTOSO_TENANT,
    DEMO_ALERT_IDS,
    DEMO_DOMAIN,
    DEMO_HOST,
    DEMO_IP,
    DEMO_SHA1,
    UNLICENSED_TENANT,
    seeded_tenants,
)
from bot.demo.simulator.probe import Probe, Reply
from bot.mde.auth import TokenProvider, decode_claims

ALERT_ID = DEMO_ALERT_IDS[0]
# One request per lookup endpoint, to check its gatekeeping (the response actions':
# test_simulator_actions.ACTION_CALLS).
SAMPLE_CALLS: dict[str, tuple[str, str]] = {
    "machines": ("GET", "/machines"),
    "machines_count": ("GET", "/machines/$count"),
    "findbyip": ("GET", f"/machines/findbyip(ip='{DEMO_IP}',timestamp=2100-01-01T00:00:00Z)"),
    "machines_find": ("GET", f"/machines/find(timestamp=2026-01-01T00:00:00Z,key='{DEMO_IP}')"),
    "machine": ("GET", f"/machines/{DEMO_HOST}"),
    "machine_alerts": ("GET", f"/machines/{DEMO_HOST}/alerts"),
    "alerts": ("GET", "/alerts"),
    "alerts_count": ("GET", "/alerts/$count"),
    "alert": ("GET", f"/alerts/{ALERT_ID}"),
    "alert_files": ("GET", f"/alerts/{ALERT_ID}/files"),
    "alert_ips": ("GET", f"/alerts/{ALERT_ID}/ips"),
    "alert_domains": ("GET", f"/alerts/{ALERT_ID}/domains"),
    "alert_machine": ("GET", f"/alerts/{ALERT_ID}/machine"),
    "alert_user": ("GET", f"/alerts/{ALERT_ID}/user"),
    "file": ("GET", f"/files/{DEMO_SHA1}"),
    "file_stats": ("GET", f"/files/{DEMO_SHA1}/stats"),
    "file_alerts": ("GET", f"/files/{DEMO_SHA1}/alerts"),
    "file_machines": ("GET", f"/files/{DEMO_SHA1}/machines"),
    "ip_alerts": ("GET", f"/ips/{DEMO_IP}/alerts"),
    "ip_stats": ("GET", f"/ips/{DEMO_IP}/stats"),
    "domain_alerts": ("GET", f"/domains/{DEMO_DOMAIN}/alerts"),
    "domain_machines": ("GET", f"/domains/{DEMO_DOMAIN}/machines"),
    "hunting": ("POST", "/advancedqueries/run"),
}


@pytest.fixture
async def probe(simulator: Simulator) -> AsyncIterator[Probe]:
    async with Probe.open(simulator) as opened:
        yield opened


def payload(token: str) -> dict[str, Any]:
    body = token.split(".")[1]
    decoded: dict[str, Any] = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    return decoded


async def call(probe: Probe, name: str, token: str | None) -> Reply:
    method, path = SAMPLE_CALLS[name]
    if method == "POST":
        return await probe.hunt({"Query": "DeviceInfo | take 1"}, token=token)
    return await probe.get(path, token=token)


# ------------------------------------------------------------------------------------ Entra


async def test_discovery_points_msal_at_an_https_token_endpoint_under_the_tenant(
    probe: Probe, simulator: Simulator
) -> None:
    url = f"{simulator.authority(CONTOSO_TENANT)}/v2.0/.well-known/openid-configuration"
    reply = await probe.request("GET", url)

    assert reply.status == 200
    doc = reply.json()
    assert doc["issuer"] == f"{simulator.authority(CONTOSO_TENANT)}/v2.0"
    assert doc["token_endpoint"] == f"{simulator.authority(CONTOSO_TENANT)}/oauth2/v2.0/token"
    assert doc["token_endpoint"].startswith("https://")


async def test_discovery_of_an_unknown_tenant_is_aadsts90002(
    probe: Probe, simulator: Simulator
) -> None:
    url = f"{simulator.authority('no-such-tenant')}/v2.0/.well-known/openid-configuration"
    reply = await probe.request("GET", url)

    assert reply.status == 400
    assert reply.json()["error_codes"] == [90002]


async def test_token_is_a_jwt_carrying_audience_tenant_app_and_roles(probe: Probe) -> None:
    reply = await probe.token(CONTOSO_TENANT)

    assert reply.status == 200
    body = reply.json()
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] > 300  # msal serves from its cache only above 5 minutes
    claims = payload(body["access_token"])
    assert claims["aud"] == "https://api.securitycenter.microsoft.com"
    assert claims["tid"] == CONTOSO_TENANT
    assert claims["appid"] == DEMO_CLIENT_ID
    assert claims["roles"] == list(DEMO_ROLES)
    assert claims["iss"] == f"https://sts.windows.net/{CONTOSO_TENANT}/"


async def test_an_app_with_no_roles_gets_no_roles_claim_at_all(
    probe: Probe, simulator: Simulator
) -> None:
    simulator.register(AppRegistration("bare-app", "bare-secret", CONTOSO_TENANT, roles=()))
    reply = await probe.token(CONTOSO_TENANT, client_id="bare-app", secret="bare-secret")

    assert reply.status == 200
    assert "roles" not in payload(reply.json()["access_token"])


@pytest.mark.parametrize(
    ("changes", "status", "code"),
    [
        ({"secret": "not-the-secret"}, 401, 7000215),
        ({"client_id": "00000000-0000-4000-8000-00000000dead"}, 400, 700016),
        ({"scope": "https://example.invalid/.default"}, 400, 500011),
    ],
)
async def test_token_endpoint_refuses_as_entra_does(
    probe: Probe, changes: dict[str, str], status: int, code: int
) -> None:
    reply = await probe.token(CONTOSO_TENANT, **changes)

    assert reply.status == status
    assert reply.json()["error_codes"] == [code]
    assert f"AADSTS{code}" in reply.json()["error_description"]


async def test_an_expired_client_secret_is_aadsts7000222(
    probe: Probe, simulator: Simulator
) -> None:
    simulator.register(
        AppRegistration("old-app", "old-secret", CONTOSO_TENANT, secret_expired=True)
    )
    reply = await probe.token(CONTOSO_TENANT, client_id="old-app", secret="old-secret")

    assert reply.status == 401
    assert reply.json()["error_codes"] == [7000222]


async def test_real_msal_gets_a_token_once_and_it_opens_the_api(
    simulator: Simulator, probe: Probe
) -> None:
    provider = TokenProvider(simulator_connectors(simulator)[0])
    try:
        token = await provider.token()
        again = await provider.token()
    finally:
        provider.close()

    assert token == again
    assert simulator.token_requests == 1
    assert decode_claims(token).roles == frozenset(DEMO_ROLES)
    reply = await probe.get("/machines", token=token, params={"$top": "1"})
    assert reply.status == 200


async def test_token_endpoint_down_for_a_while_then_back(
    probe: Probe, simulator: Simulator
) -> None:
    simulator.token_endpoint_down_for(0.3)
    down = await probe.token(CONTOSO_TENANT)
    await asyncio.sleep(0.35)
    back = await probe.token(CONTOSO_TENANT)

    assert down.status == 503
    assert down.json()["error"] == "temporarily_unavailable"
    assert back.status == 200
    assert simulator.token_requests == 2


# ------------------------------------------------------------------------------------ 401 / 403


async def test_a_token_from_the_token_endpoint_opens_the_api(probe: Probe) -> None:
    token = (await probe.token(CONTOSO_TENANT)).json()["access_token"]

    reply = await probe.get(f"/machines/{DEMO_HOST}", token=token)

    assert reply.status == 200
    assert reply.json()["lastIpAddress"] == DEMO_IP


async def test_missing_forged_expired_and_wrong_audience_tokens_are_401(
    probe: Probe, simulator: Simulator
) -> None:
    async with Simulator() as other:
        forged = other.issue_token(CONTOSO_TENANT)  # signed by another simulator
    graph = (await probe.token(CONTOSO_TENANT, scope="https://graph.microsoft.com/.default")).json()
    tokens = [
        None,
        "not-a-jwt",
        "a.b.c",
        forged,
        simulator.issue_token(CONTOSO_TENANT, lifetime=-5),
        graph["access_token"],
        simulator.issue_token("00000000-0000-4000-8000-000000000000"),
    ]
    for token in tokens:
        reply = await probe.get("/machines", token=token)
        assert reply.status == 401, token
        assert reply.code == "Unauthorized"


async def test_a_missing_role_is_403_with_mdes_message(probe: Probe, simulator: Simulator) -> None:
    token = simulator.issue_token(CONTOSO_TENANT, roles=["Machine.Read.All", "Ip.Read.All"])

    reply = await probe.get("/alerts", token=token)

    assert reply.status == 403
    assert reply.code == "Forbidden"
    assert reply.json()["error"]["message"] == (
        "Missing application roles. API required roles: Alert.Read.All,Alert.ReadWrite.All, "
        "application roles: Machine.Read.All,Ip.Read.All."
    )


async def test_a_token_with_no_roles_is_403(probe: Probe, simulator: Simulator) -> None:
    reply = await probe.get("/machines", token=simulator.issue_token(CONTOSO_TENANT, roles=[]))

    assert reply.status == 403
    assert reply.json()["error"]["message"].endswith("application roles: .")


@pytest.mark.parametrize("name", sorted(SAMPLE_CALLS))
async def test_every_endpoint_demands_its_roles(
    probe: Probe, simulator: Simulator, name: str
) -> None:
    """Every role but the endpoint's: 403 naming them; the endpoint's first role alone opens it
    (ReadWrite satisfies Read: both are listed)."""
    required = REQUIRED_ROLES[name]
    others = [r for r in (*ALL_READ_ROLES, "Machine.Isolate") if r not in required]

    refused = await call(probe, name, simulator.issue_token(CONTOSO_TENANT, roles=others))
    allowed = await call(probe, name, simulator.issue_token(CONTOSO_TENANT, roles=required[-1:]))

    assert refused.status == 403
    assert f"API required roles: {','.join(required)}," in refused.json()["error"]["message"]
    assert allowed.status != 403
    assert allowed.status < 500


def test_roles_are_those_the_reference_documents() -> None:
    assert set(SAMPLE_CALLS) <= set(REQUIRED_ROLES)
    assert REQUIRED_ROLES["machine"] == ("Machine.Read.All", "Machine.ReadWrite.All")
    assert REQUIRED_ROLES["alert_domains"] == ("Url.Read.All", "URL.Read.All")
    assert REQUIRED_ROLES["alert_files"] == ("File.Read.All",)
    assert REQUIRED_ROLES["alert_ips"] == ("Ip.Read.All",)
    assert REQUIRED_ROLES["alert_user"] == ("User.Read.All",)
    assert REQUIRED_ROLES["file_alerts"] == ("Alert.Read.All", "Alert.ReadWrite.All")
    assert REQUIRED_ROLES["domain_alerts"] == ("Alert.Read.All", "Alert.ReadWrite.All")
    assert REQUIRED_ROLES["hunting"] == ("AdvancedQuery.Read.All",)


async def test_an_unlicensed_tenant_answers_403_disabled_feature() -> None:
    async with Simulator(seeded_tenants()) as sim, Probe.open(sim) as probe:
        token = (await probe.token(UNLICENSED_TENANT)).json()["access_token"]
        reply = await probe.get("/machines", token=token)

    assert reply.status == 403
    assert reply.code == "DisabledFeature"


# ------------------------------------------------------------------------------------ shapes


async def test_answers_carry_odata_headers_and_errors_mdes_envelope(
    probe: Probe, simulator: Simulator
) -> None:
    token = simulator.issue_token(CONTOSO_TENANT)
    ok = await probe.get("/machines", token=token, params={"$top": "1"})
    missing = await probe.get("/machines/0000000000000000000000000000000000000000", token=token)

    assert ok.headers["OData-Version"] == "4.0"
    assert ok.headers["Content-Type"] == CONTENT_TYPE
    assert ok.json()["@odata.context"] == f"{simulator.api_url}/api/$metadata#Machines"
    assert missing.status == 404
    error = missing.json()["error"]
    assert error["code"] == "ResourceNotFound"
    assert error["message"] == "Machine 0000000000000000000000000000000000000000 was not found"
    assert error["target"]


async def test_the_version_segment_is_optional_and_counted_alike(
    probe: Probe, simulator: Simulator
) -> None:
    token = simulator.issue_token(CONTOSO_TENANT)
    latest = await probe.get(f"/machines/{DEMO_HOST}", token=token)
    versioned = await probe.get(f"/v1.0/machines/{DEMO_HOST}", token=token)

    assert versioned.status == 200
    assert versioned.json()["id"] == latest.json()["id"]
    assert simulator.calls["machine"] == 2


async def test_unknown_api_paths_and_methods_get_json_errors(
    probe: Probe, simulator: Simulator
) -> None:
    token = simulator.issue_token(CONTOSO_TENANT)
    unknown = await probe.get("/vulnerabilities", token=token)
    wrong_method = await probe.request(
        "DELETE", f"{simulator.api_url}/api/machines", headers={"Authorization": f"Bearer {token}"}
    )

    assert unknown.status == 404
    assert unknown.code == "ResourceNotFound"
    assert wrong_method.status == 405
    assert simulator.calls["unknown"] == 2


async def test_paging_without_top_follows_next_links_that_keep_the_filter(
    probe: Probe, simulator: Simulator
) -> None:
    simulator.knobs.page_size = 40
    token = simulator.issue_token(CONTOSO_TENANT)
    query = {"$filter": "healthStatus eq 'Active' or healthStatus eq 'Inactive'"}
    everything = (await probe.get("/machines/$count", token=token, params=query)).text

    rows: list[dict[str, Any]] = []
    reply = await probe.get("/machines", token=token, params=query)
    while True:
        body = reply.json()
        rows += body["value"]
        link = body.get("@odata.nextLink")
        if link is None:
            break
        assert "healthStatus" in link
        reply = await probe.request("GET", link, headers={"Authorization": f"Bearer {token}"})

    assert len(rows) == int(everything) > 40
    assert len({r["id"] for r in rows}) == len(rows)
    assert all(r["healthStatus"] in {"Active", "Inactive"} for r in rows)


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"$top": "10001"}, "ODataError"),
        ({"$top": "-1"}, "ODataError"),
        ({"$top": "ten"}, "ODataError"),
        ({"$skip": "1e3"}, "ODataError"),
        ({"$select": "noSuchField"}, "ODataError"),
        ({"$filter": "lastExternalIpAddress eq '203.0.113.24'"}, "ODataError"),
    ],
)
async def test_bad_query_options_are_400(
    probe: Probe, simulator: Simulator, params: dict[str, str], code: str
) -> None:
    reply = await probe.get("/machines", token=simulator.issue_token(CONTOSO_TENANT), params=params)

    assert reply.status == 400
    assert reply.code == code


async def test_with_top_there_is_no_next_link(probe: Probe, simulator: Simulator) -> None:
    simulator.knobs.page_size = 5
    token = simulator.issue_token(CONTOSO_TENANT)

    body = (await probe.get("/alerts", token=token, params={"$top": "7"})).json()

    assert len(body["value"]) == 7
    assert "@odata.nextLink" not in body


# ------------------------------------------------------------------------------------ limits


async def test_own_rate_limit_is_429_with_retry_after(probe: Probe, simulator: Simulator) -> None:
    simulator.knobs.rate_limit = 3
    token = simulator.issue_token(CONTOSO_TENANT)

    replies = [await probe.get("/machines/$count", token=token) for _ in range(4)]

    assert [r.status for r in replies] == [200, 200, 200, 429]
    assert replies[-1].code == "TooManyRequests"
    assert 1 <= int(replies[-1].headers["Retry-After"]) <= 60
    assert simulator.calls["429"] == simulator.calls["over_budget"] == 1
    assert simulator.peak_window_calls == 4  # every call seen, the refused one too


async def test_the_rate_window_slides(probe: Probe, simulator: Simulator) -> None:
    simulator.knobs.rate_limit = 2
    simulator.knobs.rate_window = 0.3
    token = simulator.issue_token(CONTOSO_TENANT)

    first = [(await probe.get("/machines/$count", token=token)).status for _ in range(3)]
    await asyncio.sleep(0.35)
    later = await probe.get("/machines/$count", token=token)

    assert first == [200, 200, 429]
    assert later.status == 200


async def test_hunting_has_its_own_budget(probe: Probe, simulator: Simulator) -> None:
    simulator.knobs.hunting_rate_limit = 1
    token = simulator.issue_token(CONTOSO_TENANT)
    query = {"Query": "DeviceInfo | take 1"}

    first = await probe.hunt(query, token=token)
    second = await probe.hunt(query, token=token)
    api = await probe.get("/machines/$count", token=token)

    assert first.status == 400  # not a template the simulator answers, but within budget
    assert second.status == 429
    assert "Retry-After" in second.headers
    assert api.status == 200
    assert simulator.peak_hunting_window_calls == 2


async def test_the_budget_is_per_app_and_tenant(probe: Probe, simulator: Simulator) -> None:
    simulator.knobs.rate_limit = 1
    contoso = simulator.issue_token(CONTOSO_TENANT)
    other_app = simulator.issue_token(CONTOSO_TENANT, client_id="another-app")

    assert (await probe.get("/machines/$count", token=contoso)).status == 200
    assert (await probe.get("/machines/$count", token=contoso)).status == 429
    assert (await probe.get("/machines/$count", token=other_app)).status == 200


# ------------------------------------------------------------------------------------ knobs


async def test_forced_faults_answer_the_next_calls_in_order(
    probe: Probe, simulator: Simulator
) -> None:
    simulator.force(Fault(503), Fault(429, retry_after=7.2), Fault(500, code="ServerBusy"))
    token = simulator.issue_token(CONTOSO_TENANT)

    replies = [await probe.get("/machines/$count", token=token) for _ in range(4)]

    assert [r.status for r in replies] == [503, 429, 500, 200]
    assert replies[1].headers["Retry-After"] == "8"
    assert [r.code for r in replies[:3]] == ["InternalServerError", "TooManyRequests", "ServerBusy"]
    assert simulator.calls["429"] == 1
    assert simulator.calls["over_budget"] == 0


async def test_a_429_storm_lasts_its_seconds(probe: Probe, simulator: Simulator) -> None:
    token = simulator.issue_token(CONTOSO_TENANT)
    simulator.storm_429(0.3)

    during = [await probe.get("/machines/$count", token=token) for _ in range(3)]
    await asyncio.sleep(0.35)
    after = await probe.get("/machines/$count", token=token)

    assert {r.status for r in during} == {429}
    assert all(r.headers["Retry-After"] == "1" for r in during)
    assert after.status == 200
    assert simulator.calls["429"] == 3


async def test_random_errors_and_timeouts_at_full_rate(probe: Probe, simulator: Simulator) -> None:
    token = simulator.issue_token(CONTOSO_TENANT)
    simulator.knobs.error_rate = 1.0
    simulator.knobs.error_status = 502
    errored = await probe.get("/machines/$count", token=token)
    simulator.knobs.error_rate = 0.0
    simulator.knobs.timeout_rate = 1.0
    simulator.knobs.hang_seconds = 0.2
    started = time.monotonic()
    hung = await probe.get("/machines/$count", token=token)

    assert errored.status == 502
    assert hung.status == 500
    assert time.monotonic() - started >= 0.2


async def test_latency_global_and_per_endpoint(probe: Probe, simulator: Simulator) -> None:
    token = simulator.issue_token(CONTOSO_TENANT)
    simulator.knobs.latency = 0.05
    simulator.knobs.route_latency["machines_count"] = 0.15

    started = time.monotonic()
    await probe.get("/machines", token=token, params={"$top": "1"})
    plain = time.monotonic() - started
    started = time.monotonic()
    await probe.get("/machines/$count", token=token)
    slowed = time.monotonic() - started

    assert 0.05 <= plain < 0.2
    assert slowed >= 0.2


async def test_a_hanging_call_does_not_hold_up_stopping_the_simulator() -> None:
    sim = await Simulator().start()
    sim.force(Fault(hang=30))
    async with Probe.open(sim) as probe:
        token = sim.issue_token(CONTOSO_TENANT)
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(0.2):
                await probe.get("/machines/$count", token=token)
    started = time.monotonic()
    await sim.stop()

    assert time.monotonic() - started < 1.5


async def test_counters_per_endpoint_and_their_reset(probe: Probe, simulator: Simulator) -> None:
    token = (await probe.token(CONTOSO_TENANT)).json()["access_token"]
    await probe.get("/machines", token=token, params={"$top": "1"})
    await probe.get(f"/machines/{DEMO_HOST}/alerts", token=token)
    await probe.get(f"/machines/{DEMO_HOST}/alerts", token=token)
    await probe.get("/machines", token=None)

    assert simulator.calls["machines"] == 2
    assert simulator.calls["machine_alerts"] == 2
    assert simulator.calls["*"] == 4
    assert simulator.token_requests == 1
    assert simulator.peak_window_calls == 3  # per app and tenant: the anonymous call apart

    simulator.reset_counters()

    assert simulator.calls == {}
    assert simulator.token_requests == 0
    assert simulator.peak_window_calls == 0


async def test_the_simulator_starts_fast() -> None:
    started = time.monotonic()
    async with Simulator():
        ready = time.monotonic() - started

    assert ready < 0.5


async def test_the_api_is_served_over_tls_only(simulator: Simulator) -> None:
    async with aiohttp.ClientSession() as session:
        with pytest.raises(aiohttp.ClientConnectorCertificateError):
            await session.get(f"{simulator.api_url}/api/machines")
