"""PURE: the pieces of an answer — a verdict line per indicator, two lines per device, one per
alert, one card per file. All MDE and user text is escaped, every indicator defanged; the only
links are the bot's own Defender portal URLs.

Built for a phone: what a responder needs comes first, in words; the rest is one tap away
(a device's menu: its alerts, its details, its OCSF events, the portal).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from bot import ocsf
from bot.english import plural
from bot.enrichment.results import ConnectorReport, DeviceResult, FileResult
from bot.enrichment.verdicts import Verdict
from bot.indicators import HASH_TYPES, Indicator, defang
from bot.mde.models import FileInfo, Signing
from bot.render.kit import (
    Block,
    link,
    option,
    overflow,
    safe_url,
    section,
    severity_emoji,
)
from bot.slack.buttons import ActionId, DeviceChoice, encode
from bot.slack.mrkdwn import ago, code, date, escape

# MDE detection sources, in the words the Defender portal uses.
DETECTION_SOURCES = {
    "windowsdefenderatp": "EDR",
    "windowsdefenderav": "Antivirus",
    "windowsdefendersmartscreen": "SmartScreen",
    "customdetection": "Custom detection",
    "customerti": "Custom TI",
    "automatedinvestigation": "Automated investigation",
    "mtp": "Defender XDR",
    "officeatp": "Defender for Office 365",
    "azureatp": "Defender for Identity",
    "mcas": "Defender for Cloud Apps",
    "threatexperts": "Threat Experts",
}
TAGS_SHOWN = 3
SHORT_INDICATOR = 48  # characters of a URL or name in a one-line verdict
SHARED_SHOWN = 10  # indicators named in one shared verdict line


def top_severity(findings: Sequence[ocsf.DetectionFinding]) -> ocsf.SeverityId | None:
    ranked = [f.severity_id for f in findings if f.severity_id != ocsf.SeverityId.OTHER]
    return max(ranked, default=None)


def alert_counts(findings: Sequence[ocsf.DetectionFinding]) -> str:
    """`2 High · 1 Low`, most severe first; `no alerts` when there are none."""
    if not findings:
        return "no alerts"
    counts = Counter(f.severity_id for f in findings)
    return " · ".join(f"{counts[s]} {ocsf.caption(s)}" for s in sorted(counts, reverse=True))


def device_label(device: ocsf.Device) -> str:
    return device.name or device.hostname or device.uid or "unknown device"


def indicator_code(indicator: Indicator, *, short: bool = False) -> str:
    """An indicator as inline code, defanged; `short` cuts hashes to 8 characters and anything
    else to SHORT_INDICATOR (the reader pasted them: the start recognises them)."""
    if short and indicator.type in HASH_TYPES:
        return code(indicator.value[:8] + "…")
    shown = defang(indicator.value, indicator.type)
    if short and len(shown) > SHORT_INDICATOR:
        shown = shown[: SHORT_INDICATOR - 1] + "…"
    return code(shown)


def matched_text(matched: Sequence[Indicator]) -> str:
    return ", ".join(indicator_code(i, short=True) for i in matched[:3]) + (
        f" +{len(matched) - 3}" if len(matched) > 3 else ""
    )


def device_groups(device: ocsf.Device) -> tuple[list[str], list[str]]:
    """(device groups, tags): MDE tags travel in OCSF `groups` with type MachineTag."""
    named = [g for g in device.groups or () if g.name]
    groups = [g.name for g in named if g.type != "MachineTag" and g.name]
    tags = [g.name for g in named if g.type == "MachineTag" and g.name]
    return groups, tags


# ---------------------------------------------------------------------- verdicts


def verdict_line(verdict: Verdict, *, now: int | None) -> str:
    """`` `10[.]8[.]0[.]25` → ws-eng-027 now · 3 devices earlier · 🔴 2 alerts``: what MDE says
    of one indicator, in the form it was pasted (defanged)."""
    return shared_line([verdict.indicator], verdict_said(verdict, now=now))


def verdict_said(verdict: Verdict, *, now: int | None) -> str:
    """The right-hand side of a verdict line (mrkdwn): what MDE says of the indicator."""
    held = _held_said(verdict)
    if not verdict.found:
        said = escape(verdict.note or f"not seen in {', '.join(verdict.searched) or 'any tenant'}")
        return f"{said} · {held}" if held else said
    parts = [_devices_said(verdict, now)]
    if verdict.threat:
        parts.insert(0, f"*{escape(verdict.threat)}*")
    if verdict.alerts:
        worst = severity_emoji(verdict.worst)
        parts.append(f"{worst} {plural(verdict.alerts, 'alert')}")
    parts.append(held)
    return " · ".join(p for p in parts if p)


# How a custom indicator's action reads on a verdict line.
HELD_WORDS = {
    "Block": "Blocked",
    "BlockAndRemediate": "Blocked and remediated",
    "AlertAndBlock": "Blocked (alerting)",
    "Audit": "Audited",
    "Alert": "Alerted on",
    "Warn": "Warned on",
    "Allowed": "Allowed",
}


def _held_said(verdict: Verdict) -> str:
    """What MDE already does with the value: "🛡️ Blocked in contoso (by ana@…, until Dec 30)"."""
    said = []
    for tenant, held in verdict.held[:2]:
        facts = [f"by {escape(held.by)}"] if held.by else []
        if held.expires is not None:
            facts.append(f"until {date(held.expires * 1000, style='{date_short_pretty}')}")
        more = f" ({', '.join(facts)})" if facts else ""
        action = HELD_WORDS.get(held.action, held.action)
        said.append(f"🛡️ {escape(action)} in {escape(tenant)}{more}")
    return " · ".join(said)


def shared_line(indicators: Sequence[Indicator], said: str) -> str:
    """Indicators MDE says the same of (the hashes and the name of one file, several addresses
    of one device, all `not seen in contoso`): one line, `said` being mrkdwn already."""
    shown = ", ".join(indicator_code(i, short=True) for i in indicators[:SHARED_SHOWN])
    more = f" +{len(indicators) - SHARED_SHOWN}" if len(indicators) > SHARED_SHOWN else ""
    return f"{shown}{more} → {said}"


def _devices_said(verdict: Verdict, now: int | None) -> str:
    devices = verdict.devices
    if not devices:
        return ""
    current = [d for d in devices if d.current]
    earlier = len(devices) - len(current)
    if earlier:  # a shared IP: who holds it now (in each tenant), and how many did before
        names = ", ".join(escape(d.name) for d in current[:2])
        more = f" +{len(current) - 2}" if len(current) > 2 else ""
        return f"{names}{more} now · {plural(earlier, 'device')} earlier"
    if len(devices) == 1:
        seen = ago(devices[0].last_seen, now)
        return escape(devices[0].name) + (f" · seen {seen}" if seen else "")
    return plural(len(devices), "device")


# ---------------------------------------------------------------------- devices


def device_menu(
    connector: ConnectorReport, device: ocsf.Device, *, alerts: int | None, respond: bool = False
) -> Block | None:
    """One overflow menu instead of a row of buttons: "Respond…" (when response actions are
    on), its alerts, its details, its OCSF events, the portal."""
    if not device.uid:
        return None
    try:
        choices = {
            action: encode(DeviceChoice(a=action, c=connector.alias, d=device.uid))
            for action in (
                ActionId.RESPOND,
                ActionId.DEVICE_ALERTS,
                ActionId.DEVICE_DETAILS,
                ActionId.DEVICE_OCSF,
            )
        }
    except ValueError:  # not an MDE device id: nothing to drill down with
        return None
    options = [option("Respond…", choices[ActionId.RESPOND])] if respond else []
    options += [
        option(
            "Alerts" if alerts is None else f"Alerts ({alerts})", choices[ActionId.DEVICE_ALERTS]
        ),
        option("Device details", choices[ActionId.DEVICE_DETAILS]),
        option("OCSF JSON", choices[ActionId.DEVICE_OCSF]),
    ]
    if safe_url(url := connector.device_url(device.uid)):
        portal = encode(DeviceChoice(a=ActionId.OPEN_PORTAL, c=connector.alias, d=device.uid))
        options.append(option("Open in Defender", portal, url=url))
    return overflow(ActionId.DEVICE_MENU, options)


def device_state(device: ocsf.Device) -> list[str]:
    """What a responder must know at a glance: health when not Active, excluded, merged."""
    unmapped = device.unmapped or {}
    states = []
    health = str(unmapped.get("healthStatus") or "")
    if health and health.lower() != "active":
        states.append(f"⚠️ {escape(health)}")
    if unmapped.get("isExcluded"):
        reason = unmapped.get("exclusionReason")
        states.append("excluded" + (f" ({escape(str(reason))})" if reason else ""))
    if merged := unmapped.get("mergedIntoMachineId"):
        states.append(f"merged into {code(str(merged)[:8] + '…')}")
    return states


def containment_said(state: str) -> str:
    """A device's containment as its card says it: bold, with a mark, pending ones plain."""
    if state.endswith("pending"):
        return f"⏳ {escape(state)}"
    return f"🔒 *{escape(state)}*"


