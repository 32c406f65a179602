"""The renderer: Slack's limits everywhere, escaping of everything untrusted, defanged
indicators, mobile-first summaries. Pure: no network, finished models in, blocks out."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot import render
from bot.enrichment.check import granted_permissions
from bot.enrichment.results import (
    CheckReport,
    ConnectorCheck,
    ConnectorReport,
    DeviceResult,
    FileResult,
    FindingResult,
    Note,
    Problem,
    Report,
    Step,
)
from bot.indicators import Indicator, IndicatorType
from bot.mde.models import Alert, FileInfo, Machine
from bot.mde.normalize import device_from_machine, finding_from_alert
from bot.render.kit import clip
from bot.render.text import blocks_to_text
from bot.slack.buttons import ActionId, DeviceRef, ReportRef
from tests.blockkit import assert_no_injected_markup, assert_valid_blocks, texts

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


def connector(**fields: Any) -> ConnectorReport:
    return ConnectorReport(alias="contoso", portal_url=PORTAL, tenant_id=TENANT, **fields)


def device_result(
    m: Machine, alerts: list[Alert], matched: tuple[Indicator, ...] = (IP,)
) -> DeviceResult:
    findings = tuple(finding_from_alert(a, portal_url=PORTAL) for a in alerts)
    return DeviceResult(device_from_machine(m), findings, matched)


def check_message_is_safe(message: render.Message) -> None:
    assert_valid_blocks(message.blocks)
    assert_no_injected_markup(message.blocks, message.text)
    assert "\n" not in message.text


def test_summary_leads_and_is_the_notification_text() -> None:
    report = Report(
        (IP,),
        (connector(devices=(device_result(machine(), [alert(1), alert(2), alert(3, "Low")]),)),),
    )
    message = render.report_message(report, report_id="0123456789abcdef")

    assert message.text == "🔴 2 High alerts · ws-000 · contoso"
    assert message.blocks[0]["text"]["text"] == "*🔴 2 High alerts · ws-000 · contoso*"
    check_message_is_safe(message)


@pytest.mark.parametrize(
    ("report", "summary"),
    [
        (Report((IP,), (connector(),)), "⚪ MDE knows none of 1 indicator"),
        (
            Report(
                (IP,), (connector(problems=(Problem("contoso", "the app lacks Alert.Read.All"),)),)
            ),
            "⚠️ contoso: the app lacks Alert.Read.All",
        ),
        (
            Report(
                (Indicator(IndicatorType.DOMAIN, "evil.example.com"),),
                (
                    connector(
                        findings=(
                            FindingResult(
                                finding_from_alert(alert(1, "Medium"), portal_url=PORTAL)
                            ),
                        )
                    ),
                ),
            ),
            "🟠 1 Medium alert · evil[.]example[.]com · contoso",
        ),
        (
            Report(
                (IP,),
                (
                    connector(
                        devices=(device_result(machine(0), []), device_result(machine(1), []))
                    ),
                ),
            ),
            "⚪ no alerts · 2 devices · contoso",
        ),
    ],
)
def test_summary_line_for_each_kind_of_answer(report: Report, summary: str) -> None:
    assert render.summary_line(report) == summary


def test_long_lists_collapse_behind_show_all() -> None:
    alerts = [alert(n) for n in range(12)]
    report = Report((IP,), (connector(devices=(device_result(machine(), alerts),)),))
    collapsed = render.report_message(report, report_id="0123456789abcdef")
    expanded = render.report_message(report, expand=True)

    finding_titles = [t for t in texts(collapsed.blocks) if "Alert number" in t]
    assert len(finding_titles) == 3
    [show_all] = [
        e
        for b in collapsed.blocks
        if b["type"] == "actions"
        for e in b["elements"]
        if e["action_id"] == ActionId.SHOW_ALL
    ]
    assert show_all["text"]["text"] == "Show all 12 alerts"
    assert ReportRef.model_validate_json(show_all["value"]).r == "0123456789abcdef"
    assert len([t for t in texts(expanded.blocks) if "Alert number" in t]) == 12
    check_message_is_safe(collapsed)
    check_message_is_safe(expanded)


def test_device_buttons_carry_ids_only() -> None:
    report = Report((IP,), (connector(devices=(device_result(machine(), [alert(1)]),)),))
    message = render.report_message(report)
    buttons = [e for b in message.blocks if b["type"] == "actions" for e in b["elements"]]
    values = {e["action_id"]: e.get("value") for e in buttons}
    ref = DeviceRef.model_validate_json(values[ActionId.DEVICE_ALERTS])
    assert (ref.c, ref.d) == ("contoso", f"{0:040x}")
    assert json.loads(values[ActionId.DEVICE_OCSF]) == {"c": "contoso", "d": f"{0:040x}"}
    portal = next(e for e in buttons if e["action_id"] == ActionId.OPEN_PORTAL)
    assert portal["url"] == f"{PORTAL}/machines/{0:040x}/overview?tid={TENANT}"


def test_mrkdwn_injection_through_every_untrusted_field_is_defused() -> None:
    hostile = machine(
        computerDnsName=EVIL, osPlatform=EVIL, version=EVIL, healthStatus=EVIL, machineTags=[EVIL]
    )
    hostile_alert = alert(1, title=EVIL, category=EVIL, detectionSource=EVIL, computerDnsName=EVIL)
    file_info = FileInfo.model_validate(
        {"sha256": "a" * 64, "signer": EVIL, "fileProductName": EVIL, "determinationValue": EVIL}
    )
    name = Indicator(IndicatorType.FILENAME, "<!here>.exe")
    report = Report(
        (IP, name),
        (
            connector(
                devices=(device_result(hostile, [hostile_alert], (IP, name)),),
                files=(FileResult(file_info, (name,)),),
                notes=(Note(name, EVIL),),
                problems=(Problem(EVIL, EVIL, EVIL),),
            ),
        ),
    )
    carrying = (
        render.report_message(report, report_id="0123456789abcdef"),
        render.report_message(report, expand=True),
        render.device_details_message(report),
        render.error_message(EVIL, EVIL),
    )
    for message in (*carrying, render.nothing_to_look_up_message()):
        check_message_is_safe(message)
    for message in carrying:  # defused, and still readable as it was written
        assert EVIL.replace("*bold*", "bold") in blocks_to_text(message.blocks)


def test_indicators_are_defanged_in_output() -> None:
    url = Indicator(IndicatorType.URL, "https://evil.example.com/a.exe")
    report = Report(
        (url, IP),
        (connector(devices=(device_result(machine(), [], (url, IP)),), notes=(Note(url, "x"),)),),
    )
    shown = "\n".join(texts(render.report_message(report).blocks))
    assert "hxxps://evil[.]example[.]com/a.exe" in shown
    assert "10[.]1[.]2[.]3" in shown
    assert "10.1.2.3" not in shown
    assert "https://evil" not in shown


def test_the_biggest_report_still_fits_slacks_limits() -> None:
    long = "x" * 5000
    devices = tuple(
        device_result(
            machine(n, computerDnsName=f"{long}{n}.corp"), [alert(k, title=long) for k in range(30)]
        )
        for n in range(60)
    )
    findings = tuple(
        FindingResult(finding_from_alert(alert(900 + k, title=long), portal_url=PORTAL), (IP,))
        for k in range(200)
    )
    notes = tuple(Note(IP, long) for _ in range(40))
    problems = tuple(Problem("contoso", long, long) for _ in range(10))
    report = Report(
        tuple(Indicator(IndicatorType.IPV4, f"10.0.0.{n}") for n in range(50)),
        tuple(
            ConnectorReport(
                f"tenant{i}", PORTAL, TENANT, devices, findings, (), notes, problems, 99
            )
            for i in range(3)
        ),
        dropped=25,
    )
    for message in (
        render.report_message(report, report_id="0123456789abcdef"),
        render.report_message(report, expand=True),
        render.device_details_message(report),
    ):
        check_message_is_safe(message)


def test_check_report_reads_as_a_table_of_what_is_wrong() -> None:
    good = ConnectorCheck(
        "contoso",
        "commercial",
        "https://api.security.microsoft.com",
        f"https://login.microsoftonline.com/{TENANT}",
        Step(True, "token acquired"),
        Step(True, "token audience is MDE"),
        granted_permissions(frozenset({"Machine.Read.All", "Alert.Read.All", "File.Read.All"})),
        Step(True, "MDE answered a live call"),
    )
    bad = ConnectorCheck(
        "fabrikam",
        "commercial",
        "https://api.security.microsoft.com",
        f"https://login.microsoftonline.com/{TENANT}",
        Step(False, "AADSTS7000215: the client secret is wrong", "copy the secret's Value"),
    )
    message = render.check_message(CheckReport((good, bad)))
    shown = blocks_to_text(message.blocks)

    assert message.text == "❌ 1 connection needs attention: fabrikam"
    assert "✅ contoso · commercial" in shown
    assert (
        "✅ Devices by IP and host name — `Machine.Read.All or Machine.ReadWrite.All` granted"
        in shown
    )
    optional = "⚠️ Public IPs, MD5s and file names (advanced hunting) — `AdvancedQuery.Read.All`"
    assert f"{optional} missing (optional)" in shown
    assert "❌ AADSTS7000215: the client secret is wrong" in shown
    assert "↳ copy the secret's Value" in shown
    check_message_is_safe(message)


def test_clipping_never_cuts_an_escape_or_a_date_in_half() -> None:
    assert clip("x" * 8 + "&amp;" + "y" * 10, 11) == "x" * 8 + "…"
    dated = "seen " + "<!date^1795860000^{date_short}|2026-11-27>" + " z" * 10
    assert clip(dated, 20) == "seen …"
    assert clip("short", 20) == "short"
