"""The renderer: Slack's limits everywhere, escaping of everything untrusted, defanged
indicators, mobile-first summaries. Pure: no network, finished models in, blocks out."""

from __future__ import annotations

import json

import pytest

from bot import render
from bot.enrichment.check import granted_permissions
from bot.enrichment.results import (
    CheckReport,
    ConnectorCheck,
    ConnectorReport,
    FileResult,
    FindingResult,
    Note,
    Problem,
    Report,
    Step,
)
from bot.indicators import Indicator, IndicatorType
from bot.mde.models import FileInfo
from bot.mde.normalize import finding_from_alert
from bot.render.kit import clip
from bot.render.text import blocks_to_text
from bot.slack.buttons import ActionId, DeviceChoice, ReportRef
from tests.blockkit import texts
from tests.reports import (
    EVIL,
    IP,
    PORTAL,
    TENANT,
    alert,
    check_message_is_safe,
    connector,
    device_result,
    machine,
)


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
            "⚠️ contoso searched in part: the app lacks Alert.Read.All",
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

    assert "\n".join(texts(collapsed.blocks)).count("Alert number") == 3
    [show_all] = [
        e
        for b in collapsed.blocks
        if b["type"] == "actions"
        for e in b["elements"]
        if e["action_id"] == ActionId.SHOW_ALL
    ]
    assert show_all["text"]["text"] == "Show all 12 alerts"
    assert ReportRef.model_validate_json(show_all["value"]).r == "0123456789abcdef"
    assert "\n".join(texts(expanded.blocks)).count("Alert number") == 12
    assert "12 alerts, all shown" in texts(expanded.blocks)
    check_message_is_safe(collapsed)
    check_message_is_safe(expanded)


def test_a_device_menu_carries_ids_only() -> None:
    report = Report((IP,), (connector(devices=(device_result(machine(), [alert(1)]),)),))
    message = render.report_message(report)
    [menu] = [b["accessory"] for b in message.blocks if "accessory" in b]
    assert (menu["type"], menu["action_id"]) == ("overflow", ActionId.DEVICE_MENU)
    device = {"c": "contoso", "d": f"{0:040x}"}
    values = [json.loads(o["value"]) for o in menu["options"]]
    assert values == [
        {"a": action, **device}
        for action in (
            ActionId.DEVICE_ALERTS,
            ActionId.DEVICE_DETAILS,
            ActionId.DEVICE_OCSF,
            ActionId.OPEN_PORTAL,
        )
    ]
    for option in menu["options"]:  # what the click handler parses back
        DeviceChoice.model_validate_json(option["value"])
    assert menu["options"][0]["text"]["text"] == "Alerts (1)"
    assert menu["options"][-1]["url"] == f"{PORTAL}/machines/{0:040x}/overview?tid={TENANT}"


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
