"""PURE: a lookup's answer, answer first.

    headline          the worst alerts, where, which tenants; a tenant not searched named here
    problems          right under it: which tenant failed, in what way, what to do
    verdicts          one line per indicator, as pasted: what MDE says of it
    files             one card per file, whichever tenants know it
    devices           two lines each, worst first, the holder of a shared IP first
    alerts            one line each, the worst three ("Show all N alerts" for the rest)
    notes, footer     what was not looked up and why; how much was asked of how many tenants

The headline is also the notification. Every message stays within Slack's limits (`kit.fit`),
which cuts from the end: the headline, problems, verdicts and files come before the long lists,
so no cut loses them, and an expanded answer says how many alerts it shows of how many.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from bot import ocsf
from bot.english import plural
from bot.enrichment.results import ConnectorReport, DeviceResult, FileResult, Report
from bot.enrichment.targets import blockable, quarantine_targets
from bot.enrichment.verdicts import IP_TYPES, verdicts
from bot.indicators import Indicator, defang
from bot.render.cards import (
    alert_counts,
    alert_details,
    alert_line,
    device_card,
    device_groups,
    device_label,
    file_card,
    indicator_code,
    shared_line,
    top_severity,
    verdict_said,
)
from bot.render.kit import (
    MAX_FIELDS,
    MAX_SECTION_TEXT,
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
from bot.slack.buttons import ActionId, DeviceRef, ReportRef, encode
from bot.slack.mrkdwn import code, date, escape

MAX_DEVICE_CARDS = 5
FEWER_DEVICE_CARDS = 3  # when more than FEW_INDICATORS indicators have verdict lines
FEW_INDICATORS = 3
EXPANDED_DEVICE_CARDS = 10
COLLAPSED_FINDINGS = 3
PROBLEMS_SHOWN = 3  # per tenant
# The verdicts' share of a message (12,000 characters): with the headline and the problems,
# they come first and are never cut by `fit`.
VERDICTS_TEXT = 6_000
MAX_SUMMARY_LINKS = 10


# ---------------------------------------------------------------------- what is in a report


def ranked_findings(report: Report) -> list[tuple[ConnectorReport, ocsf.DetectionFinding]]:
    """Every distinct alert of the report, most severe and most recent first."""
    pairs = [(c, f) for c in report.connectors for f in c.all_findings()]
    return sorted(pairs, key=lambda p: (p[1].severity_id, p[1].time), reverse=True)


def ranked_devices(report: Report) -> list[tuple[ConnectorReport, DeviceResult]]:
    """The devices, the current holder of a shared IP first, then the worst alert, then the
    most recently seen."""
    holders = _ip_holders(report)
    pairs = [(c, d) for c in report.connectors for d in c.devices]

    def rank(pair: tuple[ConnectorReport, DeviceResult]) -> tuple[bool, int, int]:
        connector, result = pair
        worst = top_severity(result.findings)
        return (
            (connector.alias, result.device.uid) in holders,
            int(worst) if worst is not None else -1,
            result.device.last_seen_time or 0,
        )

    return sorted(pairs, key=rank, reverse=True)


def _ip_holders(report: Report) -> set[tuple[str, str | None]]:
    """(tenant, device id) of the device that holds each shared IP of the report now, in each
    tenant (`bot.enrichment.verdicts`: tenants are separate networks)."""
    holders: set[tuple[str, str | None]] = set()
    for indicator in report.indicators:
        if indicator.type not in IP_TYPES:
            continue
        for connector in report.connectors:
            matched = [d.device for d in connector.devices if indicator in d.matched]
            if len(matched) > 1:
                holder = max(matched, key=lambda device: device.last_seen_time or 0)
                holders.add((connector.alias, holder.uid))
    return holders


def files_by_hash(report: Report) -> list[list[tuple[str, FileResult, int, int]]]:
    """Each file once, with (tenant, result, devices, alerts) for every tenant that knows it."""
    merged: dict[str, list[tuple[str, FileResult, int, int]]] = {}
    for connector in report.connectors:
        for result in connector.files:
            key = (result.info.sha1 or result.info.sha256 or "").lower()
            devices = sum(1 for d in connector.devices if set(d.matched) & set(result.matched))
            alerts = {
                f.finding.finding_info.uid
                for f in connector.findings
                if set(f.matched) & set(result.matched)
            }
            merged.setdefault(key, []).append((connector.alias, result, devices, len(alerts)))
    return list(merged.values())


# ---------------------------------------------------------------------- the headline


def _tenants_said(report: Report) -> str:
    """` · ⚠️ fabrikam not searched`: what the headline adds when a tenant failed."""
    said = []
    if names := [c.alias for c in report.not_searched]:
        said.append(f"{WARNING} {', '.join(names)} not searched")
    if names := [c.alias for c in report.searched_in_part]:
        said.append(f"{WARNING} {', '.join(names)} searched in part")
    return "".join(f" · {s}" for s in said)


def summary_line(report: Report) -> str:
    """One plain line: the first thing read, and the push notification."""
    devices = [d for c in report.connectors for d in c.devices]
    device_count = len(devices) + sum(c.more_devices for c in report.connectors)
    findings = [f for _, f in ranked_findings(report)]
    aliases = ", ".join(c.alias for c in report.connectors if c.found_anything)
    tenants = _tenants_said(report)
    if not report.found_anything:
        if report.connectors and all(c.problems for c in report.connectors):
            return _unanswered(report)
        count = plural(len(report.indicators), "indicator")
        return f"{severity_emoji(None)} MDE knows none of {count}{tenants}"
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
    return f"{severity_emoji(top)} {alerts} · {where} · {aliases}{tenants}"


def _unanswered(report: Report) -> str:
    """Nothing found, and no tenant answered in full: that is the news, with its reason when
    the tenants share it (`MDE knows none` would not be true)."""
    names = ", ".join(c.alias for c in report.connectors)
    if not any(c.searched for c in report.connectors):
        state = "not searched"
    elif all(c.partial for c in report.connectors):
        state = "searched in part"
    else:
        state = "not searched in full"
    reasons = {_plain(c.problems[0].message) for c in report.connectors}
    return f"{WARNING} {names} {state}" + (f": {reasons.pop()}" if len(reasons) == 1 else "")


def _plain(message: str) -> str:
    """A problem's words without its admin detail (`AADSTS7000222: `), for the top line."""
    code, colon, rest = message.partition(": ")
    return rest if colon and code.startswith("AADSTS") else message


