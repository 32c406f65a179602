"""The indicator types and the values `extract` returns."""

from __future__ import annotations

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
_HASH_TYPES = {32: MD5, 40: SHA1, 64: SHA256}
HASH_TYPES = frozenset(_HASH_TYPES.values())


def hash_type(hex_digest: str) -> IndicatorType | None:
    """MD5, SHA-1 or SHA-256, by length; None for any other length."""
    return _HASH_TYPES.get(len(hex_digest))
