"""PURE: what MDE says of each indicator of a report, across its connectors: the line a
responder reads first (`bot.render.messages` writes it).

For an IP, the devices that hold it are told apart by who holds it now: MDE's `lastIpAddress`
is each device's latest address, so when several devices of a tenant carry the same one (DHCP
handed it on), the one seen last holds it now and the others held it earlier.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from bot import ocsf
from bot.enrichment.results import ConnectorReport, HeldIndicator, Report
from bot.indicators import Indicator, IndicatorType

IP_TYPES = frozenset({IndicatorType.IPV4, IndicatorType.IPV6})
# Indicators that name a device: their verdict counts the alerts of the devices they name. The
# others (files, URLs, domains) count the alerts that name them, not every alert of a device
# that once saw them.
DEVICE_TYPES = IP_TYPES | {IndicatorType.HOSTNAME}
_NO_VERDICT = frozenset({"", "unknown", "none", "null", "clean"})


@dataclass(frozen=True, slots=True)
class DeviceSeen:
    name: str
    tenant: str
    last_seen: int | None  # epoch ms
    current: bool = True  # for an IP: holds it now (else: held it earlier)


@dataclass(frozen=True, slots=True)
class Verdict:
    """What MDE says of one indicator, in every connector asked."""

    indicator: Indicator
    devices: tuple[DeviceSeen, ...] = ()  # the holder(s) first, then the most recently seen
    alerts: int = 0  # distinct alerts: of its devices (`DEVICE_TYPES`), else naming it
    worst: ocsf.SeverityId | None = None
    threat: str | None = None  # MDE's name for the file or the threat
    seen_in: tuple[str, ...] = ()  # connectors where anything was found
    searched: tuple[str, ...] = ()  # connectors asked
    not_searched: tuple[str, ...] = ()  # connectors that could not be asked
    note: str | None = None  # why there is no (complete) answer
    # custom indicators MDE already holds for it: (the connector, what it holds)
    held: tuple[tuple[str, HeldIndicator], ...] = ()

    @property
    def found(self) -> bool:
        return bool(self.devices or self.alerts or self.threat)


def verdicts(report: Report) -> list[Verdict]:
    """One verdict per indicator of the report, in the order the message had them."""
    return [_verdict(report, indicator) for indicator in report.indicators]


def _verdict(report: Report, indicator: Indicator) -> Verdict:
    devices: list[DeviceSeen] = []
    findings: dict[str, ocsf.DetectionFinding] = {}
    threats: list[str] = []
    seen_in: list[str] = []
    note: str | None = None
    for connector in report.connectors:
        found_here = _collect(connector, indicator, devices, findings, threats)
        if found_here:
            seen_in.append(connector.alias)
        if note is None:
            note = next((n.text for n in connector.notes if n.indicator == indicator), None)
    ranked = [f.severity_id for f in findings.values() if f.severity_id != ocsf.SeverityId.OTHER]
    return Verdict(
        indicator=indicator,
        devices=_holders_first(indicator, devices),
        alerts=len(findings),
        worst=max(ranked, default=None),
        threat=next(iter(dict.fromkeys(threats)), None),
        seen_in=tuple(seen_in),
        searched=tuple(c.alias for c in report.connectors if c.searched),
        not_searched=tuple(c.alias for c in report.connectors if not c.searched),
        note=note,
        held=tuple(
            (c.alias, held)
            for c in report.connectors
            for held in c.held
            if held.indicator == indicator
        ),
    )


def _collect(
    connector: ConnectorReport,
    indicator: Indicator,
    devices: list[DeviceSeen],
    findings: dict[str, ocsf.DetectionFinding],
    threats: list[str],
) -> bool:
    """Add what `connector` found for `indicator`; whether it found anything."""
    found = False
    for result in connector.devices:
        if indicator in result.matched:
            found = True
            device = result.device
            name = device.name or device.hostname or device.uid or "unknown device"
            devices.append(DeviceSeen(name, connector.alias, device.last_seen_time))
            if indicator.type in DEVICE_TYPES:
                for finding in result.findings:
                    findings.setdefault(finding.finding_info.uid, finding)
    for hit in connector.findings:
        if indicator in hit.matched:
            found = True
            findings.setdefault(hit.finding.finding_info.uid, hit.finding)
            # The threat an alert that names the indicator found (not one of its device's)
            threats += [m.name for m in hit.finding.malware or () if m.name]
    for file in connector.files:
        if indicator in file.matched:
            found = True
            verdict = file.info.determination_value or file.info.determination_type or ""
            if verdict.strip().lower() not in _NO_VERDICT:
                threats.append(verdict.strip())
    return found


def _holders_first(indicator: Indicator, devices: Sequence[DeviceSeen]) -> tuple[DeviceSeen, ...]:
    """The most recently seen first; for an IP, only the device seen last in each tenant holds
    it now (tenants are separate networks: 10.0.0.5 in one is not 10.0.0.5 in another)."""
    ordered = sorted(devices, key=lambda d: d.last_seen or 0, reverse=True)
    if indicator.type not in IP_TYPES:
        return tuple(ordered)
    holders: set[str] = set()
    marked = []
    for device in ordered:
        marked.append(replace(device, current=device.tenant not in holders))
        holders.add(device.tenant)
    return tuple(sorted(marked, key=lambda d: not d.current))  # stable: holders, then earlier
