"""MDE Alert → OCSF Detection Finding (2004) (docs/ocsf-mapping.md §3).

`finding_from_alert` assembles the finding from one function per part: its classification
(severity, status, activity, time), metadata, finding info, device, evidence, outcome, verdict
and what has no OCSF slot."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from bot import ocsf
from bot.mde.models import Alert, FileInfo, Machine
from bot.mde.normalize.common import compact, dedupe, epoch_ms, key, mde_time, text
from bot.mde.normalize.device import device_observables
from bot.mde.normalize.evidence import evidence_observables, evidences_from_alert
from bot.mde.normalize.files import file_index
from bot.mde.normalize.finding_device import current_state, finding_device
from bot.mde.normalize.threats import attacks, malware

# §3 severity: UnSpecified/Unknown (or none)/Informational/Low/Medium/High → 0/0/1/2/3/4;
# other → 99 + raw.
_SEVERITY = {
    "": ocsf.SeverityId.UNKNOWN,
    "unknown": ocsf.SeverityId.UNKNOWN,
    "unspecified": ocsf.SeverityId.UNKNOWN,
    "informational": ocsf.SeverityId.INFORMATIONAL,
    "low": ocsf.SeverityId.LOW,
    "medium": ocsf.SeverityId.MEDIUM,
    "high": ocsf.SeverityId.HIGH,
}
# §3 status: Unknown (or none)/New/InProgress/Resolved → 0/1/2/4; other → 99 + raw.
_STATUS = {
    "": ocsf.StatusId.UNKNOWN,
    "unknown": ocsf.StatusId.UNKNOWN,
    "new": ocsf.StatusId.NEW,
    "inprogress": ocsf.StatusId.IN_PROGRESS,
    "resolved": ocsf.StatusId.RESOLVED,
}
# §3 detectionSource → analytic.type_id (others → 0 Unknown).
_ANALYTIC_TYPE = {
    "customdetection": ocsf.AnalyticTypeId.RULE,
    "windowsdefenderatp": ocsf.AnalyticTypeId.BEHAVIORAL,
    "windowsdefenderav": ocsf.AnalyticTypeId.FINGERPRINTING,
}
# §3 classification → verdict_id (determination SecurityTesting → 6 Test); other → 99 + raw.
_VERDICT = {
    "truepositive": ocsf.VerdictId.TRUE_POSITIVE,
    "falsepositive": ocsf.VerdictId.FALSE_POSITIVE,
    "informationalexpectedactivity": ocsf.VerdictId.BENIGN,
    "unknown": ocsf.VerdictId.UNKNOWN,
}
# §3 evidence detectionStatus → (disposition_id, action_id, strength); strongest wins.
_DETECTION = {
    "detected": (ocsf.DispositionId.DETECTED, ocsf.ActionId.OBSERVED, 2),
    "blocked": (ocsf.DispositionId.BLOCKED, ocsf.ActionId.DENIED, 3),
    "prevented": (ocsf.DispositionId.BLOCKED, ocsf.ActionId.DENIED, 3),
}


def alert_url(portal_url: str, alert_id: str, tenant_id: str | None) -> str:
    """The alert's page in the Defender portal (`finding_info.src_url`)."""
    query = f"?tid={quote(tenant_id, safe='')}" if tenant_id else ""
    return f"{portal_url}/alerts/{quote(alert_id, safe='')}{query}"


@dataclass(frozen=True, slots=True)
class _Classification:
    """§3 severity, status and what they make of the finding: its activity and time."""

    severity_id: ocsf.SeverityId
    severity: str | None
    status_id: ocsf.StatusId
    status: str | None
    closed: bool
    time: int


def _classification(alert: Alert) -> _Classification:
    raw_severity, raw_status = text(alert.severity), text(alert.status)
    severity = _SEVERITY.get(key(raw_severity), ocsf.SeverityId.OTHER)
    status = _STATUS.get(key(raw_status), ocsf.StatusId.OTHER)
    closed = status is ocsf.StatusId.RESOLVED  # §3 status: Resolved → 3 Close, else 1 Create
    created, updated = epoch_ms(alert.alert_creation_time), epoch_ms(alert.last_update_time)
    # §3 alertCreationTime → time; for Close, resolvedTime (fallback lastUpdateTime)
    when = (epoch_ms(alert.resolved_time) or updated) if closed else created
    return _Classification(
        severity_id=severity,
        severity=raw_severity if severity is ocsf.SeverityId.OTHER else None,
        status_id=status,
        status=raw_status if status is ocsf.StatusId.OTHER else None,
        closed=closed,
        time=when or created or updated or 0,
    )


