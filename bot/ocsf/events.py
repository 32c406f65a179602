"""The OCSF events the bot emits: Detection Finding (2004), the legacy Security Finding (2001),
Device Inventory Info (5001) and File Query (5007) (docs/ocsf-mapping.md).

Each event derives what OCSF derives: `type_uid` = class_uid * 100 + activity_id, `type_name`,
the captions beside ids, and `metadata.profiles`, which gains every profile whose attributes the
event carries (`profile_fields`), so a profile-gated attribute is never emitted undeclared.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar, Literal, Self

from pydantic import model_validator

from bot.ocsf.base import Json, OcsfModel, Timestamp
from bot.ocsf.enums import (
    ActionId,
    ActivityId,
    ConfidenceId,
    DispositionId,
    InventoryActivityId,
    QueryActivityId,
    QueryResultId,
    SeverityId,
    StateId,
    StatusId,
    VerdictId,
    caption,
)
from bot.ocsf.finding import Analytic, Attack, FindingInfo, LegacyFinding, Metadata
from bot.ocsf.objects import Device, Evidence, File, Malware, Observable, Process, User

_SECURITY_CONTROL = "security_control"
_INCIDENT = "incident"
_HOST = "host"


class OcsfEvent(OcsfModel):
    """What every event class shares (base_event)."""

    profile_fields: ClassVar[Mapping[str, str]] = {}
    caption_fields: ClassVar[Mapping[str, str]] = {
        "severity_id": "severity",
        "activity_id": "activity_name",
    }

    class_uid: int
    class_name: str
    category_uid: int
    category_name: str
    activity_id: int
    activity_name: str | None = None
    type_uid: int = 0  # derived when left 0
    type_name: str | None = None
    severity_id: SeverityId
    severity: str | None = None
    time: Timestamp
    start_time: Timestamp | None = None
    end_time: Timestamp | None = None
    message: str | None = None
    metadata: Metadata
    observables: tuple[Observable, ...] | None = None
    unmapped: dict[str, Any] | None = None

    @model_validator(mode="after")
    def _derive(self) -> Self:
        expected = self.class_uid * 100 + self.activity_id
        if self.type_uid == 0:
            self.__dict__["type_uid"] = expected
        elif self.type_uid != expected:
            raise ValueError(f"type_uid {self.type_uid} is not class_uid*100+activity_id")
        if self.type_name is None:
            activity = self.activity_name or caption(ActivityId.UNKNOWN)
            self.__dict__["type_name"] = f"{self.class_name}: {activity}"
        used = {p for f, p in self.profile_fields.items() if getattr(self, f) is not None}
        declared = set(self.metadata.profiles or ())
        if not used <= declared:
            profiles = tuple(sorted(declared | used))
            self.__dict__["metadata"] = self.metadata.model_copy(update={"profiles": profiles})
        return self


class DetectionFinding(OcsfEvent):
    caption_fields: ClassVar[Mapping[str, str]] = {
        **OcsfEvent.caption_fields,
        "status_id": "status",
        "disposition_id": "disposition",
        "action_id": "action",
        "verdict_id": "verdict",
        "confidence_id": "confidence",
    }
    profile_fields: ClassVar[Mapping[str, str]] = {
        "attacks": _SECURITY_CONTROL,
        "disposition_id": _SECURITY_CONTROL,
        "action_id": _SECURITY_CONTROL,
        "verdict_id": _INCIDENT,
        "assignee": _INCIDENT,
    }

    class_uid: Literal[2004] = 2004
    class_name: str = "Detection Finding"
    category_uid: Literal[2] = 2
    category_name: str = "Findings"
    activity_id: ActivityId
    status_id: StatusId | None = None
    status: str | None = None
    finding_info: FindingInfo
    device: Device | None = None
    evidences: tuple[Evidence, ...] | None = None
    malware: tuple[Malware, ...] | None = None
    is_alert: bool | None = None
    comment: str | None = None
    confidence_id: ConfidenceId | None = None
    confidence: str | None = None
    # security_control profile
    attacks: tuple[Attack, ...] | None = None
    disposition_id: DispositionId | None = None
    disposition: str | None = None
    action_id: ActionId | None = None
    action: str | None = None
    # incident profile
    verdict_id: VerdictId | None = None
    verdict: str | None = None
    assignee: User | None = None


class SecurityFinding(OcsfEvent):
    """Legacy (deprecated since OCSF 1.1) Security Finding, for tools that still expect it."""

    caption_fields: ClassVar[Mapping[str, str]] = {
        **OcsfEvent.caption_fields,
        "state_id": "state",
        "disposition_id": "disposition",
        "action_id": "action",
    }
    profile_fields: ClassVar[Mapping[str, str]] = {
        "device": _HOST,
        "is_alert": _SECURITY_CONTROL,
        "disposition_id": _SECURITY_CONTROL,
        "action_id": _SECURITY_CONTROL,
    }

    class_uid: Literal[2001] = 2001
    class_name: str = "Security Finding"
    category_uid: Literal[2] = 2
    category_name: str = "Findings"
    activity_id: ActivityId
    state_id: StateId
    state: str | None = None
    finding: LegacyFinding
    analytic: Analytic | None = None
    attacks: tuple[Attack, ...] | None = None
    malware: tuple[Malware, ...] | None = None
    process: Process | None = None
    evidence: tuple[Json, ...] | None = None  # deprecated json blob; 2001 has no evidences[]
    # host profile
    device: Device | None = None
    # security_control profile
    is_alert: bool | None = None
    disposition_id: DispositionId | None = None
    disposition: str | None = None
    action_id: ActionId | None = None
    action: str | None = None


class DiscoveryEvent(OcsfEvent):
    """What the Discovery events share: their category, and an informational severity."""

    category_uid: Literal[5] = 5
    category_name: str = "Discovery"
    severity_id: SeverityId = SeverityId.INFORMATIONAL


class DeviceInventoryInfo(DiscoveryEvent):
    """A device as a Discovery event: what MDE knows about it when we asked."""

    class_uid: Literal[5001] = 5001
    class_name: str = "Device Inventory Info"
    activity_id: InventoryActivityId = InventoryActivityId.COLLECT
    device: Device


class FileQuery(DiscoveryEvent):
    """A file as a Discovery query result: what MDE knows of it (its file profile)."""

    caption_fields: ClassVar[Mapping[str, str]] = {
        **OcsfEvent.caption_fields,
        "query_result_id": "query_result",
    }

    class_uid: Literal[5007] = 5007
    class_name: str = "File Query"
    activity_id: QueryActivityId = QueryActivityId.QUERY
    query_result_id: QueryResultId = QueryResultId.EXISTS
    query_result: str | None = None
    file: File


Event = DetectionFinding | SecurityFinding | DeviceInventoryInfo | FileQuery
