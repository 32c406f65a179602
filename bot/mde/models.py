"""MDE's payloads as pydantic models, as `../shared/reference/mde-api.md` §2 describes them.

These mirror the wire format (camelCase aliases) and tolerate fields MDE adds later
(`extra="ignore"`); everything the bot shows goes through `bot.mde.normalize` into OCSF first.
Enumerations stay strings: MDE adds values over time, and an unknown value must not make a whole
answer unreadable.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, field_validator
from pydantic.alias_generators import to_camel


class MdeModel(BaseModel):
    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, extra="ignore", frozen=True
    )


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
    id: str
    computer_dns_name: str | None = None
    first_seen: datetime | None = None
    last_seen: datetime | None = None
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
    rbac_group_id: int | None = None
    rbac_group_name: str | None = None
    aad_device_id: str | None = None
    is_aad_joined: bool | None = None
    ip_addresses: tuple[IpAddress, ...] = ()
    agent_version: str | None = None
    defender_av_status: str | None = None
    managed_by: str | None = None
    managed_by_status: str | None = None
    is_potential_duplication: bool | None = None
    vm_metadata: VmMetadata | None = None

    @field_validator("machine_tags", "ip_addresses", mode="before")
    @classmethod
    def _null_is_empty(cls, value: Any) -> Any:
        return () if value is None else value


class RelatedUser(MdeModel):
    user_name: str | None = None
    domain_name: str | None = None


class LoggedOnUser(MdeModel):
    account_name: str | None = None
    domain_name: str | None = None


class AlertComment(MdeModel):
    comment: str | None = None
    created_by: str | None = None
    created_time: datetime | None = None


class Evidence(MdeModel):
    entity_type: str
    evidence_creation_time: datetime | None = None
    sha1: str | None = None
    sha256: str | None = None
    file_name: str | None = None
    file_path: str | None = None
    process_id: int | None = None
    process_command_line: str | None = None
    process_creation_time: datetime | None = None
    parent_process_id: int | None = None
    parent_process_creation_time: datetime | None = None
    parent_process_file_name: str | None = None
    parent_process_file_path: str | None = None
    ip_address: str | None = None
    url: str | None = None
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


class Alert(MdeModel):
    id: str
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
    alert_creation_time: datetime | None = None
    first_event_time: datetime | None = None
    last_event_time: datetime | None = None
    last_update_time: datetime | None = None
    resolved_time: datetime | None = None
    mitre_techniques: tuple[str, ...] = ()
    related_user: RelatedUser | None = None
    logged_on_users: tuple[LoggedOnUser, ...] = ()
    comments: tuple[AlertComment, ...] = ()
    evidence: tuple[Evidence, ...] = ()

    @field_validator("mitre_techniques", "logged_on_users", "comments", "evidence", mode="before")
    @classmethod
    def _null_is_empty(cls, value: Any) -> Any:
        return () if value is None else value


class FileInfo(MdeModel):
    sha1: str | None = None
    sha256: str | None = None
    md5: str | None = None
    global_prevalence: int | None = None
    global_first_observed: datetime | None = None
    global_last_observed: datetime | None = None
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
