"""Answer first: a verdict per indicator under the headline, problems at the top, compact
device cards, one card per file, honest expansion. Pure: finished reports in, blocks out."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from bot import render
from bot.enrichment.results import FileResult, FindingResult, Note, Problem, Report
from bot.indicators import Indicator, IndicatorType
from bot.mde.models import FileInfo
from bot.mde.normalize import finding_from_alert
from bot.render.home import home_view
from bot.render.text import blocks_to_text
from bot.slack.services import RecentLookup
from tests.blockkit import assert_no_injected_markup, texts
from tests.reports import (
    EVIL,
    IP,
    NOW,
    PORTAL,
    alert,
    check_message_is_safe,
    connector,
    device_result,
    machine,
)

AT = int(NOW.timestamp() * 1000)
SHA1 = "3395856ce81f2b7382dee72602f798b642f14140"
SHA256 = "275a021bbfb6489e54d471899f7db9d1663fc695ec2fe2a2c4538aabf651fd0f"
URL = Indicator(IndicatorType.URL, "https://payroll-sync.example.com/stage2.ps1")


def shown(message: render.Message) -> str:
    return blocks_to_text(message.blocks, indent="")


def lines(message: render.Message) -> list[str]:
    return shown(message).splitlines()


def mimikatz(**changes: Any) -> FileInfo:
    row: dict[str, Any] = {
        "sha1": SHA1,
        "sha256": SHA256,
        "determinationValue": "HackTool:Win32/Mimikatz",
        "signer": "Mimikatz Ltd",
        "isValidCertificate": False,
        "globalPrevalence": 1200,
    }
    row.update(changes)
    return FileInfo.model_validate(row)


# ---------------------------------------------------------------------- verdicts


def test_each_indicator_gets_a_verdict_under_the_headline_in_the_order_pasted() -> None:
    sha1 = Indicator(IndicatorType.SHA1, SHA1)
    name = Indicator(IndicatorType.FILENAME, "payroll_sync.exe")
    device = device_result(machine(0), [alert(1), alert(2, "Low")], (IP, sha1))
    hit = FindingResult(finding_from_alert(alert(1), portal_url=PORTAL), (sha1,))
    report = Report(
        (name, IP, sha1, URL),
        (
            connector(devices=(device,), findings=(hit,), files=(FileResult(mimikatz(), (sha1,)),)),
            connector("fabrikam"),
        ),
        at=AT,
    )

    first = lines(render.report_message(report))[:4]

    assert first == [
        "🔴 1 High alert · ws-000 · contoso",
        # MDE says the same of both: one line, where the first of them stood
        "`payroll_sync.exe`, `hxxps://payroll-sync[.]example[.]com/stage2.ps1` → not seen in "
        "contoso, fabrikam",
        "`10[.]1[.]2[.]3` → ws-000 · seen just now · 🔴 2 alerts",  # the device's alerts
        "`3395856c…` → HackTool:Win32/Mimikatz · ws-000 · seen just now · 🔴 1 alert",  # its own
    ]


def test_a_shared_ip_says_who_holds_it_now_and_that_card_comes_first() -> None:
    older = device_result(machine(1, lastSeen=(NOW - timedelta(days=3)).isoformat()), [alert(1)])
    holder = device_result(machine(2, lastSeen=(NOW - timedelta(hours=1)).isoformat()), [])
    oldest = device_result(machine(3, lastSeen=(NOW - timedelta(days=9)).isoformat()), [])
    report = Report((IP,), (connector(devices=(older, holder, oldest)),), at=AT)

    message = render.report_message(report)

    assert lines(message)[1] == "`10[.]1[.]2[.]3` → ws-002 now · 2 devices earlier · 🔴 1 alert"
    cards = [b["text"]["text"] for b in message.blocks if "accessory" in b]
    assert cards[0].startswith("⚪ *ws-002* · contoso · no alerts\nseen 1 h ago")
    assert cards[1].startswith("🔴 *ws-001*")  # then by worst alert


def test_a_private_ip_has_a_holder_in_each_tenant_that_has_it() -> None:
    """Tenants are separate networks: 10.1.2.3 in fabrikam is not contoso's 10.1.2.3."""
    contoso = connector(
        devices=(
            device_result(machine(1, lastSeen=(NOW - timedelta(days=3)).isoformat()), []),
            device_result(machine(2, lastSeen=(NOW - timedelta(hours=1)).isoformat()), []),
        )
    )
    fabrikam = connector("fabrikam", devices=(device_result(machine(7), []),))
    report = Report((IP,), (contoso, fabrikam), at=AT)

    message = render.report_message(report)

    assert lines(message)[1] == "`10[.]1[.]2[.]3` → ws-002, ws-007 now · 1 device earlier"
    cards = [b["text"]["text"].split("\n")[0] for b in message.blocks if "accessory" in b]
    assert cards == [
        "⚪ *ws-002* · contoso · no alerts",
        "⚪ *ws-007* · fabrikam · no alerts",
        "⚪ *ws-001* · contoso · no alerts",
    ]


