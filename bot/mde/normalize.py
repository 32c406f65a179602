"""PURE: MDE machines and alerts → OCSF (walking-skeleton subset of
../shared/reference/ocsf.md §5)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from bot import ocsf
from bot.mde.models import Alert, Machine

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

_SEVERITY = {
    "unspecified": ocsf.SeverityId.UNKNOWN,
    "informational": ocsf.SeverityId.INFORMATIONAL,
    "low": ocsf.SeverityId.LOW,
    "medium": ocsf.SeverityId.MEDIUM,
    "high": ocsf.SeverityId.HIGH,
}
_STATUS = {
    "unknown": ocsf.StatusId.UNKNOWN,
    "new": ocsf.StatusId.NEW,
    "inprogress": ocsf.StatusId.IN_PROGRESS,
    "resolved": ocsf.StatusId.RESOLVED,
}
_RISK = {
    "informational": ocsf.RiskLevelId.INFO,
    "low": ocsf.RiskLevelId.LOW,
    "medium": ocsf.RiskLevelId.MEDIUM,
    "high": ocsf.RiskLevelId.HIGH,
}


def epoch_ms(value: datetime | None) -> int | None:
    if value is None:
        return None
    return (value - _EPOCH) // timedelta(milliseconds=1)


def _os_type(platform: str) -> ocsf.OsTypeId:
    p = platform.lower()
    if not p:
        return ocsf.OsTypeId.UNKNOWN
    if p.startswith("windows"):
        return ocsf.OsTypeId.WINDOWS
    if p in {"linux", "ubuntu", "debian", "centos", "suse"} or p.startswith(
        ("redhat", "oracle", "amazon")
    ):
        return ocsf.OsTypeId.LINUX
    if p == "android":
        return ocsf.OsTypeId.ANDROID
    if p.startswith(("macos", "osx", "mac")):
        return ocsf.OsTypeId.MACOS
    if p == "ios":
        return ocsf.OsTypeId.IOS
    if p == "ipados":
        return ocsf.OsTypeId.IPADOS
    return ocsf.OsTypeId.OTHER


def _device_type(machine: Machine) -> ocsf.DeviceTypeId:
    platform = (machine.os_platform or "").lower()
    if platform.startswith("windowsserver"):
        return ocsf.DeviceTypeId.SERVER
    if platform in {"ios", "android"}:
        return ocsf.DeviceTypeId.MOBILE
    if platform == "ipados":
        return ocsf.DeviceTypeId.TABLET
    if machine.vm_metadata is not None:
        return ocsf.DeviceTypeId.VIRTUAL
    return ocsf.DeviceTypeId.UNKNOWN


def alert_url(portal_url: str, alert_id: str, tenant_id: str | None) -> str:
    return f"{portal_url}/alerts/{alert_id}" + (f"?tid={tenant_id}" if tenant_id else "")


def device_from_machine(machine: Machine) -> ocsf.Device:
    platform = machine.os_platform or ""
    os_type = _os_type(platform)
    risk = _RISK.get((machine.risk_score or "").lower())
    hostname = machine.computer_dns_name
    name, _, domain = (hostname or "").partition(".")
    unmapped: dict[str, Any] = {
        key: value
        for key, value in {
            "healthStatus": machine.health_status,
            "exposureLevel": machine.exposure_level,
            "onboardingStatus": machine.onboarding_status,
            "lastExternalIpAddress": machine.last_external_ip_address,
        }.items()
        if value is not None
    }
    device_type = _device_type(machine)
    return ocsf.Device(
        type_id=device_type,
        type=ocsf.caption(device_type),
        uid=machine.id,
        hostname=hostname,
        name=name or None,
        domain=domain or None,
        ip=machine.last_ip_address,
        os=ocsf.Os(
            name=platform or "Unknown",
            type_id=os_type,
            type=ocsf.caption(os_type),
            version=machine.version,
            build=str(machine.os_build) if machine.os_build is not None else None,
        ),
        risk_level_id=risk,
        risk_level=ocsf.caption(risk) if risk is not None else None,
        first_seen_time=epoch_ms(machine.first_seen),
        last_seen_time=epoch_ms(machine.last_seen),
        groups=tuple(ocsf.Group(name=tag, type="MachineTag") for tag in machine.machine_tags)
        or None,
        unmapped=unmapped or None,
    )


def finding_from_alert(alert: Alert, *, portal_url: str) -> ocsf.DetectionFinding:
    severity = _SEVERITY.get((alert.severity or "").lower(), ocsf.SeverityId.OTHER)
    status = _STATUS.get((alert.status or "").lower(), ocsf.StatusId.OTHER)
    activity = 3 if status is ocsf.StatusId.RESOLVED else 1
    created = epoch_ms(alert.alert_creation_time)
    return ocsf.DetectionFinding(
        activity_id=activity,
        type_uid=200400 + activity,
        severity_id=severity,
        severity=alert.severity if severity is ocsf.SeverityId.OTHER else ocsf.caption(severity),
        status_id=status,
        status=alert.status if status is ocsf.StatusId.OTHER else ocsf.caption(status),
        time=created or 0,
        message=alert.title,
        metadata=ocsf.Metadata(
            uid=alert.id,
            tenant_uid=alert.aad_tenant_id,
            correlation_uid=str(alert.incident_id) if alert.incident_id is not None else None,
            log_name="alerts",
        ),
        finding_info=ocsf.FindingInfo(
            uid=alert.id,
            title=alert.title,
            desc=alert.description,
            src_url=alert_url(portal_url, alert.id, alert.aad_tenant_id),
            types=(alert.category,) if alert.category else None,
            created_time=created,
            first_seen_time=epoch_ms(alert.first_event_time),
            last_seen_time=epoch_ms(alert.last_event_time),
        ),
        device=ocsf.Device(
            type_id=ocsf.DeviceTypeId.UNKNOWN,
            type="Unknown",
            uid=alert.machine_id,
            hostname=alert.computer_dns_name,
        )
        if alert.machine_id or alert.computer_dns_name
        else None,
    )
