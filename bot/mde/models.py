"""MDE's payloads as pydantic models: machines, alerts (with their evidence, and the older
`alertFiles`/`alertIps`/`alertDomains`/`alertUser` shape), file profiles, hunting results,
machine actions and custom indicators.

They mirror the wire format (camelCase aliases, matched whatever their case) and are liberal
where MDE is inconsistent, losing nothing on the way:

- a list given as `null`, `{}`, or one object instead of a list of one, reads as that list;
- numbers sent as strings read as numbers, and numbers read as strings where text is expected;
- times keep the text MDE sent (`WireTime.raw`: seven fractional digits, `Z` or an offset);
- enumerations stay strings: MDE adds values over time, and `bot.mde.normalize` maps what it
  does not know to OCSF's "Other" with the raw text;
- fields MDE adds later are ignored (evidence keeps them, for the OCSF `data` it becomes).

A value that still does not fit fails validation at its own path; `bot.mde.records` then leaves
out that field alone and counts it, so one odd field never costs the whole record. What the bot
shows goes through `bot.mde.normalize` into OCSF first (docs/ocsf-mapping.md).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from enum import Enum, StrEnum
from functools import cache
from typing import Annotated, Any, Self

from pydantic import (
    AliasChoices,
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
    PlainValidator,
    StringConstraints,
    field_validator,
    model_validator,
)
from pydantic.alias_generators import to_camel

# MDE uses 0001-01-01 (and the epoch) for "never": no time, not a time 2,000 years ago.
_EARLIEST = datetime(1970, 1, 2, tzinfo=UTC)


class WireTime(datetime):
    """A time MDE sent: the parsed value (naive times are UTC) and `raw`, the text exactly as
    it came over the wire, for OCSF's `metadata.original_time`."""

    raw: str | None = None

    @classmethod
    def parse(cls, value: object) -> WireTime | None:
        """MDE's ISO-8601 text → a time; None for MDE's "never" placeholders. Raises
        ValueError for anything that is not a date and time."""
        if isinstance(value, WireTime):
            return value
        if isinstance(value, datetime):
            text = value.isoformat()
        elif isinstance(value, str) and value.strip():
            text = value
        else:
            raise ValueError("not a date-time text")
        # ISO text has no lower-case letters but a `t` or `z` some writers use
        parsed = datetime.fromisoformat(text.strip().upper()) if isinstance(value, str) else value
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=UTC)
        if parsed < _EARLIEST:
            return None
        moment = cls(  # in the sender's own offset
            parsed.year,
            parsed.month,
            parsed.day,
            parsed.hour,
            parsed.minute,
            parsed.second,
            parsed.microsecond,
            tzinfo=parsed.tzinfo,
        )
        moment.raw = text
        return moment

    def __reduce_ex__(self, protocol: Any) -> tuple[Any, ...]:  # copies keep the wire text
        return (WireTime.parse, (self.raw or self.isoformat(),))


def _wire_time(value: Any) -> WireTime | None:
    return None if value is None else WireTime.parse(value)


def _wire_text(value: WireTime) -> str:
    return value.raw or value.isoformat()


# A nullable MDE time; dumped to JSON as the text MDE sent.
MdeTime = Annotated[
    WireTime | None,
    PlainValidator(_wire_time),
    PlainSerializer(_wire_text, when_used="json-unless-none"),
]
# An MDE entity id: never empty.
EntityId = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]


def as_tuple(value: Any) -> Any:
    """A list as MDE sends it: `null` and `{}` are empty, one object (or one string) alone is a
    list of one. Anything else is left for validation to refuse."""
    if value is None or (isinstance(value, Mapping) and not value):
        return ()
    if isinstance(value, Mapping | str):
        return (value,)
    return value


def as_object(value: Any) -> Any:
    """An object as MDE sends it: `[]` is none, a list of one is that one."""
    if isinstance(value, list | tuple) and len(value) <= 1:
        return value[0] if value else None
    return value


@cache
def _aliases_by_folded_name(model: type[BaseModel]) -> dict[str, str]:
    """Every wire name a model reads, by its lower-case form."""
    found: dict[str, str] = {}
    for name, field in model.model_fields.items():
        choices = field.validation_alias
        names = (
            [c for c in choices.choices if isinstance(c, str)]
            if isinstance(choices, AliasChoices)
            else []
        )
        for alias in (*names, field.alias or name):
            found.setdefault(alias.lower(), alias)
    return found


