"""Every lookup kind end to end: the service, real msal and real HTTPS to the simulator. Each
test also pins what the lookup costs in MDE calls (cold cache), per connector."""

from __future__ import annotations

import contextlib
import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from structlog.testing import capture_logs

from bot.demo.simulator import ALL_READ_ROLES, AppRegistration, Simulator
from bot.demo.simulator import data as d
from bot.demo.simulator.server import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET
from bot.enrichment.results import ConnectorReport, Problem, Report
from bot.enrichment.service import EnrichmentService
from bot.indicators import Extraction, Indicator
from bot.indicators import IndicatorType as T
from bot.mde import lookups
from bot.mde.client import MdeClient
from bot.runtime import Backend, open_backend
from bot.slack.services import Services
from tests.conftest import bot_settings


@pytest.fixture
async def backend(simulator: Simulator) -> AsyncIterator[Backend]:
    async with open_backend([], bot_settings(), simulator=simulator) as opened:
        yield opened


@pytest.fixture
def service(backend: Backend) -> EnrichmentService:
    return Services.build(backend, bot_settings()).enrichment


@contextlib.asynccontextmanager
async def without_role(simulator: Simulator, role: str) -> AsyncIterator[EnrichmentService]:
    """A service whose app registrations lack `role` in every tenant."""
    roles = tuple(r for r in ALL_READ_ROLES if r != role)
    simulator.apps[:] = [
        AppRegistration(DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, t.tenant_id, roles)
        for t in simulator.tenants.values()
    ]
    async with open_backend([], bot_settings(), simulator=simulator) as backend:
        yield Services.build(backend, bot_settings()).enrichment


async def look(service: EnrichmentService, *indicators: Indicator, **options: object) -> Report:
    return await service.lookup(Extraction(tuple(indicators)), **options)  # type: ignore[arg-type]


def contoso(report: Report) -> ConnectorReport:
    return next(c for c in report.connectors if c.alias == "contoso")


def hostnames(connector: ConnectorReport) -> set[str]:
    return {r.device.hostname or "" for r in connector.devices}


def titles(connector: ConnectorReport) -> set[str]:
    return {f.finding_info.title or "" for f in connector.all_findings()}


async def test_internal_ip_finds_the_device_and_its_alerts(
    service: EnrichmentService, simulator: Simulator
) -> None:
    report = await look(service, Indicator(T.IPV4, d.DEMO_IP))

    [device] = contoso(report).devices
    assert device.device.hostname == d.DEMO_HOST
    assert len(device.findings) == 3
    # per tenant: devices by lastIpAddress + the IP's alerts; then the device's alerts
    assert dict(simulator.calls) == {"*": 5, "machines": 2, "ip_alerts": 2, "machine_alerts": 1}


async def test_ip_shared_by_several_devices_lists_them_all(service: EnrichmentService) -> None:
    report = await look(service, Indicator(T.IPV4, d.SHARED_IP))
    assert {h.split(".")[0] for h in hostnames(contoso(report))} == set(d.SHARED_IP_HOSTS)


async def test_ip_at_a_time_asks_findbyip(service: EnrichmentService, simulator: Simulator) -> None:
    now = datetime.now(UTC)
    recent = await look(service, Indicator(T.IPV4, d.SHARED_IP), at=now - timedelta(hours=1))
    too_old = await look(service, Indicator(T.IPV4, d.SHARED_IP), at=now - timedelta(days=40))

    assert 1 <= len(contoso(recent).devices) < len(d.SHARED_IP_HOSTS)
    assert contoso(too_old).devices == ()
    assert simulator.calls["findbyip"] == 2  # the 40-day-old question is not sent at all


async def test_public_ip_uses_hunting_when_permitted(
    service: EnrichmentService, simulator: Simulator
) -> None:
    report = await look(service, Indicator(T.IPV4, d.DEMO_EXTERNAL_IP))
    connector = contoso(report)
    behind = [
        m
        for m in simulator.tenant("contoso").machines
        if m.get("lastExternalIpAddress") == d.DEMO_EXTERNAL_IP
    ]
    assert len(behind) > 10
    assert len(connector.devices) + connector.more_devices == len(behind)
    assert simulator.calls["hunting"] == 2  # one per tenant
    assert connector.notes == ()


