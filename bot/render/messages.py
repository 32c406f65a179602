"""PURE: whole messages. The summary line comes first and is also the notification text; long
lists are collapsed behind "Show all N alerts"."""

from __future__ import annotations

from bot import ocsf
from bot.english import plural
from bot.enrichment.commands import HELP
from bot.enrichment.results import CheckReport, ConnectorCheck, ConnectorReport, Report
from bot.indicators import defang
from bot.render.cards import (
    alert_counts,
    device_buttons,
    device_card,
    device_groups,
    device_label,
    file_card,
    finding_card,
    indicator_code,
    top_severity,
)
from bot.render.kit import (
    WARNING,
    Block,
    Message,
    actions,
    button,
    context,
    divider,
    fields,
    fit,
    link,
    notification,
    safe_url,
    section,
    severity_emoji,
)
from bot.slack.buttons import ActionId, ReportRef, encode
from bot.slack.mrkdwn import code, date, escape

MAX_DEVICE_CARDS = 5
COLLAPSED_FINDINGS = 3
EXPANDED_FINDINGS = 20


def _ranked(report: Report) -> list[tuple[ConnectorReport, ocsf.DetectionFinding]]:
    """Every distinct alert of the report, most severe and most recent first."""
    pairs = [(c, f) for c in report.connectors for f in c.all_findings()]
    return sorted(pairs, key=lambda p: (p[1].severity_id, p[1].time), reverse=True)


def summary_line(report: Report) -> str:
    """One plain line: the first thing read, and the push notification."""
    devices = [d for c in report.connectors for d in c.devices]
    device_count = len(devices) + sum(c.more_devices for c in report.connectors)
    findings = [f for _, f in _ranked(report)]
    aliases = ", ".join(c.alias for c in report.connectors if c.found_anything)
    if not report.found_anything:
        if report.problems:
            first = report.problems[0]
            return f"{WARNING} {first.connector}: {first.message}"
        count = plural(len(report.indicators), "indicator")
        return f"{severity_emoji(None)} MDE knows none of {count}"
    top = top_severity(findings)
    if top is None:
        alerts = "no alerts"
    else:
        n = sum(1 for f in findings if f.severity_id == top)
        alerts = f"{n} {ocsf.caption(top)} {'alert' if n == 1 else 'alerts'}"
    if device_count == 1:
        where = device_label(devices[0].device)
    elif device_count:
        where = plural(device_count, "device")
    elif len(report.indicators) == 1:
        where = defang(report.indicators[0].value, report.indicators[0].type)
    else:
        where = plural(len(report.indicators), "indicator")
    return f"{severity_emoji(top)} {alerts} · {where} · {aliases}"


def _footer(report: Report) -> Block:
    parts = []
    if report.indicators:
        parts.append(f"{plural(len(report.indicators), 'indicator')} looked up")
    if report.dropped:
        parts.append(f"{report.dropped} more not looked up (per-message limit)")
    if report.deferred:
        parts.append(
            f"{report.deferred} more not looked up: MDE's call budget is booked for now"
            " (ask about them again later)"
        )
    parts.append(plural(len(report.connectors), "tenant"))
    if report.demo:
        parts.append("demo data from the embedded MDE simulator")
    return context(parts)


def _notes(connector: ConnectorReport, *, name_tenant: bool) -> list[Block]:
    blocks = []
    for problem in connector.problems:
        hint = f"\n{escape(problem.hint)}" if problem.hint else ""
        blocks.append(
            section(f"{WARNING} *{escape(problem.connector)}*: {escape(problem.message)}{hint}")
        )
    where = f" ({escape(connector.alias)})" if name_tenant else ""
    notes = [f"💡 {indicator_code(n.indicator)}{where} {escape(n.text)}" for n in connector.notes]
    if notes:
        blocks.append(context(notes[:5]))
    return blocks


