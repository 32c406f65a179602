"""Test connection (`mde-bot check`, `/mde check`) on each seeded misconfiguration: real msal,
real HTTPS to the simulator; every problem explained, no secret ever shown. The response
actions' permissions are optional features, and `allowed_actions` says which actions a token's
roles can take."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import aiohttp
import pytest

from bot.demo.backend import simulator_connectors
from bot.demo.simulator import ALL_ACTION_ROLES, ALL_READ_ROLES, AppRegistration, Simulator
from bot.demo.simulator import data as d
from bot.enrichment.check import ACTION_FEATURES, LOOKUP_FEATURES, allowed_actions, run_check
from bot.enrichment.results import CheckReport, ConnectorCheck
from bot.mde.actions import ActionKind
from bot.mde.client import MdeClient
from bot.render import check_message
from bot.render.text import blocks_to_text
from bot.runtime import build_clients
from bot.settings import ConnectorSettings
from tests.conftest import bot_settings

CLIENT = "0b9f6a3e-2c4d-4e8f-9a1b-3c5d7e9f1a2b"
SECRET = "app-secret-value-that-must-never-print"


async def check(
    sim: Simulator, *, app: AppRegistration | None = None, licensed: bool = True, **changes: object
) -> ConnectorCheck:
    """Check one contoso connector, with `app` registered and the connector changed."""
    if app is not None:
        sim.register(app)
    base = next(c for c in simulator_connectors(sim) if c.alias == "contoso")
    sim.tenant("contoso").licensed = licensed
    values = {**base.model_dump(), "client_id": CLIENT, "client_secret": SECRET, **changes}
    connector = ConnectorSettings.model_validate(values)
    async with aiohttp.ClientSession() as session:
        clients: list[MdeClient] = await build_clients([connector], session, bot_settings())
        try:
            report: CheckReport = await run_check(clients)
        finally:
            clients[0].tokens.close()
    [result] = report.connectors
    return result


def app(tenant: str = d.CONTOSO_TENANT, **fields: object) -> AppRegistration:
    return AppRegistration(CLIENT, SECRET, tenant, **fields)  # type: ignore[arg-type]


LOOKUPS = {f.name for f in LOOKUP_FEATURES}
ACTIONS = [f.name for f in ACTION_FEATURES]


def missing(result: ConnectorCheck) -> list[str]:
    """The lookups' features that are missing (the actions' have tests of their own)."""
    return [p.feature for p in result.permissions if not p.granted and p.feature in LOOKUPS]


def missing_actions(result: ConnectorCheck) -> list[str]:
    return [p.feature for p in result.permissions if not p.granted and p.feature not in LOOKUPS]


async def test_a_good_connection_passes_every_step(simulator: Simulator) -> None:
    result = await check(simulator, app=app())
    assert result.ok
    assert result.token.message == "token acquired"
    assert result.audience is not None
    assert result.audience.ok
    assert result.probe is not None
    assert result.probe.ok
    assert missing(result) == []


async def test_wrong_secret(simulator: Simulator) -> None:
    result = await check(simulator, app=app(), client_secret="not-the-secret")
    assert not result.ok
    assert result.token.message == "AADSTS7000215: the client secret is wrong"
    assert result.token.hint.startswith("copy the secret's Value (not its ID)")
    assert result.probe is None


async def test_expired_secret(simulator: Simulator) -> None:
    result = await check(simulator, app=app(secret_expired=True))
    assert result.token.message == "AADSTS7000222: the client secret has expired"


async def test_unknown_client(simulator: Simulator) -> None:
    result = await check(simulator)
    assert result.token.message == (
        "AADSTS700016: no application with this client id exists in the tenant"
    )


async def test_unknown_tenant(simulator: Simulator) -> None:
    other = "11111111-2222-4333-8444-555555555555"
    result = await check(simulator, app=app(), authority=simulator.authority(other))
    assert result.token.message == "AADSTS90002: the tenant does not exist"


async def test_no_permission_granted_at_all(simulator: Simulator) -> None:
    result = await check(simulator, app=app(roles=()))
    assert not result.ok
    assert result.token.message == "token acquired, but it carries no application roles"
    assert len(missing(result)) == 4
    assert missing_actions(result) == ACTIONS
    assert result.probe is not None
    assert result.probe.message == "MDE refused the live call: the app lacks Machine.Read.All"


async def test_one_permission_missing(simulator: Simulator) -> None:
    roles = tuple(r for r in ALL_READ_ROLES if r != "Alert.Read.All")
    result = await check(simulator, app=app(roles=roles))
    assert not result.ok
    assert missing(result) == ["Alerts of devices, IPs, files, domains"]
    assert result.probe is not None
    assert result.probe.ok


async def test_only_the_optional_hunting_permission_missing_is_a_warning(
    simulator: Simulator,
) -> None:
    roles = tuple(r for r in ALL_READ_ROLES if r != "AdvancedQuery.Read.All")
    result = await check(simulator, app=app(roles=roles))
    assert result.ok
    assert missing(result) == ["Public IPs, MD5s and file names (advanced hunting)"]


async def test_tenant_without_licence(simulator: Simulator) -> None:
    result = await check(simulator, app=app(), licensed=False)
    assert not result.ok
    assert result.token.ok
    assert result.probe is not None
    assert result.probe.message == "MDE refused the live call: the tenant has no MDE licence"


async def test_token_for_another_resource(simulator: Simulator) -> None:
    result = await check(simulator, app=app(), scope="https://graph.microsoft.com/.default")
    assert not result.ok
    assert result.audience is not None
    assert result.audience.message == "the token is for https://graph.microsoft.com, not MDE"
    assert result.probe is not None
    assert not result.probe.ok


async def test_the_cli_explains_exits_non_zero_and_never_prints_the_secret(
    simulator: Simulator, tmp_path: Path
) -> None:
    simulator.register(app())
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("MDE_", "SLACK_", "BOT_"))},
        "MDE_ALIAS": "contoso",
        "MDE_TENANT_ID": d.CONTOSO_TENANT,
        "MDE_CLIENT_ID": CLIENT,
        "MDE_CLIENT_SECRET": "a-wrong-secret-that-must-never-print",
        "MDE_API_URL": simulator.api_url,
        "MDE_AUTHORITY": simulator.authority(d.CONTOSO_TENANT),
        "MDE_CA_BUNDLE": str(simulator.ca_path),
    }
    code, text = await check_cli(env, tmp_path)
    assert code == 1
    assert "❌ 1 connection needs attention: contoso" in text
    assert "AADSTS7000215: the client secret is wrong" in text
    assert "a-wrong-secret-that-must-never-print" not in text

    env["MDE_CLIENT_SECRET"] = SECRET
    code, text = await check_cli(env, tmp_path)
    assert code == 0, text
    assert "✅ The MDE connection works" in text
    assert SECRET not in text


async def check_cli(env: dict[str, str], cwd: Path) -> tuple[int | None, str]:
    """`mde-bot check` as a process (the simulator answers from this test's event loop)."""
    process = await asyncio.create_subprocess_exec(
        str(Path(sys.executable).with_name("mde-bot")),
        "check",
        env=env,
        cwd=cwd,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await process.communicate()
    return process.returncode, out.decode() + err.decode()


@pytest.mark.parametrize("alias", ["contoso", "fabrikam"])
async def test_embedded_defaults_check_green(simulator: Simulator, alias: str) -> None:
    base = next(c for c in simulator_connectors(simulator) if c.alias == alias)
    async with aiohttp.ClientSession() as session:
        clients = await build_clients([base], session, bot_settings())
        report = await run_check(clients, demo=True)
        clients[0].tokens.close()
    assert report.ok


# ------------------------------------------------------------------------------ response actions


async def test_a_read_only_app_passes_with_every_action_missing_as_optional(
    simulator: Simulator,
) -> None:
    """The simulator's read-only app reads custom indicators (Ti.Read.All), nothing more."""
    result = await check(simulator, app=app())

    assert result.ok
    assert missing_actions(result) == [a for a in ACTIONS if a != "Read custom indicators"]
    assert all(not p.required for p in result.permissions if p.feature in ACTIONS)
    shown = blocks_to_text(check_message(CheckReport((result,))).blocks)
    assert "⚠️ Isolate and release devices — `Machine.Isolate` missing (optional)" in shown
    assert (
        "⚠️ Stop and quarantine files — `Machine.StopAndQuarantine or Machine.ReadWrite.All` "
        "missing (optional)" in shown
    )


async def test_an_app_that_reads_and_acts_has_every_action(simulator: Simulator) -> None:
    result = await check(simulator, app=app(roles=ALL_READ_ROLES + ALL_ACTION_ROLES))

    assert result.ok
    assert missing_actions(result) == []
    assert allowed_actions(ALL_READ_ROLES + ALL_ACTION_ROLES) == frozenset(ActionKind)


async def test_one_action_role_grants_its_feature_alone(simulator: Simulator) -> None:
    result = await check(simulator, app=app(roles=(*ALL_READ_ROLES, "Machine.Scan")))

    assert missing_actions(result) == [
        a for a in ACTIONS if a not in {"Antivirus scans", "Read custom indicators"}
    ]


@pytest.mark.parametrize(
    ("roles", "allowed"),
    [
        ((), set()),
        (ALL_READ_ROLES, set()),
        (("Machine.Read.All", "Machine.Isolate"), {ActionKind.ISOLATE, ActionKind.RELEASE}),
        (("Machine.Read.All", "Machine.Scan"), {ActionKind.SCAN}),
        (("Machine.Read.All", "Machine.CollectForensics"), {ActionKind.COLLECT}),
        (
            ("Machine.Read.All", "Machine.RestrictExecution"),
            {ActionKind.RESTRICT, ActionKind.UNRESTRICT},
        ),
        (("Machine.Read.All", "Machine.StopAndQuarantine"), {ActionKind.QUARANTINE}),
        # Machine.ReadWrite.All reads devices and stands for Machine.StopAndQuarantine (as
        # documented), not for the other action roles.
        (("Machine.ReadWrite.All",), {ActionKind.QUARANTINE, ActionKind.TAG}),
        # An action role without a role that reads machine actions: not followable.
        (("Machine.Isolate", "Machine.Scan"), set()),
        (("Alert.ReadWrite.All",), {ActionKind.TRIAGE}),
        (("Alert.Read.All",), set()),
        (("Ti.ReadWrite",), {ActionKind.BLOCK}),
        (("Ti.ReadWrite.All",), {ActionKind.BLOCK}),
        (("Ti.Read.All",), set()),
    ],
)
def test_allowed_actions(roles: tuple[str, ...], allowed: set[ActionKind]) -> None:
    assert allowed_actions(roles) == allowed
