"""MDE Alert → OCSF Detection Finding (2004) (ocsf.md §5.2)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from bot import ocsf
from bot.mde.models import Alert, FileInfo, Machine
from bot.mde.normalize.common import (
    PRODUCT_NAME,
    compact,
    dedupe,
    epoch_ms,
    key,
    mde_time,
)
from bot.mde.normalize.device import device_from_machine, device_observables
from bot.mde.normalize.evidence import evidence_observables, evidences_from_alert, file_index

# §5.2 severity: UnSpecified/Informational/Low/Medium/High → 0/1/2/3/4; other → 99 + raw.
_SEVERITY = {
    "unspecified": ocsf.SeverityId.UNKNOWN,
    "informational": ocsf.SeverityId.INFORMATIONAL,
    "low": ocsf.SeverityId.LOW,
    "medium": ocsf.SeverityId.MEDIUM,
    "high": ocsf.SeverityId.HIGH,
}
# §5.2 status: Unknown/New/InProgress/Resolved → 0/1/2/4; other → 99 + raw.
_STATUS = {
    "unknown": ocsf.StatusId.UNKNOWN,
    "new": ocsf.StatusId.NEW,
    "inprogress": ocsf.StatusId.IN_PROGRESS,
    "resolved": ocsf.StatusId.RESOLVED,
}
# §5.2 detectionSource → analytic.type_id (others → 0 Unknown).
_ANALYTIC_TYPE = {
    "customdetection": ocsf.AnalyticTypeId.RULE,
    "windowsdefenderatp": ocsf.AnalyticTypeId.BEHAVIORAL,
    "windowsdefenderav": ocsf.AnalyticTypeId.FINGERPRINTING,
}
# §5.2 classification → verdict_id (determination SecurityTesting → 6 Test); other → 99 + raw.
_VERDICT = {
    "truepositive": ocsf.VerdictId.TRUE_POSITIVE,
    "falsepositive": ocsf.VerdictId.FALSE_POSITIVE,
    "informationalexpectedactivity": ocsf.VerdictId.BENIGN,
    "unknown": ocsf.VerdictId.UNKNOWN,
}
# §5.2 evidence detectionStatus → (disposition_id, action_id, strength); strongest wins.
_DETECTION = {
    "detected": (ocsf.DispositionId.DETECTED, ocsf.ActionId.OBSERVED, 2),
    "blocked": (ocsf.DispositionId.BLOCKED, ocsf.ActionId.DENIED, 3),
    "prevented": (ocsf.DispositionId.BLOCKED, ocsf.ActionId.DENIED, 3),
}
# §5.2 threatName prefix `Type:Platform/Family` → malware classification (else 0 Unknown).
_MALWARE_TYPE = {
    "trojan": ocsf.MalwareClassificationId.TROJAN,
    "backdoor": ocsf.MalwareClassificationId.BACKDOOR,
    "ransom": ocsf.MalwareClassificationId.RANSOMWARE,
    "worm": ocsf.MalwareClassificationId.WORM,
    "virus": ocsf.MalwareClassificationId.VIRUS,
    "trojandownloader": ocsf.MalwareClassificationId.DOWNLOADER,
    "trojandropper": ocsf.MalwareClassificationId.DROPPER,
    "spyware": ocsf.MalwareClassificationId.SPYWARE,
    "pws": ocsf.MalwareClassificationId.SPYWARE,
    "rootkit": ocsf.MalwareClassificationId.ROOTKIT,
    "exploit": ocsf.MalwareClassificationId.OTHER,
    "hacktool": ocsf.MalwareClassificationId.OTHER,
    "pua": ocsf.MalwareClassificationId.OTHER,
}
# §5.2 category ∈ MITRE tactics → a tactic-only attack.
_TACTICS = {
    "initialaccess": ("TA0001", "Initial Access"),
    "execution": ("TA0002", "Execution"),
    "persistence": ("TA0003", "Persistence"),
    "privilegeescalation": ("TA0004", "Privilege Escalation"),
    "defenseevasion": ("TA0005", "Defense Evasion"),
    "credentialaccess": ("TA0006", "Credential Access"),
    "discovery": ("TA0007", "Discovery"),
    "lateralmovement": ("TA0008", "Lateral Movement"),
    "collection": ("TA0009", "Collection"),
    "exfiltration": ("TA0010", "Exfiltration"),
    "commandandcontrol": ("TA0011", "Command and Control"),
    "impact": ("TA0040", "Impact"),
}
_TECHNIQUE = re.compile(r"^(T\d{4})(?:\.(\d{3}))?$")
_ATTACK_URL = "https://attack.mitre.org"


def alert_url(portal_url: str, alert_id: str, tenant_id: str | None) -> str:
    """The alert's page in the Defender portal (`finding_info.src_url`)."""
    query = f"?tid={quote(tenant_id, safe='')}" if tenant_id else ""
    return f"{portal_url}/alerts/{quote(alert_id, safe='')}{query}"


