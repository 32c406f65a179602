"""PURE: a report → its OCSF events, and the file the "OCSF JSON" button uploads."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from bot import ocsf
from bot.enrichment.results import Report
from bot.mde.normalize import device_event, security_finding_from_detection


def ocsf_events(
    report: Report, *, legacy: bool = False, version: str = ocsf.OCSF_VERSION
) -> list[dict[str, Any]]:
    """Each device as Device Inventory Info, then each distinct alert as a Detection Finding;
    with `legacy`, each alert also as a Security Finding (2001) for tools that expect it; in
    OCSF `version` (the events are built for the newest and retargeted)."""
    events: list[ocsf.Event] = []
    for connector in report.connectors:
        events += [device_event(d.device, tenant_id=connector.tenant_id) for d in connector.devices]
        findings = connector.all_findings()
        events += findings
        if legacy:
            events += [security_finding_from_detection(f) for f in findings]
    return [ocsf.retarget(ocsf.to_json(e), version) for e in events]


@dataclass(frozen=True, slots=True)
class Export:
    filename: str
    title: str
    content: str  # JSON Lines: one OCSF event per line
    comment: str


def ocsf_export(report: Report) -> Export:
    events = ocsf_events(report)
    devices = [d.device for c in report.connectors for d in c.devices]
    name = (devices[0].name or devices[0].uid or "device") if devices else "report"
    safe = "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in name.lower())[:60]
    lines = "\n".join(json.dumps(e, separators=(",", ":"), ensure_ascii=False) for e in events)
    return Export(
        filename=f"mde-{safe}.ocsf.jsonl",
        title=f"OCSF {ocsf.OCSF_VERSION} events for {name}",
        content=lines + "\n",
        comment=f"{len(events)} OCSF {ocsf.OCSF_VERSION} events (JSON Lines)",
    )
