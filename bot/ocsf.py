"""PURE: the OCSF objects the bot emits, as pydantic v2 models (walking-skeleton subset).

Conventions (../shared/reference/ocsf.md): `extra="forbid"`; ids are `IntEnum`s and each model
fills the caption beside its id; every `*_time` is epoch milliseconds; nulls are omitted on
output (`to_json`).
"""

from __future__ import annotations

from enum import IntEnum
from typing import Any

from pydantic import BaseModel, ConfigDict

OCSF_VERSION = "1.8.0"


class OcsfModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def to_json(model: BaseModel) -> dict[str, Any]:
    """The model as OCSF JSON: no nulls, enums as their integer ids."""
    return model.model_dump(mode="json", exclude_none=True)


class SeverityId(IntEnum):
    UNKNOWN = 0
    INFORMATIONAL = 1
    LOW = 2
    MEDIUM = 3
    HIGH = 4
    CRITICAL = 5
    FATAL = 6
    OTHER = 99


class StatusId(IntEnum):
    UNKNOWN = 0
    NEW = 1
    IN_PROGRESS = 2
    SUPPRESSED = 3
    RESOLVED = 4
    OTHER = 99


class RiskLevelId(IntEnum):
    INFO = 0
    LOW = 1
    MEDIUM = 2
    HIGH = 3
    CRITICAL = 4
    OTHER = 99


class OsTypeId(IntEnum):
    UNKNOWN = 0
    WINDOWS = 100
    LINUX = 200
    ANDROID = 201
    MACOS = 300
    IOS = 301
    IPADOS = 302
    OTHER = 99


class DeviceTypeId(IntEnum):
    UNKNOWN = 0
    SERVER = 1
    DESKTOP = 2
    LAPTOP = 3
    TABLET = 4
    MOBILE = 5
    VIRTUAL = 6
    OTHER = 99


def caption(value: IntEnum) -> str:
    """OCSF's caption for an enum id: `IN_PROGRESS` → "In Progress"."""
    return value.name.replace("_", " ").title()


class Os(OcsfModel):
    name: str
    type_id: OsTypeId
    type: str | None = None
    version: str | None = None
    build: str | None = None


class Group(OcsfModel):
    name: str | None = None
    uid: str | None = None
    type: str | None = None


class Device(OcsfModel):
    type_id: DeviceTypeId
    type: str | None = None
    uid: str | None = None
    hostname: str | None = None
    name: str | None = None
    domain: str | None = None
    ip: str | None = None
    os: Os | None = None
    risk_level_id: RiskLevelId | None = None
    risk_level: str | None = None
    first_seen_time: int | None = None
    last_seen_time: int | None = None
    groups: tuple[Group, ...] | None = None
    unmapped: dict[str, Any] | None = None


class Product(OcsfModel):
    name: str = "Microsoft Defender for Endpoint"
    vendor_name: str = "Microsoft"


class Metadata(OcsfModel):
    version: str = OCSF_VERSION
    product: Product = Product()
    uid: str | None = None
    tenant_uid: str | None = None
    correlation_uid: str | None = None
    original_time: str | None = None
    log_name: str | None = None


class FindingInfo(OcsfModel):
    uid: str
    title: str | None = None
    desc: str | None = None
    src_url: str | None = None
    types: tuple[str, ...] | None = None
    created_time: int | None = None
    first_seen_time: int | None = None
    last_seen_time: int | None = None


class DetectionFinding(OcsfModel):
    class_uid: int = 2004
    class_name: str = "Detection Finding"
    category_uid: int = 2
    category_name: str = "Findings"
    activity_id: int
    type_uid: int
    severity_id: SeverityId
    severity: str | None = None
    status_id: StatusId | None = None
    status: str | None = None
    time: int
    message: str | None = None
    metadata: Metadata
    finding_info: FindingInfo
    device: Device | None = None
    unmapped: dict[str, Any] | None = None
