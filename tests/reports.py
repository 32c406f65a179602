"""Finished reports built by hand, for the renderer's tests: MDE rows as MDE sends them,
normalized by the bot's own code."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from bot import render
from bot.enrichment.results import ConnectorReport, DeviceResult
from bot.indicators import Indicator, IndicatorType
from bot.mde.models import Alert, Machine
from bot.mde.normalize import device_from_machine, finding_from_alert
from tests.blockkit import assert_no_injected_markup, assert_valid_blocks

PORTAL = "https://security.microsoft.com"
TENANT = "4f1c2a0e-6b1d-4c1e-9a57-0c7d3f1e2a10"
NOW = datetime(2026, 11, 27, 22, 0, tzinfo=UTC)
IP = Indicator(IndicatorType.IPV4, "10.1.2.3")
EVIL = "<!channel> <@U0ADMIN> <https://evil.example/x|click me> & `tick` *bold*"


def machine(n: int = 0, **changes: Any) -> Machine:
    row: dict[str, Any] = {
        "id": f"{n:040x}",
        "computerDnsName": f"ws-{n:03d}.corp.contoso.com",
        "lastSeen": (NOW - timedelta(hours=n)).isoformat(),
        "osPlatform": "Windows11",
        "version": "23H2",
        "osBuild": 22631,
        "lastIpAddress": "10.1.2.3",
        "healthStatus": "Active",
        "riskScore": "High",
        "exposureLevel": "Medium",
        "machineTags": ["Tier0"],
    }
    row.update(changes)
    return Machine.model_validate(row)


def alert(n: int, severity: str = "High", **changes: Any) -> Alert:
    row: dict[str, Any] = {
        "id": f"da6386712345678{n:05d}_1",
        "title": f"Alert number {n}",
        "severity": severity,
        "status": "New",
        "category": "Execution",
        "detectionSource": "WindowsDefenderAtp",
        "alertCreationTime": (NOW - timedelta(minutes=n)).isoformat(),
        "firstEventTime": (NOW - timedelta(minutes=n)).isoformat(),
        "machineId": f"{0:040x}",
        "computerDnsName": "ws-000.corp.contoso.com",
        "aadTenantId": TENANT,
        "mitreTechniques": ["T1059.001"],
    }
    row.update(changes)
    return Alert.model_validate(row)


def connector(alias: str = "contoso", **fields: Any) -> ConnectorReport:
    return ConnectorReport(alias=alias, portal_url=PORTAL, tenant_id=TENANT, **fields)


def device_result(
    m: Machine, alerts: list[Alert], matched: tuple[Indicator, ...] = (IP,)
) -> DeviceResult:
    findings = tuple(finding_from_alert(a, portal_url=PORTAL) for a in alerts)
    return DeviceResult(device_from_machine(m), findings, matched)


def check_message_is_safe(message: render.Message) -> None:
    assert_valid_blocks(message.blocks)
    assert_no_injected_markup(message.blocks, message.text)
    assert "\n" not in message.text
