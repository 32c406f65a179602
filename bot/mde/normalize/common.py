"""Small pure helpers the MDE → OCSF mappings share: times, enum keys, placeholder text, IPs,
MACs, hashes and observables (docs/ocsf-mapping.md §1)."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from bot import ocsf
from bot.indicators import IndicatorType, hash_type
from bot.mde.models import WireTime

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_NOT_ALNUM = re.compile(r"[^0-9a-z]")
_HEX = re.compile(r"^[0-9a-fA-F]+$")

PRODUCT_NAME = "Microsoft Defender for Endpoint"


def epoch_ms(value: datetime | None) -> int | None:
    """OCSF `timestamp_t`: integer milliseconds since the epoch (naive times are UTC)."""
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return (value - _EPOCH) // timedelta(milliseconds=1)


def mde_time(value: datetime | None) -> str | None:
    """A time as MDE wrote it: the text from the wire when the model kept it (`WireTime.raw`),
    else in MDE's form with seven fractional digits: `2021-01-26T20:33:57.7220230Z`."""
    if value is None:
        return None
    if isinstance(value, WireTime) and value.raw:
        return value.raw
    if value.tzinfo is not None:
        value = value.astimezone(UTC)
    return f"{value:%Y-%m-%dT%H:%M:%S}.{value.microsecond:06d}0Z"


def key(value: str | None) -> str:
    """How MDE enum strings are matched: case-insensitive, punctuation and spaces ignored
    (`InProgress`, `inProgress` and `in progress` are one key)."""
    return _NOT_ALNUM.sub("", (value or "").lower())


# What MDE writes where it has nothing to say (compared after `key`).
_PLACEHOLDERS = frozenset({"", "null", "none", "na", "undefined"})


def text(value: str | None) -> str | None:
    """MDE free text, or None where MDE sent a placeholder (`"null"`, `"None"`, empty)."""
    if value is None or key(value) in _PLACEHOLDERS:
        return None
    return value.strip() or None


def ip_or_none(value: str | None) -> str | None:
    """The address if it is one OCSF's `ip_t` accepts, else None (never a malformed `ip`)."""
    if not value:
        return None
    value = value.strip()
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return None
    return value if ocsf.is_ip(value) else None


def host_ip_or_none(value: str | None) -> str | None:
    """The address if it can name a device on a network: not loopback (`127.0.0.1`, `::1`),
    link-local (`169.254.x.x`, `fe80::`), unspecified or multicast, whatever the interface's
    type says."""
    found = ip_or_none(value)
    if found is None:
        return None
    address = ipaddress.ip_address(found.split("%")[0])
    unusable = (
        address.is_loopback
        or address.is_link_local
        or address.is_unspecified
        or address.is_multicast
    )
    return None if unusable else found


_NO_MAC = frozenset({"000000000000", "FFFFFFFFFFFF"})


def mac_or_none(value: str | None) -> str | None:
    """MDE's `000C29897942` → OCSF `mac_t` `00:0C:29:89:79:42`; None if it is no MAC, or one
    that names no interface (all zeros, broadcast)."""
    digits = re.sub(r"[-:.\s]", "", value or "").upper()
    if len(digits) != 12 or not _HEX.match(digits) or digits in _NO_MAC:
        return None
    return ":".join(digits[i : i + 2] for i in range(0, 12, 2))


# OCSF's algorithm for each digest type (the digest's length is the indicators' table).
_ALGORITHMS = {
    IndicatorType.MD5: ocsf.HashAlgorithmId.MD5,
    IndicatorType.SHA1: ocsf.HashAlgorithmId.SHA1,
    IndicatorType.SHA256: ocsf.HashAlgorithmId.SHA256,
}


def _is_hash(algorithm: ocsf.HashAlgorithmId, value: str) -> bool:
    kind = hash_type(value)
    return kind is not None and _ALGORITHMS[kind] is algorithm and _HEX.match(value) is not None


def fingerprints(
    *, sha1: str | None = None, sha256: str | None = None, md5: str | None = None
) -> tuple[ocsf.Fingerprint, ...] | None:
    """Content hashes as `file.hashes[]` (docs/ocsf-mapping.md §4); malformed ones left out."""
    found = []
    for algorithm, value in (
        (ocsf.HashAlgorithmId.SHA1, sha1),
        (ocsf.HashAlgorithmId.SHA256, sha256),
        (ocsf.HashAlgorithmId.MD5, md5),
    ):
        value = (value or "").strip()
        if _is_hash(algorithm, value):
            found.append(ocsf.Fingerprint(algorithm_id=algorithm, value=value.lower()))
    return tuple(found) or None


def compact(values: Mapping[str, Any]) -> dict[str, Any]:
    """The entries that carry something (no None, no empty list)."""
    return {k: v for k, v in values.items() if v is not None and v != [] and v != ()}


def dedupe(
    observables: Iterable[ocsf.Observable | None],
) -> tuple[ocsf.Observable, ...] | None:
    """One observable per (type, value), the first path kept; None (nothing observed) left out."""
    seen: dict[tuple[int, str | None], ocsf.Observable] = {}
    for item in observables:
        if item is not None:
            seen.setdefault((item.type_id, item.value), item)
    return tuple(seen.values()) or None


def observable(type_id: ocsf.ObservableTypeId, name: str, value: Any) -> ocsf.Observable | None:
    return None if value is None else ocsf.Observable(type_id=type_id, name=name, value=str(value))