def report_message(
    report: Report, *, report_id: str | None = None, expand: bool = False
) -> Message:
    summary = summary_line(report)
    blocks: list[Block] = [section(f"*{escape(summary)}*"), _footer(report)]
    devices = [(c, d) for c in report.connectors for d in c.devices]
    for connector, result in devices[:MAX_DEVICE_CARDS]:
        blocks += [divider(), *device_card(result, connector)]
    hidden = len(devices[MAX_DEVICE_CARDS:]) + sum(c.more_devices for c in report.connectors)
    if hidden:
        blocks.append(context([f"+{plural(hidden, 'more device')}: open them in Defender"]))
    ranked = _ranked(report)
    limit = EXPANDED_FINDINGS if expand else COLLAPSED_FINDINGS
    if ranked:
        blocks.append(divider())
    hits = {r.finding.finding_info.uid: r.matched for c in report.connectors for r in c.findings}
    for _, finding in ranked[:limit]:
        blocks.append(finding_card(finding, matched=hits.get(finding.finding_info.uid, ())))
    if len(ranked) > limit:
        if report_id is not None and not expand:
            value = encode(ReportRef(r=report_id))
            label = f"Show all {len(ranked)} alerts"
            blocks.append(actions([button(label, action_id=ActionId.SHOW_ALL, value=value)]))
        else:
            blocks.append(
                context([f"+{len(ranked) - limit} more alerts: open the devices in Defender"])
            )
    for connector in report.connectors:
        if connector.files:
            blocks += [file_card(f) for f in connector.files[:3]]
        blocks += _notes(connector, name_tenant=len(report.connectors) > 1)
    overflow = context(["More than fits in one message: open the devices in Defender"])
    return Message(notification(summary), fit(blocks, overflow), summary_message(report))


MAX_SUMMARY_LINKS = 10


def summary_message(report: Report) -> Message:
    """The smallest useful answer, posted when Slack refuses the full one: the summary line,
    a Defender link per device, and a word on why."""
    lines = [f"*{escape(summary_line(report))}*"]
    for connector in report.connectors:
        for result in connector.devices:
            uid = result.device.uid
            if uid and safe_url(url := connector.device_url(uid)):
                label = f"{device_label(result.device)} · {connector.alias}"
                lines.append(link(url, label))
    lines = lines[: MAX_SUMMARY_LINKS + 1]
    lines.append("_The full answer was too large for Slack to show: open the devices in Defender._")
    return Message(notification(summary_line(report)), [section("\n".join(lines))])


def device_details_message(report: Report) -> Message:
    """Everything MDE says about the device(s), one card each."""
    blocks: list[Block] = []
    devices = [(c, d) for c in report.connectors for d in c.devices]
    for connector, result in devices[:MAX_DEVICE_CARDS]:
        device = result.device
        unmapped = device.unmapped or {}
        ips = [
            f"{code(defang(n.ip))}" + (f" ({escape(n.mac)})" if n.mac else "")
            for n in device.network_interfaces or ()
            if n.ip
        ]
        agent = next(iter(device.agent_list or ()), None)
        groups, tags = device_groups(device)
        pairs = [
            ("Device id", code(device.uid or "—")),
            ("Host name", code(device.hostname or "—")),
            ("Onboarding", escape(str(unmapped.get("onboardingStatus", "—")))),
            ("Antivirus", escape(str(unmapped.get("defenderAvStatus", "—")))),
            ("Sensor", escape(agent.version or "—") if agent else "—"),
            ("Device group", escape(", ".join(groups) or "—")),
            ("First seen", date(device.first_seen_time)),
            (
                "Public IP",
                code(defang(str(unmapped["lastExternalIpAddress"])))
                if unmapped.get("lastExternalIpAddress")
                else "—",
            ),
            ("Tags", escape(", ".join(tags) or "—")),
            ("IPs", ", ".join(ips[:4]) or "—"),
        ]
        blocks += [divider(), *device_card(result, connector)[:2], fields(pairs)]
        if (buttons := device_buttons(connector, device, alerts=len(result.findings))) is not None:
            blocks.append(buttons)
    for connector in report.connectors:
        blocks += _notes(connector, name_tenant=len(report.connectors) > 1)
    if not devices:
        summary = "No such device in MDE"
        blocks.insert(0, section(f"*{summary}*"))
    else:
        first_connector, first = devices[0]
        summary = (
            f"{device_label(first.device)} · {first_connector.alias} · alerts "
            f"{alert_counts(first.findings)}"
        )
        blocks.insert(0, section(f"*{escape(summary)}*"))
    overflow = context(["More than fits in one message"])
    return Message(notification(summary), fit(blocks, overflow), summary_message(report))