def _metadata(alert: Alert, version: str) -> ocsf.Metadata:
    source = text(alert.detection_source)
    incident = alert.incident_id
    return ocsf.Metadata(
        version=version,
        # §3 detectionSource → product.feature
        product=ocsf.Product(feature=ocsf.Feature(name=source) if source else None),
        uid=alert.id,  # §3 id → metadata.uid
        tenant_uid=text(alert.aad_tenant_id),  # §3 aadTenantId → tenant_uid
        # §3 incidentId → correlation_uid (str): groups the alerts of one incident
        correlation_uid=str(incident) if incident is not None else None,
        original_time=mde_time(alert.alert_creation_time),  # §3 alertCreationTime, as sent
        modified_time=epoch_ms(alert.last_update_time),  # §3 lastUpdateTime → modified_time
        log_name="alerts",
    )


def _analytic(alert: Alert) -> ocsf.Analytic | None:
    detector, title = text(alert.detector_id), text(alert.title)
    if not (detector or title):
        return None
    return ocsf.Analytic(
        type_id=_ANALYTIC_TYPE.get(key(alert.detection_source), ocsf.AnalyticTypeId.UNKNOWN),
        uid=detector,  # §3 detectorId → analytic.uid
        name=title,  # §3 title → analytic.name
        category=text(alert.category),  # §3 category → analytic.category
    )


def _finding_info(
    alert: Alert, portal_url: str, found: tuple[ocsf.Attack, ...]
) -> ocsf.FindingInfo:
    category = text(alert.category)  # §3 placeholder categories ("null", "None") are none
    return ocsf.FindingInfo(
        uid=alert.id,  # §3 id → finding_info.uid
        title=text(alert.title),
        desc=text(alert.description),  # §3 description → desc
        src_url=alert_url(portal_url, alert.id, text(alert.aad_tenant_id)),
        types=(category,) if category else None,  # §3 category → types[]
        created_time=epoch_ms(alert.alert_creation_time),
        modified_time=epoch_ms(alert.last_update_time),
        first_seen_time=epoch_ms(alert.first_event_time),  # §3 firstEventTime
        last_seen_time=epoch_ms(alert.last_event_time),  # §3 lastEventTime
        analytic=_analytic(alert),
        attacks=found or None,
    )


def _verdict(alert: Alert) -> tuple[ocsf.VerdictId | None, str | None]:
    classification = text(alert.classification)
    if not classification:
        return None, None  # §3 null → omit
    if key(alert.determination) == "securitytesting":
        return ocsf.VerdictId.TEST, None
    verdict = _VERDICT.get(key(classification))
    return (verdict, None) if verdict is not None else (ocsf.VerdictId.OTHER, classification)


@dataclass(frozen=True, slots=True)
class _Outcome:
    """What the evidence says MDE did: disposition_id/action_id (+ raw text for 99 Other)."""

    disposition_id: ocsf.DispositionId | None = None
    disposition: str | None = None
    action_id: ocsf.ActionId | None = None
    action: str | None = None
    strength: int = 0


def _outcome(alert: Alert) -> _Outcome:
    """§3 evidence detectionStatus → disposition/action, the strongest across the list."""
    best = _Outcome()
    for item in alert.evidence:
        raw = text(item.detection_status)
        if not raw:
            continue
        found = _DETECTION.get(key(raw))
        if found is None:  # other → 99 + raw
            candidate = _Outcome(ocsf.DispositionId.OTHER, raw, ocsf.ActionId.OTHER, raw, 1)
        else:
            candidate = _Outcome(found[0], None, found[1], None, strength=found[2])
        if candidate.strength > best.strength:
            best = candidate
    return best


