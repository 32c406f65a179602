"""The indicator types, the values `extract` returns, and the one table of hash lengths.

`HASH_LENGTHS` (hex digits → hash type) and `hash_type` are the codebase's one answer to "which hash
is this hex digest?"; other modules import them from here instead of keeping a table of their own.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum


class IndicatorType(StrEnum):
    IPV4 = "ipv4"
    IPV6 = "ipv6"
    DOMAIN = "domain"
    HOSTNAME = "hostname"
    URL = "url"
    MD5 = "md5"
    SHA1 = "sha1"
    SHA256 = "sha256"
    FILENAME = "filename"


@dataclass(frozen=True, slots=True)
class Indicator:
    type: IndicatorType
    value: str  # refanged, normal form


@dataclass(frozen=True, slots=True)
class Extraction:
    indicators: tuple[Indicator, ...] = ()
    dropped: int = 0  # found beyond the cap


DEFAULT_CAP = 50
T = IndicatorType
# Reading an enum member off its class costs ~50 ns; the hot paths use these module constants.
IPV4, IPV6, DOMAIN, HOSTNAME, URL = T.IPV4, T.IPV6, T.DOMAIN, T.HOSTNAME, T.URL
MD5, SHA1, SHA256, FILENAME = T.MD5, T.SHA1, T.SHA256, T.FILENAME
# Hex digits of a digest → its type. Typed read-only: it is shared by every module that asks.
HASH_LENGTHS: Mapping[int, IndicatorType] = {32: MD5, 40: SHA1, 64: SHA256}
HASH_TYPES = frozenset(HASH_LENGTHS.values())


def hash_type(hex_digest: str) -> IndicatorType | None:
    """MD5, SHA-1 or SHA-256 by length alone (the caller checks that it is hex); else None."""
    return HASH_LENGTHS.get(len(hex_digest))
