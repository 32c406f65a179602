"""PURE: which values MDE takes as custom indicators (D:ti-indicator), and in which form:
a file hash, a domain, a URL, or a public IP address. Shared by the calls that submit them
(`bot.mde.actions`) and by what offers to (`bot.enrichment.targets`, the cards).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from types import MappingProxyType
from typing import Final

from bot.errors import InputError
from bot.indicators import IndicatorType, normalize
from bot.mde import query

# Our indicator types → MDE's `indicatorType` (host and file names have none).
INDICATOR_TYPES: Final[Mapping[IndicatorType, str]] = MappingProxyType(
    {
        IndicatorType.IPV4: "IpAddress",
        IndicatorType.IPV6: "IpAddress",
        IndicatorType.DOMAIN: "DomainName",
        IndicatorType.URL: "Url",
        IndicatorType.MD5: "FileMd5",
        IndicatorType.SHA1: "FileSha1",
        IndicatorType.SHA256: "FileSha256",
    }
)
_THIS_NETWORK = ipaddress.ip_network("0.0.0.0/8")


def public_ip(value: str) -> str:
    """An IP address a custom indicator may name: MDE blocks public addresses only. Private,
    shared, loopback, link-local, multicast and reserved ones are refused; the documentation
    ranges count as public, as they do in `bot.mde.query`."""
    address = ipaddress.ip_address(value)
    mapped = getattr(address, "ipv4_mapped", None)
    inner = mapped if mapped is not None else address
    if (
        query.is_internal_ip(str(inner))
        or inner.is_multicast
        or inner.is_unspecified
        or inner.is_reserved
        or (inner.version == 4 and inner in _THIS_NETWORK)
    ):
        raise InputError(
            f"{value} is not a public IP address: MDE blocks public addresses only",
            hint="contain a device inside the network by isolating it instead",
        )
    return value


def indicator_value(value: str, kind: IndicatorType) -> tuple[str, str]:
    """(MDE's indicatorType, the value in its normal form) for a value we may submit."""
    mde_type = INDICATOR_TYPES.get(kind)
    if mde_type is None:
        raise InputError(f"MDE takes no custom indicator for a {kind}")
    normal = normalize(kind, value)
    if normal is None:
        raise InputError(f"{value[:80]!r} is not a valid {kind}")
    if mde_type == "IpAddress":
        public_ip(normal)
    return mde_type, normal


def can_hold(kind: IndicatorType, value: str) -> bool:
    """Whether MDE takes a custom indicator for this value (a file hash, a domain, a URL, a
    public IP): what a "Block…" form offers, and what a lookup asks MDE it already holds."""
    try:
        indicator_value(value, kind)
    except (InputError, ValueError):
        return False
    return True