def problems_block(report: Report) -> Block | None:
    """Right under the headline: each tenant that was not searched, or only in part, with what
    went wrong and what to do."""
    lines = []
    for connector in report.connectors:
        if not connector.problems:
            continue
        state = "not searched" if not connector.searched else "searched in part"
        said = [
            escape(_plain(p.message)) + (f" — {escape(p.hint)}" if p.hint else "")
            for p in connector.problems
        ]
        head = f"{WARNING} *{escape(connector.alias)}* {state}:"
        if len(said) == 1:
            lines.append(f"{head} {said[0]}")
            continue
        lines.append(head)
        lines += [f"   • {s}" for s in said[:PROBLEMS_SHOWN]]
        if len(said) > PROBLEMS_SHOWN:
            lines.append(f"   • +{len(said) - PROBLEMS_SHOWN} more")
    return section("\n".join(lines)) if lines else None


def _admin_details(report: Report) -> list[str]:
    """The problems' codes (AADSTS…), for whoever runs the bot: at the bottom."""
    return [
        f"{escape(p.connector)}: {escape(p.message)}"
        for p in report.problems
        if _plain(p.message) != p.message
    ]


# ---------------------------------------------------------------------- the sections


def _sections(lines: Iterable[str]) -> list[Block]:
    """Lines packed into as few sections as Slack's 3,000 characters allow."""
    blocks: list[Block] = []
    current: list[str] = []
    size = 0
    for line in lines:
        if current and size + len(line) + 1 > MAX_SECTION_TEXT - 100:
            blocks.append(section("\n".join(current)))
            current, size = [], 0
        current.append(line)
        size += len(line) + 1
    if current:
        blocks.append(section("\n".join(current)))
    return blocks