def test_the_home_tab_escapes_what_mde_and_people_wrote() -> None:
    lookup = RecentLookup(AT, f"🔴 1 High alert · {EVIL} · contoso", "C0INCIDENT", private=True)
    elsewhere = RecentLookup(AT, "⚪ MDE knows none of 1 indicator", "D0PAIR", private=True)

    view = home_view(None, [lookup, elsewhere])

    assert view["type"] == "home"
    assert_no_injected_markup(view["blocks"])
    text = blocks_to_text(view["blocks"], indent="")
    assert (
        f"<#C0INCIDENT>, to you alone · 🔴 1 High alert · {EVIL.replace('*bold*', 'bold')}" in text
    )
    assert "a direct message, to you alone · ⚪ MDE knows none" in text


def test_several_indicators_mde_has_not_seen_share_one_line() -> None:
    hashes = tuple(Indicator(IndicatorType.SHA1, f"{n:040x}") for n in range(1, 25))
    report = Report((IP, *hashes), (connector(devices=(device_result(machine(0), []),)),), at=AT)

    verdicts = lines(render.report_message(report))[1:3]

    assert verdicts[0].startswith("`10[.]1[.]2[.]3` → ws-000")
    assert verdicts[1] == ("`00000000…`, " * 9 + "`00000000…` +14 → not seen in contoso")


def test_every_verdict_survives_the_largest_message() -> None:
    """500 indicators (the highest per-message setting), each found with a threat of its own
    and the longest names: the verdicts are cut to their share of the message and the rest are
    counted, never lost to the block cap."""
    names = tuple(Indicator(IndicatorType.FILENAME, f"{'x' * 200}{n}.exe") for n in range(500))
    hits = tuple(
        FindingResult(
            finding_from_alert(alert(n, threatName=f"Trojan:Win32/Case{n}"), portal_url=PORTAL),
            (names[n],),
        )
        for n in range(500)
    )
    report = Report(names, (connector(findings=hits),), at=AT)

    for message in (render.report_message(report), render.report_message(report, expand=True)):
        check_message_is_safe(message)
        verdicts = [line for line in lines(message) if "→" in line]
        [more] = [line for line in lines(message) if line.startswith("+") and "indicators" in line]
        assert len(verdicts) + int(more.split()[0][1:]) == 500


def test_a_hash_counts_the_alerts_that_name_it_an_ip_those_of_its_device() -> None:
    sha1 = Indicator(IndicatorType.SHA1, SHA1)
    device = device_result(machine(0), [alert(n) for n in range(1, 6)], (IP, sha1))
    hit = FindingResult(finding_from_alert(alert(1), portal_url=PORTAL), (sha1,))
    report = Report((IP, sha1), (connector(devices=(device,), findings=(hit,)),), at=AT)

    ip_line, hash_line = lines(render.report_message(report))[1:3]

    assert ip_line.endswith("🔴 5 alerts")
    assert hash_line.endswith("🔴 1 alert")


# ---------------------------------------------------------------------- problems first


def test_a_tenant_not_searched_is_in_the_headline_the_notification_and_right_under() -> None:
    fabrikam = connector(
        "fabrikam",
        problems=(Problem("fabrikam", "AADSTS7000222: the client secret has expired", "renew"),),
        searched=False,
    )
    report = Report((IP,), (connector(devices=(device_result(machine(0), [alert(1)]),)), fabrikam))

    message = render.report_message(report)

    headline = "🔴 1 High alert · ws-000 · contoso · ⚠️ fabrikam not searched"
    assert message.text == headline
    assert lines(message)[:2] == [
        headline,
        "⚠️ fabrikam not searched: the client secret has expired — renew",
    ]
    assert "fabrikam: AADSTS7000222: the client secret has expired" in lines(message)[-1]


def test_nothing_found_with_every_tenant_failing_says_so_not_that_mde_knows_nothing() -> None:
    def failed(alias: str) -> Any:
        problem = Problem(alias, "MDE answered 500 and kept failing", "try again")
        return connector(alias, problems=(problem,), searched=False)

    report = Report((IP,), (failed("contoso"), failed("fabrikam")))

    assert render.summary_line(report) == (
        "⚠️ contoso, fabrikam not searched: MDE answered 500 and kept failing"
    )


