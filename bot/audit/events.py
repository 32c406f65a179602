"""PURE: audit records as OCSF events (docs/audit.md, "As OCSF").

    response actions (action_*)      Remediation Activity 7001 (a device), 7002 (a file)
    indicators submitted             7004 (an IP, URL or domain), 7002 (a file hash), 7001
    triage updates                   Detection Finding 2004, activity 2 Update
    lookups, refusals                API Activity 6003: 2 Read (a lookup), or the refused
                                     request's activity, with status 2 Failure

Every event carries the record in `unmapped` (its seq, kind and hashes, the Slack user, team,
channel and thread, the tenants, subject and details) and the record's hash as
`metadata.uid`; `metadata.correlation_uid` is the bot's request id, which ties an action's
request, approval, submission and statuses together.

The details keys read here are the ones docs/audit.md lists for each kind; a record without
them still makes a valid event (the tactic or status is then 0 Unknown or 99 Other).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from bot import ocsf
from bot.audit.records import AuditKind, AuditRecord, Detail
from bot.mde.models import Alert
from bot.mde.normalize import finding_from_alert
from bot.ocsf.remediation import (
    ApiActivityId,
    DirectionId,
    EventStatusId,
    RemediationActivityId,
    RemediationStatusId,
)

PRODUCT = ocsf.Product(name="MDE Slack bot", vendor_name=None)
MDE = ocsf.Service(name="Microsoft Defender for Endpoint")
SLACK = ocsf.ServiceEndpoint(svc_name="Slack")
PORTAL_URL = "https://security.microsoft.com"

_Tactic = RemediationActivityId
# MDE machine action type → D3FEND tactic; others are 99 Other with MDE's text.
_MACHINE_ACTIONS: Mapping[str, RemediationActivityId] = {
    "isolate": _Tactic.ISOLATE,
    "unisolate": _Tactic.RESTORE,
    "restrictcodeexecution": _Tactic.ISOLATE,  # D3FEND Execution Isolation
    "unrestrictcodeexecution": _Tactic.RESTORE,
    "runantivirusscan": _Tactic.DETECT,
    "stopandquarantinefile": _Tactic.EVICT,
}
_FILE_ACTIONS = frozenset({"stopandquarantinefile"})  # act on a file (details: sha1)
# MDE indicator action → tactic: blocking is denylisting (Isolate), alerting is Detect.
_INDICATOR_ACTIONS: Mapping[str, RemediationActivityId] = {
    "block": _Tactic.ISOLATE,
    "blockandremediate": _Tactic.ISOLATE,
    "alertandblock": _Tactic.ISOLATE,
    "alert": _Tactic.DETECT,
    "audit": _Tactic.DETECT,
}
_NETWORK_INDICATORS = frozenset({"ipaddress", "url", "domainname"})
_FILE_INDICATORS: Mapping[str, ocsf.HashAlgorithmId] = {
    "filesha1": ocsf.HashAlgorithmId.SHA1,
    "filesha256": ocsf.HashAlgorithmId.SHA256,
    "filemd5": ocsf.HashAlgorithmId.MD5,
}
# Where the bot's own workflow stands: 99 Other with these captions.
_STEPS: Mapping[str, str] = {
    AuditKind.ACTION_REQUESTED: "Requested",
    AuditKind.ACTION_APPROVED: "Approved",
    AuditKind.ACTION_REJECTED: "Rejected",
    AuditKind.ACTION_SUBMITTED: "Submitted",
    AuditKind.ACTION_CANCELLED: "Cancelled",
}
# MDE machine action status → remediation status (captions for 99 Other).
_MDE_STATUS: Mapping[str, tuple[RemediationStatusId, str | None]] = {
    "succeeded": (RemediationStatusId.SUCCESS, None),
    "failed": (RemediationStatusId.FAILURE, None),
    "timeout": (RemediationStatusId.FAILURE, None),
    "cancelled": (RemediationStatusId.OTHER, "Cancelled"),
    "pending": (RemediationStatusId.OTHER, "Pending"),
    "inprogress": (RemediationStatusId.OTHER, "In Progress"),
}
# A refused request → the API activity it would have been.
_REFUSED: Mapping[str, ApiActivityId] = {
    "lookup": ApiActivityId.READ,
    "action": ApiActivityId.CREATE,
    "indicator": ApiActivityId.CREATE,
    "triage": ApiActivityId.UPDATE,
}


def ocsf_event(record: AuditRecord, *, version: str = ocsf.OCSF_VERSION) -> ocsf.OcsfEvent:
    """The record as one OCSF event of schema `version`."""
    build = _BUILDERS.get(record.kind, _api_activity)
    return build(record, version)


def ocsf_json(record: AuditRecord, *, version: str = ocsf.OCSF_VERSION) -> dict[str, Any]:
    return ocsf.to_json(ocsf_event(record, version=version))


def _key(value: object) -> str:
    """`"StopAndQuarantineFile"`, `"stop and quarantine file"` → `"stopandquarantinefile"`."""
    return re.sub(r"[^a-z0-9]", "", str(value).lower())


def _text(details: Mapping[str, Any], name: Detail) -> str | None:
    value = details.get(name)
    return str(value) if value is not None and str(value).strip() else None


def _metadata(record: AuditRecord, version: str) -> ocsf.Metadata:
    return ocsf.Metadata(
        version=version,
        product=PRODUCT,
        uid=record.hash,
        correlation_uid=_text(record.details, Detail.REQUEST_ID),
        logged_time=record.time_ms,
        log_name="audit",
    )


def _unmapped(record: AuditRecord) -> dict[str, Any]:
    return {
        "audit": {
            "seq": record.seq,
            "kind": str(record.kind),
            "hash": record.hash,
            "prev_hash": record.prev_hash,
        },
        "slack": {
            "user": record.actor.user,
            "team": record.actor.team,
            "channel": record.place.channel,
            "thread": record.place.thread,
        },
        "tenants": list(record.tenants),
        "subject": record.subject,
        "details": dict(record.details),
    }


def _actor(record: AuditRecord) -> ocsf.Actor:
    user = ocsf.User(uid=record.actor.user) if record.actor.user else None
    return ocsf.Actor(user=user, app_name=PRODUCT.name)


def _common(record: AuditRecord, version: str) -> dict[str, Any]:
    return {
        "time": record.time_ms,
        "metadata": _metadata(record, version),
        "unmapped": _unmapped(record),
    }


# ----------------------------------------------------------------- remediation (7001-7004)


def _command_uid(record: AuditRecord, id_key: Detail) -> str:
    """MDE's id for the command when it is known, else the bot's request id, else the record."""
    details = record.details
    return _text(details, id_key) or _text(details, Detail.REQUEST_ID) or _own_id(record)


def _own_id(record: AuditRecord) -> str:
    """An id for what the record is about when it names none: the record's own place."""
    return f"audit-{record.seq}"


