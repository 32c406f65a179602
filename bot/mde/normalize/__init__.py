"""PURE: MDE machines, alerts and files → OCSF (docs/ocsf-mapping.md).

No I/O and no settings: MDE models in, `bot.ocsf` models out. Modules:
- `device`: Machine → device; the Device Inventory Info event (5001)
- `alert`: Alert → Detection Finding (2004)
- `finding_device`: the device a finding names (the alert's own facts, the looked-up rest)
- `threats`: MITRE ATT&CK and malware from an alert
- `evidence`: alert evidence (either shape) → evidences[]
- `files`: file names, paths and profiles → file; a file profile as File Query (5007)
- `legacy`: Detection Finding → legacy Security Finding (2001)
- `events`: every event for one device and its alerts
- `common`: times, enum keys, placeholder text, IPs, MACs, hashes, observables
"""

from bot.mde.normalize.alert import alert_url, finding_from_alert
from bot.mde.normalize.common import epoch_ms, host_ip_or_none, mac_or_none, mde_time
from bot.mde.normalize.device import device_event, device_from_machine
from bot.mde.normalize.events import device_events
from bot.mde.normalize.evidence import evidence_item
from bot.mde.normalize.files import file_event, file_from_info, file_location
from bot.mde.normalize.finding_device import finding_device
from bot.mde.normalize.legacy import security_finding_from_alert, security_finding_from_detection
from bot.mde.normalize.threats import classify

__all__ = [
    "alert_url",
    "classify",
    "device_event",
    "device_events",
    "device_from_machine",
    "epoch_ms",
    "evidence_item",
    "file_event",
    "file_from_info",
    "file_location",
    "finding_device",
    "finding_from_alert",
    "host_ip_or_none",
    "mac_or_none",
    "mde_time",
    "security_finding_from_alert",
    "security_finding_from_detection",
]
