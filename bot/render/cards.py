"""PURE: one card per device, alert and file. All MDE and user text is escaped, every indicator
defanged; the only links are the bot's own Defender portal URLs."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from bot import ocsf
from bot.enrichment.results import ConnectorReport, DeviceResult, FileResult
from bot.indicators import HASH_TYPES, Indicator, defang
from bot.mde.models import FileInfo
from bot.render.kit import (
    Block,
    actions,
    button,
    context,
    fields,
    safe_url,
    section,
    severity_emoji,
)
from bot.slack.buttons import ActionId, DeviceRef, encode
from bot.slack.mrkdwn import code, date, escape

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


def top_severity(findings: Sequence[ocsf.DetectionFinding]) -> ocsf.SeverityId | None:
    ranked = [f.severity_id for f in findings if f.severity_id != ocsf.SeverityId.OTHER]
    return max(ranked, default=None)


def alert_counts(findings: Sequence[ocsf.DetectionFinding]) -> str:
    """`2 High · 1 Low`, most severe first; `none` when there are none."""
    if not findings:
        return "none"
    counts = Counter(f.severity_id for f in findings)
    return " · ".join(f"{counts[s]} {ocsf.caption(s)}" for s in sorted(counts, reverse=True))


def device_label(device: ocsf.Device) -> str:
    return device.name or device.hostname or device.uid or "unknown device"


def indicator_code(indicator: Indicator, *, short: bool = False) -> str:
    """An indicator as inline code, defanged; `short` cuts hashes to 12 characters (the reader
    pasted them, a prefix recognises them)."""
    if short and indicator.type in HASH_TYPES:
        return code(indicator.value[:12] + "…")
    return code(defang(indicator.value, indicator.type))


def matched_text(matched: Sequence[Indicator]) -> str:
    return ", ".join(indicator_code(i, short=True) for i in matched[:5]) + (
        f" +{len(matched) - 5}" if len(matched) > 5 else ""
    )


def _os(device: ocsf.Device) -> str:
    if device.os is None:
        return "—"
    parts = [device.os.name, device.os.version, f"({device.os.build})" if device.os.build else None]
    return escape(" ".join(p for p in parts if p))


def _unmapped(device: ocsf.Device, key: str) -> str:
    value = (device.unmapped or {}).get(key)
    return escape(str(value)) if value not in (None, "") else "—"


def device_groups(device: ocsf.Device) -> tuple[list[str], list[str]]:
    """(device groups, tags): MDE tags travel in OCSF `groups` with type MachineTag."""
    named = [g for g in device.groups or () if g.name]
    groups = [g.name for g in named if g.type != "MachineTag" and g.name]
    tags = [g.name for g in named if g.type == "MachineTag" and g.name]
    return groups, tags


def _device_ref(connector: ConnectorReport, device: ocsf.Device) -> str | None:
    if not device.uid:
        return None
    try:
        return encode(DeviceRef(c=connector.alias, d=device.uid))
    except ValueError:  # not an MDE device id: no buttons to drill down with
        return None


def device_buttons(
    connector: ConnectorReport, device: ocsf.Device, *, alerts: int | None
) -> Block | None:
    elements: list[Block] = []
    value = _device_ref(connector, device)
    if value is not None:
        label = "Alerts" if alerts is None else f"Alerts ({alerts})"
        elements += [
            button(label, action_id=ActionId.DEVICE_ALERTS, value=value),
            button("Device details", action_id=ActionId.DEVICE_DETAILS, value=value),
            button("OCSF JSON", action_id=ActionId.DEVICE_OCSF, value=value),
        ]
    if device.uid and safe_url(url := connector.device_url(device.uid)):
        elements.append(button("Open in Defender", action_id=ActionId.OPEN_PORTAL, url=url))
    return actions(elements) if elements else None


def device_card(result: DeviceResult, connector: ConnectorReport) -> list[Block]:
    device = result.device
    top = top_severity(result.findings)
    title = f"{severity_emoji(top)} *{escape(device_label(device))}* · {escape(connector.alias)}"
    alerts = alert_counts(result.findings) if result.alerts_known else "not fetched"
    blocks = [
        section(f"{title}\n*Alerts:* {alerts}"),
        fields(
            [
                ("OS", _os(device)),
                ("Health", _unmapped(device, "healthStatus")),
                ("Risk", escape(device.risk_level or "—")),
                ("Exposure", _unmapped(device, "exposureLevel")),
                ("Last seen", date(device.last_seen_time)),
                ("IP", code(defang(device.ip)) if device.ip else "—"),
            ]
        ),
    ]
    notes = [code(device.hostname) if device.hostname else ""]
    if tags := device_groups(device)[1]:
        notes.append("tags " + ", ".join(escape(t) for t in tags[:6]))
    if result.matched:
        how = "name starts with" if result.loose else "matched"
        notes.append(f"{how} {matched_text(result.matched)}")
    blocks.append(context(notes))
    count = len(result.findings) if result.alerts_known else None
    if (buttons := device_buttons(connector, device, alerts=count)) is not None:
        blocks.append(buttons)
    return blocks


def _mitre(finding: ocsf.DetectionFinding) -> str:
    ids: list[str] = []
    for attack in finding.finding_info.attacks or ():
        technique = attack.sub_technique or attack.technique
        if technique is not None and technique.uid:
            ids.append(technique.uid)
    return ", ".join(escape(i) for i in dict.fromkeys(ids))


def _source(finding: ocsf.DetectionFinding) -> str:
    feature = finding.metadata.product.feature
    raw = feature.name if feature is not None and feature.name else ""
    return escape(DETECTION_SOURCES.get(raw.lower(), raw))


def finding_card(finding: ocsf.DetectionFinding, *, matched: Sequence[Indicator] = ()) -> Block:
    info = finding.finding_info
    severity = finding.severity or ocsf.caption(finding.severity_id)
    title = escape(info.title or "Untitled alert")
    facts = [
        escape(severity),
        escape(finding.status or ""),
        escape(", ".join(info.types or ())),
        _source(finding),
        _mitre(finding),
    ]
    where = []
    if finding.device is not None:
        where.append(escape(device_label(finding.device)))
    where.append(f"first {date(info.first_seen_time)}")
    if info.last_seen_time and info.last_seen_time != info.first_seen_time:
        where.append(f"last {date(info.last_seen_time)}")
    lines = [
        f"{severity_emoji(finding.severity_id)} *{title}*",
        " · ".join(f for f in facts if f),
        " · ".join(where),
    ]
    if matched:
        lines.append(f"matched {matched_text(matched)}")
    accessory = None
    if info.src_url and safe_url(info.src_url):
        accessory = button("Open", action_id=ActionId.OPEN_PORTAL, url=info.src_url)
    return section("\n".join(lines), accessory=accessory)


def file_card(result: FileResult) -> Block:
    info: FileInfo = result.info
    digest = info.sha256 or info.sha1 or ""
    verdict = info.determination_value or info.determination_type
    facts = []
    if verdict and verdict.lower() not in {"unknown", "none"}:
        facts.append(f"*{escape(verdict)}*")
    if info.signer:
        trust = "" if info.is_valid_certificate else " (certificate not valid)"
        facts.append(f"signed by {escape(info.signer)}{trust}")
    elif info.is_pe_file:
        facts.append("unsigned")
    if info.global_prevalence is not None:
        facts.append(f"seen on {info.global_prevalence:,} devices worldwide")
    lines = [f"📄 *File* {code(digest)}", " · ".join(facts) or "no verdict from Microsoft"]
    if info.file_product_name or info.file_publisher:
        product = " — ".join(p for p in (info.file_product_name, info.file_publisher) if p)
        lines.append(escape(product))
    return section("\n".join(lines))