def device_card(
    result: DeviceResult, connector: ConnectorReport, *, now: int | None, respond: bool = False
) -> Block:
    """Two lines: the worst severity, the name, the tenant and the alerts; then when it was
    last seen, its state, the tags that matter and what matched it. The rest is in its menu."""
    device = result.device
    top = top_severity(result.findings)
    alerts = alert_counts(result.findings) if result.alerts_known else "alerts not fetched"
    first = (
        f"{severity_emoji(top)} *{escape(device_label(device))}* · {escape(connector.alias)}"
        f" · {alerts}"
    )
    second = []
    if seen := ago(device.last_seen_time, now):
        second.append(f"seen {seen}")
    second += device_state(device)
    second += [containment_said(state) for state in result.containment]
    if tags := device_groups(device)[1]:
        second.append("🏷️ " + ", ".join(escape(t) for t in tags[:TAGS_SHOWN]))
    if result.matched:
        how = "name starts with" if result.loose else "matched"
        second.append(f"{how} {matched_text(result.matched)}")
    count = len(result.findings) if result.alerts_known else None
    menu = device_menu(connector, device, alerts=count, respond=respond)
    return section(f"{first}\n{' · '.join(second)}", accessory=menu)


# ---------------------------------------------------------------------- alerts


def _source(finding: ocsf.DetectionFinding) -> str:
    feature = finding.metadata.product.feature
    raw = feature.name if feature is not None and feature.name else ""
    return escape(DETECTION_SOURCES.get(raw.lower(), raw))


