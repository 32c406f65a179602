"""PURE: the events of what the bot itself does (docs/audit.md): the response actions it has
MDE take, as Remediation Activity (7001), File Remediation Activity (7002) and Network
Remediation Activity (7004); its lookups and refusals, as API Activity (6003).

Remediation activities are D3FEND tactics (`RemediationActivityId`: 1 Isolate, 2 Evict,
3 Restore, 4 Harden, 5 Detect); `command_uid` is the id of the command (MDE's machine action
id). The acting user and the device are attributes of the `host` profile, declared whenever
they are sent (as `bot.ocsf.events` does for its profiles). Process Remediation (7003) is not
modelled: no MDE action the bot takes names a process.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar, Literal

from bot.ocsf.base import OcsfModel
from bot.ocsf.enums import OcsfEnum, SeverityId
from bot.ocsf.events import OcsfEvent
from bot.ocsf.objects import Device, File, User

_HOST = "host"


class RemediationActivityId(OcsfEnum):
    """The D3FEND tactic of a remediation (7001-7004 `activity_id`)."""

    UNKNOWN = 0
    ISOLATE = 1
    EVICT = 2
    RESTORE = 3
    HARDEN = 4
    DETECT = 5
    OTHER = 99


class RemediationStatusId(OcsfEnum):
    """A remediation's outcome (7001-7004 `status_id`)."""

    UNKNOWN = 0
    SUCCESS = 1
    FAILURE = 2
    DOES_NOT_EXIST = 3
    PARTIAL = 4
    UNSUPPORTED = 5
    ERROR = 6
    OTHER = 99


class ApiActivityId(OcsfEnum):
    UNKNOWN = 0
    CREATE = 1
    READ = 2
    UPDATE = 3
    DELETE = 4
    OTHER = 99


class EventStatusId(OcsfEnum):
    """An event's outcome (base_event `status_id`, as API Activity has it)."""

    UNKNOWN = 0
    SUCCESS = 1
    FAILURE = 2
    OTHER = 99


class DirectionId(OcsfEnum):
    """A connection's direction (4 Local is 1.8+ and not listed)."""

    UNKNOWN = 0
    INBOUND = 1
    OUTBOUND = 2
    LATERAL = 3
    OTHER = 99


class Actor(OcsfModel):
    """Who did it: the user, and the application they did it through."""

    at_least_one = ("user", "app_name")

    user: User | None = None
    app_name: str | None = None
    app_uid: str | None = None


class Service(OcsfModel):
    at_least_one = ("name", "uid")

    name: str | None = None
    uid: str | None = None
    version: str | None = None


class ApiRequest(OcsfModel):
    uid: str


class Api(OcsfModel):
    operation: str
    service: Service | None = None
    request: ApiRequest | None = None
    version: str | None = None


class ServiceEndpoint(OcsfModel):
    """A network endpoint named by the service it is (`svc_name`), not by an address."""

    at_least_one = ("svc_name", "uid", "name")

    svc_name: str | None = None
    uid: str | None = None
    name: str | None = None


class ConnectionInfo(OcsfModel):
    caption_fields: ClassVar[Mapping[str, str]] = {"direction_id": "direction"}

    direction_id: DirectionId
    direction: str | None = None


class RemediationEvent(OcsfEvent):
    """What the Remediation classes (7001-7004) share."""

    caption_fields: ClassVar[Mapping[str, str]] = {
        **OcsfEvent.caption_fields,
        "status_id": "status",
    }
    profile_fields: ClassVar[Mapping[str, str]] = {"device": _HOST, "actor": _HOST}

    category_uid: Literal[7] = 7
    category_name: str = "Remediation"
    activity_id: RemediationActivityId
    severity_id: SeverityId = SeverityId.INFORMATIONAL
    command_uid: str
    status_id: RemediationStatusId | None = None
    status: str | None = None
    status_code: str | None = None
    status_detail: str | None = None
    # host profile
    device: Device | None = None
    actor: Actor | None = None


class RemediationActivity(RemediationEvent):
    """A remediation of a device as a whole (isolate, restrict code execution, scan, …)."""

    class_uid: Literal[7001] = 7001
    class_name: str = "Remediation Activity"


class FileRemediationActivity(RemediationEvent):
    """A remediation of a file (stop and quarantine it, block its hash)."""

    class_uid: Literal[7002] = 7002
    class_name: str = "File Remediation Activity"
    file: File


class NetworkRemediationActivity(RemediationEvent):
    """A remediation of network traffic (block an IP, a domain, a URL)."""

    class_uid: Literal[7004] = 7004
    class_name: str = "Network Remediation Activity"
    connection_info: ConnectionInfo


class ApiActivity(OcsfEvent):
    """A call the bot made on a user's behalf (a lookup), or refused to make."""

    caption_fields: ClassVar[Mapping[str, str]] = {
        **OcsfEvent.caption_fields,
        "status_id": "status",
    }

    class_uid: Literal[6003] = 6003
    class_name: str = "API Activity"
    category_uid: Literal[6] = 6
    category_name: str = "Application Activity"
    activity_id: ApiActivityId
    severity_id: SeverityId = SeverityId.INFORMATIONAL
    actor: Actor
    api: Api
    src_endpoint: ServiceEndpoint
    status_id: EventStatusId | None = None
    status: str | None = None
    status_detail: str | None = None