async def test_public_ip_without_hunting_says_why(simulator: Simulator) -> None:
    async with without_role(simulator, "AdvancedQuery.Read.All") as service:
        report = await look(service, Indicator(T.IPV4, d.DEMO_EXTERNAL_IP))
    [note] = contoso(report).notes
    assert note.text.startswith("public IP: MDE cannot filter devices by their public IP")
    assert "AdvancedQuery.Read.All" in note.text
    assert simulator.calls["hunting"] == 0


async def test_bare_host_name_falls_back_to_a_prefix_match(
    service: EnrichmentService, simulator: Simulator
) -> None:
    report = await look(service, Indicator(T.HOSTNAME, "ws-fin-042"))
    [device] = contoso(report).devices
    assert device.device.hostname == d.DEMO_HOST
    assert not device.loose  # `ws-fin-042.corp…` is the whole first label
    # per tenant: exact, then prefix; then the device's alerts
    assert dict(simulator.calls) == {"*": 5, "machines": 4, "machine_alerts": 1}


async def test_fqdn_is_an_exact_match_in_one_call(
    service: EnrichmentService, simulator: Simulator
) -> None:
    await look(service, Indicator(T.HOSTNAME, d.DEMO_HOST), tenants=["contoso"])
    assert simulator.calls["machines"] == 1


async def test_twenty_host_names_cost_two_calls_for_the_device_step(
    service: EnrichmentService, simulator: Simulator
) -> None:
    names = [f"ws-fin-{n:03d}" for n in range(1, 21)]
    report = await look(service, *(Indicator(T.HOSTNAME, n) for n in names), tenants=["contoso"])
    assert len(contoso(report).devices) + contoso(report).more_devices >= 10
    assert simulator.calls["machines"] <= 2


async def test_sha1_gives_profile_alerts_and_devices(
    service: EnrichmentService, simulator: Simulator
) -> None:
    report = await look(service, Indicator(T.SHA1, d.DEMO_SHA1), tenants=["contoso"])
    connector = contoso(report)
    assert [f.info.sha256 for f in connector.files] == [d.DEMO_SHA256]
    assert len(connector.findings) == 3
    assert d.DEMO_HOST in hostnames(connector)
    assert simulator.calls["file"] == simulator.calls["file_alerts"] == 1
    assert simulator.calls["file_machines"] == 1


async def test_sha256_is_resolved_to_sha1_first(
    service: EnrichmentService, simulator: Simulator
) -> None:
    report = await look(service, Indicator(T.SHA256, d.DEMO_SHA256), tenants=["contoso"])
    assert len(contoso(report).findings) == 3
    assert simulator.calls["file"] == 1  # the profile, by SHA-256; the SHA-1 endpoints after


async def test_unknown_sha256_says_so(service: EnrichmentService) -> None:
    report = await look(service, Indicator(T.SHA256, "0" * 64), tenants=["contoso"])
    [note] = contoso(report).notes
    assert note.text == "MDE has no record of this file"


async def test_md5_goes_through_hunting(service: EnrichmentService, simulator: Simulator) -> None:
    report = await look(service, Indicator(T.MD5, d.DEMO_MD5), tenants=["contoso"])
    assert len(contoso(report).findings) == 3
    assert simulator.calls["hunting"] == 1


async def test_file_name_finds_the_alerts_naming_it(
    service: EnrichmentService, simulator: Simulator
) -> None:
    report = await look(service, Indicator(T.FILENAME, d.DEMO_FILE), tenants=["contoso"])
    assert len(contoso(report).findings) == 3
    assert dict(simulator.calls) == {"*": 2, "hunting": 1, "alerts": 1}


