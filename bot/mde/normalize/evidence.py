"""MDE alert evidence → OCSF `evidences[]`, and MDE file profiles → OCSF `file` (ocsf.md §5.3,
§4). Hashes always go to `file.hashes[]`, never to `file.signature.digest`."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping

from bot import ocsf
from bot.mde.models import Alert, Evidence, FileInfo
from bot.mde.normalize.common import compact, epoch_ms, fingerprints, ip_or_none, key, observable

FileIndex = Mapping[str, FileInfo]


def file_index(files: Iterable[FileInfo]) -> dict[str, FileInfo]:
    """File profiles by lowercase SHA-1 and SHA-256, to enrich evidence files."""
    index: dict[str, FileInfo] = {}
    for info in files:
        for digest in (info.sha1, info.sha256):
            if digest:
                index[digest.lower()] = info
    return index


def _join(folder: str, name: str) -> str:
    separator = "/" if "/" in folder and "\\" not in folder else "\\"
    return folder.rstrip("\\/") + separator + name


def _file(
    name: str | None,
    folder: str | None,
    *,
    sha1: str | None = None,
    sha256: str | None = None,
    files: FileIndex | None = None,
) -> ocsf.File | None:
    """§5.3 File: MDE `filePath` is the folder; OCSF `path` is folder + name."""
    if not name:
        return None
    info = (files or {}).get((sha1 or "").lower()) or (files or {}).get((sha256 or "").lower())
    stem, dot, ext = name.rpartition(".")
    return ocsf.File(
        name=name,
        type_id=ocsf.FileTypeId.REGULAR_FILE,  # §5.3 type_id 1 (8 Executable is 1.6+)
        parent_folder=folder or None,
        path=_join(folder, name) if folder else None,
        ext=ext if dot and stem else None,
        hashes=fingerprints(sha1=sha1, sha256=sha256, md5=info.md5 if info else None),
        size=info.size if info else None,
        company_name=info.file_publisher if info else None,
        product=ocsf.Product(name=info.file_product_name, vendor_name=info.file_publisher)
        if info and info.file_product_name
        else None,
    )


def file_from_info(info: FileInfo, *, name: str | None = None) -> ocsf.File:
    """An MDE file profile as an OCSF `file`. MDE profiles carry no file name: without `name`
    the SHA-1 (MDE's file id) stands in for it, since OCSF requires one."""
    digest = info.sha1 or info.sha256 or info.md5 or "unknown"
    return ocsf.File(
        name=name or digest,
        type_id=ocsf.FileTypeId.REGULAR_FILE,
        hashes=fingerprints(sha1=info.sha1, sha256=info.sha256, md5=info.md5),
        size=info.size,
        company_name=info.file_publisher,
        product=ocsf.Product(name=info.file_product_name, vendor_name=info.file_publisher)
        if info.file_product_name
        else None,
    )


def _process(item: Evidence, files: FileIndex) -> ocsf.Process | None:
    """§5.3 Process; parent_process only when parentProcessId is set (pid is required)."""
    if item.process_id is None:
        return None
    parent = None
    if item.parent_process_id is not None:
        parent = ocsf.Process(
            pid=item.parent_process_id,
            name=item.parent_process_file_name,
            created_time=epoch_ms(item.parent_process_creation_time),
            file=_file(item.parent_process_file_name, item.parent_process_file_path),
        )
    return ocsf.Process(
        pid=item.process_id,
        name=item.file_name,
        cmd_line=item.process_command_line,
        created_time=epoch_ms(item.process_creation_time),
        file=_file(item.file_name, item.file_path, sha1=item.sha1, sha256=item.sha256, files=files),
        parent_process=parent,
    )


def _user(item: Evidence) -> ocsf.User | None:
    """§5.3 User: uid = userSid or aadUserId; UPN as email only if it is a valid email."""
    uid = item.user_sid or item.aad_user_id
    if not (item.account_name or uid):
        return None
    upn = item.user_principal_name
    return ocsf.User(
        name=item.account_name,
        domain=item.domain_name,
        uid=uid,
        uid_alt=item.aad_user_id if item.user_sid else None,
        email_addr=upn if upn and ocsf.is_email(upn) else None,
    )


def _data(item: Evidence) -> ocsf.Evidence:
    """§5.3 Registry*, other (or unusable): {name: entityType, data: non-null raw fields}."""
    raw = item.model_dump(by_alias=True, mode="json")
    return ocsf.Evidence(name=item.entity_type, data=compact(raw))


def evidence_item(item: Evidence, files: FileIndex) -> ocsf.Evidence:
    """One MDE evidence entity → one `evidences[]` item (ocsf.md §5.3)."""
    kind = key(item.entity_type)
    if kind == "file":
        sha1, sha256 = item.sha1, item.sha256
        file = _file(item.file_name, item.file_path, sha1=sha1, sha256=sha256, files=files)
        return ocsf.Evidence(file=file) if file else _data(item)
    if kind == "process":
        process = _process(item, files)
        return ocsf.Evidence(process=process) if process else _data(item)
    if kind == "user":
        user = _user(item)
        return ocsf.Evidence(user=user) if user else _data(item)
    if kind == "ip":  # §5.3 Ip → dst_endpoint.ip (the remote IP)
        ip = ip_or_none(item.ip_address)
        return ocsf.Evidence(dst_endpoint=ocsf.NetworkEndpoint(ip=ip)) if ip else _data(item)
    if kind == "url" and item.url:  # §5.3 Url → url.url_string
        return ocsf.Evidence(url=ocsf.Url(url_string=item.url))
    return _data(item)


def evidences_from_alert(alert: Alert, files: FileIndex) -> tuple[ocsf.Evidence, ...]:
    items = [evidence_item(e, files) for e in alert.evidence]
    related = alert.related_user
    if related is not None and related.user_name:  # §5.2 relatedUser → evidences[].user
        already = {(key(e.user.name), key(e.user.domain)) for e in items if e.user}
        if (key(related.user_name), key(related.domain_name)) not in already:
            user = ocsf.User(name=related.user_name, domain=related.domain_name)
            items.append(ocsf.Evidence(user=user))
    return tuple(items)


def _file_observables(file: ocsf.File | None, path: str) -> Iterator[ocsf.Observable | None]:
    if file is None:
        return
    obs = ocsf.ObservableTypeId
    yield observable(obs.FILE_NAME, f"{path}.name", file.name)
    for j, digest in enumerate(file.hashes or ()):
        yield observable(obs.HASH, f"{path}.hashes[{j}].value", digest.value)


def evidence_observables(
    evidences: Iterable[ocsf.Evidence], *, path: str = "evidences"
) -> Iterator[ocsf.Observable | None]:
    """§5.3 observables: file names (7), hashes (8), process names (9), users (4), IPs (2),
    URLs (6)."""
    obs = ocsf.ObservableTypeId
    for i, item in enumerate(evidences):
        at = f"{path}[{i}]"
        yield from _file_observables(item.file, f"{at}.file")
        if item.process is not None:
            yield observable(obs.PROCESS_NAME, f"{at}.process.name", item.process.name)
            yield from _file_observables(item.process.file, f"{at}.process.file")
            parent = item.process.parent_process
            if parent is not None:
                yield observable(obs.PROCESS_NAME, f"{at}.process.parent_process.name", parent.name)
        if item.user is not None:
            yield observable(obs.USER_NAME, f"{at}.user.name", item.user.name)
            yield observable(obs.EMAIL_ADDRESS, f"{at}.user.email_addr", item.user.email_addr)
        if item.dst_endpoint is not None:
            yield observable(obs.IP_ADDRESS, f"{at}.dst_endpoint.ip", item.dst_endpoint.ip)
        if item.url is not None:
            yield observable(obs.URL_STRING, f"{at}.url.url_string", item.url.url_string)
