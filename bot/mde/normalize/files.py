"""MDE file names, paths and profiles → OCSF `file`, and a file profile as a File Query event
(docs/ocsf-mapping.md §4, §5). Hashes always go to `file.hashes[]`, never to a signature's
digest."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any, NamedTuple

from bot import ocsf
from bot.mde.models import FileInfo, Signing
from bot.mde.normalize.common import (
    compact,
    dedupe,
    epoch_ms,
    fingerprints,
    key,
    mde_time,
    observable,
    text,
)

FileIndex = Mapping[str, FileInfo]

_SEPARATORS = "\\/"


def file_index(files: Iterable[FileInfo]) -> dict[str, FileInfo]:
    """File profiles by lowercase SHA-1 and SHA-256, to enrich evidence files."""
    index: dict[str, FileInfo] = {}
    for info in files:
        for digest in (info.sha1, info.sha256):
            if digest:
                index[digest.strip().lower()] = info
    return index


def _separator(path: str) -> str:
    return "/" if "/" in path and "\\" not in path else "\\"


def _split(path: str) -> tuple[str, str]:
    """`C:\\temp\\a.dll` → (`C:\\temp`, `a.dll`); a path without a separator is a name."""
    cut = max(path.rfind(s) for s in _SEPARATORS)
    return (path[:cut] or path[: cut + 1], path[cut + 1 :]) if cut >= 0 else ("", path)


def _same_path(a: str, b: str) -> bool:
    return a.rstrip(_SEPARATORS).lower() == b.rstrip(_SEPARATORS).lower()


class Location(NamedTuple):
    name: str
    parent_folder: str | None
    path: str | None  # the full path, name included
    is_folder: bool


def file_location(name: str, folder: str | None) -> Location:
    """Where a file is, from MDE's `fileName` and `filePath`.

    `filePath` is normally the folder; the older alert shape gives the full path there, and
    some evidence gives a path, or a folder, as the `fileName`. A folder is a `fileName` that
    ends with a separator or names the same path as `filePath`: the path is then not doubled.
    """
    folder = folder.strip() or None if folder else None
    if name[-1] in _SEPARATORS or (folder and _same_path(name, folder) and _split(name)[0]):
        path = name.rstrip(_SEPARATORS) or name
        parent, own = _split(path)
        return Location(own or path, parent or None, path, is_folder=True)
    if any(s in name for s in _SEPARATORS):  # a full path as the name
        parent, own = _split(name)
        return Location(own, parent or folder, name, is_folder=False)
    if folder and _split(folder)[1].lower() == name.lower():  # a full path as the folder
        return Location(name, _split(folder)[0] or None, folder, is_folder=False)
    joined = folder.rstrip(_SEPARATORS) + _separator(folder) + name if folder else None
    return Location(name, folder, joined, is_folder=False)


def _signature(info: FileInfo) -> ocsf.DigitalSignature | None:
    """What MDE says of the file's signature: valid, or signed with a certificate that is not
    valid (99 Other); nothing for an unsigned file or when MDE does not say."""
    signing = info.signing
    if signing in {Signing.UNSIGNED, Signing.UNKNOWN}:
        return None
    state, state_text = {
        Signing.VALID: (ocsf.SignatureStateId.VALID, None),
        Signing.INVALID_CERTIFICATE: (ocsf.SignatureStateId.OTHER, "Invalid certificate"),
    }.get(signing, (None, None))
    algorithm = ocsf.SignatureAlgorithmId.AUTHENTICODE if info.is_pe_file else None
    return ocsf.DigitalSignature(
        algorithm_id=algorithm or ocsf.SignatureAlgorithmId.UNKNOWN,
        state_id=state,
        state=state_text,
    )


def profile_fields(info: FileInfo | None, version: str) -> dict[str, Any]:
    """What a file profile adds to a `file`: size, publisher, product and signature (as the
    version spells it: `signatures[]` from 1.8, `signature` before)."""
    if info is None:
        return {}
    signature = _signature(info)
    publisher = text(info.file_publisher)
    product = text(info.file_product_name)
    if ocsf.supports(version, ocsf.Change.FILE_SIGNATURES):
        signed: dict[str, Any] = {"signatures": (signature,) if signature else None}
    else:
        signed = {"signature": signature}
    return {
        "size": info.size,
        "company_name": publisher,
        "product": ocsf.Product(name=product, vendor_name=publisher) if product else None,
        **signed,
    }


def file_object(
    name: str | None,
    folder: str | None,
    *,
    sha1: str | None = None,
    sha256: str | None = None,
    files: FileIndex | None = None,
    version: str = ocsf.OCSF_VERSION,
) -> ocsf.File | None:
    """§4 an evidence file: named, located (see `file_location`), hashed, and enriched by the
    file profile its hash matches in `files` (MD5, size, publisher, signature)."""
    name = text(name)
    if not name:
        return None
    index = files or {}
    info = index.get((sha1 or "").strip().lower()) or index.get((sha256 or "").strip().lower())
    where = file_location(name, text(folder))
    stem, dot, ext = where.name.rpartition(".")
    return ocsf.File(
        name=where.name,
        # §4 type_id 1 Regular File (8 Executable is 1.6+), 2 Folder
        type_id=ocsf.FileTypeId.FOLDER if where.is_folder else ocsf.FileTypeId.REGULAR_FILE,
        parent_folder=where.parent_folder,
        path=where.path,
        ext=ext if dot and stem and not where.is_folder else None,
        hashes=fingerprints(sha1=sha1, sha256=sha256, md5=info.md5 if info else None),
        **profile_fields(info, version),
    )


def file_from_info(
    info: FileInfo, *, name: str | None = None, version: str = ocsf.OCSF_VERSION
) -> ocsf.File:
    """An MDE file profile as an OCSF `file`. MDE profiles carry no file name: without `name`
    the SHA-1 (MDE's file id) stands in for it, since OCSF requires one."""
    digest = info.sha1 or info.sha256 or info.md5 or "unknown"
    return ocsf.File(
        name=name or digest.strip(),
        type_id=ocsf.FileTypeId.REGULAR_FILE,
        hashes=fingerprints(sha1=info.sha1, sha256=info.sha256, md5=info.md5),
        **profile_fields(info, version),
    )


def file_observables(
    file: ocsf.File | None, path: str, *, named: bool = True
) -> Iterator[ocsf.Observable | None]:
    """§4 a file's name (7; not a folder's, nor a name that only stands in for one) and hashes
    (8), at `path`."""
    if file is None:
        return
    if named and file.type_id != ocsf.FileTypeId.FOLDER:
        yield observable(ocsf.ObservableTypeId.FILE_NAME, f"{path}.name", file.name)
    for j, digest in enumerate(file.hashes or ()):
        yield observable(ocsf.ObservableTypeId.HASH, f"{path}.hashes[{j}].value", digest.value)


# §5 the profile's fields with no slot in `file`, under MDE's names.
_FILE_UNMAPPED = (
    "globalPrevalence",
    "globalFirstObserved",
    "globalLastObserved",
    "fileType",
    "isPeFile",
    "signer",
    "issuer",
    "signerHash",
    "isValidCertificate",
    "determinationType",
    "determinationValue",
)


def file_event(
    info: FileInfo, *, time: int | None = None, version: str = ocsf.OCSF_VERSION
) -> ocsf.FileQuery:
    """An MDE file profile as an OCSF File Query event (class 5007, activity 1 Query, result
    1 Exists): the file, its hashes as observables, the rest of the profile `unmapped`.

    `time` is when it was asked (the caller's clock); without it the event is dated by the
    profile's last global sighting."""
    raw = info.model_dump(by_alias=True, mode="json")
    file = file_from_info(info, version=version)
    verdict = text(info.determination_value) or text(info.determination_type)
    label = f"MDE file {info.sha1 or info.sha256 or info.md5}"
    seen = epoch_ms(info.global_last_observed) or epoch_ms(info.global_first_observed)
    known = verdict and key(verdict) not in {"unknown", "clean"}
    return ocsf.FileQuery(
        time=time if time is not None else seen or 0,
        message=f"{label}: {verdict}" if known else label,
        metadata=ocsf.Metadata(
            version=version,
            original_time=None
            if time is not None
            else mde_time(info.global_last_observed or info.global_first_observed),
            log_name="files",
        ),
        file=file,
        observables=dedupe(file_observables(file, "file", named=False)),
        unmapped=compact({name: raw.get(name) for name in _FILE_UNMAPPED}) or None,
    )