def test_several_problems_of_one_tenant_are_each_said() -> None:
    problems = tuple(Problem("contoso", f"problem {n}", f"do {n}") for n in range(5))
    report = Report((IP,), (connector(problems=problems),))

    block = lines(render.report_message(report))[1:6]

    assert block == [
        "⚠️ contoso searched in part:",
        "   • problem 0 — do 0",
        "   • problem 1 — do 1",
        "   • problem 2 — do 2",
        "   • +2 more",
    ]


# ---------------------------------------------------------------------- cards


def test_a_device_card_is_two_lines_and_one_menu() -> None:
    row = machine(
        0,
        healthStatus="Inactive",
        isExcluded=True,
        exclusionReason="Duplicate",
        mergedIntoMachineId="f" * 40,
        machineTags=["Tier0", "Finance", "PCI", "VIP"],
    )
    report = Report((IP,), (connector(devices=(device_result(row, [alert(1), alert(2, "Low")]),)),))

    [card] = [b for b in render.report_message(report).blocks if "accessory" in b]

    assert card["accessory"]["type"] == "overflow"
    assert card["text"]["text"].splitlines() == [
        "🔴 *ws-000* · contoso · 1 High · 1 Low",
        "⚠️ Inactive · excluded (Duplicate) · merged into `ffffffff…` · 🏷️ Tier0, Finance, PCI"
        " · matched `10[.]1[.]2[.]3`",
    ]


def test_one_file_card_per_file_with_the_pasted_hash_and_each_tenants_figures() -> None:
    sha1 = Indicator(IndicatorType.SHA1, SHA1)
    contoso = connector(
        devices=(device_result(machine(0), [], (sha1,)), device_result(machine(1), [], (sha1,))),
        findings=(FindingResult(finding_from_alert(alert(1), portal_url=PORTAL), (sha1,)),),
        files=(FileResult(mimikatz(), (sha1,)),),
    )
    fabrikam = connector("fabrikam", files=(FileResult(mimikatz(), (sha1,)),))
    report = Report((sha1,), (contoso, fabrikam))

    message = render.report_message(report)
    cards = [t for t in texts(message.blocks) if t.startswith("📄")]

    assert cards == [
        "📄 `3395856c…` · *HackTool:Win32/Mimikatz*\n"
        "signed by Mimikatz Ltd, invalid certificate · 1,200 devices worldwide\n"
        "contoso: 2 devices, 1 alert · fabrikam: 0 devices, 0 alerts"
    ]
    # the file card comes right after the verdicts, before the devices
    assert message.blocks.index(next(b for b in message.blocks if "📄" in str(b))) == 2


def test_alert_times_are_dates_each_reader_sees_in_their_own_time_zone() -> None:
    report = Report((IP,), (connector(devices=(device_result(machine(0), [alert(1)]),)),))

    alerts = [t for t in texts(render.report_message(report).blocks) if "Alert number 1" in t]

    seconds = int((NOW - timedelta(minutes=1)).timestamp())
    assert f"<!date^{seconds}^{{date_short_pretty}} {{time}}|" in alerts[0]


# ---------------------------------------------------------------------- honest expansion


def test_show_all_says_how_many_alerts_it_shows_and_keeps_verdicts_files_and_notes() -> None:
    long = "y" * 900
    sha1 = Indicator(IndicatorType.SHA1, SHA1)
    alerts = [alert(n, title=f"{long} {n}") for n in range(40)]
    report = Report(
        (IP, sha1),
        (
            connector(
                devices=(device_result(machine(0), alerts, (IP, sha1)),),
                files=(FileResult(mimikatz(), (sha1,)),),
                notes=(Note(sha1, "seen on 3 devices in 30 days"),),
            ),
        ),
        at=AT,
    )

    message = render.report_message(report, expand=True)
    text = shown(message)

    check_message_is_safe(message)
    [note] = [line for line in lines(message) if "alerts shown" in line]
    shown_alerts, total = int(note.split()[0]), int(note.split()[2])
    assert (total, text.count(long)) == (40, shown_alerts)
    assert 0 < shown_alerts < 40
    assert "`10[.]1[.]2[.]3` → ws-000" in text
    assert "📄 `3395856c…` · HackTool:Win32/Mimikatz" in text
    assert "💡 `3395856c…` seen on 3 devices in 30 days" in text


def test_a_tenants_note_on_what_another_tenant_found_is_left_out() -> None:
    sha1 = Indicator(IndicatorType.SHA1, SHA1)
    contoso = connector(
        files=(FileResult(mimikatz(), (sha1,)),),
        notes=(Note(sha1, "seen on 3 devices in 30 days"),),
    )
    fabrikam = connector("fabrikam", notes=(Note(sha1, "MDE has no record of this file"),))

    text = shown(render.report_message(Report((sha1,), (contoso, fabrikam))))

    assert "💡 contoso: `3395856c…` seen on 3 devices in 30 days" in text
    assert "no record" not in text
