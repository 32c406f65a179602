"""The legacy OCSF Security Finding (2001), built from a Detection Finding
(docs/ocsf-mapping.md §6).

Deprecated since OCSF 1.1 but still in 1.8; offered for tools that expect it (Query's model)."""

from __future__ import annotations

from collections.abc import Iterable

from bot import ocsf
from bot.mde.models import Alert, FileInfo, Machine
from bot.mde.normalize.alert import finding_from_alert
from bot.mde.normalize.common import dedupe
from bot.mde.normalize.evidence import evidence_observables

# §6 the legacy class keeps the workflow status in state_id (its status_id means outcome).
_STATE = {
    None: ocsf.StateId.UNKNOWN,
    ocsf.StatusId.UNKNOWN: ocsf.StateId.UNKNOWN,
    ocsf.StatusId.NEW: ocsf.StateId.NEW,
    ocsf.StatusId.IN_PROGRESS: ocsf.StateId.IN_PROGRESS,
    ocsf.StatusId.SUPPRESSED: ocsf.StateId.SUPPRESSED,
    ocsf.StatusId.RESOLVED: ocsf.StateId.RESOLVED,
}


def security_finding_from_detection(finding: ocsf.DetectionFinding) -> ocsf.SecurityFinding:
    """The legacy Security Finding (2001) for a Detection Finding (§6): `finding`
    (title required), `state_id` for the workflow status, device under the `host` profile,
    analytic/attacks/malware top-level, evidence as the deprecated `evidence` blob."""
    info = finding.finding_info
    state = _STATE.get(finding.status_id, ocsf.StateId.OTHER)
    evidences = finding.evidences or ()
    process = next((e.process for e in evidences if e.process is not None), None)
    observables = [
        *(o for o in finding.observables or () if not (o.name or "").startswith("evidences")),
        *evidence_observables(evidences, path="evidence"),
    ]
    unmapped = dict(finding.unmapped or {})
    if finding.assignee is not None:
        unmapped["assignedTo"] = finding.assignee.name
    if finding.verdict_id is not None:
        unmapped["verdict"] = finding.verdict
    return ocsf.SecurityFinding(
        activity_id=finding.activity_id,
        severity_id=finding.severity_id,
        severity=finding.severity,
        state_id=state,
        state=finding.status if state is ocsf.StateId.OTHER else None,
        time=finding.time,
        start_time=finding.start_time,
        end_time=finding.end_time,
        message=finding.message,
        metadata=finding.metadata.model_copy(update={"profiles": None}),
        finding=ocsf.LegacyFinding(
            uid=info.uid,
            title=info.title or info.uid,  # title is required in the legacy object
            desc=info.desc,
            src_url=info.src_url,
            types=info.types,
            created_time=info.created_time,
            modified_time=info.modified_time,
            first_seen_time=info.first_seen_time,
            last_seen_time=info.last_seen_time,
        ),
        analytic=info.analytic,
        attacks=info.attacks,
        malware=finding.malware,
        process=process,
        evidence=tuple(ocsf.to_json(e) for e in evidences) or None,
        device=finding.device,
        is_alert=finding.is_alert,
        disposition_id=finding.disposition_id,
        disposition=finding.disposition,
        action_id=finding.action_id,
        action=finding.action,
        observables=dedupe(observables),
        unmapped=unmapped or None,
    )


def security_finding_from_alert(
    alert: Alert,
    *,
    portal_url: str,
    machine: Machine | None = None,
    files: Iterable[FileInfo] = (),
    version: str = ocsf.OCSF_VERSION,
) -> ocsf.SecurityFinding:
    """An MDE alert as a legacy OCSF Security Finding (class 2001), e.g. for Query's model."""
    finding = finding_from_alert(
        alert, portal_url=portal_url, machine=machine, files=files, version=version
    )
    return security_finding_from_detection(finding)
