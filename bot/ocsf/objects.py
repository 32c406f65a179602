"""OCSF objects for the things MDE reports about: devices, files, processes, users, endpoints,
malware, evidence and observables (docs/ocsf-mapping.md lists which MDE field goes where)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar, Self

from pydantic import Field, model_validator

from bot.ocsf.base import HEX_PATTERN, Email, Ip, Json, Mac, OcsfModel, Timestamp
from bot.ocsf.enums import (
    AgentTypeId,
    DeviceTypeId,
    FileTypeId,
    HashAlgorithmId,
    MalwareClassificationId,
    NetworkInterfaceTypeId,
    ObservableTypeId,
    OsTypeId,
    RiskLevelId,
    SeverityId,
    SignatureAlgorithmId,
    SignatureStateId,
    UserTypeId,
    VerdictId,
)


class Os(OcsfModel):
    caption_fields: ClassVar[Mapping[str, str]] = {"type_id": "type"}

    name: str
    type_id: OsTypeId
    type: str | None = None
    version: str | None = None
    build: str | None = None
    cpu_bits: int | None = None


class Group(OcsfModel):
    at_least_one = ("name", "uid")

    name: str | None = None
    uid: str | None = None
    type: str | None = None
    desc: str | None = None


class Agent(OcsfModel):
    caption_fields: ClassVar[Mapping[str, str]] = {"type_id": "type"}
    at_least_one = ("uid", "name")

    name: str | None = None
    uid: str | None = None
    type_id: AgentTypeId | None = None
    type: str | None = None
    vendor_name: str | None = None
    version: str | None = None


class NetworkInterface(OcsfModel):
    caption_fields: ClassVar[Mapping[str, str]] = {"type_id": "type"}
    at_least_one = ("ip", "mac", "name", "hostname")

    type_id: NetworkInterfaceTypeId  # required in 1.5.0, optional in 1.8.0: always sent
    type: str | None = None
    name: str | None = None
    ip: Ip | None = None
    mac: Mac | None = None
    hostname: str | None = None


class Device(OcsfModel):
    """OCSF `device`. `unmapped` and `current` are ours, not OCSF's, and never serialized:
    `unmapped` holds MDE fields with no OCSF slot for the cards (the events carry them in their
    own `unmapped`); `current` names the attributes (`ip`, `network_interfaces`, …) that give
    the device's state when it was looked up, not at the time of the finding that carries it
    (the finding says so in its `unmapped.device_current`)."""

    caption_fields: ClassVar[Mapping[str, str]] = {"type_id": "type", "risk_level_id": "risk_level"}
    at_least_one = ("ip", "uid", "name", "hostname", "instance_uid")

    type_id: DeviceTypeId
    type: str | None = None
    uid: str | None = None
    uid_alt: str | None = None
    hostname: str | None = None
    name: str | None = None
    domain: str | None = None
    ip: Ip | None = None
    mac: Mac | None = None
    instance_uid: str | None = None
    os: Os | None = None
    risk_level_id: RiskLevelId | None = None
    risk_level: str | None = None
    is_managed: bool | None = None
    first_seen_time: Timestamp | None = None
    last_seen_time: Timestamp | None = None
    groups: tuple[Group, ...] | None = None
    agent_list: tuple[Agent, ...] | None = None
    network_interfaces: tuple[NetworkInterface, ...] | None = None
    unmapped: dict[str, Any] | None = Field(default=None, exclude=True)
    current: tuple[str, ...] | None = Field(default=None, exclude=True)


_HASH_LENGTHS = {
    HashAlgorithmId.MD5: 32,
    HashAlgorithmId.SHA1: 40,
    HashAlgorithmId.SHA256: 64,
    HashAlgorithmId.SHA512: 128,
}


class Fingerprint(OcsfModel):
    """A content hash (`file.hashes[]`), never `file.signature.digest`."""

    caption_fields: ClassVar[Mapping[str, str]] = {"algorithm_id": "algorithm"}

    algorithm_id: HashAlgorithmId
    algorithm: str | None = None
    value: str = Field(pattern=HEX_PATTERN)

    @model_validator(mode="after")
    def _length_fits_algorithm(self) -> Self:
        expected = _HASH_LENGTHS.get(self.algorithm_id)
        if expected is not None and len(self.value) != expected:
            raise ValueError(f"{self.algorithm_id.caption} hash must be {expected} hex digits")
        return self


class Product(OcsfModel):
    at_least_one = ("name", "uid")

    name: str | None = "Microsoft Defender for Endpoint"
    vendor_name: str | None = "Microsoft"
    uid: str | None = None
    version: str | None = None
    feature: Feature | None = None


class Feature(OcsfModel):
    at_least_one = ("name", "uid")

    name: str | None = None
    uid: str | None = None
    version: str | None = None


class DigitalSignature(OcsfModel):
    """A file's signature: what MDE says of it. (No `certificate`: OCSF requires its serial
    number, which MDE does not give.)"""

    caption_fields: ClassVar[Mapping[str, str]] = {"algorithm_id": "algorithm", "state_id": "state"}

    algorithm_id: SignatureAlgorithmId
    algorithm: str | None = None
    state_id: SignatureStateId | None = None
    state: str | None = None


class File(OcsfModel):
    """OCSF `file`. `signature` up to OCSF 1.7; from 1.8 `signatures[]` (which deprecates it)."""

    caption_fields: ClassVar[Mapping[str, str]] = {"type_id": "type"}

    name: str
    type_id: FileTypeId
    type: str | None = None
    path: str | None = None  # the full path, name included
    parent_folder: str | None = None
    ext: str | None = None
    size: int | None = None
    hashes: tuple[Fingerprint, ...] | None = None
    company_name: str | None = None
    product: Product | None = None
    signature: DigitalSignature | None = None
    signatures: tuple[DigitalSignature, ...] | None = None
    created_time: Timestamp | None = None
    modified_time: Timestamp | None = None


class User(OcsfModel):
    caption_fields: ClassVar[Mapping[str, str]] = {"type_id": "type"}
    at_least_one = ("name", "uid")

    name: str | None = None
    uid: str | None = None
    uid_alt: str | None = None
    domain: str | None = None
    email_addr: Email | None = None
    full_name: str | None = None
    type_id: UserTypeId | None = None
    type: str | None = None


class Process(OcsfModel):
    at_least_one = ("pid", "uid")

    pid: int | None = None
    uid: str | None = None
    name: str | None = None
    cmd_line: str | None = None
    created_time: Timestamp | None = None
    file: File | None = None
    user: User | None = None
    parent_process: Process | None = None


class Url(OcsfModel):
    at_least_one = ("url_string", "path")

    url_string: str | None = None
    hostname: str | None = None
    path: str | None = None


class NetworkEndpoint(OcsfModel):
    at_least_one = ("ip", "hostname", "domain")

    ip: Ip | None = None
    hostname: str | None = None
    domain: str | None = None
    port: int | None = None


class Malware(OcsfModel):
    caption_fields: ClassVar[Mapping[str, str]] = {
        "classification_ids": "classifications",
        "severity_id": "severity",
    }
    at_least_one = ("name", "uid")

    name: str | None = None
    uid: str | None = None
    classification_ids: tuple[MalwareClassificationId, ...]
    classifications: tuple[str, ...] | None = None
    provider: str | None = None
    path: str | None = None
    severity_id: SeverityId | None = None
    severity: str | None = None
    files: tuple[File, ...] | None = None


class Evidence(OcsfModel):
    """One Evidence Artifacts item (`evidences[]`); `data` holds what OCSF cannot model."""

    caption_fields: ClassVar[Mapping[str, str]] = {"verdict_id": "verdict"}
    at_least_one = (
        "file",
        "process",
        "user",
        "device",
        "dst_endpoint",
        "src_endpoint",
        "url",
        "data",
    )

    name: str | None = None
    uid: str | None = None
    file: File | None = None
    process: Process | None = None
    user: User | None = None
    device: Device | None = None
    dst_endpoint: NetworkEndpoint | None = None
    src_endpoint: NetworkEndpoint | None = None
    url: Url | None = None
    data: Json | None = None
    verdict_id: VerdictId | None = None
    verdict: str | None = None


class Observable(OcsfModel):
    caption_fields: ClassVar[Mapping[str, str]] = {"type_id": "type"}

    type_id: ObservableTypeId
    type: str | None = None
    name: str | None = None  # the attribute path, e.g. "evidences[2].file.hashes[0].value"
    value: str | None = None


Product.model_rebuild()
Process.model_rebuild()
