"""What a lookup produced, for the renderer: finished OCSF models, grouped per connector.

Plain frozen data; no I/O. The service builds it, `bot.render` turns it into Block Kit and
`bot.mde.normalize` into OCSF events.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote

from bot import ocsf
from bot.indicators import Indicator
from bot.mde.models import FileInfo


@dataclass(frozen=True, slots=True)
class Problem:
    """A failure that is safe to show: our words, never exception text."""

    connector: str
    message: str
    hint: str = ""


@dataclass(frozen=True, slots=True)
class Note:
    """Why an indicator has no (complete) answer, e.g. 'external IP: no hunting permission'."""

    indicator: Indicator
    text: str


@dataclass(frozen=True, slots=True)
class DeviceResult:
    device: ocsf.Device
    findings: tuple[ocsf.DetectionFinding, ...] = ()  # the device's alerts
    matched: tuple[Indicator, ...] = ()  # the indicators that led to this device
    loose: bool = False  # matched by a host-name prefix only
    alerts_known: bool = True  # False when the device's alerts were not fetched
    # "isolated", "apps restricted", "isolation pending"…, read from its machine actions
    # (only while response actions are on: it costs a call)
    containment: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class FindingResult:
    finding: ocsf.DetectionFinding
    matched: tuple[Indicator, ...] = ()


@dataclass(frozen=True, slots=True)
class FileResult:
    info: FileInfo
    matched: tuple[Indicator, ...] = ()


@dataclass(frozen=True, slots=True)
class HeldIndicator:
    """A custom indicator MDE already holds for a pasted value: so nobody blocks it twice."""

    indicator: Indicator  # as pasted
    action: str  # Block, Alert, Allowed, …
    by: str | None = None  # who made it (MDE's createdBy)
    expires: int | None = None  # epoch seconds; None: never
    title: str | None = None


@dataclass(frozen=True, slots=True)
class ConnectorReport:
    alias: str
    portal_url: str
    tenant_id: str
    devices: tuple[DeviceResult, ...] = ()
    findings: tuple[FindingResult, ...] = ()  # alerts an indicator led to directly
    files: tuple[FileResult, ...] = ()
    notes: tuple[Note, ...] = ()
    problems: tuple[Problem, ...] = ()
    more_devices: int = 0  # found but not shown (bounded work per message)
    searched: bool = True  # False: nothing could be asked (sign-in failed, every call failed)
    held: tuple[HeldIndicator, ...] = ()  # custom indicators MDE holds for pasted values

    @property
    def partial(self) -> bool:
        """Asked, but some of its lookups failed."""
        return self.searched and bool(self.problems)

    def device_url(self, device_uid: str) -> str:
        uid, tenant = quote(device_uid, safe=""), quote(self.tenant_id, safe="")
        return f"{self.portal_url}/machines/{uid}/overview?tid={tenant}"

    @property
    def found_anything(self) -> bool:
        return bool(self.devices or self.findings or self.files)

    def all_findings(self) -> list[ocsf.DetectionFinding]:
        """Every distinct alert in this report, the devices' and the indicators'."""
        seen: dict[str, ocsf.DetectionFinding] = {}
        for device in self.devices:
            for finding in device.findings:
                seen.setdefault(finding.finding_info.uid, finding)
        for result in self.findings:
            seen.setdefault(result.finding.finding_info.uid, result.finding)
        return list(seen.values())


@dataclass(frozen=True, slots=True)
class Report:
    indicators: tuple[Indicator, ...]
    connectors: tuple[ConnectorReport, ...] = ()
    dropped: int = 0  # indicators beyond the per-message cap
    deferred: int = 0  # indicators left out: MDE's call budget could not serve them in time
    demo: bool = False  # answered by the embedded simulator, not a real tenant
    at: int | None = None  # when it was looked up (epoch ms): relative times count from it

    @property
    def found_anything(self) -> bool:
        return any(c.found_anything for c in self.connectors)

    @property
    def problems(self) -> tuple[Problem, ...]:
        return tuple(p for c in self.connectors for p in c.problems)

    @property
    def not_searched(self) -> tuple[ConnectorReport, ...]:
        return tuple(c for c in self.connectors if not c.searched)

    @property
    def searched_in_part(self) -> tuple[ConnectorReport, ...]:
        return tuple(c for c in self.connectors if c.partial)

    @property
    def worth_posting(self) -> bool:
        """Something found, something wrong, or something left out: what a pasted message's
        reply is for (a reply saying only "MDE knows none" is optional)."""
        return self.found_anything or bool(self.problems) or bool(self.deferred)


# ---------------------------------------------------------------------- test connection


@dataclass(frozen=True, slots=True)
class Step:
    ok: bool
    message: str
    hint: str = ""


@dataclass(frozen=True, slots=True)
class Permission:
    feature: str
    roles: tuple[str, ...]
    granted: bool
    required: bool


@dataclass(frozen=True, slots=True)
class ConnectorCheck:
    alias: str
    cloud: str
    api_url: str
    authority: str
    token: Step
    audience: Step | None = None
    permissions: tuple[Permission, ...] = ()
    probe: Step | None = None

    @property
    def ok(self) -> bool:
        steps = [self.token, self.audience, self.probe]
        granted = all(p.granted for p in self.permissions if p.required)
        return granted and all(s is not None and s.ok for s in steps)


@dataclass(frozen=True, slots=True)
class CheckReport:
    connectors: tuple[ConnectorCheck, ...]
    demo: bool = False

    @property
    def ok(self) -> bool:
        return bool(self.connectors) and all(c.ok for c in self.connectors)
