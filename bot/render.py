"""PURE: a finished `Report` → a Slack message (summary text + Block Kit).

Mobile first: the summary line comes first and is also the notification text; short
label/value fields; no wide tables. Every piece of MDE or user text is escaped, every indicator
defanged.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from bot import ocsf
from bot.mrkdwn import code, date, defang, escape
from bot.results import ConnectorReport, DeviceResult, Report

Block = dict[str, Any]

SEVERITY_EMOJI = {
    ocsf.SeverityId.CRITICAL: "🟣",
    ocsf.SeverityId.HIGH: "🔴",
    ocsf.SeverityId.MEDIUM: "🟠",
    ocsf.SeverityId.LOW: "🟡",
    ocsf.SeverityId.INFORMATIONAL: "🔵",
}
NO_ALERTS = "⚪"
MAX_BLOCKS = 50


@dataclass(frozen=True, slots=True)
class Message:
    text: str  # the notification and fallback text
    blocks: list[Block]


def _mrkdwn(text: str) -> Block:
    return {"type": "mrkdwn", "text": text, "verbatim": True}


def _top_severity(findings: Sequence[ocsf.DetectionFinding]) -> ocsf.SeverityId | None:
    ranked = [f.severity_id for f in findings if f.severity_id != ocsf.SeverityId.OTHER]
    return max(ranked, default=None)


def alert_summary(findings: Sequence[ocsf.DetectionFinding]) -> str:
    """`2 High · 1 Low`, most severe first; `no alerts` when there are none."""
    if not findings:
        return "no alerts"
    counts = Counter(f.severity_id for f in findings)
    parts = [f"{counts[s]} {ocsf.caption(s)}" for s in sorted(counts, reverse=True) if counts[s]]
    return " · ".join(parts)


def _device_label(device: ocsf.Device) -> str:
    return device.name or device.hostname or device.uid or "unknown device"


def _os_text(device: ocsf.Device) -> str:
    if device.os is None:
        return "—"
    parts = [device.os.name, device.os.version, f"({device.os.build})" if device.os.build else None]
    return " ".join(p for p in parts if p)


def summary_line(report: Report) -> str:
    """The first line of the answer and the push-notification text (plain, no markup)."""
    devices = [d for c in report.connectors for d in c.devices]
    findings = [f for d in devices for f in d.findings]
    aliases = ", ".join(c.alias for c in report.connectors if c.devices)
    if not devices:
        return "No device in MDE matches " + _count(len(report.indicators), "indicator")
    top = _top_severity(findings)
    emoji = SEVERITY_EMOJI.get(top, NO_ALERTS) if top is not None else NO_ALERTS
    if top is not None:
        top_count = sum(1 for f in findings if f.severity_id == top)
        alerts = f"{top_count} {ocsf.caption(top)} " + ("alert" if top_count == 1 else "alerts")
    else:
        alerts = "no alerts"
    where = (
        _device_label(devices[0].device) if len(devices) == 1 else _count(len(devices), "device")
    )
    return f"{emoji} {alerts} · {where} · {aliases}"


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" + ("" if n == 1 else "s")


def device_card(result: DeviceResult, connector: ConnectorReport, *, demo: bool) -> list[Block]:
    device = result.device
    unmapped = device.unmapped or {}
    top = _top_severity(result.findings)
    emoji = SEVERITY_EMOJI.get(top, NO_ALERTS) if top is not None else NO_ALERTS
    title = f"{emoji} *{escape(_device_label(device))}* · {escape(connector.alias)}"
    alerts = f"*Alerts:* {alert_summary(result.findings)}"
    fields = [
        ("OS", escape(_os_text(device))),
        ("Health", escape(str(unmapped.get("healthStatus", "—")))),
        ("Risk", escape(device.risk_level or "—")),
        ("Last seen", date(device.last_seen_time)),
        ("IP", code(defang(device.ip)) if device.ip else "—"),
        ("Exposure", escape(str(unmapped.get("exposureLevel", "—")))),
    ]
    context = []
    if device.hostname:
        context.append(code(device.hostname))
    if result.matched:
        context.append("matched " + ", ".join(code(defang(i.value)) for i in result.matched))
    if demo:
        context.append("demo data")
    blocks: list[Block] = [
        {"type": "section", "text": _mrkdwn(f"{title}\n{alerts}")},
        {"type": "section", "fields": [_mrkdwn(f"*{k}*\n{v}") for k, v in fields]},
    ]
    if context:
        blocks.append({"type": "context", "elements": [_mrkdwn(" · ".join(context))]})
    if device.uid:
        url = connector.device_url(device.uid)
        blocks.append(
            {
                "type": "actions",
                "elements": [
                    {
                        "type": "button",
                        "text": {"type": "plain_text", "text": "Open in Defender"},
                        "url": url,
                        "action_id": "open_device",
                    }
                ],
            }
        )
    return blocks


def problem_block(connector: ConnectorReport) -> Block | None:
    problem = connector.problem
    if problem is None:
        return None
    hint = f"\n{escape(problem.hint)}" if problem.hint else ""
    return {
        "type": "section",
        "text": _mrkdwn(f"⚠️ *{escape(problem.connector)}*: {escape(problem.message)}{hint}"),
    }


def report_message(report: Report) -> Message:
    summary = summary_line(report)
    blocks: list[Block] = [{"type": "section", "text": _mrkdwn(f"*{escape(summary)}*")}]
    for connector in report.connectors:
        for result in connector.devices:
            blocks.append({"type": "divider"})
            blocks.extend(device_card(result, connector, demo=report.demo))
        if (block := problem_block(connector)) is not None:
            blocks.append(block)
    return Message(text=summary, blocks=blocks[:MAX_BLOCKS])


HELP_TEXT = (
    "Paste or type IPs, host names, file names or hashes after /mde — defanged forms such as "
    "10[.]0[.]0[.]1 work too. Example: /mde 10.1.2.3"
)


def progress_text(indicators: int, connectors: int) -> str:
    return f"Looking up {_count(indicators, 'indicator')} in {_count(connectors, 'tenant')}…"


def text_message(text: str) -> Message:
    """A plain notice (progress, help, refusal) as a message."""
    return Message(text=text, blocks=[{"type": "section", "text": _mrkdwn(escape(text))}])


def error_message(message: str, hint: str = "") -> Message:
    """A failure, in our words: what happened and what to do."""
    text = f"⚠️ {message}"
    body = f"⚠️ {escape(message)}" + (f"\n{escape(hint)}" if hint else "")
    return Message(text=text, blocks=[{"type": "section", "text": _mrkdwn(body)}])