def _attacks(alert: Alert) -> tuple[tuple[ocsf.Attack, ...], list[str]]:
    """§5.2 mitreTechniques → attacks (Tnnnn / Tnnnn.mmm), plus the category's tactic alone."""
    attacks: list[ocsf.Attack] = []
    unknown: list[str] = []
    for raw in dict.fromkeys(alert.mitre_techniques):
        match = _TECHNIQUE.match(raw.strip().upper())
        if match is None:
            unknown.append(raw)
            continue
        technique, sub = match.group(1), match.group(2)
        url = f"{_ATTACK_URL}/techniques/{technique}/"
        attacks.append(
            ocsf.Attack(
                technique=ocsf.Technique(uid=technique, src_url=url),
                sub_technique=ocsf.SubTechnique(uid=f"{technique}.{sub}", src_url=f"{url}{sub}/")
                if sub
                else None,
            )
        )
    if (tactic := _TACTICS.get(key(alert.category))) is not None:
        uid, name = tactic
        src = f"{_ATTACK_URL}/tactics/{uid}/"
        attacks.append(ocsf.Attack(tactic=ocsf.Tactic(uid=uid, name=name, src_url=src)))
    return tuple(attacks), unknown


def _malware(alert: Alert) -> ocsf.Malware | None:
    """§5.2 threatName / threatFamilyName → malware[] with classification_ids (required)."""
    name = alert.threat_name or alert.threat_family_name
    if not name:
        return None
    prefix, colon, _ = (alert.threat_name or "").partition(":")
    kind = _MALWARE_TYPE.get(key(prefix)) if colon else None
    return ocsf.Malware(
        name=name,
        classification_ids=(kind or ocsf.MalwareClassificationId.UNKNOWN,),
        provider=PRODUCT_NAME,
    )


def _verdict(alert: Alert) -> tuple[ocsf.VerdictId | None, str | None]:
    if not alert.classification:
        return None, None  # §5.2 null → omit
    if key(alert.determination) == "securitytesting":
        return ocsf.VerdictId.TEST, None
    verdict = _VERDICT.get(key(alert.classification))
    return (verdict, None) if verdict is not None else (ocsf.VerdictId.OTHER, alert.classification)


@dataclass(frozen=True, slots=True)
class _Outcome:
    """What the evidence says MDE did: disposition_id/action_id (+ raw text for 99 Other)."""

    disposition_id: ocsf.DispositionId | None = None
    disposition: str | None = None
    action_id: ocsf.ActionId | None = None
    action: str | None = None
    strength: int = 0


def _outcome(alert: Alert) -> _Outcome:
    """§5.2 evidence detectionStatus → disposition/action, the strongest across the list."""
    best = _Outcome()
    for item in alert.evidence:
        raw = item.detection_status
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
    """§5.2 assignedTo → assignee {name, email_addr if it is an email}."""
    who = alert.assigned_to
    if not who:
        return None
    return ocsf.User(name=who, email_addr=who if ocsf.is_email(who) else None)


def _last_comment(alert: Alert) -> str | None:
    """§5.2 comments[] → comment: the newest comment's text."""
    texts = [(epoch_ms(c.created_time) or 0, i, c.comment) for i, c in enumerate(alert.comments)]
    return max((t for t in texts if t[2]), default=(0, 0, None))[2]


def _alert_device(alert: Alert) -> ocsf.Device | None:
    """§5.2 machineId, computerDnsName, rbacGroupName → device (when the machine wasn't fetched)."""
    if not (alert.machine_id or alert.computer_dns_name):
        return None
    hostname = alert.computer_dns_name or None
    name, _, domain = (hostname or "").partition(".")
    return ocsf.Device(
        type_id=ocsf.DeviceTypeId.UNKNOWN,
        uid=alert.machine_id or None,
        hostname=hostname,
        name=name or None,
        domain=domain or None,
        groups=(ocsf.Group(name=alert.rbac_group_name, type="DeviceGroup"),)
        if alert.rbac_group_name
        else None,
    )


def _unmapped(
    alert: Alert, unknown_techniques: list[str], device: ocsf.Device | None
) -> dict[str, Any] | None:
    """§5.2 fields with no OCSF slot, under MDE's names; the device's own under `device`."""
    logged_on = [u.model_dump(by_alias=True, exclude_none=True) for u in alert.logged_on_users]
    values = {
        "investigationId": alert.investigation_id,
        "investigationState": alert.investigation_state,
        "classification": alert.classification,
        "determination": alert.determination,
        "threatFamilyName": alert.threat_family_name if alert.threat_name else None,
        "loggedOnUsers": logged_on,
        "mitreTechniques": unknown_techniques,
        "device": dict(device.unmapped) if device and device.unmapped else None,
    }
    return compact(values) or None