def wire_names(model: type[BaseModel]) -> frozenset[str]:
    """The wire names a model reads, lower-case (`alertcreationtime`, …)."""
    return frozenset(_aliases_by_folded_name(model))


class MdeModel(BaseModel):
    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        extra="ignore",
        frozen=True,
        coerce_numbers_to_str=True,
    )

    @model_validator(mode="before")
    @classmethod
    def _wire_names_in_any_case(cls, data: Any) -> Any:
        """`alertIPs`, `AlertIps` and `alertIps` are one field (the exact spelling wins)."""
        if not isinstance(data, dict):
            return data
        aliases = _aliases_by_folded_name(cls)
        renamed: dict[str, Any] | None = None
        for key in data:
            alias = aliases.get(key.lower()) if isinstance(key, str) else None
            if alias is not None and alias != key and alias not in data:
                renamed = renamed if renamed is not None else dict(data)
                renamed[alias] = renamed.pop(key)
        return renamed if renamed is not None else data


class IpAddress(MdeModel):
    ip_address: str | None = None
    mac_address: str | None = None
    type: str | None = None
    operational_status: str | None = None


class VmMetadata(MdeModel):
    vm_id: str | None = None
    cloud_provider: str | None = None
    resource_id: str | None = None
    subscription_id: str | None = None


class Machine(MdeModel):
    id: EntityId
    computer_dns_name: str | None = None
    first_seen: MdeTime = None
    last_seen: MdeTime = None
    os_platform: str | None = None
    version: str | None = None
    os_version: str | None = None
    os_processor: str | None = None
    os_architecture: str | None = None
    os_build: int | None = None
    last_ip_address: str | None = None
    last_external_ip_address: str | None = None
    health_status: str | None = None
    onboarding_status: str | None = None
    risk_score: str | None = None
    exposure_level: str | None = None
    device_value: str | None = None
    machine_tags: tuple[str, ...] = ()
    rbac_group_id: str | None = None  # a number in the examples, a String in the reference
    rbac_group_name: str | None = None
    aad_device_id: str | None = None
    is_aad_joined: bool | None = None
    ip_addresses: tuple[IpAddress, ...] = ()
    agent_version: str | None = None
    defender_av_status: str | None = None
    managed_by: str | None = None
    managed_by_status: str | None = None
    is_potential_duplication: bool | None = None
    merged_into_machine_id: str | None = None
    is_excluded: bool | None = None
    exclusion_reason: str | None = None
    vm_metadata: VmMetadata | None = None

    _tuples = field_validator("machine_tags", "ip_addresses", mode="before")(as_tuple)
    _objects = field_validator("vm_metadata", mode="before")(as_object)


class RelatedUser(MdeModel):
    user_name: str | None = None
    domain_name: str | None = None


class LoggedOnUser(MdeModel):
    account_name: str | None = None
    domain_name: str | None = None


class AlertComment(MdeModel):
    comment: str | None = None
    created_by: str | None = None
    created_time: MdeTime = None


class Evidence(MdeModel):
    """One evidence entity. Fields MDE adds (mailbox, registry…) are kept as extras."""

    model_config = ConfigDict(extra="allow")

    entity_type: str | None = None
    evidence_creation_time: MdeTime = None
    sha1: str | None = None
    sha256: str | None = None
    file_name: str | None = None
    file_path: str | None = None
    process_id: int | None = None
    process_command_line: str | None = None
    process_creation_time: MdeTime = None
    parent_process_id: int | None = None
    parent_process_creation_time: MdeTime = None
    parent_process_file_name: str | None = None
    parent_process_file_path: str | None = None
    ip_address: str | None = None
    url: str | None = None
    host: str | None = None  # a domain, in the older alert shape (`alertDomains`)
    registry_key: str | None = None
    registry_hive: str | None = None
    registry_value_type: str | None = None
    registry_value: str | None = None
    registry_value_name: str | None = None
    account_name: str | None = None
    domain_name: str | None = None
    user_sid: str | None = None
    aad_user_id: str | None = None
    user_principal_name: str | None = None
    detection_status: str | None = None


class AlertFile(MdeModel):
    """Older alert shape: `alertFiles[]`. Its `filePath` is the full path, name included."""

    sha1: str | None = None
    sha256: str | None = None
    file_path: str | None = None
    file_name: str | None = None


class AlertIp(MdeModel):
    """Older alert shape: `alertIps[]` (also a bare address string)."""

    ip_address: str | None = Field(
        default=None, validation_alias=AliasChoices("ipAddress", "ip_address", "id")
    )

    @model_validator(mode="before")
    @classmethod
    def _bare_address(cls, data: Any) -> Any:
        return {"ipAddress": data} if isinstance(data, str) else data