async def test_file_name_without_hunting_scans_recent_evidence(simulator: Simulator) -> None:
    async with without_role(simulator, "AdvancedQuery.Read.All") as service:
        report = await look(service, Indicator(T.FILENAME, d.DEMO_FILE), tenants=["contoso"])
    connector = contoso(report)
    assert connector.findings  # the campaign is recent: inside the 7-day window
    [note] = connector.notes
    assert note.text.startswith("file name: searched the evidence of the last 7 days")


@pytest.mark.parametrize("kind", [T.DOMAIN, T.URL])
async def test_domain_and_url_find_alerts_and_devices(service: EnrichmentService, kind: T) -> None:
    value = d.DEMO_DOMAIN if kind is T.DOMAIN else d.DEMO_URL
    report = await look(service, Indicator(kind, value), tenants=["contoso"])
    connector = contoso(report)
    assert len(connector.findings) >= 3
    assert d.DEMO_HOST in hostnames(connector)


async def test_device_and_alert_by_id(service: EnrichmentService) -> None:
    by_id = await service.device_report(d.DEMO_MACHINE_ID, tenants=["contoso"])
    by_name = await service.device_report("ws-fin-042")
    assert hostnames(contoso(by_id)) == hostnames(contoso(by_name)) == {d.DEMO_HOST}
    assert len(contoso(by_id).devices[0].findings) == 3


async def test_same_indicator_twice_costs_no_second_call(
    service: EnrichmentService, simulator: Simulator
) -> None:
    first = await look(service, Indicator(T.IPV4, d.DEMO_IP))
    calls = simulator.calls["*"]
    second = await look(service, Indicator(T.IPV4, d.DEMO_IP))
    assert simulator.calls["*"] == calls
    assert contoso(first).devices == contoso(second).devices


async def test_identical_lookups_in_flight_share_their_calls(
    service: EnrichmentService, simulator: Simulator
) -> None:
    import asyncio

    simulator.knobs.latency = 0.05
    await asyncio.gather(*(look(service, Indicator(T.IPV4, d.DEMO_IP)) for _ in range(10)))
    assert simulator.calls["machines"] == 2


async def test_a_failing_connector_never_hides_the_others(
    service: EnrichmentService, simulator: Simulator
) -> None:
    simulator.tenant("fabrikam").licensed = False
    report = await look(service, Indicator(T.IPV4, d.CROSS_TENANT_IP))
    by_alias = {c.alias: c for c in report.connectors}
    assert by_alias["contoso"].devices
    [problem] = by_alias["fabrikam"].problems
    assert problem.message == "MDE is not enabled for this tenant"
    assert problem.hint == "the tenant needs a Defender for Endpoint licence and onboarding"


async def test_a_missing_role_names_the_role_and_the_fix(simulator: Simulator) -> None:
    async with without_role(simulator, "Alert.Read.All") as service:
        report = await look(service, Indicator(T.IPV4, d.DEMO_IP), tenants=["contoso"])
    connector = contoso(report)
    assert hostnames(connector) == {d.DEMO_HOST}  # devices still answered
    [problem] = connector.problems
    assert problem.message == "the app lacks Alert.Read.All"
    assert problem.hint.startswith("ask an Entra admin to grant Alert.Read.All")


async def test_titles_are_the_simulators(service: EnrichmentService) -> None:
    report = await look(service, Indicator(T.IPV4, d.DEMO_IP))
    assert "Credential dumping activity observed" in titles(contoso(report))


UNREADABLE = Problem(
    "contoso",
    "1 record from MDE could not be read and is left out",
    "the rest is shown; if it keeps happening, tell whoever runs the bot",
)


