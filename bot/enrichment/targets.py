"""PURE: what a lookup offers to act on: the pasted values MDE could block, and the files it
could stop and quarantine on the devices where the lookup saw them. The cards offer "Block…"
and "Quarantine…" only when there is something here, and the forms list exactly this."""

from __future__ import annotations

from dataclasses import dataclass

from bot.enrichment.results import Report
from bot.indicators import Indicator
from bot.mde.custom import can_hold


@dataclass(frozen=True, slots=True)
class FileOnDevice:
    """A file the lookup found, on one device that saw it, in one tenant."""

    tenant: str
    machine_id: str
    device: str  # the device's name
    sha1: str
    file: str  # what people read: the file's name, or its short hash


def blockable(report: Report) -> list[Indicator]:
    """The pasted values MDE takes a custom indicator for, in the message's order."""
    return [i for i in report.indicators if can_hold(i.type, i.value)]


def quarantine_targets(report: Report) -> list[FileOnDevice]:
    """Each file with a SHA-1 (MDE stops and quarantines by SHA-1) on each shown device that
    matched one of the file's pasted values, tenant by tenant."""
    targets: list[FileOnDevice] = []
    for connector in report.connectors:
        for found in connector.files:
            sha1 = (found.info.sha1 or "").lower()
            if not sha1:
                continue
            pasted = set(found.matched)
            name = next((i.value for i in found.matched if i.type == "filename"), sha1[:12] + "…")
            for result in connector.devices:
                uid = result.device.uid
                if uid and pasted & set(result.matched):
                    label = result.device.name or result.device.hostname or uid
                    targets.append(FileOnDevice(connector.alias, uid, label, sha1, name))
    return targets
