"""What a lookup produced, for the renderer: finished OCSF models, grouped per connector.

Plain frozen data; no I/O. The service builds it, `bot.render` turns it into Block Kit.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from bot import ocsf
from bot.indicators import Indicator


@dataclass(frozen=True, slots=True)
class Problem:
    """A failure that is safe to show: our words, never exception text."""

    connector: str
    message: str
    hint: str = ""


@dataclass(frozen=True, slots=True)
class DeviceResult:
    device: ocsf.Device
    findings: tuple[ocsf.DetectionFinding, ...] = ()
    matched: tuple[Indicator, ...] = ()  # the indicators that led to this device


@dataclass(frozen=True, slots=True)
class ConnectorReport:
    alias: str
    portal_url: str
    tenant_id: str
    devices: tuple[DeviceResult, ...] = ()
    problem: Problem | None = None

    def device_url(self, device_uid: str) -> str:
        return f"{self.portal_url}/machines/{device_uid}/overview?tid={self.tenant_id}"


@dataclass(frozen=True, slots=True)
class Report:
    indicators: tuple[Indicator, ...]
    connectors: tuple[ConnectorReport, ...] = ()
    dropped: int = 0
    demo: bool = False  # answered by the embedded simulator, not a real tenant
    notes: tuple[str, ...] = field(default=())

    @property
    def found_anything(self) -> bool:
        return any(c.devices for c in self.connectors)