def _status(record: AuditRecord) -> dict[str, Any]:
    step = _STEPS.get(record.kind)
    if step is not None:
        status_id, caption = RemediationStatusId.OTHER, step
    elif record.kind == AuditKind.INDICATOR_SUBMITTED:
        status_id, caption = RemediationStatusId.SUCCESS, None
    else:
        raw = _text(record.details, Detail.STATUS)
        default = (RemediationStatusId.OTHER, raw) if raw else (RemediationStatusId.UNKNOWN, None)
        status_id, caption = _MDE_STATUS.get(_key(raw), default) if raw else default
    return {
        "status_id": status_id,
        "status": caption,
        "status_code": _text(record.details, Detail.STATUS),
    }


def _remediation(
    record: AuditRecord,
    version: str,
    *,
    action: Detail,
    tactics: Mapping[str, RemediationActivityId],
    command: Detail,
) -> dict[str, Any]:
    """What every remediation event of `record` says: the tactic of its MDE `action` text
    (99 Other with the text when `tactics` lacks it), its status, command and actor."""
    raw = _text(record.details, action)
    found = tactics.get(_key(raw)) if raw else RemediationActivityId.UNKNOWN
    return {
        **_common(record, version),
        **_status(record),
        "activity_id": RemediationActivityId.OTHER if found is None else found,
        "activity_name": raw if found is None else None,
        "command_uid": _command_uid(record, command),
        "actor": _actor(record),
        "message": _message(record, raw),
    }


def _machine_action(record: AuditRecord, version: str) -> ocsf.OcsfEvent:
    common = _remediation(
        record, version, action=Detail.ACTION, tactics=_MACHINE_ACTIONS, command=Detail.ACTION_ID
    )
    if record.subject:
        common["device"] = ocsf.Device(type_id=ocsf.DeviceTypeId.UNKNOWN, uid=record.subject)
    sha1 = _text(record.details, Detail.SHA1)
    if _key(_text(record.details, Detail.ACTION)) in _FILE_ACTIONS and sha1:
        file = _hashed_file(sha1, ocsf.HashAlgorithmId.SHA1)
        return ocsf.FileRemediationActivity(file=file, **common)
    return ocsf.RemediationActivity(**common)


