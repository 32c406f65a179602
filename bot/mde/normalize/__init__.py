"""PURE: MDE machines, alerts and files → OCSF (../shared/reference/ocsf.md §5).

No I/O and no settings: MDE models in, `bot.ocsf` models out. Modules:
- `device`: Machine → device; the Device Inventory Info event (5001)
- `alert`: Alert → Detection Finding (2004)
- `legacy`: Detection Finding → legacy Security Finding (2001)
- `evidence`: alert evidence → evidences[]; file profiles → file
- `events`: every event for one device and its alerts
- `common`: times, enum keys, IPs, MACs, hashes, observables
"""

from bot.mde.normalize.alert import alert_url, finding_from_alert
from bot.mde.normalize.common import epoch_ms, mac_or_none, mde_time
from bot.mde.normalize.device import device_event, device_from_machine
from bot.mde.normalize.events import device_events
from bot.mde.normalize.evidence import evidence_item, file_from_info
from bot.mde.normalize.legacy import security_finding_from_alert, security_finding_from_detection

__all__ = [
    "alert_url",
    "device_event",
    "device_events",
    "device_from_machine",
    "epoch_ms",
    "evidence_item",
    "file_from_info",
    "finding_from_alert",
    "mac_or_none",
    "mde_time",
    "security_finding_from_alert",
    "security_finding_from_detection",
]