def finding_from_alert(
    alert: Alert,
    *,
    portal_url: str,
    machine: Machine | None = None,
    device: ocsf.Device | None = None,
    files: Iterable[FileInfo] = (),
    version: str = ocsf.OCSF_VERSION,
) -> ocsf.DetectionFinding:
    """An MDE alert as an OCSF Detection Finding (ocsf.md §5.2).

    `machine` (the alert's device, fetched) replaces the alert's thin device with the full one;
    `device` is that device already normalised (a device's many alerts share one);
    `files` (MDE file profiles) add MD5, size and publisher to the evidence files they match."""
    severity = _SEVERITY.get(key(alert.severity), ocsf.SeverityId.OTHER)
    status = _STATUS.get(key(alert.status), ocsf.StatusId.OTHER)
    closed = status is ocsf.StatusId.RESOLVED  # §5.2 status: Resolved → 3 Close, else 1 Create
    activity = ocsf.ActivityId.CLOSE if closed else ocsf.ActivityId.CREATE
    created = epoch_ms(alert.alert_creation_time)
    updated = epoch_ms(alert.last_update_time)
    # §5.2 alertCreationTime → time; for Close, resolvedTime (fallback lastUpdateTime)
    when = (epoch_ms(alert.resolved_time) or updated) if closed else created
    attacks, unknown_techniques = _attacks(alert)
    if device is None:
        device = device_from_machine(machine) if machine is not None else _alert_device(alert)
    evidences = evidences_from_alert(alert, file_index(files))
    malware = _malware(alert)
    verdict, verdict_text = _verdict(alert)
    outcome = _outcome(alert)
    analytic = None
    if alert.detector_id or alert.title:
        analytic = ocsf.Analytic(
            type_id=_ANALYTIC_TYPE.get(key(alert.detection_source), ocsf.AnalyticTypeId.UNKNOWN),
            uid=alert.detector_id or None,  # §5.2 detectorId → analytic.uid
            name=alert.title or None,  # §5.2 title → analytic.name
            category=alert.category or None,  # §5.2 category → analytic.category
        )
    feature = ocsf.Feature(name=alert.detection_source) if alert.detection_source else None
    observables = [
        *(
            device_observables(
                device, path="device", unmapped_path="unmapped.device", version=version
            )
            if device
            else ()
        ),
        *evidence_observables(evidences),
    ]
    return ocsf.DetectionFinding(
        activity_id=activity,
        severity_id=severity,
        severity=alert.severity if severity is ocsf.SeverityId.OTHER else None,
        status_id=status,
        status=alert.status if status is ocsf.StatusId.OTHER else None,
        time=when or created or updated or 0,
        start_time=epoch_ms(alert.first_event_time),  # §5.2 firstEventTime → start_time
        end_time=epoch_ms(alert.last_event_time),  # §5.2 lastEventTime → end_time
        message=alert.title,  # §5.2 title → message
        metadata=ocsf.Metadata(
            version=version,
            product=ocsf.Product(feature=feature),  # §5.2 detectionSource → product.feature
            uid=alert.id,  # §5.2 id → metadata.uid
            tenant_uid=alert.aad_tenant_id,  # §5.2 aadTenantId → tenant_uid
            # §5.2 incidentId → correlation_uid (str): groups the alerts of one incident
            correlation_uid=str(alert.incident_id) if alert.incident_id is not None else None,
            original_time=mde_time(alert.alert_creation_time),  # §5.2 raw alertCreationTime
            modified_time=updated,  # §5.2 lastUpdateTime → metadata.modified_time
            log_name="alerts",
        ),
        finding_info=ocsf.FindingInfo(
            uid=alert.id,  # §5.2 id → finding_info.uid
            title=alert.title,
            desc=alert.description,  # §5.2 description → desc
            src_url=alert_url(portal_url, alert.id, alert.aad_tenant_id),
            types=(alert.category,) if alert.category else None,  # §5.2 category → types[]
            created_time=created,
            modified_time=updated,
            first_seen_time=epoch_ms(alert.first_event_time),
            last_seen_time=epoch_ms(alert.last_event_time),
            analytic=analytic,
            attacks=attacks or None,
        ),
        device=device,
        evidences=evidences or None,
        malware=(malware,) if malware else None,
        observables=dedupe(o for o in observables if o is not None),
        is_alert=not closed,  # §5.2 is_alert: true unless Close
        comment=_last_comment(alert),
        # §5.2 top-level attacks only when security_control is declared anyway (detectionStatus)
        attacks=attacks or None if outcome.disposition_id is not None else None,
        disposition_id=outcome.disposition_id,
        disposition=outcome.disposition,
        action_id=outcome.action_id,
        action=outcome.action,
        verdict_id=verdict,
        verdict=verdict_text,
        assignee=_assignee(alert),
        unmapped=_unmapped(alert, unknown_techniques, device),
    )
