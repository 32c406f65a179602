"""What differs between the OCSF versions the bot emits (1.5.0 up to 1.8.0), in one place.

`SINCE` gives, for each version-dependent thing we emit, the first OCSF version that has it.
The normalizers ask `supports(version, change)` while they build an event; `retarget` turns an
event already built (OCSF JSON) into the same event for another version, for output that was
built once for `OCSF_VERSION` (the cards' events) and is exported for an older one.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from enum import StrEnum
from typing import Any

# The schema versions the bot emits and validates against, the default first.
VERSIONS = ("1.8.0", "1.5.0")


class Change(StrEnum):
    DEVICE_UID_OBSERVABLE = "observable type 47 (Device Object: uid)"
    FILE_SIGNATURES = "file.signatures[] (deprecates file.signature)"


SINCE: Mapping[Change, tuple[int, int]] = {
    Change.DEVICE_UID_OBSERVABLE: (1, 6),
    Change.FILE_SIGNATURES: (1, 8),
}

_DEVICE_UID = 47
# Where our events carry `file` objects (raw MDE data and the legacy evidence blob are left be).
_OPAQUE = frozenset({"unmapped", "data", "evidence"})


def version_tuple(version: str) -> tuple[int, int]:
    """`"1.8.0"` → (1, 8)."""
    major, minor, *_ = (*(int(p) for p in re.findall(r"\d+", version)[:2]), 0, 0)
    return major, minor


def supports(version: str, change: Change) -> bool:
    """Does OCSF `version` have `change`?"""
    return version_tuple(version) >= SINCE[change]


def retarget(event: Mapping[str, Any], version: str) -> dict[str, Any]:
    """An event's OCSF JSON for schema `version`: `metadata.version` set, observables of types
    the version lacks left out, and file signatures in the version's own attribute."""
    out: dict[str, Any] = _files_for(event, supports(version, Change.FILE_SIGNATURES))
    out["metadata"] = {**out.get("metadata", {}), "version": version}
    if not supports(version, Change.DEVICE_UID_OBSERVABLE) and "observables" in out:
        kept = [o for o in out["observables"] if o.get("type_id") != _DEVICE_UID]
        if kept:
            out["observables"] = kept
        else:
            del out["observables"]
    return out


def _files_for(node: Any, signatures: bool) -> Any:
    """`node` with every file's `signature` ↔ `signatures[]` as the version wants it."""
    if isinstance(node, list):
        return [_files_for(item, signatures) for item in node]
    if not isinstance(node, Mapping):
        return node
    out = {k: v if k in _OPAQUE else _files_for(v, signatures) for k, v in node.items()}
    if signatures and "signature" in out:
        out["signatures"] = [out.pop("signature")]
    elif not signatures and out.get("signatures"):
        out["signature"] = out.pop("signatures")[0]
    return out
