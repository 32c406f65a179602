"""Test connection: for each connector, exactly what works and what is wrong.

    1. a token (or the AADSTS error in plain words)
    2. the token's audience (MDE refuses tokens meant for another resource)
    3. the `roles` in the token against what each feature needs (the lookups' are required,
       hunting and the response actions' are optional)
    4. one live call (`GET /api/machines?$top=1`): a 403 there means no licence or a missing role

Backs both `mde-bot check` and `/mde check`. Never shows a secret or a token. Which response
actions the roles allow is `allowed_actions`, for the policy that offers them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from bot.enrichment.results import CheckReport, ConnectorCheck, Permission, Step
from bot.errors import MdeError, MdeForbidden
from bot.mde.actions import ACTION_ROLES, MACHINE_ACTION_TYPES, MACHINE_READ, TI_READ, ActionKind
from bot.mde.auth import TokenClaims
from bot.mde.client import MdeClient


@dataclass(frozen=True, slots=True)
class Feature:
    name: str
    roles: tuple[str, ...]  # any one of them grants the feature
    required: bool = True


LOOKUP_FEATURES = (
    Feature("Devices by IP and host name", MACHINE_READ),
    Feature("Alerts of devices, IPs, files, domains", ("Alert.Read.All", "Alert.ReadWrite.All")),
    Feature("File profiles (SHA-1, SHA-256)", ("File.Read.All",)),
    Feature(
        "Public IPs, MD5s and file names (advanced hunting)",
        ("AdvancedQuery.Read.All",),
        required=False,
    ),
)
# The response actions: optional, a bot that only looks things up needs none of them.
ACTION_FEATURES = (
    Feature("Isolate and release devices", ACTION_ROLES[ActionKind.ISOLATE], required=False),
    Feature("Antivirus scans", ACTION_ROLES[ActionKind.SCAN], required=False),
    Feature("Investigation packages", ACTION_ROLES[ActionKind.COLLECT], required=False),
    Feature("Restrict app execution", ACTION_ROLES[ActionKind.RESTRICT], required=False),
    Feature("Stop and quarantine files", ACTION_ROLES[ActionKind.QUARANTINE], required=False),
    Feature("Device tags", ACTION_ROLES[ActionKind.TAG], required=False),
    Feature("Triage alerts", ACTION_ROLES[ActionKind.TRIAGE], required=False),
    Feature("Custom indicators", ACTION_ROLES[ActionKind.BLOCK], required=False),
    Feature("Read custom indicators", TI_READ, required=False),
)
FEATURES = LOOKUP_FEATURES + ACTION_FEATURES

# Audiences MDE accepts: its resource URI, the app-ID URIs and the WindowsDefenderATP app id.
MDE_AUDIENCES = frozenset(
    {
        "https://api.securitycenter.microsoft.com",
        "https://api.securitycenter.microsoft.us",
        "https://securitycenter.onmicrosoft.com/windowsatpservice",
        "https://securitycenter.onmicrosoft.us/windowsatpservice",
        "fc780465-2017-40d4-a0c5-307022471b92",
    }
)


def granted_permissions(roles: frozenset[str]) -> tuple[Permission, ...]:
    return tuple(
        Permission(f.name, f.roles, bool(roles & set(f.roles)), f.required) for f in FEATURES
    )


def allowed_actions(roles: Iterable[str]) -> frozenset[ActionKind]:
    """The response actions a token with these `roles` can take *and follow*: the action's own
    role (`ACTION_ROLES`), and for the actions that create a machine action, a role that reads
    machine actions too (Machine.Read.All or Machine.ReadWrite.All), without which its status
    could neither be polled nor an unconfirmed request be looked for. Tags, triage and
    indicators read back with the role that writes them."""
    granted = frozenset(roles)
    follows = bool(granted & set(MACHINE_READ))
    return frozenset(
        kind
        for kind, needs in ACTION_ROLES.items()
        if granted & set(needs) and (follows or kind not in MACHINE_ACTION_TYPES)
    )


def audience_step(claims: TokenClaims) -> Step:
    if claims.audience.rstrip("/") in MDE_AUDIENCES:
        return Step(True, f"token audience is MDE ({claims.audience})")
    return Step(
        False,
        f"the token is for {claims.audience or 'an unknown resource'}, not MDE",
        "set the connector's scope to the MDE scope of its cloud (see .env.example)",
    )


def _result(
    client: MdeClient,
    token: Step,
    *,
    audience: Step | None = None,
    permissions: tuple[Permission, ...] = (),
    probe: Step | None = None,
) -> ConnectorCheck:
    connector = client.connector
    return ConnectorCheck(
        alias=connector.alias,
        cloud=connector.cloud.value,
        api_url=connector.resolved_api_url,
        authority=connector.resolved_authority,
        token=token,
        audience=audience,
        permissions=permissions,
        probe=probe,
    )


async def check_connector(client: MdeClient) -> ConnectorCheck:
    try:
        claims = await client.tokens.claims()
    except MdeError as exc:
        return _result(client, Step(False, exc.message, exc.hint))
    token = Step(True, "token acquired")
    if not claims.roles:
        token = Step(
            True,
            "token acquired, but it carries no application roles",
            "grant WindowsDefenderATP application permissions and admin consent",
        )
    try:
        await client.probe()
        probe = Step(True, "MDE answered a live call (GET /api/machines?$top=1)")
    except MdeForbidden as exc:
        if exc.code == "DisabledFeature":
            probe = Step(False, "MDE refused the live call: the tenant has no MDE licence")
        else:
            probe = Step(False, f"MDE refused the live call: {exc.message}", exc.hint)
    except MdeError as exc:
        probe = Step(False, f"the live call failed: {exc.message}", exc.hint)
    return _result(
        client,
        token,
        audience=audience_step(claims),
        permissions=granted_permissions(claims.roles),
        probe=probe,
    )


async def run_check(clients: Sequence[MdeClient], *, demo: bool = False) -> CheckReport:
    results = await asyncio.gather(*(check_connector(c) for c in clients))
    return CheckReport(tuple(results), demo=demo)