def _assignee(alert: Alert) -> ocsf.User | None:
    """§3 assignedTo → assignee {name, email_addr if it is an email}."""
    who = text(alert.assigned_to)
    if not who:
        return None
    return ocsf.User(name=who, email_addr=who if ocsf.is_email(who) else None)


def _last_comment(alert: Alert) -> str | None:
    """§3 comments[] → comment: the newest comment's text."""
    texts = [
        (epoch_ms(c.created_time) or 0, i, text(c.comment)) for i, c in enumerate(alert.comments)
    ]
    return max((t for t in texts if t[2]), default=(0, 0, None))[2]


def _unmapped(
    alert: Alert, unknown_techniques: list[str], device: ocsf.Device | None
) -> dict[str, Any] | None:
    """§3 fields with no OCSF slot, under MDE's names; the device's own under `device`, and
    which of its attributes are its current state under `device_current`."""
    logged_on = [u.model_dump(by_alias=True, exclude_none=True) for u in alert.logged_on_users]
    values = {
        "investigationId": alert.investigation_id,
        "investigationState": text(alert.investigation_state),
        "classification": text(alert.classification),
        "determination": text(alert.determination),
        "threatFamilyName": text(alert.threat_family_name) if text(alert.threat_name) else None,
        "loggedOnUsers": [u for u in logged_on if u],
        "mitreTechniques": unknown_techniques,
        "device": dict(device.unmapped) if device and device.unmapped else None,
        "device_current": current_state(device),
    }
    return compact(values) or None


def _observables(
    device: ocsf.Device | None, evidences: Iterable[ocsf.Evidence], version: str
) -> tuple[ocsf.Observable, ...] | None:
    on_device = (
        device_observables(device, path="device", unmapped_path="unmapped.device", version=version)
        if device
        else ()
    )
    return dedupe((*on_device, *evidence_observables(evidences)))


def finding_from_alert(
    alert: Alert,
    *,
    portal_url: str,
    machine: Machine | None = None,
    device: ocsf.Device | None = None,
    files: Iterable[FileInfo] = (),
    version: str = ocsf.OCSF_VERSION,
) -> ocsf.DetectionFinding:
    """An MDE alert as an OCSF Detection Finding (docs/ocsf-mapping.md §3).

    `machine` (the alert's device, looked up) adds what the alert does not say of its device,
    marked as the device's current state; `device` is that device already normalised (a
    device's many alerts share one); `files` (MDE file profiles) add MD5, size, publisher and
    signature to the evidence files they match."""
    state = _classification(alert)
    found, unknown_techniques = attacks(alert)
    subject = finding_device(alert, machine=machine, device=device)
    evidences = evidences_from_alert(alert, file_index(files), version=version)
    threat = malware(alert)
    verdict, verdict_text = _verdict(alert)
    outcome = _outcome(alert)
    return ocsf.DetectionFinding(
        activity_id=ocsf.ActivityId.CLOSE if state.closed else ocsf.ActivityId.CREATE,
        severity_id=state.severity_id,
        severity=state.severity,
        status_id=state.status_id,
        status=state.status,
        time=state.time,
        start_time=epoch_ms(alert.first_event_time),  # §3 firstEventTime → start_time
        end_time=epoch_ms(alert.last_event_time),  # §3 lastEventTime → end_time
        message=text(alert.title),  # §3 title → message
        metadata=_metadata(alert, version),
        finding_info=_finding_info(alert, portal_url, found),
        device=subject,
        evidences=evidences or None,
        malware=(threat,) if threat else None,
        observables=_observables(subject, evidences, version),
        is_alert=not state.closed,  # §3 is_alert: true unless Close
        comment=_last_comment(alert),
        # §3 top-level attacks only when security_control is declared anyway (detectionStatus)
        attacks=found or None if outcome.disposition_id is not None else None,
        disposition_id=outcome.disposition_id,
        disposition=outcome.disposition,
        action_id=outcome.action_id,
        action=outcome.action,
        verdict_id=verdict,
        verdict=verdict_text,
        assignee=_assignee(alert),
        unmapped=_unmapped(alert, unknown_techniques, subject),
    )