async def test_a_malformed_record_costs_only_itself_is_said_and_is_not_cached() -> None:
    """One row MDE sends without an id is left out (and logged); the rest of the answer stands,
    the answer says a record could not be read, and that answer is not cached.

    Before: the row vanished silently, so an answer of only unreadable rows read as "MDE
    knows none", and was cached for 5 minutes."""
    good = dict(next(m for m in d.contoso().machines if m["lastIpAddress"] == d.DEMO_IP))
    broken = {"computerDnsName": "broken.corp.contoso.com", "lastIpAddress": d.DEMO_IP}
    tenant = d.Tenant(d.CONTOSO_TENANT, "contoso", machines=[good, broken], alerts=[])
    async with (
        Simulator(tenants=[tenant]) as simulator,
        open_backend([], bot_settings(), simulator=simulator) as backend,
    ):
        service = Services.build(backend, bot_settings()).enrichment
        with capture_logs() as logged:
            report = await look(service, Indicator(T.IPV4, d.DEMO_IP))
        again = await look(service, Indicator(T.IPV4, d.DEMO_IP))
    connector = contoso(report)
    assert hostnames(connector) == {d.DEMO_HOST}
    assert connector.problems == (UNREADABLE,)
    assert contoso(again).problems == (UNREADABLE,)
    assert simulator.calls["machines"] == 2  # asked again: the partial answer was not kept
    assert {"event": "mde_row_unreadable", "model": "Machine", "reason": "no id"} in [
        {k: e[k] for k in ("event", "model", "reason") if k in e} for e in logged
    ]


async def test_an_answer_of_unreadable_records_is_not_read_as_nothing_found() -> None:
    broken = {"computerDnsName": "broken.corp.contoso.com", "lastIpAddress": d.DEMO_IP}
    tenant = d.Tenant(d.CONTOSO_TENANT, "contoso", machines=[broken], alerts=[])
    async with (
        Simulator(tenants=[tenant]) as simulator,
        open_backend([], bot_settings(), simulator=simulator) as backend,
    ):
        service = Services.build(backend, bot_settings()).enrichment
        report = await look(service, Indicator(T.IPV4, d.DEMO_IP))
    assert not report.found_anything
    assert report.problems == (UNREADABLE,)


async def test_a_bug_in_one_connector_is_a_reference_logged_and_never_hides_the_others(
    backend: Backend, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A bug while one connector answers (here: its device lookup raises) becomes a problem on
    that connector alone, with a reference id that the log carries with the traceback; the
    other connector's answer stands."""
    real = lookups.devices_by_ip

    async def broken_for_contoso(client: MdeClient, ips: list[str]) -> lookups.DeviceMatches:
        if client.alias == "contoso":
            raise RuntimeError("a bug")
        return await real(client, ips)

    monkeypatch.setattr(lookups, "devices_by_ip", broken_for_contoso)
    service = Services.build(backend, bot_settings()).enrichment

    with capture_logs() as logged:
        report = await look(service, Indicator(T.IPV4, d.CROSS_TENANT_IP))

    [problem] = contoso(report).problems
    match = re.fullmatch(r"unexpected error \(reference ([0-9a-f]{8})\)", problem.message)
    assert match is not None
    [event] = [e for e in logged if e["event"] == "connector_failed"]
    assert (event["connector"], event["reference"]) == ("contoso", match.group(1))
    fabrikam = next(c for c in report.connectors if c.alias == "fabrikam")
    assert fabrikam.problems == ()
    assert fabrikam.devices


async def test_a_domain_that_is_a_devices_dns_name_finds_the_device_in_the_same_call(
    service: EnrichmentService, simulator: Simulator
) -> None:
    """`ws-fin-042.corp.contoso.com`, under a public suffix and with no internal suffix
    configured, is a domain indicator: it is also asked as a device name, in the one batched
    device call (never a prefix search), and the domain's own lookups stay."""
    report = await look(
        service, Indicator(T.DOMAIN, d.DEMO_HOST), Indicator(T.DOMAIN, "evil-cdn.net")
    )

    [device] = contoso(report).devices
    assert device.device.hostname == d.DEMO_HOST
    assert [i.value for i in device.matched] == [d.DEMO_HOST]
    assert simulator.calls["machines"] == 2  # one exact-name call per tenant, no prefix call
    assert simulator.calls["domain_alerts"] == 4  # both domains, both tenants
