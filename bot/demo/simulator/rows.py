"""Builders for MDE rows as the API returns them (camelCase, every documented key present).

Pure helpers shared by the demo story (`data`), the documented examples (`docs`) and the seeded
fleet (`seed`, `seed_alerts`). Rows are plain dicts, built once per process and shared by every
simulator: treat them as read-only (build a new dict instead of changing one).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

Row = dict[str, Any]

# Every key an evidence item carries (D:alerts sample); the ones that do not apply are null.
EVIDENCE_KEYS = (
    "entityType",
    "evidenceCreationTime",
    "sha1",
    "sha256",
    "fileName",
    "filePath",
    "processId",
    "processCommandLine",
    "processCreationTime",
    "parentProcessId",
    "parentProcessCreationTime",
    "parentProcessFileName",
    "parentProcessFilePath",
    "ipAddress",
    "url",
    "registryKey",
    "registryHive",
    "registryValueType",
    "registryValue",
    "registryValueName",
    "accountName",
    "domainName",
    "userSid",
    "aadUserId",
    "userPrincipalName",
    "detectionStatus",
)


def iso(moment: datetime) -> str:
    """MDE's timestamp form: UTC, seven fractional digits, `Z`."""
    moment = moment.astimezone(UTC)
    return f"{moment:%Y-%m-%dT%H:%M:%S}.{moment.microsecond:06d}0Z"


def parse_iso(text: str) -> datetime:
    return datetime.fromisoformat(text)


def day_start(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)


def ago(now: datetime, **delta: float) -> datetime:
    return now - timedelta(**delta)


def hex_digest(key: str, chars: int) -> str:
    """A stable pseudo-hash of `chars` hex digits (40: SHA-1-like, 64: SHA-256, 32: MD5)."""
    return hashlib.blake2b(key.encode(), digest_size=chars // 2).hexdigest()


@dataclass(frozen=True, slots=True)
class FileHashes:
    sha1: str
    sha256: str
    md5: str

    @classmethod
    def of(cls, key: str) -> FileHashes:
        """The same `key` always gives the same three hashes (one binary, one identity)."""
        return cls(
            hex_digest(f"sha1:{key}", 40),
            hex_digest(f"sha256:{key}", 64),
            hex_digest(f"md5:{key}", 32),
        )


def evidence(entity_type: str, created: datetime | str, **fields: Any) -> Row:
    """One evidence item with every documented key; `fields` use the camelCase names."""
    row: Row = dict.fromkeys(EVIDENCE_KEYS)
    row["entityType"] = entity_type
    row["evidenceCreationTime"] = created if isinstance(created, str) else iso(created)
    unknown = set(fields) - set(EVIDENCE_KEYS)
    if unknown:
        raise KeyError(f"not evidence fields: {sorted(unknown)}")
    row.update(fields)
    return row


def user_evidence(created: datetime | str, user: Row) -> Row:
    return evidence(
        "User",
        created,
        accountName=user["accountName"],
        domainName=user["domainName"],
        userSid=user["userSid"],
        aadUserId=user["aadUserId"],
        userPrincipalName=user["userPrincipalName"],
    )


def file_profile(
    hashes: FileHashes,
    *,
    size: int,
    prevalence: int,
    first_observed: datetime | str,
    last_observed: datetime | str,
    publisher: str | None,
    product: str | None,
    signer: str | None,
    issuer: str | None,
    valid_certificate: bool,
    determination: str = "Unknown",
    determination_value: str | None = None,
    pe: bool = True,
    file_type: str | None = None,
) -> Row:
    """A File entity (D:files). `md5` is kept for `alerts/{id}/files` and hunting; the
    `files/{id}` route leaves it out, as the File property table does."""

    def when(value: datetime | str) -> str:
        return value if isinstance(value, str) else iso(value)

    return {
        "sha1": hashes.sha1,
        "sha256": hashes.sha256,
        "md5": hashes.md5,
        "globalPrevalence": prevalence,
        "globalFirstObserved": when(first_observed),
        "globalLastObserved": when(last_observed),
        "size": size,
        "fileType": file_type,
        "isPeFile": pe,
        "filePublisher": publisher,
        "fileProductName": product,
        "signer": signer,
        "issuer": issuer,
        "signerHash": hex_digest(f"signer:{signer}", 40) if signer else None,
        "isValidCertificate": valid_certificate,
        "determinationType": determination,
        "determinationValue": determination_value,
    }


def alert_row(
    aid: str,
    machine: Row,
    *,
    tenant_id: str,
    title: str,
    severity: str,
    category: str,
    created: str,
    **extra: Any,
) -> Row:
    """An Alert with every documented key; `extra` overrides (camelCase names)."""
    row: Row = {
        "id": aid,
        "incidentId": None,
        "investigationId": None,
        "assignedTo": None,
        "severity": severity,
        "status": "New",
        "classification": None,
        "determination": None,
        "investigationState": "Queued",
        "detectionSource": "WindowsDefenderAtp",
        "detectorId": None,
        "category": category,
        "threatFamilyName": None,
        "threatName": None,
        "title": title,
        "description": f"{title} on {machine['computerDnsName']}.",
        "alertCreationTime": created,
        "firstEventTime": created,
        "lastEventTime": created,
        "lastUpdateTime": created,
        "resolvedTime": None,
        "machineId": machine["id"],
        "computerDnsName": machine["computerDnsName"],
        "rbacGroupName": machine.get("rbacGroupName"),
        "aadTenantId": tenant_id,
        "mitreTechniques": [],
        "relatedUser": None,
        "loggedOnUsers": [],
        "comments": [],
        "evidence": [],
    }
    row.update(extra)
    return row


@dataclass(frozen=True, slots=True)
class Submitter:
    """Who submitted a custom indicator: an app (`AadApp`, its id) or a person (`User`)."""

    identity: str
    source_type: str = "AadApp"
    name: str = ""  # the display name; the identity when empty


def indicator_row(
    iid: str,
    value: str,
    indicator_type: str,
    action: str,
    *,
    by: Submitter,
    created: datetime,
    title: str,
    description: str,
    **extra: Any,
) -> Row:
    """A custom indicator (D:ti-indicator) with every documented key; `extra` overrides."""
    name = by.name or by.identity
    row: Row = {
        "id": iid,
        "indicatorValue": value,
        "indicatorType": indicator_type,
        "action": action,
        "application": None,
        "source": name,
        "sourceType": by.source_type,
        "createdBy": by.identity,
        "createdBySource": name,
        "createdByDisplayName": name,
        "severity": "Informational",
        "title": title,
        "description": description,
        "recommendedActions": None,
        "creationTimeDateTimeUtc": iso(created),
        "expirationTime": None,
        "lastUpdateTime": iso(created),
        "lastUpdatedBy": by.identity,
        "rbacGroupNames": [],
        "rbacGroupIds": [],
        "generateAlert": False,
    }
    row.update(extra)
    return row