def _verdict_lines(report: Report) -> list[str]:
    """A line per indicator, in the message's order; indicators MDE says the same of share one
    line, where the first of them stood. Within VERDICTS_TEXT in all, so they always fit (the
    rest are counted)."""
    said = {v.indicator: verdict_said(v, now=report.at) for v in verdicts(report)}
    alike: dict[str, list[Indicator]] = {}
    for indicator, text in said.items():
        alike.setdefault(text, []).append(indicator)
    lines: list[tuple[str, int]] = []  # (line, indicators it speaks of)
    for text, group in alike.items():  # dicts keep the order the first of each came in
        lines.append((shared_line(group, text), len(group)))
    kept: list[str] = []
    size = 0
    for n, (line, _) in enumerate(lines):
        size += len(line) + 1
        if size > VERDICTS_TEXT:
            hidden = sum(count for _, count in lines[n:])
            kept.append(f"+{plural(hidden, 'more indicator')}: see the devices and alerts below")
            break
        kept.append(line)
    return kept


def _verdicts(report: Report) -> list[Block]:
    lines = _verdict_lines(report)
    if report.deferred:
        lines.append(
            f"{WARNING} {plural(report.deferred, 'more indicator')} not looked up: MDE's call "
            "budget is booked for now; ask about them again later"
        )
    return _sections(lines)


def _device_cards(report: Report) -> int:
    """How many device cards a collapsed answer shows: fewer when there are many verdict lines
    above them (which name the devices already), so the answer stays near one screen."""
    return MAX_DEVICE_CARDS if len(report.indicators) <= FEW_INDICATORS else FEWER_DEVICE_CARDS


def _devices(report: Report, limit: int, *, respond: bool) -> list[Block]:
    devices = ranked_devices(report)
    blocks = [device_card(d, c, now=report.at, respond=respond) for c, d in devices[:limit]]
    hidden = len(devices[limit:]) + sum(c.more_devices for c in report.connectors)
    if hidden:
        blocks.append(context([f"+{plural(hidden, 'more device')}: open them in Defender"]))
    return blocks


def _alerts(report: Report, *, expand: bool) -> list[str]:
    """An alert a line; expanded, with what matched it and its details (collapsed, the
    verdicts above already say which indicator led where)."""
    hits = {r.finding.finding_info.uid: r.matched for c in report.connectors for r in c.findings}
    lines = []
    for _, finding in ranked_findings(report):
        matched = hits.get(finding.finding_info.uid, ()) if expand else ()
        line = alert_line(finding, matched=matched)
        if expand and (details := alert_details(finding)):
            line += f"\n      {details}"
        lines.append(line)
    return lines


def _files(report: Report) -> list[Block]:
    return [file_card(file) for file in files_by_hash(report)]


def _notes(report: Report) -> list[Block]:
    """A tenant's notes on indicators it found (the verdicts say why the others were not:
    that another tenant has no record of a file one tenant knows is no news)."""
    found_in = {v.indicator: set(v.seen_in) for v in verdicts(report) if v.found}
    several = len(report.connectors) > 1
    notes = [
        f"💡 {escape(c.alias) + ': ' if several else ''}"
        f"{indicator_code(n.indicator, short=True)} {escape(n.text)}"
        for c in report.connectors
        for n in c.notes
        if c.alias in found_in.get(n.indicator, ())
    ]
    return [context(list(dict.fromkeys(notes))[:5])] if notes else []


def _footer(report: Report) -> Block:
    parts = []
    if report.indicators:  # relative times ("seen 2 d ago") count from then
        when = f" {date(report.at)}" if report.at is not None else ""
        parts.append(f"{plural(len(report.indicators), 'indicator')} looked up{when}")
    if report.dropped:
        parts.append(f"{report.dropped} more not looked up (per-message limit)")
    parts.append(plural(len(report.connectors), "tenant"))
    if report.demo:
        parts.append("demo data from the embedded MDE simulator")
    parts += _admin_details(report)
    return context(parts)