class AlertDomain(MdeModel):
    """Older alert shape: `alertDomains[]`; also the newer `domains[]` (also a bare host)."""

    host: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _bare_host(cls, data: Any) -> Any:
        return {"host": data} if isinstance(data, str) else data


class AlertUser(MdeModel):
    """Older alert shape: `alertUser`, in either of the spellings MDE used for users."""

    account_name: str | None = Field(
        default=None, validation_alias=AliasChoices("accountName", "userName", "account_name")
    )
    domain_name: str | None = Field(
        default=None, validation_alias=AliasChoices("domainName", "accountDomain", "domain_name")
    )
    user_sid: str | None = Field(
        default=None, validation_alias=AliasChoices("userSid", "accountSid", "user_sid")
    )
    aad_user_id: str | None = None
    user_principal_name: str | None = None


class Alert(MdeModel):
    id: EntityId
    incident_id: int | None = None
    investigation_id: int | None = None
    investigation_state: str | None = None
    assigned_to: str | None = None
    title: str | None = None
    description: str | None = None
    severity: str | None = None
    status: str | None = None
    classification: str | None = None
    determination: str | None = None
    category: str | None = None
    detection_source: str | None = None
    detector_id: str | None = None
    threat_family_name: str | None = None
    threat_name: str | None = None
    machine_id: str | None = None
    computer_dns_name: str | None = None
    rbac_group_name: str | None = None
    aad_tenant_id: str | None = None
    alert_creation_time: MdeTime = None
    first_event_time: MdeTime = None
    last_event_time: MdeTime = None
    last_update_time: MdeTime = None
    resolved_time: MdeTime = None
    mitre_techniques: tuple[str, ...] = ()
    related_user: RelatedUser | None = None
    logged_on_users: tuple[LoggedOnUser, ...] = ()
    comments: tuple[AlertComment, ...] = ()
    evidence: tuple[Evidence, ...] = ()
    domains: tuple[AlertDomain, ...] = ()
    # the older shape (before `evidence`)
    alert_files: tuple[AlertFile, ...] = ()
    alert_ips: tuple[AlertIp, ...] = ()
    alert_domains: tuple[AlertDomain, ...] = ()
    alert_user: AlertUser | None = None

    _tuples = field_validator(
        "mitre_techniques",
        "logged_on_users",
        "comments",
        "evidence",
        "domains",
        "alert_files",
        "alert_ips",
        "alert_domains",
        mode="before",
    )(as_tuple)
    _objects = field_validator("related_user", "alert_user", mode="before")(as_object)


class Signing(Enum):
    """What a file profile says about the file's signature."""

    VALID = "valid"  # signed, and the certificate is valid
    INVALID_CERTIFICATE = "invalid certificate"  # signed, but the certificate is not valid
    SIGNED = "signed"  # signed; MDE does not say whether the certificate is valid
    UNSIGNED = "unsigned"  # a PE file with no signer at all
    UNKNOWN = "unknown"  # MDE says nothing either way


class FileInfo(MdeModel):
    sha1: str | None = None
    sha256: str | None = None
    md5: str | None = None
    global_prevalence: int | None = None
    global_first_observed: MdeTime = None
    global_last_observed: MdeTime = None
    size: int | None = None
    file_type: str | None = None
    is_pe_file: bool | None = None
    file_publisher: str | None = None
    file_product_name: str | None = None
    signer: str | None = None
    issuer: str | None = None
    signer_hash: str | None = None
    is_valid_certificate: bool | None = None
    determination_type: str | None = None
    determination_value: str | None = None

    @model_validator(mode="after")
    def _identified(self) -> Self:
        if not (self.sha1 or self.sha256 or self.md5):
            raise ValueError("a file profile needs a sha1, sha256 or md5")
        return self

    @property
    def signing(self) -> Signing:
        """Signed when MDE names a signer, an issuer or a signer hash, whatever the
        certificate's validity; unsigned only for a PE file with none of them."""
        if self.signer or self.issuer or self.signer_hash:
            if self.is_valid_certificate is False:
                return Signing.INVALID_CERTIFICATE
            return Signing.VALID if self.is_valid_certificate else Signing.SIGNED
        return Signing.UNSIGNED if self.is_pe_file else Signing.UNKNOWN