def _indicator(record: AuditRecord, version: str) -> ocsf.OcsfEvent:
    common = _remediation(
        record,
        version,
        action=Detail.INDICATOR_ACTION,
        tactics=_INDICATOR_ACTIONS,
        command=Detail.INDICATOR_ID,
    )
    kind = _key(_text(record.details, Detail.INDICATOR_TYPE))
    if kind in _NETWORK_INDICATORS:
        outbound = ocsf.ConnectionInfo(direction_id=DirectionId.OUTBOUND)
        return ocsf.NetworkRemediationActivity(connection_info=outbound, **common)
    algorithm = _FILE_INDICATORS.get(kind)
    if algorithm is not None and record.subject:
        return ocsf.FileRemediationActivity(file=_hashed_file(record.subject, algorithm), **common)
    return ocsf.RemediationActivity(**common)


def _hashed_file(digest: str, algorithm: ocsf.HashAlgorithmId) -> ocsf.File:
    """A file known by its hash alone: the hash stands in for its name (docs/ocsf-mapping.md
    §5); listed in `hashes` when it is one."""
    try:
        hashes: tuple[ocsf.Fingerprint, ...] | None = (
            ocsf.Fingerprint(algorithm_id=algorithm, value=digest),
        )
    except ValueError:  # pydantic's ValidationError: not a hash of that algorithm
        hashes = None
    return ocsf.File(name=digest, type_id=ocsf.FileTypeId.UNKNOWN, hashes=hashes)


def _message(record: AuditRecord, what: str | None) -> str:
    who = record.actor.user or "the bot"
    step = str(record.kind).replace("_", " ")
    target = f" of {record.subject}" if record.subject else ""
    return f"{step}: {what or 'unknown'}{target}, by {who}"


# ---------------------------------------------------------------------- triage (2004)


def _triage(record: AuditRecord, version: str) -> ocsf.OcsfEvent:
    """The alert's new status, classification and assignee, mapped as alerts are (§3)."""
    fields = {k: v for k, v in record.details.items() if k in _ALERT_FIELDS}
    alert = Alert.model_validate({**fields, "id": record.subject or _own_id(record)})
    mapped = finding_from_alert(alert, portal_url=PORTAL_URL, version=version)
    return ocsf.DetectionFinding(
        **_common(record, version),
        activity_id=ocsf.ActivityId.UPDATE,
        severity_id=mapped.severity_id,
        severity=mapped.severity,
        finding_info=ocsf.FindingInfo(uid=alert.id),
        status_id=mapped.status_id if alert.status else None,
        status=mapped.status if alert.status else None,
        verdict_id=mapped.verdict_id,
        verdict=mapped.verdict,
        assignee=mapped.assignee,
        comment=_text(record.details, Detail.COMMENT),
    )


# The alert fields a triage update may set (`Alert` field names).
_ALERT_FIELDS = frozenset(
    {
        Detail.STATUS,
        Detail.CLASSIFICATION,
        Detail.DETERMINATION,
        Detail.ASSIGNED_TO,
        Detail.SEVERITY,
    }
)


# ------------------------------------------------------------ lookups, refusals (6003)


def _api_activity(record: AuditRecord, version: str) -> ocsf.OcsfEvent:
    details = record.details
    if record.kind == AuditKind.LOOKUP:
        activity_id, activity_name = ApiActivityId.READ, None
        status_id, detail = EventStatusId.SUCCESS, None
        operation = _text(details, Detail.COMMAND) or "lookup"
    elif record.kind == AuditKind.REFUSAL:
        refused = _text(details, Detail.REQUEST)
        activity_id = _REFUSED.get(_key(refused), ApiActivityId.OTHER)
        activity_name = refused if activity_id is ApiActivityId.OTHER and refused else None
        status_id, detail = EventStatusId.FAILURE, _text(details, Detail.REASON)
        operation = refused or "request"
    else:  # a kind this version does not know (written by a newer bot)
        activity_id, activity_name = ApiActivityId.OTHER, str(record.kind)
        status_id, detail = EventStatusId.UNKNOWN, None
        operation = str(record.kind)
    return ocsf.ApiActivity(
        **_common(record, version),
        activity_id=activity_id,
        activity_name=activity_name,
        actor=_actor(record),
        api=ocsf.Api(
            operation=operation,
            service=MDE,
            request=ocsf.ApiRequest(uid=_text(details, Detail.REQUEST_ID) or _own_id(record)),
        ),
        src_endpoint=SLACK,
        status_id=status_id,
        status_detail=detail,
    )


_BUILDERS: Mapping[str, Callable[[AuditRecord, str], ocsf.OcsfEvent]] = {
    AuditKind.ACTION_REQUESTED: _machine_action,
    AuditKind.ACTION_APPROVED: _machine_action,
    AuditKind.ACTION_REJECTED: _machine_action,
    AuditKind.ACTION_SUBMITTED: _machine_action,
    AuditKind.ACTION_STATUS: _machine_action,
    AuditKind.ACTION_CANCELLED: _machine_action,
    AuditKind.INDICATOR_SUBMITTED: _indicator,
    AuditKind.TRIAGE_UPDATE: _triage,
}