# ---------------------------------------------------------------------- the messages


def report_message(
    report: Report, *, report_id: str | None = None, expand: bool = False, respond: bool = False
) -> Message:
    """The answer to a lookup; `expand`: every device and every alert that fits ("Show all");
    `respond`: the device menus offer "Respond…" (response actions are on)."""
    summary = summary_line(report)
    head: list[Block] = [section(f"*{escape(summary)}*")]
    if (problems := problems_block(report)) is not None:
        head.append(problems)
    head += [*_verdicts(report), *_files(report)]
    limit = EXPANDED_DEVICE_CARDS if expand else _device_cards(report)
    body = _devices(report, limit, respond=respond)
    tail = [*_notes(report), _footer(report)]
    alerts = _alerts(report, expand=expand)
    if respond:
        tail = [*_respond_row(report, report_id), *tail]
    if expand:
        blocks = _expanded(head, body, tail, alerts)
    else:
        blocks = [*head, divider(), *body, *_collapsed(alerts, report_id), *tail]
    overflow = context(["More than fits in one message: open the devices in Defender"])
    return Message(notification(summary), fit(blocks, overflow), summary_message(report))


def _respond_row(report: Report, report_id: str | None) -> list[Block]:
    """The response forms a lookup offers: "Block…" when a pasted value is one MDE can block,
    "Quarantine…" when a file was seen on a shown device; a device's alerts offer "Triage an
    alert…". Each form lists what there is to act on."""
    buttons = []
    if report_id is not None:
        value = encode(ReportRef(r=report_id))
        if blockable(report):
            buttons.append(button("🛡️ Block…", action_id=ActionId.BLOCK, value=value))
        if quarantine_targets(report):
            buttons.append(button("Quarantine…", action_id=ActionId.QUARANTINE, value=value))
    if not report.indicators:  # a device's own view
        for connector, result in ranked_devices(report)[:1]:
            try:
                ref = encode(DeviceRef(c=connector.alias, d=result.device.uid or ""))
            except ValueError:  # not an MDE device id: nothing to act on
                continue
            if result.findings:
                buttons.append(button("Triage an alert…", action_id=ActionId.TRIAGE, value=ref))
    return [actions(buttons)] if buttons else []


def _collapsed(alerts: Sequence[str], report_id: str | None) -> list[Block]:
    if not alerts:
        return []
    blocks = [divider(), *_sections(alerts[:COLLAPSED_FINDINGS])]
    if len(alerts) > COLLAPSED_FINDINGS and report_id is not None:
        value = encode(ReportRef(r=report_id))
        label = f"Show all {len(alerts)} alerts"
        blocks.append(actions([button(label, action_id=ActionId.SHOW_ALL, value=value)]))
    elif len(alerts) > COLLAPSED_FINDINGS:
        blocks.append(context([f"+{len(alerts) - COLLAPSED_FINDINGS} more alerts in Defender"]))
    return blocks