class HuntingColumn(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    name: str = Field(validation_alias=AliasChoices("Name", "name"))
    type: str = Field(default="", validation_alias=AliasChoices("Type", "type"))


class HuntingResult(BaseModel):
    """`POST /api/advancedqueries/run` answers `{"Schema": [...], "Results": [...]}`."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    schema_: tuple[HuntingColumn, ...] = Field(
        default=(), validation_alias=AliasChoices("Schema", "schema")
    )
    results: tuple[dict[str, Any], ...] = Field(
        default=(), validation_alias=AliasChoices("Results", "results")
    )


class ActionStatus(StrEnum):
    """Where a machine action is (D:machineaction); `final` ones never change again."""

    PENDING = "Pending"
    IN_PROGRESS = "InProgress"
    SUCCEEDED = "Succeeded"
    FAILED = "Failed"
    TIMEOUT = "TimeOut"
    CANCELLED = "Cancelled"

    @property
    def final(self) -> bool:
        return self not in (ActionStatus.PENDING, ActionStatus.IN_PROGRESS)


# The status as MDE may spell it: any case, and the one-L "Canceled".
_STATUS_SPELLINGS = {s.value.lower(): s for s in ActionStatus} | {
    "canceled": ActionStatus.CANCELLED
}


def _action_status(value: Any) -> Any:
    """A status MDE sent, whatever its case; anything else is left for validation to refuse
    (and `bot.mde.records` to leave out, with its name)."""
    if isinstance(value, str):
        return _STATUS_SPELLINGS.get(value.strip().lower(), value)
    return value


class RelatedFileInfo(MdeModel):
    """The file a machine action is about (a quarantine): `fileIdentifierType` is `Sha1`,
    `Sha256` or `Md5`."""

    file_identifier: str | None = None
    file_identifier_type: str | None = None


class MachineAction(MdeModel):
    """A response action on a device (D:machineaction): created Pending by the POST that asks
    for it, then polled by its `id` until its status is final."""

    id: EntityId
    type: str | None = None  # Isolate, Unisolate, RunAntiVirusScan, … (kept as text)
    scope: str | None = None  # Full/Selective (isolation), Quick/Full (scan)
    status: ActionStatus | None = None
    requestor: str | None = None
    requestor_comment: str | None = None
    request_source: str | None = None
    external_id: str | None = None
    machine_id: str | None = None
    computer_dns_name: str | None = None
    title: str | None = None
    creation_date_time_utc: MdeTime = None
    # Some of Microsoft's examples write `lastUpdateTimeUtc`.
    last_update_date_time_utc: MdeTime = Field(
        default=None,
        validation_alias=AliasChoices(
            "lastUpdateDateTimeUtc", "lastUpdateTimeUtc", "last_update_date_time_utc"
        ),
    )
    cancellation_requestor: str | None = None
    cancellation_comment: str | None = None
    cancellation_date_time_utc: MdeTime = None
    error_h_result: int | None = None
    commands: tuple[Any, ...] = ()
    troubleshoot_info: Any = None
    related_file_info: RelatedFileInfo | None = None

    _status = field_validator("status", mode="before")(_action_status)
    _tuples = field_validator("commands", mode="before")(as_tuple)
    _objects = field_validator("related_file_info", mode="before")(as_object)

    @property
    def final(self) -> bool:
        """The action will not change any more (an unreadable status is not final)."""
        return self.status is not None and self.status.final


class CustomIndicator(MdeModel):
    """A custom indicator (D:ti-indicator): a value MDE alerts on, blocks or allows, by whom and
    until when (`expirationTime` None: no end)."""

    id: EntityId
    indicator_value: str | None = None
    indicator_type: str | None = None  # IpAddress, DomainName, Url, FileSha1, … (kept as text)
    action: str | None = None  # Alert, Warn, Block, Audit, BlockAndRemediate, Allowed, …
    application: str | None = None
    source: str | None = None
    source_type: str | None = None
    created_by: str | None = None
    created_by_display_name: str | None = None
    created_by_source: str | None = None
    creation_time_date_time_utc: MdeTime = None
    expiration_time: MdeTime = None
    last_update_time: MdeTime = None
    last_updated_by: str | None = None
    severity: str | None = None
    title: str | None = None
    description: str | None = None
    recommended_actions: str | None = None
    rbac_group_names: tuple[str, ...] = ()
    rbac_group_ids: tuple[str, ...] = ()
    generate_alert: bool | None = None
    educate_url: str | None = None
    category: str | None = None
    mitre_techniques: tuple[str, ...] = ()

    _tuples = field_validator(
        "rbac_group_names", "rbac_group_ids", "mitre_techniques", mode="before"
    )(as_tuple)
