"""The device a Detection Finding names (docs/ocsf-mapping.md §3, device).

An alert carries its own device facts from when it was raised: the device id, its name and its
device group. A device looked up now (MDE's machine) adds the rest (addresses, interfaces, OS,
risk, tags, …), which is the device's *current* state, not its state at alert time. The alert's
own facts win; each attribute taken from the lookup is named in `Device.current`, and the
finding repeats that in `unmapped.device_current` (with the time of that state, the device's
last full report), so neither a card nor a data lake reads today's IP as the attacker's IP.
"""

from __future__ import annotations

from typing import Any

from bot import ocsf
from bot.mde.models import Alert, Machine
from bot.mde.normalize.common import text
from bot.mde.normalize.device import device_from_machine, device_name_parts

# Attributes that are not facts about the device's state, never called current.
_NOT_STATE = frozenset({"type_id", "type", "uid", "unmapped", "current"})
_DEVICE_GROUP = "DeviceGroup"


def alert_device(alert: Alert) -> ocsf.Device | None:
    """§3 machineId, computerDnsName, rbacGroupName → device: the alert's own facts."""
    uid, hostname = text(alert.machine_id), text(alert.computer_dns_name)
    if not (uid or hostname):
        return None
    group = text(alert.rbac_group_name)
    return ocsf.Device(
        type_id=ocsf.DeviceTypeId.UNKNOWN,
        uid=uid,
        **device_name_parts(hostname),
        groups=(ocsf.Group(name=group, type=_DEVICE_GROUP),) if group else None,
    )


def _groups(own: ocsf.Device, looked_up: ocsf.Device) -> tuple[ocsf.Group, ...] | None:
    """The alert's device group, and the looked-up device's other groups (its tags)."""
    if not own.groups:
        return looked_up.groups
    mine = {g.type for g in own.groups}
    return (*own.groups, *(g for g in looked_up.groups or () if g.type not in mine)) or None


def merged_device(own: ocsf.Device | None, looked_up: ocsf.Device) -> ocsf.Device:
    """`looked_up` under the alert's own facts (`own`), its other attributes marked current."""
    if own is None:
        fields = [f for f in type(looked_up).model_fields if f not in _NOT_STATE]
        held = [f for f in fields if getattr(looked_up, f) is not None]
        return looked_up.model_copy(update={"current": tuple(held) or None})
    values: dict[str, Any] = {}
    current: list[str] = []
    for field in type(looked_up).model_fields:
        mine, theirs = getattr(own, field), getattr(looked_up, field)
        values[field] = mine if mine is not None else theirs
        if mine is None and theirs is not None and field not in _NOT_STATE:
            current.append(field)
    values["groups"] = _groups(own, looked_up)
    if values["groups"] != own.groups and "groups" not in current:
        current.append("groups")
    values["type_id"], values["type"] = looked_up.type_id, None  # MDE's kind of device
    values["current"] = tuple(current) or None
    return ocsf.Device(**values)


def finding_device(
    alert: Alert, *, machine: Machine | None = None, device: ocsf.Device | None = None
) -> ocsf.Device | None:
    """The device of the finding: the alert's own, merged with the device looked up (`device`,
    or `machine` normalised) when that is the alert's device. A looked-up device with another
    id is not the alert's, and is left out."""
    own = alert_device(alert)
    looked_up = device if device is not None else None
    if looked_up is None and machine is not None:
        looked_up = device_from_machine(machine)
    if looked_up is None:
        return own
    if own is not None and own.uid and looked_up.uid and own.uid != looked_up.uid:
        return own
    return merged_device(own, looked_up)


def current_state(device: ocsf.Device | None) -> dict[str, Any] | None:
    """§3 `unmapped.device_current`: which device attributes give its state when looked up
    (not at the finding's time), and as of when (the device's last full report, ms)."""
    if device is None or not device.current:
        return None
    state: dict[str, Any] = {"attributes": [f"device.{name}" for name in device.current]}
    if device.last_seen_time is not None:
        state["as_of_time"] = device.last_seen_time
    return state