def alert_line(finding: ocsf.DetectionFinding, *, matched: Sequence[Indicator] = ()) -> str:
    """One line: severity, the title (a link to the alert in Defender), the device, when (a
    date each reader sees in their own time zone: "Yesterday 22:14"), and what matched it."""
    info = finding.finding_info
    title = info.title or "Untitled alert"
    shown = link(info.src_url, title) if info.src_url and safe_url(info.src_url) else escape(title)
    parts = [f"{severity_emoji(finding.severity_id)} {shown}"]
    if finding.device is not None:
        parts.append(escape(device_label(finding.device)))
    if when := info.last_seen_time or info.first_seen_time or finding.time:
        parts.append(date(when))
    if finding.status_id == ocsf.StatusId.RESOLVED:
        parts.append("resolved")
    if matched:
        parts.append(f"matched {matched_text(matched)}")
    return " · ".join(parts)


def alert_details(finding: ocsf.DetectionFinding) -> str:
    """What an expanded alert adds: its category, source and MITRE techniques."""
    info = finding.finding_info
    ids: list[str] = []
    for attack in info.attacks or ():
        technique = attack.sub_technique or attack.technique
        if technique is not None and technique.uid:
            ids.append(technique.uid)
    facts = [
        escape(", ".join(info.types or ())),
        _source(finding),
        ", ".join(escape(i) for i in dict.fromkeys(ids)),
    ]
    return " · ".join(f for f in facts if f)


# ---------------------------------------------------------------------- files


def signing_said(info: FileInfo) -> str:
    signer = escape(info.signer or info.issuer or "")
    by = f" by {signer}" if signer else ""
    said = {
        Signing.VALID: f"signed{by}",
        Signing.SIGNED: f"signed{by}",
        Signing.INVALID_CERTIFICATE: f"signed{by}, invalid certificate",
        Signing.UNSIGNED: "unsigned",
        Signing.UNKNOWN: "",
    }
    return said[info.signing]


def file_card(results: Sequence[tuple[str, FileResult, int, int]]) -> Block:
    """One card per file, whichever tenants know it: the hash (cut to its start when it was
    pasted: the verdict line above has it whole in the reader's message), MDE's verdict, its
    signature and prevalence, and per tenant the devices and alerts it was seen with.
    `results`: (tenant, result, devices, alerts) for each tenant that knows the file."""
    _, first, _, _ = results[0]
    info = first.info
    pasted = next((i for i in first.matched if i.type in HASH_TYPES), None)
    digest = indicator_code(pasted, short=True) if pasted else code(info.sha256 or info.sha1 or "")
    verdict = info.determination_value or info.determination_type or ""
    known = verdict and verdict.strip().lower() not in {"unknown", "none", "null"}
    head = f"📄 {digest} · " + (f"*{escape(verdict)}*" if known else "no verdict from Microsoft")
    facts = []
    if said := signing_said(info):
        facts.append(said)
    if info.global_prevalence is not None:
        facts.append(f"{info.global_prevalence:,} devices worldwide")
    if info.file_product_name or info.file_publisher:
        facts.append(
            escape(" — ".join(p for p in (info.file_product_name, info.file_publisher) if p))
        )
    tenants = [
        f"{escape(tenant)}: {plural(devices, 'device')}, {plural(alerts, 'alert')}"
        for tenant, _, devices, alerts in results
    ]
    lines = [head, " · ".join(facts), " · ".join(tenants)]
    return section("\n".join(line for line in lines if line))