def _step(ok: bool | None) -> str:
    return {True: "✅", False: "❌", None: "⚠️"}[ok]


def _check_blocks(check: ConnectorCheck) -> list[Block]:
    head = f"{_step(check.ok)} *{escape(check.alias)}* · {escape(check.cloud)}"
    lines = [f"{_step(check.token.ok)} {escape(check.token.message)}"]
    if check.token.hint:
        lines.append(f"    ↳ {escape(check.token.hint)}")
    for step in (check.audience, check.probe):
        if step is not None:
            lines.append(f"{_step(step.ok)} {escape(step.message)}")
            if step.hint and not step.ok:
                lines.append(f"    ↳ {escape(step.hint)}")
    table = []
    for permission in check.permissions:
        mark = _step(True if permission.granted else (False if permission.required else None))
        what = " or ".join(permission.roles[:2])
        state = (
            "granted"
            if permission.granted
            else "missing" + ("" if permission.required else " (optional)")
        )
        table.append(f"{mark} {escape(permission.feature)} — `{escape(what)}` {state}")
    blocks = [section(f"{head}\n" + "\n".join(lines))]
    if table:
        blocks.append(section("*Permissions*\n" + "\n".join(table)))
    blocks.append(context([code(check.api_url), code(check.authority)]))
    return blocks


def check_message(report: CheckReport) -> Message:
    bad = [c.alias for c in report.connectors if not c.ok]
    if not report.connectors:
        summary = f"{WARNING} No MDE connector is enabled"
    elif bad:
        verb = "needs" if len(bad) == 1 else "need"
        summary = f"❌ {plural(len(bad), 'connection')} {verb} attention: " + ", ".join(bad)
    elif len(report.connectors) == 1:
        summary = "✅ The MDE connection works"
    else:
        summary = f"✅ All {len(report.connectors)} MDE connections work"
    blocks: list[Block] = [section(f"*{escape(summary)}*")]
    for check in report.connectors:
        blocks += [divider(), *_check_blocks(check)]
    if report.demo:
        blocks.append(
            context(["demo: the embedded MDE simulator answers; set MDE_* to check yours"])
        )
    return Message(notification(summary), fit(blocks, context(["…"])))


def help_message() -> Message:
    return Message(notification("How to use /mde"), [section(HELP)])


def progress_message(indicators: int, tenants: int, queued_for: float) -> Message:
    text = f"🔎 Looking up {plural(indicators, 'indicator')} in {plural(tenants, 'tenant')}…"
    if queued_for >= 1:
        text += f" MDE's call budget is used up for now: queued, about {queued_for:.0f} s."
    return Message(notification(text), [section(escape(text))])


def busy_message(indicators: int) -> Message:
    """Nothing was looked up: MDE's call budget could not serve it before the answer expires."""
    text = (
        f"{WARNING} Not looked up: MDE's call budget is booked by the lookups already waiting, "
        f"and {plural(indicators, 'indicator')} would wait longer than an answer can be posted."
    )
    hint = "Try again in a few minutes, or ask about fewer indicators at once."
    return Message(notification(text), [section(f"{escape(text)}\n{escape(hint)}")])


def nothing_to_look_up_message() -> Message:
    summary = "No IP, host name, URL, domain, hash or file name in that text."
    return Message(
        notification(summary),
        [section(f"{escape(summary)}\n{HELP}")],
    )


def private_file_message() -> Message:
    text = "The OCSF file is in your direct messages with me."
    return Message(notification(text), [section(escape(text))])


def refusal_message() -> Message:
    text = "Sorry — you're not on this bot's access list here. Ask the team that runs it."
    return Message(notification(text), [section(escape(text))])


def error_message(message: str, hint: str = "") -> Message:
    """A failure, in our words: what happened and what to do."""
    body = f"{WARNING} {escape(message)}" + (f"\n{escape(hint)}" if hint else "")
    return Message(notification(f"{WARNING} {message}"), [section(body)])
