"""Every OCSF event for one device and its alerts, as an export would list them."""

from __future__ import annotations

from collections.abc import Iterable

from bot import ocsf
from bot.mde.models import Alert, FileInfo, Machine
from bot.mde.normalize.alert import finding_from_alert
from bot.mde.normalize.device import device_event
from bot.mde.normalize.legacy import security_finding_from_detection


def device_events(
    machine: Machine,
    alerts: Iterable[Alert] = (),
    *,
    portal_url: str,
    tenant_id: str | None = None,
    files: Iterable[FileInfo] = (),
    time: int | None = None,
    legacy: bool = False,
    version: str = ocsf.OCSF_VERSION,
) -> list[ocsf.Event]:
    """The device as Device Inventory Info, then each alert as a Detection Finding with the full
    device merged in; with `legacy`, each alert also as a Security Finding (2001). The tenant is
    taken from the alerts when not given."""
    alerts = list(alerts)
    files = list(files)
    tenant = tenant_id or next((a.aad_tenant_id for a in alerts if a.aad_tenant_id), None)
    events: list[ocsf.Event] = [device_event(machine, tenant_id=tenant, time=time, version=version)]
    findings = [
        finding_from_alert(a, portal_url=portal_url, machine=machine, files=files, version=version)
        for a in alerts
    ]
    events.extend(findings)
    if legacy:
        events.extend(security_finding_from_detection(f) for f in findings)
    return events
