"""MDE alert evidence → OCSF `evidences[]` (docs/ocsf-mapping.md §4).

Both alert shapes are evidence: the `evidence` list, and the older `alertFiles`, `alertIps`,
`alertDomains` (and the newer `domains`) and `alertUser`, read as the evidence entities they
describe. Each item keeps MDE's own `detectionStatus` in its `data`."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from bot import ocsf
from bot.mde.models import Alert, Evidence
from bot.mde.normalize.common import compact, epoch_ms, ip_or_none, key, observable, text
from bot.mde.normalize.files import FileIndex, file_object, file_observables


def _file(item: Evidence, files: FileIndex, version: str) -> ocsf.File | None:
    """§4 the evidence's file (a File's, or a Process's image), with its hashes."""
    return file_object(
        item.file_name,
        item.file_path,
        sha1=item.sha1,
        sha256=item.sha256,
        files=files,
        version=version,
    )


def _process(item: Evidence, files: FileIndex, version: str) -> ocsf.Process | None:
    """§4 Process, with its account; parent_process only when parentProcessId is set (OCSF
    requires a pid)."""
    if item.process_id is None:
        return None
    parent = None
    if item.parent_process_id is not None:
        parent = ocsf.Process(
            pid=item.parent_process_id,
            name=text(item.parent_process_file_name),
            created_time=epoch_ms(item.parent_process_creation_time),
            file=file_object(
                item.parent_process_file_name, item.parent_process_file_path, version=version
            ),
        )
    image = _file(item, files, version)
    return ocsf.Process(
        pid=item.process_id,
        name=image.name if image else None,
        cmd_line=text(item.process_command_line),
        created_time=epoch_ms(item.process_creation_time),
        file=image,
        user=_user(item),  # §4 accountName, domainName, userSid, userPrincipalName
        parent_process=parent,
    )


def _user(item: Evidence) -> ocsf.User | None:
    """§4 User: uid = userSid or aadUserId; the UPN as email only if it is a valid email."""
    name, sid, aad = text(item.account_name), text(item.user_sid), text(item.aad_user_id)
    upn = text(item.user_principal_name)
    uid = sid or aad
    if not (name or uid):
        return None
    return ocsf.User(
        name=name,
        domain=text(item.domain_name),
        uid=uid,
        uid_alt=aad if sid else None,
        email_addr=upn if upn and ocsf.is_email(upn) else None,
    )


def _data(item: Evidence) -> ocsf.Evidence:
    """§4 Registry*, other (or unusable): {name: entityType, data: the non-null raw fields}."""
    raw = item.model_dump(by_alias=True, mode="json")
    return ocsf.Evidence(name=text(item.entity_type), data=compact(raw))


def _modelled(item: Evidence, files: FileIndex, version: str) -> ocsf.Evidence | None:
    """§4 the entity types OCSF models, or None when MDE's item lacks what OCSF requires."""
    kind = key(item.entity_type)
    if kind == "file":
        file = _file(item, files, version)
        return ocsf.Evidence(file=file) if file else None
    if kind == "process":
        process = _process(item, files, version)
        return ocsf.Evidence(process=process) if process else None
    if kind == "user":
        user = _user(item)
        return ocsf.Evidence(user=user) if user else None
    if kind == "ip":  # §4 Ip → dst_endpoint.ip (the remote IP)
        ip = ip_or_none(item.ip_address)
        return ocsf.Evidence(dst_endpoint=ocsf.NetworkEndpoint(ip=ip)) if ip else None
    if kind == "domain":  # §4 a domain (older shape) → dst_endpoint.hostname
        host = text(item.host)
        return ocsf.Evidence(dst_endpoint=ocsf.NetworkEndpoint(hostname=host)) if host else None
    if kind == "url" and (url := text(item.url)):  # §4 Url → url.url_string
        return ocsf.Evidence(url=ocsf.Url(url_string=url))
    return None


def evidence_item(
    item: Evidence, files: FileIndex, *, version: str = ocsf.OCSF_VERSION
) -> ocsf.Evidence:
    """One MDE evidence entity → one `evidences[]` item, with its own detection status."""
    modelled = _modelled(item, files, version)
    if modelled is None:
        return _data(item)
    status = text(item.detection_status)
    if status is None:
        return modelled
    return modelled.model_copy(update={"data": {"detectionStatus": status}})


