"""OCSF objects that describe a finding: metadata, finding info, analytic, MITRE ATT&CK
(docs/ocsf-mapping.md §3, §6)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

from bot.ocsf.base import OCSF_VERSION, OcsfModel, Timestamp
from bot.ocsf.enums import AnalyticTypeId
from bot.ocsf.objects import Product


class Metadata(OcsfModel):
    version: str = OCSF_VERSION
    product: Product = Product()
    uid: str | None = None
    tenant_uid: str | None = None
    correlation_uid: str | None = None
    original_time: str | None = None  # the source's own timestamp text
    modified_time: Timestamp | None = None
    logged_time: Timestamp | None = None
    log_name: str | None = None
    profiles: tuple[str, ...] | None = None
    labels: tuple[str, ...] | None = None


class Analytic(OcsfModel):
    caption_fields: ClassVar[Mapping[str, str]] = {"type_id": "type"}
    at_least_one = ("name", "uid")

    type_id: AnalyticTypeId
    type: str | None = None
    uid: str | None = None
    name: str | None = None
    category: str | None = None
    desc: str | None = None
    version: str | None = None


class Technique(OcsfModel):
    at_least_one = ("name", "uid")

    uid: str | None = None
    name: str | None = None
    src_url: str | None = None


class SubTechnique(Technique):
    pass


class Tactic(Technique):
    pass


class Attack(OcsfModel):
    """One MITRE ATT&CK reference: a technique (with its sub-technique) or a tactic."""

    at_least_one = ("tactic", "technique", "sub_technique")

    tactic: Tactic | None = None
    technique: Technique | None = None
    sub_technique: SubTechnique | None = None
    version: str | None = None


class FindingInfo(OcsfModel):
    uid: str
    title: str | None = None
    desc: str | None = None
    src_url: str | None = None
    types: tuple[str, ...] | None = None
    created_time: Timestamp | None = None
    modified_time: Timestamp | None = None
    first_seen_time: Timestamp | None = None
    last_seen_time: Timestamp | None = None
    analytic: Analytic | None = None
    attacks: tuple[Attack, ...] | None = None
    uid_alt: str | None = None


class LegacyFinding(OcsfModel):
    """The deprecated `finding` object of the legacy Security Finding (2001): title required."""

    uid: str
    title: str
    desc: str | None = None
    src_url: str | None = None
    types: tuple[str, ...] | None = None
    created_time: Timestamp | None = None
    modified_time: Timestamp | None = None
    first_seen_time: Timestamp | None = None
    last_seen_time: Timestamp | None = None