def _expanded(
    head: list[Block], body: list[Block], tail: list[Block], alerts: Sequence[str]
) -> list[Block]:
    """Everything, alerts last: as many as fit (by `fit`'s budget), and a line saying how many
    of how many are shown when not all of them fit."""
    fixed = [*head, divider(), *body, *tail]
    shown = len(alerts)
    while shown:
        trial = [*fixed, divider(), *_sections(alerts[:shown]), _alerts_note(shown, len(alerts))]
        if fit(trial, trial[-1]) == trial:
            return trial
        shown -= max(1, shown // 10)
    return [*fixed, _alerts_note(0, len(alerts))]


def _alerts_note(shown: int, total: int) -> Block:
    if shown == total:
        return context([f"{plural(total, 'alert')}, all shown"])
    return context([f"{shown} of {total} alerts shown: the rest are in Defender"])


def summary_message(report: Report) -> Message:
    """The smallest useful answer, posted when Slack refuses the full one: the summary line,
    a Defender link per device, and a word on why."""
    lines = [f"*{escape(summary_line(report))}*"]
    for connector, result in ranked_devices(report)[:MAX_SUMMARY_LINKS]:
        uid = result.device.uid
        if uid and safe_url(url := connector.device_url(uid)):
            lines.append(link(url, f"{device_label(result.device)} · {connector.alias}"))
    lines.append("_The full answer was too large for Slack to show: open the devices in Defender._")
    return Message(notification(summary_line(report)), [section("\n".join(lines))])


def device_details_message(report: Report, *, respond: bool = False) -> Message:
    """Everything MDE says about the device(s), one card each: what the compact card leaves
    out (OS, risk, exposure, addresses, groups, sensor) as label/value pairs."""
    blocks: list[Block] = []
    devices = ranked_devices(report)
    for connector, result in devices[:MAX_DEVICE_CARDS]:
        blocks += [divider(), device_card(result, connector, now=report.at, respond=respond)]
        blocks += [fields(pairs) for pairs in _facts(result.device, connector)]
    notes = [
        f"💡 {indicator_code(n.indicator)} ({escape(c.alias)}) {escape(n.text)}"
        for c in report.connectors
        for n in c.notes
    ]
    if notes:
        blocks.append(context(notes[:5]))
    if (problems := problems_block(report)) is not None:
        blocks.insert(0, problems)
    if not devices:
        summary = "No such device in MDE" + _tenants_said(report)
    else:
        connector, first = devices[0]
        summary = (
            f"{device_label(first.device)} · {connector.alias} · alerts "
            f"{alert_counts(first.findings)}{_tenants_said(report)}"
        )
    blocks.insert(0, section(f"*{escape(summary)}*"))
    overflow = context(["More than fits in one message"])
    return Message(notification(summary), fit(blocks, overflow), summary_message(report))


def _facts(device: ocsf.Device, connector: ConnectorReport) -> list[list[tuple[str, str]]]:
    """The device's facts, in sections of at most ten label/value pairs."""
    unmapped = device.unmapped or {}
    groups, tags = device_groups(device)
    agent = next(iter(device.agent_list or ()), None)
    os = device.os
    os_parts = (os.name, os.version, f"({os.build})" if os.build else None) if os else ()
    os_text = " ".join(p for p in os_parts if p)
    ips = [
        code(defang(n.ip)) + (f" ({escape(n.mac)})" if n.mac else "")
        for n in device.network_interfaces or ()
        if n.ip
    ]
    public = unmapped.get("lastExternalIpAddress")
    merged = unmapped.get("mergedIntoMachineId")
    pairs = [
        ("Device id", code(device.uid or "—")),
        ("Host name", code(device.hostname or "—")),
        ("OS", escape(os_text) or "—"),
        ("Health", escape(str(unmapped.get("healthStatus") or "—"))),
        ("Risk", escape(device.risk_level or "—")),
        ("Exposure", escape(str(unmapped.get("exposureLevel") or "—"))),
        ("Last seen", date(device.last_seen_time)),
        ("First seen", date(device.first_seen_time)),
        ("IP", code(defang(device.ip)) if device.ip else "—"),
        ("Public IP", code(defang(str(public))) if public else "—"),
        ("Device group", escape(", ".join(groups) or "—")),
        ("Tags", escape(", ".join(tags) or "—")),
        ("Onboarding", escape(str(unmapped.get("onboardingStatus") or "—"))),
        ("Antivirus", escape(str(unmapped.get("defenderAvStatus") or "—"))),
        ("Sensor", escape(agent.version or "—") if agent else "—"),
        ("IPs", ", ".join(ips[:4]) or "—"),
    ]
    if merged and safe_url(url := connector.device_url(str(merged))):
        pairs.append(("Merged into", link(url, str(merged)[:12] + "…")))
    if unmapped.get("isExcluded"):
        pairs.append(("Excluded", escape(str(unmapped.get("exclusionReason") or "yes"))))
    return [pairs[i : i + MAX_FIELDS] for i in range(0, len(pairs), MAX_FIELDS)]