def _older_shape(alert: Alert) -> Iterator[Evidence]:
    """§4 `alertFiles`, `alertIps`, `alertDomains`/`domains` and `alertUser` as the evidence
    entities they describe (their `filePath` is the full path: see `file_location`)."""
    for f in alert.alert_files:
        yield Evidence(
            entity_type="File",
            sha1=f.sha1,
            sha256=f.sha256,
            file_name=f.file_name,
            file_path=f.file_path,
        )
    for ip in alert.alert_ips:
        yield Evidence(entity_type="Ip", ip_address=ip.ip_address)
    for domain in (*alert.alert_domains, *alert.domains):
        yield Evidence(entity_type="Domain", host=domain.host)
    if (user := alert.alert_user) is not None:
        yield Evidence(
            entity_type="User",
            account_name=user.account_name,
            domain_name=user.domain_name,
            user_sid=user.user_sid,
            aad_user_id=user.aad_user_id,
            user_principal_name=user.user_principal_name,
        )
    related = alert.related_user
    if related is not None:  # §3 relatedUser → evidences[].user
        yield Evidence(
            entity_type="User", account_name=related.user_name, domain_name=related.domain_name
        )


def _identity(item: ocsf.Evidence) -> tuple[str, ...] | None:
    """What makes two evidence items one (the same file at the same path, user, address)."""
    if item.file is not None:
        digest = next((h.value for h in item.file.hashes or ()), "")
        return ("file", (item.file.path or item.file.name).lower(), digest)
    if item.user is not None and item.process is None:
        return ("user", key(item.user.name), key(item.user.domain), item.user.uid or "")
    if item.dst_endpoint is not None:
        return ("endpoint", item.dst_endpoint.ip or key(item.dst_endpoint.hostname))
    if item.url is not None:
        return ("url", item.url.url_string or "")
    return None


def _same_user(item: ocsf.Evidence, seen: set[tuple[str, ...]]) -> bool:
    """A user named without a uid (relatedUser, older shape) is one already listed with it."""
    user = item.user
    if user is None or item.process is not None or user.uid:
        return False
    return any(s[:3] == ("user", key(user.name), key(user.domain)) for s in seen)


def evidences_from_alert(
    alert: Alert, files: FileIndex, *, version: str = ocsf.OCSF_VERSION
) -> tuple[ocsf.Evidence, ...]:
    """Every evidence of the alert, in either shape, each entity once."""
    items: list[ocsf.Evidence] = []
    seen: set[tuple[str, ...]] = set()
    modelled = (evidence_item(e, files, version=version) for e in alert.evidence)
    older = (m for e in _older_shape(alert) if (m := _modelled(e, files, version)) is not None)
    for item in (*modelled, *older):
        identity = _identity(item)
        if identity is not None and (identity in seen or _same_user(item, seen)):
            continue
        if identity is not None:
            seen.add(identity)
        items.append(item)
    return tuple(items)


def evidence_observables(
    evidences: Iterable[ocsf.Evidence], *, path: str = "evidences"
) -> Iterator[ocsf.Observable | None]:
    """§4 observables: file names (7), hashes (8), process names (9), users (4), emails (5),
    IPs (2), host names (1), URLs (6)."""
    obs = ocsf.ObservableTypeId
    for i, item in enumerate(evidences):
        at = f"{path}[{i}]"
        yield from file_observables(item.file, f"{at}.file")
        yield from _user_observables(item.user, f"{at}.user")
        if item.process is not None:
            yield observable(obs.PROCESS_NAME, f"{at}.process.name", item.process.name)
            yield from file_observables(item.process.file, f"{at}.process.file")
            yield from _user_observables(item.process.user, f"{at}.process.user")
            parent = item.process.parent_process
            if parent is not None:
                yield observable(obs.PROCESS_NAME, f"{at}.process.parent_process.name", parent.name)
        if item.dst_endpoint is not None:
            yield observable(obs.IP_ADDRESS, f"{at}.dst_endpoint.ip", item.dst_endpoint.ip)
            host = item.dst_endpoint.hostname
            yield observable(obs.HOSTNAME, f"{at}.dst_endpoint.hostname", host)
        if item.url is not None:
            yield observable(obs.URL_STRING, f"{at}.url.url_string", item.url.url_string)


def _user_observables(user: ocsf.User | None, path: str) -> Iterator[ocsf.Observable | None]:
    if user is not None:
        yield observable(ocsf.ObservableTypeId.USER_NAME, f"{path}.name", user.name)
        yield observable(ocsf.ObservableTypeId.EMAIL_ADDRESS, f"{path}.email_addr", user.email_addr)
